// trace-check: the switch's 1 ms rate trace (`sluice qos --trace`) against tcpdump on the VM's
// tap, on the testbed. Two sluice hosts, a --rate Mb/s access link; one iperf3 TCP stream from
// the VM on host 1 into the VM on host 2 for --seconds, while host 2 traces and tcpdump captures
// what the VM receives (`-Q in`). Both counted in frame bytes (the trace's txBytes of port vm1;
// the capture's original lengths), binned per 1 ms and per 10 ms over the capture's span (its
// first and last 100 ms left out). Prints the totals and how far the bins differ.
//
//   node dist/scripts/trace-check.js [--rate 100] [--seconds 3]
//
// Needs root, the native module, iperf3, tcpdump, iproute2.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNs, Testbed } from './testbed.js';
import { binsOf, inNsBg, prime, sleep } from './experiment-kit.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function traceBins(file: string, column: string): Map<number, number> {
  const [head, ...rows] = readFileSync(file, 'utf8').trim().split('\n'), c = head.split(',').indexOf(column), bins = new Map<number, number>();
  if (c < 0) throw new Error(`no column ${column} in ${file}`);
  for (const l of rows) { const f = l.split(','); bins.set(Number(f[0]), Number(f[c])); }
  return bins;
}

// Per window of `w` ms from `from` to `to`: both sides' bytes.
function windows(a: Map<number, number>, b: Map<number, number>, from: number, to: number, w: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t = from; t + w <= to; t += w) {
    let x = 0, y = 0;
    for (let k = t; k < t + w; k++) { x += a.get(k) ?? 0; y += b.get(k) ?? 0; }
    out.push([x, y]);
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  const rate = Number(opt('--rate', '100')), seconds = Number(opt('--seconds', '3'));
  const tb = await Testbed.up({ hosts: 2, vms: 1, linux: false, vni: 42, port: 4789, prefix: 'trc', rateMbps: rate, queueBytes: 65536 });
  try {
    const [h1, h2] = tb.hosts, A = h1.vms[0], B = h2.vms[0];
    prime(tb, [[A, B]]);
    const tmp = mkdtempSync(join(tmpdir(), 'sluice-trace-check-')), pcap = join(tmp, 'b.pcap'), csv = join(tmp, 'trace.csv');
    const server = inNsBg(B.ns, ['iperf3', '-s', '-1', '-B', B.ip, '-p', '5901']);
    const cap = inNsBg(B.ns, ['tcpdump', '-i', B.dev, '-Q', 'in', '-s', '96', '-U', '-w', pcap]);
    const tracer = spawn(process.execPath, [CLI, 'qos', '--trace', csv, '--seconds', String(seconds + 2), '--control', `unix:${h2.control}`], { stdio: 'inherit' });
    const traced = new Promise<number>((r) => tracer.on('exit', (c) => r(c ?? -1)));
    await sleep(800);
    inNs(A.ns, ['iperf3', '-c', B.ip, '-p', '5901', '-t', String(seconds)], (seconds + 30) * 1000);
    if ((await traced) !== 0) throw new Error('sluice qos --trace failed');
    cap.p.kill('SIGINT'); await cap.done; server.p.kill();
    const c = binsOf(pcap, null, 1, 0).bins, t = traceBins(csv, 'vm1.txBytes'); // every frame, frame bytes, per ms
    const keys = [...c.keys()].sort((x, y) => x - y), from = keys[0] + 100, to = keys[keys.length - 1] - 100;
    console.log(`trace-check — node ${process.version}, ${rate} Mb/s access link, ${seconds} s TCP; ${to - from} ms compared`);
    for (const w of [1, 10]) {
      const ws = windows(t, c, from, to, w), d = ws.map(([x, y]) => Math.abs(x - y)).sort((x, y) => x - y);
      const sumT = ws.reduce((s, [x]) => s + x, 0), sumC = ws.reduce((s, [, y]) => s + y, 0), mean = sumC / ws.length;
      console.log(`${String(w).padStart(2)} ms bins: trace ${sumT} B, capture ${sumC} B (${((100 * (sumT - sumC)) / sumC).toFixed(3)}%); |trace − capture| per bin: median ${d[Math.floor(d.length / 2)]} B, p99 ${d[Math.floor(0.99 * (d.length - 1))]} B, mean ${(d.reduce((s, x) => s + x, 0) / d.length).toFixed(0)} B against ${mean.toFixed(0)} B a bin; equal in ${((100 * d.filter((x) => x === 0).length) / d.length).toFixed(1)}%`);
    }
    // How far ahead of the capture the trace runs: the bytes it has counted and the capture not yet, through time.
    let cum = 0, ahead = 0, behind = 0, sumAhead = 0;
    for (let k = from; k < to; k++) { cum += (t.get(k) ?? 0) - (c.get(k) ?? 0); ahead = Math.max(ahead, cum); behind = Math.min(behind, cum); sumAhead += cum; }
    const ms = (b: number) => ((b * 8) / (rate * 1e3)).toFixed(2);
    console.log(`trace ahead of the capture: mean ${(sumAhead / (to - from)).toFixed(0)} B, at most ${ahead} B (${ms(ahead)} ms at the link's rate); behind it at most ${-behind} B (${ms(-behind)} ms)`);
  } finally {
    await tb.down();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2)).catch((e) => { console.error(`trace-check: ${(e as Error).message}`); process.exit(1); });
