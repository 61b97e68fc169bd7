// Shared reporting for benchmarks: Mpps and ns/packet with the Node version and machine,
// and a results file (bench-results/<name>.json) the README's figures come from.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface Figure { case: string; packets: number; seconds: number; mpps: number; nsPerPacket: number; note?: string }

/** Median of xs (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b), k = s.length >> 1;
  return s.length % 2 ? s[k] : (s[k - 1] + s[k]) / 2;
}

export function figure(name: string, packets: number, seconds: number, note?: string): Figure {
  return { case: name, packets, seconds, mpps: packets / seconds / 1e6, nsPerPacket: (seconds * 1e9) / packets, note };
}

/**
 * Plain memory stores per second (millions), measured now. On the shared VMs this project is
 * measured on, this rate moves by ~35% over minutes (the host, not sluice), and the packet
 * path follows it; printing it beside each figure says which state the figure came from.
 */
export function storeRate(): number {
  const a = new Int32Array(1 << 14);
  const run = () => { for (let i = 0; i < 5e7; i++) a[i & 16383] = i; };
  run();
  const t = performance.now();
  run();
  return 5e7 / (performance.now() - t) / 1000;
}

export function machine(): string {
  return `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${os.platform()} ${os.release()}, memory stores ${storeRate().toFixed(0)} M/s`;
}

export function print(title: string, figs: Figure[]): void {
  console.log(`\n${title} — ${machine()}`);
  for (const f of figs) {
    console.log(`  ${f.case.padEnd(48)} ${f.mpps.toFixed(3).padStart(8)} Mpps ${f.nsPerPacket.toFixed(1).padStart(9)} ns/packet${f.note ? '  ' + f.note : ''}`);
  }
}

export function save(name: string, figs: Figure[]): void {
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(`bench-results/${name}.json`, JSON.stringify({ machine: machine(), date: new Date().toISOString(), figures: figs }, null, 2) + '\n');
}
