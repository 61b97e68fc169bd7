// Shapers: frames through a LinkShaper (offer, then release, in bursts of 64 at a rate high
// enough that every frame leaves: the mechanism's own cost per frame) with its tokens in the
// thread (an emulated link, a port limiter run by one thread) and in a SharedBucket (a port
// limiter several threads draw on: one lock per release, uncontended here), beside the naive
// baseline: a JS array of frame objects, push and shift, a clock read and refill per frame.
// Checked before timing: at a rate that holds frames back, the LinkShaper and the baseline
// release the same frames at the same (virtual) times.
import { Bench } from 'tinybench';
import { LinkShaper } from '../src/qos/link-shaper.js';
import { SharedBucket } from '../src/qos/shared-bucket.js';
import { PacketPool } from '../src/nic/pool.js';
import { figure, Figure, print, save } from './report.js';

const BURST = 64, ROUNDS = 1024;

class NaiveShaper {
  private q: { h: number; bytes: number }[] = [];
  private tokens: number;
  private last = 0;
  constructor(private perUs: number, private burst: number) { this.tokens = burst; }
  offer(h: number, bytes: number): void { this.q.push({ h, bytes }); }
  release(now: () => number, out: number[]): void {
    while (this.q.length) {
      const t = now();
      if (t > this.last) { this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.perUs); this.last = t; }
      if (this.tokens < this.q[0].bytes) return;
      const f = this.q.shift()!;
      this.tokens -= f.bytes;
      out.push(f.h);
    }
  }
}

export async function shaperBench(): Promise<Figure[]> {
  const pool = new PacketPool(4096, 2048), sizes = [64, 576, 1500];
  const hs: number[] = [];
  for (let i = 0; i < BURST; i++) { const h = pool.alloc(); pool.len[h] = sizes[i % 3]; hs.push(h); }
  const out = new Int32Array(BURST);
  // Check: 100 Mb/s, a burst offered every 50 µs of virtual time; both release the same frames at each step.
  {
    const sh = new LinkShaper({ rateMbps: 100, queueBytes: 1 << 20, maxFrame: 1500, burstUs: 100, catchUp: false });
    const naive = new NaiveShaper(100 / 8, sh.burst), got: number[] = [];
    let released = 0;
    for (let k = 0; k < 200; k++) {
      const now = k * 50;
      for (const h of hs) { sh.offer(pool, h); naive.offer(h, pool.len[h]); }
      const n = sh.release(now, out, BURST);
      got.length = 0; naive.release(() => now, got);
      if (n !== got.length || got.some((h, i) => h !== out[i])) throw new Error(`shaper check: step ${k}: LinkShaper released ${n}, the baseline ${got.length}`);
      released += n;
    }
    if (released === 0 || released === 200 * BURST) throw new Error(`shaper check: ${released} released; the traffic should be partly held back`);
  }
  const fast = (bucket: SharedBucket | null) => new LinkShaper({ rateMbps: 400000, queueBytes: 1 << 20, maxFrame: 1500, catchUp: false, bucket });
  const local = fast(null), shared = fast(new SharedBucket(SharedBucket.create())), naive = new NaiveShaper(400000 / 8, 1e9), sink: number[] = [];
  const t0 = performance.now(), us = () => (performance.now() - t0) * 1000;
  const run = (sh: LinkShaper) => () => {
    for (let k = 0; k < ROUNDS; k++) {
      for (let i = 0; i < BURST; i++) sh.offer(pool, hs[i]);
      if (sh.release(us(), out, BURST) !== BURST) throw new Error('a frame was held back at 400 Gb/s');
    }
  };
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add('LinkShaper, tokens in the thread, bursts of 64', run(local));
  bench.add('LinkShaper, SharedBucket (a lock per release), bursts of 64', run(shared));
  bench.add('baseline: array of frame objects, clock and refill per frame', () => {
    for (let k = 0; k < ROUNDS; k++) {
      for (let i = 0; i < BURST; i++) naive.offer(hs[i], pool.len[hs[i]]);
      sink.length = 0; naive.release(us, sink);
    }
  });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(t.name, BURST * ROUNDS, (r.latency?.mean ?? r.mean!) / 1000, 'frames queued and released');
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await shaperBench();
  print('shapers, bursts of 64 frames', figs);
  save('shaper', figs);
}
