// The queue manager on the real switch (issue 15): `sluice run` with 2 worker threads and 4
// receive queues forwards skewed UDP traffic between two ports on 127.0.0.1 — 512 flows with
// Zipf (s = 1.1) shares from a sendmmsg sender (mmsg-peer.ts mix), and an elephant taking 30%
// of the frames from 1.5 s on, its frames numbered — with the queue manager on (its defaults)
// and off (static RSS, queue q on worker q mod 2), in interleaved pairs. Per run: frames
// delivered per second; the threads' imbalance ((max − min) / min frames per thread, sampled
// every 100 ms from GET /queues after the first second: median and p95); how long after it
// started the elephant had a queue of its own; the manager's moves per second; elephant frames
// that arrived behind a later one; and the control thread's time on QueueWatch and the manager.
// Checked before timing: a short run delivers frames, every one the sender's, none out of order.
// SLUICE_BENCH_DEBUG=1 prints each run's manager counters and decisions (ms after the elephant).
// Everything shares this machine's 2 cores: sender, switch (main thread + 2 workers), receiver.
//
//   node dist/native-free-bench/socket/queue-policy-switch.js      (needs the native module)
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/native/io.js';
import { imbalance } from '../../src/controllers/queue-policy.js';
import type { QueueReport } from '../../src/datapath/queue-report.js';
import { machine, median } from '../report.js';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const PEER = fileURLToPath(new URL('./mmsg-peer.js', import.meta.url));
const IN = 42101, OUT = 42102, SENDER = 52101, RECEIVER = 52102, CONTROL = 42109;
const SECONDS = Number(process.env.SLUICE_BENCH_SECONDS ?? 4), ELEPHANT_AT = 1.5, PAIRS = Number(process.env.SLUICE_BENCH_PAIRS ?? 3);
const ELEPHANT = 'udp 10.0.0.1:7 > 10.0.0.2:2';

function config(on: boolean): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-qbench-')), 'bench.json');
  writeFileSync(file, JSON.stringify({
    workers: 2, nic: { queues: 4, manager: { enabled: on } }, stats: { intervalSeconds: 0 }, control: { listen: `127.0.0.1:${CONTROL}` },
    ports: [
      { name: 'in', endpoint: { type: 'udp', local: `127.0.0.1:${IN}`, remote: `127.0.0.1:${SENDER}` } },
      { name: 'out', endpoint: { type: 'udp', local: `127.0.0.1:${OUT}`, remote: `127.0.0.1:${RECEIVER}` } },
    ],
  }));
  return file;
}

function peer(args: string[]): { ready: Promise<void>; result: Promise<Record<string, number | boolean>> } {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '', readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => { readyResolve = r; });
  child.stdout.on('data', (d: Buffer) => { out += d; if (out.includes('ready')) readyResolve(); });
  const result = new Promise<Record<string, number | boolean>>((resolve, reject) => child.on('exit', (code) => {
    if (code !== 0) reject(new Error(`mmsg-peer ${args[0]} exited ${code}`)); else resolve(JSON.parse(out.trim().split('\n').pop()!));
  }));
  return { ready, result };
}

const get = async <T>(path: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${CONTROL}${path}`)).json()) as T;

interface Run { kpps: number; offeredKpps: number; median: number; p95: number; elephantMs: number; movesPerS: number; behind: number; watchCpu: number; managerCpu: number }

async function run(on: boolean, seconds: number): Promise<Run> {
  const sw = spawn(process.execPath, [CLI, 'run', '--config', config(on)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve) => sw.stderr.on('data', (d: Buffer) => { if (/control API on/.test(d.toString())) resolve(); }));
  try {
    const sink = peer(['sink', String(RECEIVER), String(OUT), '64', String(seconds + 0.5)]);
    await sink.ready;
    await new Promise((r) => setTimeout(r, 200));
    const send = peer(['mix', String(SENDER), String(IN), '64', String(seconds), String(Math.min(ELEPHANT_AT, seconds / 2))]);
    // Per-thread frames every 100 ms, from the queues' counters and who serves each queue.
    const samples: number[] = [];
    let last: Float64Array | null = null;
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 100));
      const q = await get<QueueReport>('/queues'), perThread = new Float64Array(2), now = new Float64Array(q.queues.length);
      q.queues.forEach((x, i) => { now[i] = x.counters.packets ?? 0; });
      if (last) q.queues.forEach((x, i) => { perThread[Number(/datapath (\d)/.exec(x.thread)![1])] += now[i] - last![i]; });
      if (last && Date.now() - t0 > 1000) samples.push(imbalance(perThread));
      last = now;
    }
    const { sent, elephantAtMs } = await send.result as { sent: number; elephantAtMs: number };
    const { got, intact, behind } = await sink.result as { got: number; intact: boolean; behind: number };
    if (!intact || got === 0) throw new Error(`${on ? 'on' : 'off'}: ${got === 0 ? 'nothing arrived' : 'a datagram arrived damaged'}`);
    const q = await get<QueueReport>('/queues'), stats = await get<{ controllers: { name: string; busyMicros: number }[] }>('/stats');
    const give = q.manager.decisions.find((d) => d.kind === 'give' && d.what === ELEPHANT);
    if (process.env.SLUICE_BENCH_DEBUG) console.error(JSON.stringify({ elephantAtMs, counters: q.manager.counters, decisions: q.manager.decisions.map((d) => `${(d.atMs - elephantAtMs).toFixed(0)} ${d.kind} ${d.what} ${d.to}`) }));
    const c = q.manager.counters, moves = c.flowsGiven + c.flowsTaken + c.entriesMoved + c.queuesMoved;
    const busy = (name: string) => (stats.controllers.find((x) => x.name === name)?.busyMicros ?? 0) / 1e6 / seconds;
    const s = [...samples].sort((a, b) => a - b);
    return { kpps: got / seconds / 1000, median: median(samples), p95: s[Math.floor(0.95 * (s.length - 1))], elephantMs: give ? give.atMs - elephantAtMs : -1, movesPerS: moves / seconds, behind, watchCpu: busy('queue-watch'), managerCpu: busy('queue-manager'), offeredKpps: sent / seconds / 1000 };
  } finally {
    sw.kill('SIGINT');
    await new Promise((r) => sw.once('exit', r));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (native === null) throw new Error('this benchmark needs the native I/O module (npm install builds it)');
  // Check: a short run each way delivers, nothing damaged or out of order.
  for (const on of [true, false]) { const r = await run(on, 1); if (r.behind !== 0) throw new Error(`check: ${r.behind} elephant frames out of order (manager ${on ? 'on' : 'off'})`); }
  const rows: { on: boolean; r: Run }[] = [];
  for (let i = 0; i < PAIRS; i++) for (const on of i % 2 === 0 ? [false, true] : [true, false]) rows.push({ on, r: await run(on, SECONDS) });
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '∞');
  console.log(`queue manager on the real switch (2 workers, 4 queues, 512 Zipf flows + an elephant at ${ELEPHANT_AT} s, ${SECONDS} s runs, interleaved) — ${machine()}`);
  console.log('| manager | offered kpps | delivered kpps | imbalance median | p95 | elephant has its own queue after | moves/s | elephant frames out of order | control thread: measuring / deciding (share of a core) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { on, r } of rows) console.log(`| ${on ? 'on' : 'off (static RSS)'} | ${r.offeredKpps.toFixed(0)} | ${r.kpps.toFixed(0)} | ${pct(r.median)} | ${pct(r.p95)} | ${on ? (r.elephantMs < 0 ? 'never' : `${Math.round(r.elephantMs)} ms`) : '—'} | ${r.movesPerS.toFixed(1)} | ${r.behind} | ${(100 * r.watchCpu).toFixed(2)}% / ${(100 * r.managerCpu).toFixed(2)}% |`);
  const ratios = [];
  for (let i = 0; i + 1 < rows.length; i += 2) { const on = rows[i].on ? rows[i] : rows[i + 1], off = rows[i].on ? rows[i + 1] : rows[i]; ratios.push(on.r.kpps / off.r.kpps); }
  console.log(`delivered, on / off per pair: ${ratios.map((x) => x.toFixed(3)).join(', ')}`);
}
