// Guarantees' cost per frame (issue 14, experiment 6's data-path part): the sending side's pair
// limiters with 1,000 pairs (PairLimiters: offer, then release, in bursts of 64, at a rate high
// enough that every frame leaves — at once, from offer, since its pair has tokens and nothing
// waiting: the mechanism's own cost), and the receiving side's watch with
// 1,000 VMs and 1,000 pairs (DownlinkWatch.arrive per frame, the detector's interval and the
// notices due once per burst of virtual time), each beside the whole in-memory pipeline per frame
// timed in the same run (PipelineRig, 64-byte frames) — the pillar's share of a frame's time is
// the throughput a host loses to it. The naive baseline: a Map of per-pair objects (string keys)
// with a clock read per frame.
// Checked before timing: every frame offered is released, to the tunnel it was offered with; the
// watch counts every byte and sends notices within the 0.5% budget.
import { Bench } from 'tinybench';
import { PacketPool } from '../src/nic/pool.js';
import { PairTable } from '../src/qos/pair-table.js';
import { PairLimiters } from '../src/qos/pair-limiters.js';
import { DownlinkWatch } from '../src/qos/downlink-watch.js';
import { buildFrame } from '../src/wire/frame-builder.js';
import { NOTICE_LEN } from '../src/wire/rate-notice.js';
import { benchFrames, FLOWS, PipelineRig } from './pipeline-rig.js';
import { figure, Figure, print, save } from './report.js';

const PAIRS = 1000, BURST = 64, ROUNDS = 512;

export async function guaranteesBench(): Promise<Figure[]> {
  const pool = new PacketPool(8192, 2048);
  const hs = new Int32Array(PAIRS);
  for (let i = 0; i < PAIRS; i++) {
    const mac = (x: number) => `02:00:${((x >> 8) & 255).toString(16).padStart(2, '0')}:${(x & 255).toString(16).padStart(2, '0')}:00:01`;
    const f = buildFrame({ dst: mac(i), src: mac(i + 4096), payload: 1000 });
    hs[i] = pool.allocFrom(f, 0, f.length);
  }
  const table = new PairTable(1024), lim = new PairLimiters(table, { lineKbps: 400_000_000, burstUs: 1000, queueBytes: 1 << 20, ecnBytes: 0, maxFrame: 1518 });
  const out = new Int32Array(BURST), tun = new Int32Array(BURST), h0 = (k: number) => hs[k % PAIRS];
  // Check: 1,000 pairs made, every frame back out with its tunnel.
  let k = 0, now = 0;
  const sendRound = (): number => {
    now += 1;
    let n = 0;
    for (let i = 0; i < BURST; i++, k++) {
      const r = lim.offer(pool, h0(k), 42, 1 + (k % 7), now, 0); // 0: within its tokens, sent at once
      if (r < 0) throw new Error('guarantees check: a frame was refused');
      if (r === 0) n++;
    }
    for (let r; (r = lim.release(now, out, tun, BURST)) !== 0;) n += r;
    return n;
  };
  let back = 0;
  for (let r = 0; r < 64; r++) back += sendRound();
  if (back !== 64 * BURST) throw new Error(`guarantees check: ${back} of ${64 * BURST} frames released`);
  if (listed(table) !== PAIRS) throw new Error(`guarantees check: ${listed(table)} pairs in the table`);

  const stats = new Float64Array(8 + 4 * PAIRS);
  let notes = 0;
  const watch = new DownlinkWatch({ weights: new Array(PAIRS).fill(1), downlinkBps: 10e9, gamma: 0.95, intervalUs: 200, maxPairs: 1024, key: null }, stats, (_b, _v, n) => { notes += n; });
  const frames = Array.from(hs, (h) => pool.data.subarray(pool.start(h), pool.start(h) + pool.len[h]));
  let t = 0, j = 0;
  const arriveRound = (): void => {
    t += 1; // 64 frames of 1,088 wire bytes in 1 µs of virtual time: 557 Gb/s, every pair well over its budget
    for (let i = 0; i < BURST; i++, j++) { const f = frames[j % PAIRS]; watch.arrive(f, 0, f.length + 74, j % PAIRS, 42, 3, t); }
    watch.tick(t);
  };
  for (let r = 0; r < 4096; r++) arriveRound();
  if (stats[4] !== 4096 * BURST * (frames[0].length + 74)) throw new Error(`guarantees check: ${stats[4]} data bytes counted`);
  if (notes === 0 || (notes * (NOTICE_LEN + 42)) / stats[4] > 0.005) throw new Error(`guarantees check: ${notes} notices for ${stats[4]} bytes`);

  // The naive baseline: per-pair objects in a Map, a string key and a clock read per frame.
  const naive = new Map<string, { tokens: number; last: number; q: number[] }>();
  const naiveRound = (): void => {
    for (let i = 0; i < BURST; i++, k++) {
      const h = hs[k % PAIRS], d = pool.data, s = pool.start(h), key = `42|${Array.from(d.subarray(s, s + 12)).join(',')}`;
      let e = naive.get(key);
      if (e === undefined) { e = { tokens: 1e9, last: performance.now(), q: [] }; naive.set(key, e); }
      e.q.push(h);
      const tn = performance.now();
      e.tokens = Math.min(1e9, e.tokens + (tn - e.last) * 5e7); e.last = tn;
      while (e.q.length && e.tokens >= 1000) { e.tokens -= 1000; e.q.shift(); }
    }
  };
  const rig = new PipelineRig(benchFrames(FLOWS));
  if (rig.run(65536) !== 65536) throw new Error('guarantees check: the pipeline lost frames');
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add('whole in-memory pipeline per frame (64 B), the reference', () => { rig.run(BURST * ROUNDS); });
  bench.add('sending: pair limiters, 1,000 pairs, offer + release', () => { for (let r = 0; r < ROUNDS; r++) sendRound(); });
  bench.add('receiving: watch, 1,000 VMs and pairs, arrive + interval', () => { for (let r = 0; r < ROUNDS; r++) arriveRound(); });
  bench.add('baseline: Map of pair objects, string key and clock per frame', () => { for (let r = 0; r < ROUNDS; r++) naiveRound(); });
  await bench.run();
  return bench.tasks.map((x) => {
    const r = x.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(x.name, BURST * ROUNDS, (r.latency?.mean ?? r.mean!) / 1000, 'frames');
  });
}

function listed(t: PairTable): number { return t.size; }

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await guaranteesBench();
  print('guarantees, 1,000 pairs and VMs, bursts of 64 frames', figs);
  const ref = figs[0].nsPerPacket;
  console.log(`  pillar per frame, both sides: ${(figs[1].nsPerPacket + figs[2].nsPerPacket).toFixed(1)} ns = ${((100 * (figs[1].nsPerPacket + figs[2].nsPerPacket)) / (ref + figs[1].nsPerPacket + figs[2].nsPerPacket)).toFixed(1)}% of a frame's time with the pipeline (${ref.toFixed(1)} ns)`);
  save('guarantees', figs);
}
