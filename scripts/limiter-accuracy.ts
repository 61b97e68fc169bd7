// limiter-accuracy: how exactly a rate limiter holds its rate — sluice's port limiter
// (qos.maxRxMbps on a VM's tap port) beside Linux's `tc tbf` and `htb` on a veth between two
// namespaces, at the same rates, burst (max(2 frames, 1 ms)) and queue (256 KiB), case by case
// in one run (the shapers of a case back to back, so the machine's state drifts little between them).
//
//   node dist/scripts/limiter-accuracy.js [--rates 10,100,400] [--seconds 10] [--cases udp1500,udp64,tcp,tcpgso]
//                                          [--spin 40,200] [--md FILE] [--json FILE]
//
// Traffic, from one namespace to the other: iperf3 UDP at 1.5x the rate with 1,422-byte
// datagrams (1,464-byte frames: the VMs' MTU is 1,450) or 18-byte ones (60-byte frames), or one
// iperf3 TCP stream — with frames of at most the MTU (sluice: plain taps; Linux: TSO and GSO off
// on the shaped veth), or with GSO frames of up to 64 KB charged whole (sluice: vnet-header taps;
// Linux: GSO on, which tbf and htb take as it comes).
// Measured the same way for all three: the receiving interface's rx_bytes (Ethernet frames, no
// FCS — what every shaper here charges), read from /proc/<receiver's pid>/net/dev once a second
// with the time of each read; each 1 s window's rate against the configured one, the first two
// windows (start-up, TCP's slow start) and the last left out. For sluice, its limiter's own trace
// over those seconds says why a window fell short: its queue was empty (the source paused: TCP
// backed off) or its thread did not run (stalled). Needs root, the native module,
// iperf3, iproute2 and ethtool.

import { spawn, ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { inNs, sh, statsOf, Testbed, tryRun } from './testbed.js';
import { DEFAULT_SHAPED_SPIN_MICROS } from '../src/datapath/dataplane-options.js';

type Traffic = 'udp1500' | 'udp64' | 'tcp' | 'tcpgso';
type Shaper = 'sluice' | 'tbf' | 'htb';
const SHAPERS: Shaper[] = ['sluice', 'tbf', 'htb'];
const QUEUE = 262144, MTU = 1450, PREFIX = 'lacc';
const NS_A = `${PREFIX}-a`, NS_B = `${PREFIX}-b`, DEV_A = `${PREFIX}a0`, DEV_B = `${PREFIX}b0`;

export interface Row {
  traffic: Traffic; rateMbps: number; shaper: Shaper; windows: number[]; meanMbps: number; meanErrPct: number; p95ErrPct: number; maxErrPct: number;
  /** sluice: what its limiter's own trace says of the run — ms its queue was empty (the source paused) and ms lost to stalls of its thread. */
  idleMs?: number; stalledMs?: number;
  /** sluice: its hosts' shapedSpinMicros. */
  spinUs?: number;
}

/** Burst of every shaper at `rateMbps`: 1 ms at the rate, at least two largest frames. */
const burstBytes = (rateMbps: number, maxFrame: number) => Math.max(2 * maxFrame, Math.round((rateMbps * 1e6 / 8) * 0.001));

// A veth between two namespaces, shaped on A's side by tbf or htb.
function linuxPair(shaper: 'tbf' | 'htb', rateMbps: number, gso: boolean): void {
  linuxDown();
  for (const ns of [NS_A, NS_B]) { sh('ip', ['netns', 'add', ns]); inNs(ns, ['ip', 'link', 'set', 'lo', 'up']); }
  sh('ip', ['link', 'add', DEV_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', DEV_B, 'netns', NS_B]);
  for (const [ns, dev, ip] of [[NS_A, DEV_A, '10.101.0.1'], [NS_B, DEV_B, '10.101.0.2']]) {
    inNs(ns, ['ip', 'link', 'set', dev, 'mtu', String(MTU), 'up']);
    inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', dev]);
  }
  if (!gso) inNs(NS_A, ['ethtool', '-K', DEV_A, 'tso', 'off', 'gso', 'off']);
  const burst = String(burstBytes(rateMbps, gso ? 65536 : MTU + 14)), rate = `${rateMbps}mbit`;
  if (shaper === 'tbf') inNs(NS_A, ['tc', 'qdisc', 'add', 'dev', DEV_A, 'root', 'tbf', 'rate', rate, 'burst', burst, 'limit', String(QUEUE)]);
  else {
    inNs(NS_A, ['tc', 'qdisc', 'add', 'dev', DEV_A, 'root', 'handle', '1:', 'htb', 'default', '1']);
    inNs(NS_A, ['tc', 'class', 'add', 'dev', DEV_A, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', rate, 'ceil', rate, 'burst', burst, 'cburst', burst]);
    inNs(NS_A, ['tc', 'qdisc', 'add', 'dev', DEV_A, 'parent', '1:1', 'bfifo', 'limit', String(QUEUE)]);
  }
}
function linuxDown(): void { for (const ns of [NS_A, NS_B]) tryRun('ip', ['netns', 'del', ns]); }

// rx_bytes of `dev` as the process `pid` (in the receiving namespace) sees it.
function rxBytes(pid: number, dev: string): number {
  const line = readFileSync(`/proc/${pid}/net/dev`, 'utf8').split('\n').find((l) => l.trim().startsWith(`${dev}:`));
  if (!line) throw new Error(`${dev} not in /proc/${pid}/net/dev`);
  return Number(line.split(':')[1].trim().split(/\s+/)[0]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Run the traffic from `a` to `b` (namespaces; b's interface `dev`, address `ip`) for `seconds`; per-second rates at b (Mb/s).
async function measure(a: string, b: string, dev: string, ip: string, traffic: Traffic, rateMbps: number, seconds: number): Promise<number[]> {
  const server: ChildProcess = spawn('ip', ['netns', 'exec', b, 'iperf3', '-s', '-1', '-B', ip, '-p', '5601'], { stdio: 'ignore' });
  try {
    await sleep(400);
    const udp = traffic === 'udp1500' || traffic === 'udp64';
    const args = ['iperf3', '-c', ip, '-p', '5601', '-t', String(seconds), ...(udp ? ['-u', '-b', `${1.5 * rateMbps}M`, '-l', traffic === 'udp64' ? '18' : '1422'] : [])];
    const client = spawn('ip', ['netns', 'exec', a, ...args], { stdio: 'ignore' });
    const done = new Promise<number>((r) => client.on('exit', (c) => r(c ?? -1)));
    const samples: { t: number; bytes: number }[] = [];
    let running = true;
    void done.then(() => { running = false; });
    for (let next = performance.now(); running;) {
      samples.push({ t: performance.now(), bytes: rxBytes(server.pid!, dev) });
      next += 1000;
      await sleep(Math.max(0, next - performance.now()));
    }
    if ((await done) !== 0) throw new Error(`iperf3 ${args.join(' ')} in ${a} failed`);
    const rates: number[] = [];
    for (let i = 1; i < samples.length; i++) rates.push(((samples[i].bytes - samples[i - 1].bytes) * 8) / ((samples[i].t - samples[i - 1].t) * 1000));
    return rates.slice(2, -1);
  } finally {
    server.kill('SIGKILL');
  }
}

async function runCase(shaper: Shaper, traffic: Traffic, rateMbps: number, seconds: number, spinUs: number): Promise<{ windows: number[]; idleMs?: number; stalledMs?: number }> {
  const gso = traffic === 'tcpgso';
  if (shaper !== 'sluice') {
    linuxPair(shaper, rateMbps, gso);
    try { return { windows: await measure(NS_A, NS_B, DEV_B, '10.101.0.2', traffic, rateMbps, seconds) }; } finally { linuxDown(); }
  }
  const tb = await Testbed.up({ hosts: 1, vms: 2, linux: true, vni: 42, port: 4789, prefix: PREFIX, tso: gso, shapedSpinMicros: spinUs, qos: { vm1: { maxRxMbps: rateMbps, burstUs: 1000, queueBytes: QUEUE } } });
  try {
    const [a, b] = tb.hosts.find((h) => h.kind === 'sluice')!.vms; // vm1 (limited) sends to vm2
    inNs(a.ns, ['ip', 'neigh', 'replace', b.ip, 'lladdr', b.mac, 'dev', a.dev]);
    inNs(b.ns, ['ip', 'neigh', 'replace', a.ip, 'lladdr', a.mac, 'dev', b.dev]);
    const t0 = Math.floor(Date.now() / 1000);
    const windows = await measure(a.ns, b.ns, b.dev, b.ip, traffic, rateMbps, seconds);
    // The limiter's own trace over the whole seconds the windows span: why a window fell short.
    const st = statsOf<{ ports: { name: string; limits?: { rx?: { perSecond: { second: number; idleUs: number; stalledUs: number }[] } } }[] }>(tb.hosts.find((h) => h.kind === 'sluice')!);
    const tr = st.ports.find((p) => p.name === 'vm1')?.limits?.rx?.perSecond.filter((w) => w.second >= t0 + 3 && w.second < t0 + seconds) ?? [];
    return { windows, idleMs: tr.reduce((x, w) => x + w.idleUs, 0) / 1000, stalledMs: tr.reduce((x, w) => x + w.stalledUs, 0) / 1000 };
  } finally {
    await tb.down();
  }
}

function summarise(shaper: Shaper, traffic: Traffic, rateMbps: number, c: { windows: number[]; idleMs?: number; stalledMs?: number }, spinUs: number): Row {
  const windows = c.windows;
  const errs = windows.map((w) => (Math.abs(w - rateMbps) / rateMbps) * 100).sort((x, y) => x - y);
  const p95 = errs.length === 0 ? NaN : errs[Math.min(errs.length - 1, Math.ceil(0.95 * errs.length) - 1)];
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return { traffic, rateMbps, shaper, windows, meanMbps: mean(windows), meanErrPct: mean(errs), p95ErrPct: p95, maxErrPct: errs[errs.length - 1], ...(c.idleMs !== undefined ? { idleMs: c.idleMs, stalledMs: c.stalledMs, spinUs } : {}) };
}

/** The table, markdown. */
export function table(rows: Row[]): string {
  const out = ['| traffic | rate Mb/s | shaper | mean Mb/s | mean error | p95 window error | worst window | limiter idle / stalled ms |', '|---|---:|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) out.push(`| ${r.traffic} | ${r.rateMbps} | ${r.shaper === 'sluice' ? `sluice limiter, spin ${r.spinUs} µs` : `tc ${r.shaper}`} | ${r.meanMbps.toFixed(2)} | ${r.meanErrPct.toFixed(2)}% | ${r.p95ErrPct.toFixed(2)}% | ${r.maxErrPct.toFixed(2)}% | ${r.idleMs !== undefined ? `${r.idleMs.toFixed(1)} / ${r.stalledMs!.toFixed(1)}` : ''} |`);
  return out.join('\n');
}

const HELP = `limiter-accuracy: sluice's port limiter beside tc tbf and htb at the same rates, burst and queue, in one run
  --rates 10,100,400       rates (Mb/s); udp64 runs at the rates up to 50 (a 2-core host offers no more at 60-byte frames)
  --cases udp1500,udp64,tcp,tcpgso
  --seconds 10             per shaper and case (1 s windows; the first two and the last left out)
  --spin 40                sluice's shapedSpinMicros; a list (40,200) runs sluice once per value
  --md FILE, --json FILE   write the table / the rows with every window
Needs root, the native module, iperf3, iproute2 and ethtool.`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) { console.log(HELP); return; }
  const opt = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  const rates = opt('--rates', '10,100,400').split(',').map(Number), seconds = Number(opt('--seconds', '10'));
  const cases = opt('--cases', 'udp1500,udp64,tcp,tcpgso').split(',') as Traffic[];
  const spins = opt('--spin', String(DEFAULT_SHAPED_SPIN_MICROS)).split(',').map(Number);
  if (process.getuid?.() !== 0) throw new Error('namespaces and qdiscs: run it as root');
  const rows: Row[] = [];
  const stop = () => { linuxDown(); process.exit(130); };
  process.once('SIGINT', stop); process.once('SIGTERM', stop);
  console.log(`limiter accuracy — node ${process.version}, ${seconds} s per shaper and case; ${sh('uname', ['-r']).trim()}`);
  for (const traffic of cases) {
    for (const rate of rates) {
      if (traffic === 'udp64' && rate > 50) continue;
      for (const [shaper, spin] of SHAPERS.flatMap((x): [Shaper, number][] => (x === 'sluice' ? spins.map((v) => [x, v]) : [[x, 0]]))) {
        const row = summarise(shaper, traffic, rate, await runCase(shaper, traffic, rate, seconds, spin), spin);
        rows.push(row);
        console.log(`${traffic} ${rate} Mb/s ${shaper}${shaper === 'sluice' ? ` spin ${spin} µs` : ''}: ${row.windows.map((w) => w.toFixed(2)).join(' ')} Mb/s; mean error ${row.meanErrPct.toFixed(2)}%, p95 ${row.p95ErrPct.toFixed(2)}%`);
      }
    }
  }
  console.log(`\n${table(rows)}`);
  const md = opt('--md', ''), json = opt('--json', '');
  if (md) writeFileSync(md, `${table(rows)}\n`);
  if (json) writeFileSync(json, JSON.stringify({ node: process.version, seconds, rows }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => { linuxDown(); console.error(`limiter-accuracy: ${(e as Error).message}`); process.exit(1); });
}
