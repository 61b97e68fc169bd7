// A thread that shapes an endless backlog through a LinkShaper drawing from a SharedBucket
// (shared-bucket.test.ts): virtual time runs from 0 to `untilUs` in 1 µs steps; each step it
// tops its queue up and releases what it may. It reports the bytes it released, the turns it
// found the bucket held by the other thread, and the tokens it saw lost to a stall (µs at the
// rate: the other thread held the lock, or was preempted holding it, for longer than the burst).

import { parentPort, workerData } from 'node:worker_threads';
import { LinkShaper } from '../../src/qos/link-shaper.js';
import { SharedBucket } from '../../src/qos/shared-bucket.js';
import { PacketPool } from '../../src/nic/pool.js';

const d = workerData as { bucket: SharedArrayBuffer; rateMbps: number; frame: number; untilUs: number; go: SharedArrayBuffer };
const pool = new PacketPool(256, 2048);
const sh = new LinkShaper({ rateMbps: d.rateMbps, queueBytes: 64 * d.frame, maxFrame: d.frame, burstUs: 1000, catchUp: false, bucket: new SharedBucket(d.bucket) });
const out = new Int32Array(64);
// Start together: say ready (word 1), then wait for the test's go word (word 0). Virtual time is
// each thread's own: one that started late would find the bucket counted far in its future.
const go = new Int32Array(d.go);
Atomics.add(go, 1, 1);
Atomics.wait(go, 0, 0);
let bytes = 0, busy = 0;
for (let t = 0; t <= d.untilUs; t++) {
  for (;;) {
    const h = pool.alloc();
    if (h < 0) break;
    pool.len[h] = d.frame;
    if (!sh.offer(pool, h)) { pool.free(h); break; }
  }
  const k = sh.release(t, out, out.length);
  if (k === 0 && sh.queued !== 0) busy++;
  for (let i = 0; i < k; i++) { bytes += pool.len[out[i]]; pool.free(out[i]); }
}
const stalledUs = LinkShaper.report(d.rateMbps, sh.queueBytes, sh.stats).perSecond.reduce((a, w) => a + w.stalledUs, 0);
parentPort!.postMessage({ bytes, busy, stalledUs });
