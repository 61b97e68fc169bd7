// Socket benchmark: UDP forwarding through `sluice run` (real process, real sockets on
// 127.0.0.1) beside a plain Node dgram relay measured in the same run, at 64 and 1400 bytes.
// The sender blasts frames for a fixed time; the figure is frames delivered per second at
// the receiver. Check first: one frame goes through each forwarder and arrives intact.
// With the native I/O module the sender and receiver are sendmmsg/recvmmsg processes
// (mmsg-peer.ts: a Node dgram sender cannot offer enough load), and every datagram the
// receiver counts is checked against the frame sent; without it, both are Node dgram sockets.
// Everything shares this machine's cores: sender, forwarder (+ its workers) and receiver. A
// second figure per case says what the forwarder itself costs: frames delivered per second
// of CPU the forwarder process used (all its threads, from /proc/<pid>/stat).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { figure, Figure, print, save } from '../report.js';
import { native } from '../../src/native/io.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./dgram-relay.js', import.meta.url));
const PEER = fileURLToPath(new URL('./mmsg-peer.js', import.meta.url));
const IN = 42001, OUT = 42002, SENDER = 52001, RECEIVER = 52002;
/** Seconds each case sends ($SLUICE_BENCH_SECONDS; longer runs average out this VM's drift). */
const SECONDS = Number(process.env.SLUICE_BENCH_SECONDS ?? 3);

function sluiceConfig(workers: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const file = join(dir, 'bench.json');
  writeFileSync(file, JSON.stringify({
    workers, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: 'off' },
    ports: [
      { name: 'in', endpoint: { type: 'udp', local: `127.0.0.1:${IN}`, remote: `127.0.0.1:${SENDER}` } },
      { name: 'out', endpoint: { type: 'udp', local: `127.0.0.1:${OUT}`, remote: `127.0.0.1:${RECEIVER}` } },
    ],
  }));
  return file;
}

/** CPU seconds process `pid` has used, all threads (utime + stime; clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15 of the whole line
}

async function measure(label: string, args: string[], size: number, viaSwitch: boolean): Promise<Figure[]> {
  if (native !== null) return measureNative(label, args, size, viaSwitch);
  // Ready when "switch up" appears: `sluice run` says it on stderr (its stdout is for --json),
  // the relay on stdout. The switch's stderr is passed on.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => { if (/switch up/.test(d.toString())) resolve(); });
    child.stderr.on('data', (d: Buffer) => { process.stderr.write(d); if (/switch up/.test(d.toString())) resolve(); });
  });
  const tx = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  await new Promise<void>((r) => tx.bind(SENDER, '127.0.0.1', () => r()));
  await new Promise<void>((r) => rx.bind(RECEIVER, '127.0.0.1', () => r()));
  const frame = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, padTo: size });
  let got = 0, intact = true;
  rx.on('message', (m) => { got++; if (got === 1 && Buffer.compare(m, Buffer.from(frame)) !== 0) intact = false; });
  if (viaSwitch) {
    // The receiver announces its MAC so the switch forwards by learning, not by flooding.
    rx.send(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:02', payload: 46 }), OUT, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Check: one frame through, intact.
  tx.send(frame, IN, '127.0.0.1');
  const t1 = Date.now();
  while (got === 0 && Date.now() - t1 < 2000) await new Promise((r) => setTimeout(r, 5));
  if (got !== 1 || !intact) throw new Error(`${label}: check frame ${got === 0 ? 'did not arrive' : 'arrived damaged'}`);
  got = 0;
  let sent = 0;
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    const blast = () => {
      for (let i = 0; i < 64; i++) tx.send(frame, IN, '127.0.0.1');
      sent += 64;
      if (performance.now() < end) setImmediate(blast); else resolve();
    };
    blast();
  });
  await new Promise((r) => setTimeout(r, 300)); // let the tail arrive
  const delivered = got;
  const cpu = cpuSeconds(child.pid!) - cpu0;
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
  tx.close(); rx.close();
  return [figure(`${label}, ${size} B`, delivered, SECONDS, `offered ${(sent / SECONDS / 1000).toFixed(0)} kpps, delivered ${(100 * delivered / sent).toFixed(1)}%`),
    figure(`${label}, ${size} B, per forwarder CPU-second`, delivered, cpu, `${cpu.toFixed(2)} CPU-s used in ${SECONDS} s`)];
}

// A child process that prints "ready" first and one JSON line last.
function peer(args: string[]): { ready: Promise<void>; result: Promise<Record<string, number | boolean>> } {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => { readyResolve = r; });
  child.stdout.on('data', (d: Buffer) => { out += d; if (out.includes('ready')) readyResolve(); });
  const result = new Promise<Record<string, number | boolean>>((resolve, reject) => child.on('exit', (code) => {
    const last = out.trim().split('\n').pop()!;
    if (code !== 0) reject(new Error(`mmsg-peer ${args[0]} exited ${code}`)); else resolve(JSON.parse(last));
  }));
  return { ready, result };
}

// The same measure with a sendmmsg sender and a recvmmsg receiver in processes of their own.
async function measureNative(label: string, args: string[], size: number, viaSwitch: boolean): Promise<Figure[]> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => { if (/switch up/.test(d.toString())) resolve(); });
    child.stderr.on('data', (d: Buffer) => { if (/switch up/.test(d.toString())) resolve(); });
  });
  // Check: one short run through, every datagram the frame sent.
  for (const check of [true, false]) {
    const secs = check ? 0.2 : SECONDS;
    const sink = peer(['sink', String(RECEIVER), viaSwitch ? String(OUT) : '0', String(size), String(secs + 0.5)]);
    await sink.ready;
    await new Promise((r) => setTimeout(r, 200));
    const cpu0 = cpuSeconds(child.pid!);
    const send = peer(['send', String(SENDER), String(IN), String(size), String(secs)]);
    const { sent } = await send.result as { sent: number };
    const { got, intact } = await sink.result as { got: number; intact: boolean };
    const cpu = cpuSeconds(child.pid!) - cpu0;
    if (!intact || got === 0) throw new Error(`${label}: ${got === 0 ? 'nothing arrived' : 'a datagram arrived damaged'}`);
    if (check) continue;
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    return [figure(`${label}, ${size} B`, got, SECONDS, `offered ${(sent / SECONDS / 1000).toFixed(0)} kpps (sendmmsg), delivered ${(100 * got / sent).toFixed(1)}%`),
      figure(`${label}, ${size} B, per forwarder CPU-second`, got, cpu, `${cpu.toFixed(2)} CPU-s used in ${SECONDS} s`)];
  }
  throw new Error('unreachable');
}

export async function socketBench(): Promise<Figure[]> {
  const figs: Figure[] = [];
  for (const size of [64, 1400]) {
    figs.push(...await measure('plain Node dgram relay', [RELAY, String(IN), String(RECEIVER)], size, false));
    figs.push(...await measure('sluice run, 1 worker', [CLI, 'run', '--config', sluiceConfig(1)], size, true));
    figs.push(...await measure('sluice run, inline (0 workers)', [CLI, 'run', '--config', sluiceConfig(0)], size, true));
  }
  return figs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await socketBench();
  print('UDP forwarding on 127.0.0.1 (frames delivered per second; and per second of the forwarder\'s CPU)', figs);
  save('udp-forwarding', figs);
}
