// Queue offload policies in simulation (issue 15): how evenly each spreads skewed traffic over
// the datapath threads. The decisions need no real cores, so threads are simulated: per 10 ms
// sample, each flow's packets land on the thread its queue is served by.
//
// Traffic (seeded, the same for every method): 2,000 flows of 8 VMs with Zipf rates (s = 1.1),
// each alive for a random part of the 3 s; an elephant (15% of the load) starts at 1.0 s; VM 3
// bursts (4x) from 2.0 to 2.2 s; ±10% noise per sample. RSS hashes a flow to one of 128 buckets.
// Methods, each over the same samples:
// - static RSS: bucket b -> queue b mod Q, queue q -> thread q mod T;
// - RSS++-style: every 100 ms, buckets move from the busiest thread's queues to the least busy
//   one's, the one closest to half the gap first, until the imbalance is under 1% (reimplemented
//   from the paper's description);
// - VMQ, first come first served: each VM, in order of its first packet, gets a queue of its own
//   while queues remain (all its flows on it); the rest share queue 0;
// - sluice's QueuePolicy (src/controllers/queue-policy.ts) every 20 ms on the last period's rates.
// The bundled captures (cip.pcap, tls2.pcap) are replayed the same way, their whole span fitted
// into the 3 s: each flow's bytes in the sample of their time (loads are bytes here).
// Per method: imbalance per sample ((max − min) / min load per thread; median and p95 after
// the first 200 ms), time until the elephant has a queue of its own, moves per second, and the
// time the method's decisions took, as a share of one core over the simulated time.
// Checked before the table: every method delivers every packet of every sample to some thread.
//
//   node dist/native-free-bench/queue-policy.js

import { imbalance, QueuePolicy } from '../src/controllers/queue-policy.js';
import { CaptureReader, LINKTYPE_ETHERNET } from '../src/capture/capture-reader.js';
import { hashFlow } from '../src/nic/heavy-hitters.js';
import { FlowKeys, PARSE_OK } from '../src/wire/flow-key.js';

const SAMPLES = 300, SAMPLE_MS = 10, FLOWS = 2000, VMS = 8, BUCKETS = 128, WARM = 20;

interface Flow { id: number; port: number; bucket: number; rate: number; from: number; to: number }

interface Traffic { name: string; flows: Flow[]; load: (f: Flow, s: number) => number; elephant?: Flow }

// A capture's flows (5-tuple), replayed at a rate that fits its whole span into the samples:
// each frame's bytes in the sample of its time; VM = destination MAC's last byte mod 8.
function captureTraffic(file: string): Traffic {
  const r = CaptureReader.open(file), fk = new FlowKeys(1), ids = new Map<string, Flow>();
  const frames: { t: number; f: Flow; len: number }[] = [];
  while (r.next()) {
    if (r.linkType !== LINKTYPE_ETHERNET) continue;
    fk.inPort[0] = 0;
    if (fk.extract(r.data, r.off, r.caplen, 0) !== PARSE_OK) continue;
    const k = fk.packed, id = [1, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((w) => k[w]).join('.');
    let f = ids.get(id);
    if (!f) { f = { id: ids.size, port: fk.dstMacLo[0] % VMS, bucket: (hashFlow(k, 0) >>> 0) % BUCKETS, rate: 0, from: 0, to: SAMPLES }; ids.set(id, f); }
    frames.push({ t: r.tsSec * 1000 + r.tsNsec / 1e6, f, len: r.origLen });
  }
  r.close();
  const t0 = frames[0].t, span = Math.max(1e-9, frames[frames.length - 1].t - t0);
  const flows = [...ids.values()], table = new Float64Array(flows.length * SAMPLES);
  for (const x of frames) table[x.f.id * SAMPLES + Math.min(SAMPLES - 1, Math.floor(((x.t - t0) / span) * SAMPLES))] += x.len;
  return { name: file.split('/').pop()!, flows, load: (f, s) => table[f.id * SAMPLES + s] };
}

function traffic(seed: number): Traffic {
  let x = seed >>> 0 || 1;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const flows: Flow[] = [];
  let total = 0;
  for (let i = 0; i < FLOWS; i++) {
    const rate = 1000 / (i + 1) ** 1.1;
    total += rate;
    const a = Math.floor(rnd() * SAMPLES), b = Math.floor(rnd() * SAMPLES);
    flows.push({ id: i, port: Math.floor(rnd() * VMS), bucket: Math.floor(rnd() * BUCKETS), rate, from: i < 50 ? 0 : Math.min(a, b), to: i < 50 ? SAMPLES : Math.max(a, b) + 1 });
  }
  flows.push({ id: FLOWS, port: 5, bucket: Math.floor(rnd() * BUCKETS), rate: 0.15 * total, from: 100, to: SAMPLES }); // the elephant
  const noise = new Float64Array((FLOWS + 1) * SAMPLES);
  for (let i = 0; i < noise.length; i++) noise[i] = 0.9 + 0.2 * rnd();
  const load = (f: Flow, s: number) => (s < f.from || s >= f.to ? 0 : f.rate * noise[f.id * SAMPLES + s] * (f.port === 3 && s >= 200 && s < 220 ? 4 : 1));
  return { name: 'synthetic Zipf', flows, load, elephant: flows[FLOWS] };
}

interface Method { name: string; queueOf(f: Flow): number; threadOf(q: number): number; period(s: number, loads: Map<Flow, number>): void; moves(): number; dedicated(f: Flow): boolean }

function staticRss(Q: number, T: number): Method {
  return { name: 'static RSS', queueOf: (f) => f.bucket % Q, threadOf: (q) => q % T, period: () => {}, moves: () => 0, dedicated: () => false };
}

function rssPlusPlus(Q: number, T: number): Method {
  const ind = Int32Array.from({ length: BUCKETS }, (_, b) => b % Q);
  let moves = 0;
  const acc = new Float64Array(BUCKETS);
  return {
    name: 'RSS++-style (100 ms, to < 1%)', queueOf: (f) => ind[f.bucket], threadOf: (q) => q % T, moves: () => moves, dedicated: () => false,
    period(s, loads) {
      for (const [f, l] of loads) acc[f.bucket] += l;
      if ((s + 1) % 10 !== 0) return;
      for (let step = 0; step < BUCKETS; step++) {
        const tl = new Float64Array(T);
        for (let b = 0; b < BUCKETS; b++) tl[ind[b] % T] += acc[b];
        let hi = 0, lo = 0;
        for (let i = 1; i < T; i++) { if (tl[i] > tl[hi]) hi = i; if (tl[i] < tl[lo]) lo = i; }
        if (imbalance(tl) < 0.01) break;
        const gap = (tl[hi] - tl[lo]) / 2;
        let pick = -1;
        for (let b = 0; b < BUCKETS; b++) if (ind[b] % T === hi && acc[b] > 0 && acc[b] < 2 * gap && (pick < 0 || Math.abs(acc[b] - gap) < Math.abs(acc[pick] - gap))) pick = b;
        if (pick < 0) break;
        let to = lo; while (to % T !== lo) to++;
        ind[pick] = to; moves++;
      }
      acc.fill(0);
    },
  };
}

function vmqFcfs(Q: number, T: number): Method {
  const queueOfVm = new Map<number, number>();
  return {
    name: 'VMQ, first come first served', threadOf: (q) => q % T, moves: () => queueOfVm.size, dedicated: (f) => queueOfVm.has(f.port),
    queueOf: (f) => { let q = queueOfVm.get(f.port); if (q === undefined && queueOfVm.size < Q - 1) { q = queueOfVm.size + 1; queueOfVm.set(f.port, q); } return q ?? 0; },
    period: () => {},
  };
}

function sluice(Q: number, T: number, minRate: number): Method {
  const p = new QueuePolicy({ queues: Q, threads: T, filterCapacity: 64, buckets: BUCKETS, minRate });
  const acc = new Map<Flow, number>();
  return {
    name: 'sluice QueuePolicy (20 ms)', queueOf: (f) => p.a.dedicated.get(f.id) ?? p.a.indirection[f.bucket], threadOf: (q) => p.a.thread[q], moves: () => p.moves, dedicated: (f) => p.a.dedicated.has(f.id),
    period(s, loads) {
      for (const [f, l] of loads) acc.set(f, (acc.get(f) ?? 0) + l);
      if ((s + 1) % 2 !== 0) return;
      p.decide([...acc].filter(([, l]) => l > 0).map(([f, l]) => ({ id: f.id, port: f.port, bucket: f.bucket, load: l })));
      acc.clear();
    },
  };
}

interface Row { traffic: string; method: string; queues: number; threads: number; median: number; p95: number; elephantMs: number; movesPerS: number; decideMs: number }

function run(m: Method, t: Traffic, T: number): { imb: number[]; elephantMs: number; moves: number; decideMs: number } {
  const imb: number[] = [];
  let elephantMs = -1, decideMs = 0;
  const elephant = t.elephant;
  for (let s = 0; s < SAMPLES; s++) {
    const perThread = new Float64Array(T), loads = new Map<Flow, number>();
    let sent = 0;
    for (const f of t.flows) {
      const l = t.load(f, s);
      if (l === 0) continue;
      loads.set(f, l); sent += l;
      perThread[m.threadOf(m.queueOf(f))] += l;
    }
    const got = perThread.reduce((a, x) => a + x, 0);
    if (Math.abs(got - sent) > 1e-6 * sent) throw new Error(`${m.name}: sample ${s} delivered ${got} of ${sent}`);
    if (s >= WARM) imb.push(imbalance(perThread));
    const t0 = performance.now();
    m.period(s, loads);
    decideMs += performance.now() - t0;
    if (elephant && elephantMs < 0 && s >= elephant.from && m.dedicated(elephant)) elephantMs = (s + 1 - elephant.from) * SAMPLE_MS;
  }
  return { imb, elephantMs, moves: m.moves(), decideMs };
}

const pct = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]; };

export function queuePolicyBench(): Row[] {
  const rows: Row[] = [];
  for (const t of [traffic(7), ...['cip.pcap', 'tls2.pcap'].map((f) => captureTraffic(`test/fixtures/pcaps/${f}`))]) {
    // A flow earns a queue at 5% of the mean load per period (two samples).
    let total = 0;
    for (let s = 0; s < SAMPLES; s++) for (const f of t.flows) total += t.load(f, s);
    const minRate = 0.05 * (total / SAMPLES) * 2;
    for (const [Q, T] of [[4, 2], [4, 4], [8, 2], [8, 4]]) {
      for (const m of [staticRss(Q, T), rssPlusPlus(Q, T), vmqFcfs(Q, T), sluice(Q, T, minRate)]) {
        const r = run(m, t, T);
        rows.push({ traffic: t.name, method: m.name, queues: Q, threads: T, median: pct(r.imb, 0.5), p95: pct(r.imb, 0.95), elephantMs: r.elephantMs, movesPerS: r.moves / (SAMPLES * SAMPLE_MS / 1000), decideMs: r.decideMs });
      }
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = queuePolicyBench();
  const f = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '∞ (a thread idle)');
  console.log(`queue policies in simulation — node ${process.version}; ${FLOWS + 1} flows, ${VMS} VMs, ${BUCKETS} RSS buckets, ${SAMPLES} samples of ${SAMPLE_MS} ms`);
  console.log('| traffic | method | queues | threads | imbalance median | p95 | elephant has its own queue after | moves/s | decisions: CPU of one core |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  const run = (SAMPLES * SAMPLE_MS);
  for (const r of rows) console.log(`| ${r.traffic} | ${r.method} | ${r.queues} | ${r.threads} | ${f(r.median)} | ${f(r.p95)} | ${r.traffic !== 'synthetic Zipf' ? '—' : r.elephantMs < 0 ? 'never' : `${r.elephantMs} ms`} | ${r.movesPerS.toFixed(1)} | ${((100 * r.decideMs) / run).toFixed(2)}% |`);
}
