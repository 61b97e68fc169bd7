// guarantee-experiments: predictable bandwidth measured on the testbed (issue 14's experiments),
// each with one command, writing its table (markdown), its data (JSON) and its plot (SVG, drawn
// with vega-lite from the traces) into --out (default docs/qos).
//
//   sudo node dist/scripts/guarantee-experiments.js exp1 [--rate 100] [--seconds 6] [--weights 1,2,4]
//                                                         [--senders 1,2,4,8] [--out docs/qos]
//
// Experiment 1 — a TCP tenant and a UDP tenant into one receiving host. Three sluice hosts with
// access links of --rate Mb/s (a rate this 2-core machine sustains for three hosts at once). Host 2
// has VM T (weight w) and VM U (weight 1): T's guarantee is γC·w/(w+1) on the wire. One TCP
// stream from host 1 into T; k UDP floods, each at the line rate, from k VMs of host 3 into U.
// T's arrivals are captured on its tap (tcpdump) and cut into 10 ms windows of bytes on the wire
// (frame + 74, as the downlink counts them); the goal: every window ≥ 95% of the guarantee in ≥ 99%
// of the windows. Each case runs with the pillar off (no guarantees on the uplinks) and on.
// Needs root, the native module, iperf3, tcpdump, iproute2.

import { spawn, ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNs, Testbed, TestbedVm } from './testbed.js';
import { CaptureReader } from '../src/capture/capture-reader.js';
import { WIRE_OVERHEAD } from '../src/endpoints/vxlan-codec.js';
import { PlotPoint, plotLines } from './plot.js';

const GAMMA = 0.95, WINDOW_MS = 10, PREFIX = 'gx';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Exp1Row { weight: number; senders: number; pillar: 'off' | 'on'; guaranteeMbps: number; meanMbps: number; windows: number; atGoalPct: number; p1Mbps: number; tcpGoodputMbps: number }

// A process in namespace `ns` (its output ignored); resolves when it exits.
function inNsBg(ns: string, args: string[]): { p: ChildProcess; done: Promise<number> } {
  const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: 'ignore' });
  return { p, done: new Promise((r) => p.on('exit', (c) => r(c ?? -1))) };
}

// Per 10 ms window, the Mb/s on the wire of the TCP data from `src` in capture `file`; the first
// second (slow start) and the last half second left out.
function windowsOf(file: string, src: string): number[] {
  const r = CaptureReader.open(file), s = src.split('.').map(Number), bins = new Map<number, number>();
  let first = Infinity, last = 0;
  while (r.next()) {
    const d = r.data, o = r.off;
    if (r.caplen < 34 || d[o + 12] !== 0x08 || d[o + 13] !== 0x00) continue;
    if (d[o + 26] !== s[0] || d[o + 27] !== s[1] || d[o + 28] !== s[2] || d[o + 29] !== s[3]) continue;
    const t = r.tsSec * 1000 + r.tsNsec / 1e6;
    first = Math.min(first, t); last = Math.max(last, t);
    const w = Math.floor(t / WINDOW_MS);
    bins.set(w, (bins.get(w) ?? 0) + r.origLen + WIRE_OVERHEAD);
  }
  const out: number[] = [];
  for (let w = Math.floor((first + 1000) / WINDOW_MS); w < Math.floor((last - 500) / WINDOW_MS); w++) out.push(((bins.get(w) ?? 0) * 8) / (WINDOW_MS * 1000));
  return out;
}

async function exp1Case(tb: Testbed, rate: number, k: number, seconds: number, dir: string): Promise<{ windows: number[]; goodput: number }> {
  const [h1, h2, h3] = tb.hosts, T = h2.vms[0], U = h2.vms[1], tcpFrom = h1.vms[0], floods = h3.vms.slice(0, k);
  const servers = [inNsBg(T.ns, ['iperf3', '-s', '-1', '-B', T.ip, '-p', '5701']), ...floods.map((_, i) => inNsBg(U.ns, ['iperf3', '-s', '-1', '-B', U.ip, '-p', String(5800 + i)]))];
  const pcap = join(dir, `t-${k}.pcap`);
  const cap = inNsBg(T.ns, ['tcpdump', '-i', T.dev, '-s', '96', '-U', '-w', pcap, 'tcp']);
  await sleep(700);
  const udp = floods.map((v, i) => inNsBg(v.ns, ['iperf3', '-c', U.ip, '-p', String(5800 + i), '-u', '-b', `${rate}M`, '-l', '1300', '-t', String(seconds + 2)]));
  await sleep(1000);
  const j = JSON.parse(inNs(tcpFrom.ns, ['iperf3', '-c', T.ip, '-p', '5701', '-t', String(seconds), '-J'], (seconds + 30) * 1000)) as { end: { sum_received: { bits_per_second: number } } };
  await Promise.all(udp.map((u) => u.done));
  cap.p.kill('SIGINT');
  await cap.done;
  for (const s of servers) s.p.kill();
  return { windows: windowsOf(pcap, tcpFrom.ip), goodput: j.end.sum_received.bits_per_second / 1e6 };
}

// Static neighbours between all VMs, ECN for the VMs' TCP (as data-centre hosts run it: the pair
// limiters mark before they drop), and one ping each way for the pairs used (MACs learned).
function prime(tb: Testbed, pairs: [TestbedVm, TestbedVm][]): void {
  for (const v of tb.vms) inNs(v.ns, ['sysctl', '-qw', 'net.ipv4.tcp_ecn=1']);
  for (const v of tb.vms) for (const w of tb.vms) if (v !== w && v.host !== w.host) inNs(v.ns, ['ip', 'neigh', 'replace', w.ip, 'lladdr', w.mac, 'dev', v.dev]);
  for (const [a, b] of pairs) inNs(a.ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', b.ip]);
}

async function exp1(o: { rate: number; seconds: number; weights: number[]; senders: number[]; out: string }): Promise<void> {
  const rows: Exp1Row[] = [], traces: PlotPoint[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-exp1-')), maxK = Math.max(...o.senders);
  try {
    for (const w of o.weights) {
      for (const pillar of ['off', 'on'] as const) {
        const tb = await Testbed.up({ hosts: 3, vms: Math.max(2, maxK), linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: 65536,
          qos: { vm1: { weight: w }, vm2: { weight: 1 } }, ...(pillar === 'on' ? { guarantees: {} } : {}) });
        try {
          const [h1, h2, h3] = tb.hosts;
          prime(tb, [[h1.vms[0], h2.vms[0]], ...h3.vms.slice(0, maxK).map((v) => [v, h2.vms[1]] as [TestbedVm, TestbedVm])]);
          for (const k of o.senders) {
            const g = (GAMMA * o.rate * w) / (w + 1);
            const { windows, goodput } = await exp1Case(tb, o.rate, k, o.seconds, tmp);
            const sorted = [...windows].sort((a, b) => a - b);
            const row: Exp1Row = {
              weight: w, senders: k, pillar, guaranteeMbps: g, meanMbps: windows.reduce((s, x) => s + x, 0) / Math.max(1, windows.length), windows: windows.length,
              atGoalPct: (100 * windows.filter((x) => x >= 0.95 * g).length) / Math.max(1, windows.length), p1Mbps: sorted[Math.floor(0.01 * sorted.length)] ?? 0, tcpGoodputMbps: goodput,
            };
            rows.push(row);
            console.log(`exp1 w=${w}:1 k=${k} pillar ${pillar}: TCP ${row.meanMbps.toFixed(1)} Mb/s on the wire (guarantee ${g.toFixed(1)}), ${row.atGoalPct.toFixed(1)}% of ${row.windows} windows >= 95%, 1st percentile ${row.p1Mbps.toFixed(1)}`);
            if (w === o.weights[0] && (k === o.senders[0] || k === maxK)) windows.forEach((m, i) => traces.push({ t: (i * WINDOW_MS) / 1000, mbps: m, series: `pillar ${pillar}`, panel: `${k} UDP sender${k > 1 ? 's' : ''}` }));
          }
        } finally {
          await tb.down();
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const table = ['| weights T:U | UDP senders | pillar | T guarantee Mb/s | T mean Mb/s | windows ≥ 95% of guarantee | 1st percentile window Mb/s | TCP goodput Mb/s |', '|---|---:|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) table.push(`| ${r.weight}:1 | ${r.senders} | ${r.pillar} | ${r.guaranteeMbps.toFixed(1)} | ${r.meanMbps.toFixed(1)} | ${r.atGoalPct.toFixed(1)}% of ${r.windows} | ${r.p1Mbps.toFixed(1)} | ${r.tcpGoodputMbps.toFixed(1)} |`);
  writeFileSync(join(o.out, 'exp1.md'), `${table.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp1.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, seconds: o.seconds, windowMs: WINDOW_MS, rows, traces }));
  const g = (GAMMA * o.rate * o.weights[0]) / (o.weights[0] + 1);
  writeFileSync(join(o.out, 'exp1.svg'), await plotLines(traces, { title: `TCP tenant's rate in 10 ms windows (weights ${o.weights[0]}:1, ${o.rate} Mb/s downlink; guarantee ${g.toFixed(1)} Mb/s)`, x: 'time (s)', y: 'Mb/s on the wire', rule: g }));
  console.log(`\n${table.join('\n')}\nwrote ${o.out}/exp1.{md,json,svg}`);
}

const HELP = `guarantee-experiments: issue 14's experiments on the testbed (root; iperf3, tcpdump)
  exp1 [--rate 100] [--seconds 6] [--weights 1,2,4] [--senders 1,2,4,8] [--out docs/qos]
       a TCP tenant vs 1..8 UDP senders into one receiving host, pillar off and on`;

async function main(argv: string[]): Promise<void> {
  const opt = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  if (argv[0] !== 'exp1') { console.log(HELP); if (argv[0] !== '--help' && argv[0] !== '-h') process.exitCode = argv.length ? 1 : 0; return; }
  if (process.getuid?.() !== 0) throw new Error('the testbed makes namespaces and taps: run it as root');
  await exp1({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '6')), weights: opt('--weights', '1,2,4').split(',').map(Number), senders: opt('--senders', '1,2,4,8').split(',').map(Number), out: opt('--out', 'docs/qos') });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => { console.error(`guarantee-experiments: ${(e as Error).message}`); process.exit(1); });
}
