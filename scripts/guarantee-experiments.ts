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

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNs, sh, statsOf, Testbed, TestbedVm } from './testbed.js';
import { binsOf, GAMMA, inNsBg, PREFIX, prime, sleep, WINDOW_MS, windowsOf } from './experiment-kit.js';
import { PlotPoint, plotBars, plotLines } from './plot.js';
import { exp6 } from './exp6-overhead.js';
import { exp7 } from './exp7-latency.js';

interface Exp1Row { weight: number; senders: number; pillar: 'off' | 'on'; guaranteeMbps: number; meanMbps: number; windows: number; atGoalPct: number; p1Mbps: number; tcpGoodputMbps: number }

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

// Experiment 2 — step and on/off. Weights 1:1; a TCP stream into T for the whole run; into U, a
// UDP flood at the line rate that starts at 2 s and stops at 5 s (the step), then from 7 s to 10 s
// bursts of 5 ms every 25 ms (on/off). Both VMs' arrivals are captured and binned per ms.
// Per flood onset: the time after which every trailing 5 ms has the aggregate ≤ 1.05·γC and T ≥
// 0.95·g until the next onset (goal: p95 ≤ 5 ms); after the step ends: the time until T's
// trailing 5 ms reach 0.95·γC (full rate; goal ≤ 10 ms).
async function exp2(o: { rate: number; out: string }): Promise<void> {
  const gc = GAMMA * o.rate, g = gc / 2, pts: PlotPoint[] = [], rows: Record<string, unknown>[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-exp2-'));
  const pattern = join(dirname(fileURLToPath(import.meta.url)), 'udp-pattern.js');
  try {
    for (const pillar of ['off', 'on'] as const) {
      const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: 65536, ...(pillar === 'on' ? { guarantees: {} } : {}) });
      try {
        const [h1, h2, h3] = tb.hosts, T = h2.vms[0], U = h2.vms[1], src = h3.vms[0];
        prime(tb, [[h1.vms[0], T], [src, U]]);
        const caps = [T, U].map((v, i) => { const f = join(tmp, `${pillar}-${i}.pcap`); return { f, c: inNsBg(v.ns, ['tcpdump', '-i', v.dev, '-s', '96', '-U', '-w', f, 'ip']) }; });
        const srv = inNsBg(T.ns, ['iperf3', '-s', '-1', '-B', T.ip, '-p', '5701']);
        await sleep(700);
        const tcp = inNsBg(h1.vms[0].ns, ['iperf3', '-c', T.ip, '-p', '5701', '-t', '12']);
        const step = inNsBg(src.ns, [process.execPath, pattern, '--to', `${U.ip}:9`, '--mbps', String(o.rate), '--delay', '2000', '--seconds', '3']);
        const onoff = inNsBg(src.ns, [process.execPath, pattern, '--to', `${U.ip}:9`, '--mbps', String(o.rate), '--on', '5', '--off', '20', '--delay', '7000', '--seconds', '3']);
        await Promise.all([tcp.done, step.done, onoff.done]);
        for (const c of caps) c.c.p.kill('SIGINT');
        await Promise.all(caps.map((c) => c.c.done));
        srv.p.kill();
        const bt = binsOf(caps[0].f, h1.vms[0].ip, 1).bins, bu = binsOf(caps[1].f, src.ip, 1).bins;
        const mb = (b: Map<number, number>, k: number) => ((b.get(k) ?? 0) * 8) / 1000; // Mb/s in a 1 ms bin
        const trail = (b: Map<number, number>, k: number) => { let x = 0; for (let j = k - 4; j <= k; j++) x += mb(b, j); return x / 5; };
        // The step: U's first frame to its last before a gap of 500 ms; then the on/off bursts: U's
        // frames after a gap of at least 10 ms. A time "settles" a flood onset when, from then on
        // until the flood's next onset (the step: its first second), every trailing 5 ms have the
        // aggregate ≤ 1.05·γC and T ≥ 0.95·g (0: never violated).
        const uBins = [...bu.keys()].sort((a, b) => a - b);
        const stepStart = uBins[0], endAt = uBins.findIndex((k, i) => i === uBins.length - 1 || uBins[i + 1] - k >= 500), stepEnd = uBins[endAt];
        const onsets = uBins.filter((k, i) => i > endAt && k - uBins[i - 1] >= 10);
        const ok = (k: number) => trail(bt, k) + trail(bu, k) <= 1.05 * gc && trail(bt, k) >= 0.95 * g;
        const settleIn = (k0: number, span: number) => { let lastBad = -1; for (let k = k0; k < k0 + span; k++) if (!ok(k)) lastBad = k; return lastBad < 0 ? 0 : lastBad - k0 + 1; };
        const stepSettle = settleIn(stepStart, 1000), settle = onsets.map((k) => settleIn(k, 25));
        const recover = (() => { for (let k = stepEnd; k < stepEnd + 2000; k++) if (trail(bt, k) >= 0.95 * gc) return k - stepEnd; return Infinity; })();
        const sorted = settle.sort((a, b) => a - b), p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] ?? NaN;
        // How much of each flood period held both conditions, and T's mean there.
        const share = (a: number, b: number) => { let n = 0; for (let k = a; k < b; k++) if (ok(k)) n++; return (100 * n) / Math.max(1, b - a); };
        const tMean = (a: number, b: number) => { let x = 0; for (let k = a; k < b; k++) x += mb(bt, k); return x / Math.max(1, b - a); };
        const last = uBins[uBins.length - 1];
        rows.push({ pillar, stepOkPct: share(stepStart + 5, stepEnd), stepTMbps: tMean(stepStart, stepEnd), onOffOkPct: onsets.length ? share(onsets[0], last) : NaN, onOffTMbps: onsets.length ? tMean(onsets[0], last) : NaN });
        rows[rows.length - 1] = { ...rows[rows.length - 1], stepSettleMs: stepSettle, onOffBursts: sorted.length, onOffSettleP95Ms: p95, onOffSettleMedianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN, recoverMs: recover };
        console.log(`exp2 pillar ${pillar}: step settled after ${stepSettle} ms (of its first 1000); on/off bursts ${sorted.length}, settled after median ${sorted[Math.floor(sorted.length / 2)]} ms, p95 ${p95} ms (of 25); T at full rate ${recover} ms after the step`);
        const t0 = stepStart;
        for (let k = t0 - 500; k < t0 + 3500; k += 5) pts.push({ t: (k - t0) / 1000, mbps: (trail(bt, k + 4)), series: 'T (TCP)', panel: `pillar ${pillar}` }, { t: (k - t0) / 1000, mbps: trail(bu, k + 4), series: 'U (UDP flood)', panel: `pillar ${pillar}` });
      } finally {
        await tb.down();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const fmt = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? String(x) : 'never');
  const pct = (x: unknown) => `${(x as number).toFixed(1)}%`, mbs = (x: unknown) => (x as number).toFixed(1);
  const table = ['| pillar | step: T Mb/s | step: ms both hold | step: settled after (ms, of 1,000) | on/off: T Mb/s | on/off: ms both hold | on/off bursts | on/off: settled after, median / p95 (ms, of 25) | T at full rate after the step (ms) |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.pillar} | ${mbs(r.stepTMbps)} | ${pct(r.stepOkPct)} | ${fmt(r.stepSettleMs)} | ${mbs(r.onOffTMbps)} | ${pct(r.onOffOkPct)} | ${r.onOffBursts} | ${fmt(r.onOffSettleMedianMs)} / ${fmt(r.onOffSettleP95Ms)} | ${fmt(r.recoverMs)} |`)];
  writeFileSync(join(o.out, 'exp2.md'), `${table.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp2.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, rows, points: pts }));
  writeFileSync(join(o.out, 'exp2.svg'), await plotLines(pts, { title: `Step: a line-rate UDP flood into U from 0 s to 3 s (5 ms windows; ${o.rate} Mb/s downlink; T's guarantee ${g.toFixed(1)} Mb/s)`, x: 'time since the flood began (s)', y: 'Mb/s on the wire', rule: g }));
  console.log(`\n${table.join('\n')}\nwrote ${o.out}/exp2.{md,json,svg}`);
}

// Experiment 4 — one VM with 1 flow vs one with 16, equal weights: host 2's VM A receives one TCP
// stream from host 1, VM B sixteen (iperf3 -P 16) from host 3, for --seconds. Goal: each gets
// 50% ± 5% of what the two get together (TCP alone splits per flow: B would take 16/17).
async function exp4(o: { rate: number; seconds: number; out: string }): Promise<void> {
  const rows: { pillar: string; aMbps: number; bMbps: number; aShare: number }[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-exp4-'));
  try {
    for (const pillar of ['off', 'on'] as const) {
      const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: 65536, ...(pillar === 'on' ? { guarantees: {} } : {}) });
      try {
        const [h1, h2, h3] = tb.hosts, A = h2.vms[0], B = h2.vms[1];
        prime(tb, [[h1.vms[0], A], [h3.vms[0], B]]);
        const caps = [A, B].map((v, i) => { const f = join(tmp, `${pillar}-${i}.pcap`); return { f, c: inNsBg(v.ns, ['tcpdump', '-i', v.dev, '-s', '96', '-U', '-w', f, 'tcp']) }; });
        const srv = [inNsBg(A.ns, ['iperf3', '-s', '-1', '-B', A.ip, '-p', '5701']), inNsBg(B.ns, ['iperf3', '-s', '-1', '-B', B.ip, '-p', '5702'])];
        await sleep(700);
        const runs = [inNsBg(h1.vms[0].ns, ['iperf3', '-c', A.ip, '-p', '5701', '-t', String(o.seconds)]), inNsBg(h3.vms[0].ns, ['iperf3', '-c', B.ip, '-p', '5702', '-t', String(o.seconds), '-P', '16'])];
        await Promise.all(runs.map((r) => r.done));
        for (const c of caps) c.c.p.kill('SIGINT');
        await Promise.all(caps.map((c) => c.c.done));
        for (const x of srv) x.p.kill();
        const mean = (w: number[]) => w.reduce((a, b) => a + b, 0) / Math.max(1, w.length);
        const a = mean(windowsOf(caps[0].f, h1.vms[0].ip)), b = mean(windowsOf(caps[1].f, h3.vms[0].ip));
        rows.push({ pillar, aMbps: a, bMbps: b, aShare: a / (a + b) });
        console.log(`exp4 pillar ${pillar}: 1 flow ${a.toFixed(1)} Mb/s, 16 flows ${b.toFixed(1)} Mb/s: ${((100 * a) / (a + b)).toFixed(1)}% / ${((100 * b) / (a + b)).toFixed(1)}%`);
      } finally {
        await tb.down();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const table = ['| pillar | VM A, 1 flow: Mb/s | VM B, 16 flows: Mb/s | A : B |', '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.pillar} | ${r.aMbps.toFixed(1)} | ${r.bMbps.toFixed(1)} | ${(100 * r.aShare).toFixed(1)}% : ${(100 - 100 * r.aShare).toFixed(1)}% |`)];
  writeFileSync(join(o.out, 'exp4.md'), `${table.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp4.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, seconds: o.seconds, rows }));
  const pts: PlotPoint[] = rows.flatMap((r) => [{ t: r.pillar === 'off' ? 0 : 1, mbps: r.aMbps, series: 'VM A (1 flow)' }, { t: r.pillar === 'off' ? 0 : 1, mbps: r.bMbps, series: 'VM B (16 flows)' }]);
  writeFileSync(join(o.out, 'exp4.svg'), await plotBars(pts.map((p) => ({ ...p, panel: p.t === 0 ? 'pillar off' : 'pillar on' })), { title: `1 flow vs 16 flows, equal weights (${o.rate} Mb/s downlink; mean rate on the wire)`, y: 'Mb/s on the wire' }));
  console.log(`\n${table.join('\n')}\nwrote ${o.out}/exp4.{md,json,svg}`);
}

// Experiment 3 — incast: N TCP senders (hosts 1 and 3) into VM I on host 2 while VM V there
// receives one TCP stream with weight 1:1 (its guarantee g = γC/2). A fresh testbed per case, so
// the downlink queue's high mark is this case's. Goals: V ≥ 95% of g; the downlink queue's peak
// ≤ 50% of its size.
async function exp3(o: { rate: number; seconds: number; senders: number[]; out: string }): Promise<void> {
  const QUEUE = 65536, g = (GAMMA * o.rate) / 2, rows: Record<string, number | string>[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-exp3-'));
  try {
    for (const n of o.senders) {
      for (const pillar of ['off', 'on'] as const) {
        const tb = await Testbed.up({ hosts: 3, vms: 9, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: QUEUE, ...(pillar === 'on' ? { guarantees: {} } : {}) });
        try {
          const [h1, h2, h3] = tb.hosts, V = h2.vms[0], I = h2.vms[1], from = h1.vms[0];
          const senders = [...h3.vms, ...h1.vms.slice(1)].slice(0, n);
          prime(tb, [[from, V], ...senders.map((x) => [x, I] as [TestbedVm, TestbedVm])]);
          const pcap = join(tmp, `v-${n}-${pillar}.pcap`);
          const cap = inNsBg(V.ns, ['tcpdump', '-i', V.dev, '-s', '96', '-U', '-w', pcap, 'tcp']);
          const servers = [inNsBg(V.ns, ['iperf3', '-s', '-1', '-B', V.ip, '-p', '5701']), ...senders.map((_, i) => inNsBg(I.ns, ['iperf3', '-s', '-1', '-B', I.ip, '-p', String(5800 + i)]))];
          await sleep(800);
          const vic = inNsBg(from.ns, ['iperf3', '-c', V.ip, '-p', '5701', '-t', String(o.seconds + 1)]);
          await sleep(1000);
          const inc = senders.map((x, i) => inNsBg(x.ns, ['iperf3', '-c', I.ip, '-p', String(5800 + i), '-t', String(o.seconds)]));
          await Promise.all([vic.done, ...inc.map((x) => x.done)]);
          cap.p.kill('SIGINT');
          await cap.done;
          for (const x of servers) x.p.kill();
          const stats = statsOf<{ ports: { name: string; tunnels?: { link?: { rx: { maxDepthBytes: number; droppedPackets: number } } } }[] }>(h2);
          const rx = stats.ports.find((p) => p.name === 'uplink')!.tunnels!.link!.rx;
          const w = windowsOf(pcap, from.ip), mean = w.reduce((a, b) => a + b, 0) / Math.max(1, w.length);
          const row = { senders: n, pillar, victimMbps: mean, victimPctOfG: (100 * mean) / g, windowsAtGoalPct: (100 * w.filter((x) => x >= 0.95 * g).length) / Math.max(1, w.length), peakQueuePct: (100 * rx.maxDepthBytes) / QUEUE, downlinkDrops: rx.droppedPackets };
          rows.push(row);
          console.log(`exp3 N=${n} pillar ${pillar}: victim ${mean.toFixed(1)} Mb/s (${row.victimPctOfG.toFixed(0)}% of g ${g.toFixed(1)}), ${row.windowsAtGoalPct.toFixed(1)}% of 10 ms windows >= 95%; downlink queue peak ${row.peakQueuePct.toFixed(0)}% of ${QUEUE} B, ${rx.droppedPackets} drops`);
        } finally {
          await tb.down();
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const f1 = (x: number | string) => (x as number).toFixed(1);
  const table = ['| incast senders | pillar | victim Mb/s | % of its guarantee | 10 ms windows ≥ 95% | downlink queue peak | downlink drops |', '|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.senders} | ${r.pillar} | ${f1(r.victimMbps)} | ${f1(r.victimPctOfG)}% | ${f1(r.windowsAtGoalPct)}% | ${f1(r.peakQueuePct)}% | ${r.downlinkDrops} |`)];
  writeFileSync(join(o.out, 'exp3.md'), `${table.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp3.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, seconds: o.seconds, queueBytes: QUEUE, rows }));
  const pts: PlotPoint[] = rows.flatMap((r) => [{ t: Number(r.senders), mbps: Number(r.victimMbps), series: `victim, pillar ${r.pillar}` }, { t: Number(r.senders), mbps: Number(r.peakQueuePct), series: `queue peak % (not Mb/s), pillar ${r.pillar}` }]);
  writeFileSync(join(o.out, 'exp3.svg'), await plotLines(pts, { title: `Incast into one VM: the victim beside it (guarantee ${g.toFixed(1)} Mb/s, dashed) and the downlink queue's peak`, x: 'incast senders', y: 'victim Mb/s on the wire; queue peak %', rule: g }));
  console.log(`\n${table.join('\n')}\nwrote ${o.out}/exp3.{md,json,svg}`);
}

// Experiment 5 — notice loss: experiment 1's weights 1:1 with one UDP sender (every VM's
// guarantee γC/2 as qos.minMbps), while a share of the notices arriving at the sending hosts is
// dropped (nftables: UDP to their uplinks whose payload starts with the notice magic, at random),
// from 1 s into the TCP stream on. Goal: T within 10% of its no-loss figure.
async function exp5(o: { rate: number; seconds: number; losses: number[]; out: string }): Promise<void> {
  const rows: Record<string, number>[] = [], g = (GAMMA * o.rate) / 2, table = 'sluice_exp5';
  // Every VM's guarantee is γC/2 (qos.minMbps): the downlink's weights are 1:1, and a pair whose
  // notices are lost falls back to its sender's guarantee.
  const guarantee = Math.floor(g);
  const tmp = mkdtempSync(join(tmpdir(), 'sluice-exp5-'));
  const nft = (args: string) => sh('nft', args.split(' '));
  try {
    for (const loss of o.losses) {
      const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: 65536, qos: { vm1: { minMbps: guarantee }, vm2: { minMbps: guarantee } }, guarantees: {} });
      try {
        const [h1, h2, h3] = tb.hosts;
        prime(tb, [[h1.vms[0], h2.vms[0]], [h3.vms[0], h2.vms[1]]]);
        try { nft(`delete table inet ${table}`); } catch { /* not there */ }
        // The loss begins once the flows have run (notices flowed) for a second: a pair that never
        // heard from its receiver's host is not limited at all (that host may not run guarantees).
        const lose = setTimeout(() => {
          if (loss === 0) return;
          nft(`add table inet ${table}`);
          nft(`add chain inet ${table} in { type filter hook input priority 0 ; }`);
          nft(`add rule inet ${table} in ip daddr { ${h1.underlay}, ${h3.underlay} } udp dport 4789 @th,64,32 0x534c524e ${loss < 100 ? `numgen random mod 100 < ${loss} ` : ''}counter drop`);
        }, 2700);
        const { windows } = await exp1Case(tb, o.rate, 1, o.seconds, tmp);
        clearTimeout(lose);
        const st = statsOf<{ ports: { name: string; tunnels?: { notices?: Record<string, number> } }[] }>(h3);
        const taken = st.ports.find((p) => p.name === 'uplink')?.tunnels?.notices?.accepted ?? 0;
        const mean = windows.reduce((a, b) => a + b, 0) / Math.max(1, windows.length);
        rows.push({ loss, tMbps: mean, pctOfG: (100 * mean) / g, windowsAtGoalPct: (100 * windows.filter((x) => x >= 0.95 * g).length) / Math.max(1, windows.length), noticesTakenByFlooder: taken });
        console.log(`exp5 loss ${loss}%: T ${mean.toFixed(1)} Mb/s (${((100 * mean) / g).toFixed(0)}% of g), the flooding host took ${taken} notices`);
      } finally {
        try { nft(`delete table inet ${table}`); } catch { /* not there */ }
        await tb.down();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const base = rows.find((r) => r.loss === 0)?.tMbps ?? NaN;
  const lines = ['| notices lost | T Mb/s | % of its guarantee | vs no loss | 10 ms windows ≥ 95% | notices the flooding host took |', '|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.loss}% | ${r.tMbps.toFixed(1)} | ${r.pctOfG.toFixed(1)}% | ${((100 * r.tMbps) / base).toFixed(1)}% | ${r.windowsAtGoalPct.toFixed(1)}% | ${r.noticesTakenByFlooder} |`)];
  writeFileSync(join(o.out, 'exp5.md'), `${lines.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp5.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, seconds: o.seconds, rows }));
  writeFileSync(join(o.out, 'exp5.svg'), await plotLines(rows.map((r) => ({ t: r.loss, mbps: r.tMbps, series: 'T (TCP), mean on the wire' })), { title: `Notice loss: the TCP tenant beside a UDP flood (guarantee ${g.toFixed(1)} Mb/s, dashed)`, x: 'notices lost (%)', y: 'Mb/s on the wire', rule: g }));
  console.log(`\n${lines.join('\n')}\nwrote ${o.out}/exp5.{md,json,svg}`);
}

const HELP = `guarantee-experiments: issue 14's experiments on the testbed (root; iperf3, tcpdump)
  exp1 [--rate 100] [--seconds 6] [--weights 1,2,4] [--senders 1,2,4,8] [--out docs/qos]
       a TCP tenant vs 1..8 UDP senders into one receiving host, pillar off and on
  exp2 [--rate 100] [--out docs/qos]
       a line-rate UDP flood that starts and stops, then comes in 5 ms bursts every 25 ms
  exp3 [--rate 100] [--seconds 6] [--senders 2,4,8,16] [--out docs/qos]
       incast: N TCP senders into one VM while a second VM on that host keeps its guarantee
  exp4 [--rate 100] [--seconds 8] [--out docs/qos]
       a VM receiving 1 TCP flow beside one receiving 16, equal weights
  exp5 [--rate 100] [--seconds 6] [--losses 0,10,50,90,100] [--out docs/qos]
       experiment 1 (1:1, one UDP sender) with that share of the notices dropped (needs nft)
  exp6 [--rate 100] [--seconds 5] [--pairs 1000] [--pps 40000] [--reps 3] [--parts ab] [--out docs/qos] [--spin µs]
       overhead: (a) CPU and notice bytes at equal load, pillar off and on; (b) CPU per frame of
       one VM sending as --pairs VMs (mac-flood.ts: one source MAC each) at --pps, off and on
  exp7 [--rate 100] [--requests 5000] [--out docs/qos]
       request/response latency beside a bursty UDP neighbour: alone, pillar off, pillar on`;

async function main(argv: string[]): Promise<void> {
  const opt = (name: string, def: string) => { const i = argv.indexOf(name); return i >= 0 && argv[i + 1] ? argv[i + 1] : def; };
  if (!['exp1', 'exp2', 'exp3', 'exp4', 'exp5', 'exp6', 'exp7'].includes(argv[0])) { console.log(HELP); if (argv[0] !== '--help' && argv[0] !== '-h') process.exitCode = argv.length ? 1 : 0; return; }
  if (process.getuid?.() !== 0) throw new Error('the testbed makes namespaces and taps: run it as root');
  if (argv[0] === 'exp2') { await exp2({ rate: Number(opt('--rate', '100')), out: opt('--out', 'docs/qos') }); return; }
  if (argv[0] === 'exp3') { await exp3({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '6')), senders: opt('--senders', '2,4,8,16').split(',').map(Number), out: opt('--out', 'docs/qos') }); return; }
  if (argv[0] === 'exp6') { await exp6({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '5')), pairs: Number(opt('--pairs', '1000')), pps: Number(opt('--pps', '40000')), reps: Number(opt('--reps', '3')), parts: opt('--parts', 'ab'), out: opt('--out', 'docs/qos'), ...(argv.includes('--spin') ? { spin: Number(opt('--spin', '')) } : {}) }); return; }
  if (argv[0] === 'exp7') { await exp7({ rate: Number(opt('--rate', '100')), requests: Number(opt('--requests', '5000')), out: opt('--out', 'docs/qos') }); return; }
  if (argv[0] === 'exp5') { await exp5({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '6')), losses: opt('--losses', '0,10,50,90,100').split(',').map(Number), out: opt('--out', 'docs/qos') }); return; }
  if (argv[0] === 'exp4') { await exp4({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '8')), out: opt('--out', 'docs/qos') }); return; }
  await exp1({ rate: Number(opt('--rate', '100')), seconds: Number(opt('--seconds', '6')), weights: opt('--weights', '1,2,4').split(',').map(Number), senders: opt('--senders', '1,2,4,8').split(',').map(Number), out: opt('--out', 'docs/qos') });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((e) => { console.error(`guarantee-experiments: ${(e as Error).message}`); process.exit(1); });
}
