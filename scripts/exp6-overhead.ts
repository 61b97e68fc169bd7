// Experiment 6 — the pillar's overhead (guarantee-experiments.ts runs it), in two parts.
//
// A. Equal load, pillar off and on: three hosts with --rate Mb/s access links; a TCP stream from
//    host 1 into VM T and a UDP stream from host 3 into VM U, both on host 2 (weights 1:1) — at
//    40 Mb/s each ("under": the downlink 80% full, the same bytes delivered either way), and TCP
//    unlimited beside a line-rate flood ("over"). Over --seconds in the middle of each run: the CPU
//    the three sluice processes used (utime + stime, /proc/PID/stat), and on host 2 the notices'
//    bytes on the underlay (64-byte payload + 66: UDP/IPv4/Ethernet, FCS, preamble, gap) against
//    the data bytes it received on the wire.
// B. Many pairs, the cost per frame: two hosts without an emulated access link (line rate 10 Gb/s:
//    grants never bind, but every frame goes through its pair's limiter and the receiving side's
//    accounting); a generator in VM 1 of host 1 (mac-flood.ts) sends 1,000-byte frames at --pps to
//    VM 1 of host 2 from 1 or --pairs source MACs: the same load in every run. Each sluice
//    process's CPU per frame delivered (utime + stime over the frames host 2 delivered), with the
//    pillar off, on with one pair, on with --pairs pairs, interleaved --reps times (medians): a
//    CPU-bound host's throughput falls by 1 - off/on of it. On a machine whose speed drifts 2-3x,
//    CPU per frame at a fixed load is steadier than the rate of a flood that competes for the
//    cores. Detectors are per VM port, and a host has at most 256 ports (MAX_PORTS): host 2 tracks
//    the --pairs pairs (their notice budgets) with one VM's detector.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh, statsOf, Testbed, TestbedHost } from './testbed.js';
import { inNsBg, PREFIX, prime, sleep } from './experiment-kit.js';
import { plotBars } from './plot.js';
import { NOTICE_LEN } from '../src/wire/rate-notice.js';

/** A notice on the underlay beyond its payload: Ethernet, IPv4 and UDP headers, FCS, preamble and gap. */
const NOTICE_WIRE = NOTICE_LEN + 14 + 20 + 8 + 24;
const TICKS_PER_S = 100;

interface CpuRow { load: 'under' | 'over'; pillar: 'off' | 'on'; cpuPct: number[]; deliveredMbps: number; noticeBytes: number; dataBytes: number }
interface ScaleRow { run: string; rep: number; kpps: number; offeredKpps: number; pairs: number; unlimited: number; cpuUsPerFrame: number[] }

const stats = (h: TestbedHost) => statsOf<{
  ports: { name: string; counters: Record<string, number>; tunnels?: { watch?: { counters: Record<string, number> }; limiters?: unknown[]; limitersFull?: number } }[];
}>(h);
const pidOf = (h: TestbedHost) => Number(sh('pgrep', ['-f', `run --config ${h.config}$`]).trim().split('\n')[0]);
const cpuTicks = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const watchOf = (h: TestbedHost) => stats(h).ports.find((p) => p.name === 'uplink')?.tunnels?.watch?.counters ?? { noticesSent: 0, dataBytes: 0 };

async function cpuRun(rate: number, seconds: number, load: 'under' | 'over', pillar: 'off' | 'on', spin?: number): Promise<CpuRow> {
  const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: rate, shapedSpinMicros: spin, queueBytes: 65536, qos: { vm1: { weight: 1 }, vm2: { weight: 1 } }, ...(pillar === 'on' ? { guarantees: {} } : {}) });
  try {
    const [h1, h2, h3] = tb.hosts, T = h2.vms[0], U = h2.vms[1];
    prime(tb, [[h1.vms[0], T], [h3.vms[0], U]]);
    const each = load === 'under' ? 0.4 * rate : rate, run = seconds + 4;
    const servers = [inNsBg(T.ns, ['iperf3', '-s', '-1', '-B', T.ip, '-p', '5701']), inNsBg(U.ns, ['iperf3', '-s', '-1', '-B', U.ip, '-p', '5801'])];
    await sleep(700);
    const tcp = inNsBg(h1.vms[0].ns, ['iperf3', '-c', T.ip, '-p', '5701', '-t', String(run), ...(load === 'under' ? ['-b', `${each}M`] : [])]);
    const udp = inNsBg(h3.vms[0].ns, ['iperf3', '-c', U.ip, '-p', '5801', '-u', '-b', `${each}M`, '-l', '1300', '-t', String(run)]);
    await sleep(2000);
    const pids = [h1, h2, h3].map(pidOf), c0 = pids.map(cpuTicks), w0 = watchOf(h2), d0 = stats(h2).ports.filter((p) => p.name !== 'uplink').reduce((a, p) => a + p.counters.txBytes, 0), t0 = performance.now();
    await sleep(seconds * 1000);
    const c1 = pids.map(cpuTicks), w1 = watchOf(h2), d1 = stats(h2).ports.filter((p) => p.name !== 'uplink').reduce((a, p) => a + p.counters.txBytes, 0), dt = (performance.now() - t0) / 1000;
    await Promise.all([tcp.done, udp.done]);
    for (const s of servers) s.p.kill();
    return {
      load, pillar, cpuPct: c1.map((c, i) => (100 * (c - c0[i])) / TICKS_PER_S / dt), deliveredMbps: ((d1 - d0) * 8) / dt / 1e6,
      noticeBytes: (w1.noticesSent - w0.noticesSent) * NOTICE_WIRE, dataBytes: w1.dataBytes - w0.dataBytes,
    };
  } finally {
    await tb.down();
  }
}

async function scaleRun(run: string, rep: number, pairs: number, on: boolean, seconds: number, pps: number): Promise<ScaleRow> {
  const tb = await Testbed.up({ hosts: 2, vms: 1, linux: false, vni: 42, port: 4789, prefix: PREFIX, ...(on ? { guarantees: { lineMbps: 10000, maxPairs: 2 ** Math.ceil(Math.log2(pairs + 16)) } } : {}) });
  try {
    const [h1, h2] = tb.hosts, A = h1.vms[0], B = h2.vms[0];
    prime(tb, [[A, B]]);
    const flood = join(dirname(fileURLToPath(import.meta.url)), 'mac-flood.js');
    const gen = spawn('ip', ['netns', 'exec', A.ns, process.execPath, flood, '--dev', A.dev, '--dst-mac', B.mac, '--dst-ip', '10.100.0.254', '--macs', String(pairs), '--pps', String(pps), '--seconds', String(seconds + 3)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    gen.stdout.on('data', (d: Buffer) => { said += d; });
    const genDone = new Promise((r) => gen.on('exit', r));
    await sleep(2000);
    const tx = () => stats(h2).ports.find((p) => p.name === 'vm1')!.counters.txPackets, rx = () => stats(h1).ports.find((p) => p.name === 'vm1')!.counters.rxPackets;
    const pids = [h1, h2].map(pidOf), c0 = pids.map(cpuTicks), p0 = tx(), r0 = rx(), t0 = performance.now();
    await sleep(seconds * 1000);
    const p1 = tx(), r1 = rx(), c1 = pids.map(cpuTicks), dt = (performance.now() - t0) / 1000;
    const up = stats(h1).ports.find((p) => p.name === 'uplink')!.tunnels;
    await genDone;
    if (!said.includes('"sent"')) throw new Error(`mac-flood in ${A.ns} said nothing`);
    return { run, rep, pairs: up?.limiters?.length ?? 0, unlimited: up?.limitersFull ?? 0, kpps: (p1 - p0) / dt / 1000, offeredKpps: (r1 - r0) / dt / 1000,
      cpuUsPerFrame: c1.map((c, i) => ((c - c0[i]) * 1e6) / TICKS_PER_S / Math.max(1, p1 - p0)) };
  } finally {
    await tb.down();
  }
}

export async function exp6(o: { rate: number; seconds: number; pairs: number; pps: number; reps: number; parts: string; out: string; spin?: number }): Promise<void> {
  const cpu: CpuRow[] = [], scale: ScaleRow[] = [];
  for (const load of o.parts.includes('a') ? (['under', 'over'] as const) : []) {
    for (const pillar of ['off', 'on'] as const) {
      const r = await cpuRun(o.rate, o.seconds, load, pillar, o.spin);
      cpu.push(r);
      console.log(`exp6 A ${load} pillar ${pillar}: CPU ${r.cpuPct.map((c) => c.toFixed(1)).join(' / ')} % (hosts 1/2/3), delivered ${r.deliveredMbps.toFixed(1)} Mb/s, notices ${((100 * r.noticeBytes) / Math.max(1, r.dataBytes)).toFixed(3)}% of the data bytes`);
    }
  }
  for (let rep = 1; rep <= (o.parts.includes('b') ? o.reps : 0); rep++) {
    for (const [run, pairs, on] of [['pillar off', o.pairs, false], ['on, 1 pair', 1, true], [`on, ${o.pairs} pairs`, o.pairs, true]] as const) {
      const r = await scaleRun(run, rep, pairs, on, o.seconds, o.pps);
      scale.push(r);
      console.log(`exp6 B ${run} (rep ${rep}): ${r.kpps.toFixed(1)} kpps delivered of ${r.offeredKpps.toFixed(1)} host 1 took from the VM; CPU per frame ${r.cpuUsPerFrame.map((c) => c.toFixed(2)).join(' / ')} µs (hosts 1/2); ${r.pairs} pair limiters, ${r.unlimited} frames unlimited (table full)`);
    }
  }
  mkdirSync(o.out, { recursive: true });
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const a = ['| load | pillar | CPU host 1 / 2 / 3 (% of a core) | total | delivered to host 2 Mb/s | notice bytes / data bytes |', '|---|---|---:|---:|---:|---:|',
    ...cpu.map((r) => `| ${r.load} | ${r.pillar} | ${r.cpuPct.map((c) => c.toFixed(1)).join(' / ')} | ${sum(r.cpuPct).toFixed(1)} | ${r.deliveredMbps.toFixed(1)} | ${r.pillar === 'on' ? `${((100 * r.noticeBytes) / Math.max(1, r.dataBytes)).toFixed(3)}%` : '–'} |`)];
  const runs = [...new Set(scale.map((r) => r.run))];
  // CPU per frame (µs, a host's sluice process over the frames delivered), the median of the reps: steadier than kpps on a shared machine.
  const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
  const cpuOf = (run: string, h: number) => med(scale.filter((r) => r.run === run).map((r) => r.cpuUsPerFrame[h]));
  const b = ['| run | kpps delivered (each rep) | CPU µs per frame, host 1 (each rep) | host 2 (each rep) | host 1 median, vs off | host 2 median, vs off | pair limiters on host 1 |', '|---|---:|---:|---:|---:|---:|---:|',
    ...runs.map((run) => { const rs = scale.filter((r) => r.run === run), list = (h: number) => rs.map((r) => r.cpuUsPerFrame[h].toFixed(2)).join(', ');
      const vs = (h: number) => `${cpuOf(run, h).toFixed(2)}, ${((100 * cpuOf(run, h)) / cpuOf(runs[0], h)).toFixed(1)}%`;
      return `| ${run} | ${rs.map((r) => r.kpps.toFixed(1)).join(', ')} | ${list(0)} | ${list(1)} | ${vs(0)} | ${vs(1)} | ${rs[rs.length - 1].pairs} |`; })];
  writeFileSync(join(o.out, 'exp6.md'), `${a.join('\n')}\n\n${b.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp6.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, seconds: o.seconds, cpu, scale }));
  writeFileSync(join(o.out, 'exp6.svg'), await plotBars([
    ...cpu.map((r) => ({ t: 0, mbps: sum(r.cpuPct), series: `pillar ${r.pillar}`, panel: `CPU %, load ${r.load}` })),
    ...runs.flatMap((run) => [0, 1].map((h) => ({ t: 0, mbps: (100 * cpuOf(run, h)) / cpuOf(runs[0], h), series: run, panel: `host ${h + 1}: CPU per frame, % of pillar off` }))),
  ], { title: 'The pillar\'s overhead: CPU at equal load; CPU per frame with 1 and 1,000 pairs', y: '%' }));
  console.log(`\n${a.join('\n')}\n\n${b.join('\n')}\nwrote ${o.out}/exp6.{md,json,svg}`);
}
