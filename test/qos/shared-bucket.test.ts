// One rate over several threads: LinkShapers that draw from one SharedBucket (a port shaped by
// every datapath thread that carries its frames) release no more than one bucket's worth —
// r·T + burst — however they interleave; each without it would release its own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { LinkShaper } from '../../src/qos/link-shaper.js';
import { SharedBucket } from '../../src/qos/shared-bucket.js';
import { PacketPool } from '../../src/nic/pool.js';
import { prng } from '../helpers/qos-sim.js';

const FRAME = 1500;

// Two shapers with an endless backlog, served in a random order at random turns over T µs of
// virtual time; bytes each released.
function interleaved(shared: boolean, rateMbps: number, T: number, seed: number): { bytes: number[]; burst: number } {
  const pool = new PacketPool(1024, 2048), rand = prng(seed), out = new Int32Array(64);
  const bucket = shared ? SharedBucket.create() : null;
  const mk = () => new LinkShaper({ rateMbps, queueBytes: 64 * FRAME, maxFrame: FRAME, burstUs: 1000, catchUp: false, bucket: bucket && new SharedBucket(bucket) });
  const sh = [mk(), mk()], bytes = [0, 0];
  for (let now = 0; now < T;) {
    now += 1 + Math.floor(rand() * 40);
    const first = rand() < 0.5 ? 0 : 1;
    for (const i of [first, 1 - first]) {
      for (let h; sh[i].depthBytes + FRAME <= sh[i].queueBytes && (h = pool.alloc()) >= 0;) { pool.len[h] = FRAME; sh[i].offer(pool, h); }
      const k = sh[i].release(now, out, out.length);
      for (let j = 0; j < k; j++) { bytes[i] += FRAME; pool.free(out[j]); }
    }
  }
  return { bytes, burst: sh[0].burst };
}

test('two shapers over one shared bucket hold one rate between them (without it: each its own)', () => {
  for (const [rateMbps, seed] of [[10, 1], [200, 2], [2000, 3]]) {
    const T = 200_000, rT = (rateMbps / 8) * T;
    const s = interleaved(true, rateMbps, T, seed), total = s.bytes[0] + s.bytes[1];
    assert.ok(total <= rT + s.burst + FRAME, `${rateMbps} Mb/s: ${total} bytes in ${T} µs, bound ${rT + s.burst + FRAME}`);
    assert.ok(Math.abs(total - rT) / rT < 0.01, `${rateMbps} Mb/s: ${total} bytes, ${(((total - rT) / rT) * 100).toFixed(2)}% off r·T`);
    assert.ok(Math.min(...s.bytes) > 0.2 * rT, `${rateMbps} Mb/s: both shapers sent (${s.bytes})`);
    const apart = interleaved(false, rateMbps, T, seed);
    assert.ok(apart.bytes[0] + apart.bytes[1] > 1.9 * rT, `apart, two shapers send twice: ${apart.bytes}`);
  }
});

test('two threads racing on one shared bucket never release more than it holds', { timeout: 60_000 }, async () => {
  const rateMbps = 1000, untilUs = 400_000, bucket = SharedBucket.create(), go = new SharedArrayBuffer(8);
  const ws = [0, 1].map(() => new Worker(new URL('../helpers/bucket-worker.js', import.meta.url), { workerData: { bucket, rateMbps, frame: FRAME, untilUs, go } }));
  const done = ws.map((w) => new Promise<{ bytes: number; busy: number; stalledUs: number }>((res, rej) => { w.once('message', res); w.once('error', rej); }));
  // Both are waiting for the go word (on a loaded machine a worker takes a while to start).
  while (Atomics.load(new Int32Array(go), 1) < 2) await new Promise((r) => setTimeout(r, 10));
  Atomics.store(new Int32Array(go), 0, 1);
  Atomics.notify(new Int32Array(go), 0);
  const r = await Promise.all(done);
  const total = r[0].bytes + r[1].bytes, rT = (rateMbps / 8) * untilUs, burst = (rateMbps / 8) * 1000;
  assert.ok(total <= rT + burst + 2 * FRAME, `${total} bytes released over ${untilUs} µs, at most ${rT + burst + 2 * FRAME} exist`);
  // Every token is accounted for: released, lost to a stall (a thread kept from the lock longer
  // than the burst lasts: counted), or left in the bucket at the end (under a burst).
  const lost = ((r[0].stalledUs + r[1].stalledUs) * rateMbps) / 8;
  assert.ok(total + lost >= rT - burst - 2 * FRAME - 1000, `${total} bytes released and ${lost} lost to stalls, ${rT} accrued`);
  assert.ok(r[0].bytes > 0 && r[1].bytes > 0, `both threads released (${r[0].bytes}, ${r[1].bytes}; found the bucket held ${r[0].busy} and ${r[1].busy} times; stalled ${r[0].stalledUs} and ${r[1].stalledUs} µs)`);
});
