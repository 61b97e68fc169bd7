// SPSC ring: burst semantics, full-ring refusal, wrap-around, and a real two-thread handoff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { Ring } from '../../src/nic/ring.js';
import { PacketPool } from '../../src/nic/pool.js';

test('burst enqueue takes what fits; dequeue returns in order across wrap-around', () => {
  const r = new Ring(8);
  const src = Int32Array.from({ length: 20 }, (_, i) => i);
  const dst = new Int32Array(20);
  assert.equal(r.enqueueBurst(src, 0, 5), 5);
  assert.equal(r.dequeueBurst(dst, 3), 3);
  assert.deepEqual([...dst.subarray(0, 3)], [0, 1, 2]);
  assert.equal(r.enqueueBurst(src, 5, 10), 6, 'ring of 8 with 2 queued takes 6');
  assert.equal(r.enqueue(99), false, 'full ring refuses');
  assert.equal(r.count, 8);
  assert.equal(r.dequeueBurst(dst, 20), 8);
  assert.deepEqual([...dst.subarray(0, 8)], [3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(r.dequeueBurst(dst, 20), 0);
  assert.throws(() => new Ring(6), /power of two/);
});

test('pool hands out and takes back every slot', () => {
  const p = new PacketPool(4, 512);
  const hs = [p.alloc(), p.alloc(), p.alloc(), p.alloc()];
  assert.deepEqual(hs.sort(), [0, 1, 2, 3]);
  assert.equal(p.alloc(), -1);
  assert.equal(p.allocFailures, 1);
  hs.forEach((h) => p.free(h));
  assert.equal(p.available, 4);
  assert.equal(p.allocFrom(new Uint8Array(600), 0, 600), -2, 'frame larger than a slot is refused');
  assert.throws(() => new PacketPool(4, 100), /slotSize/);
});

test('allocFrom copies exactly the frame, from any offset of a larger buffer, at any length and slot size', () => {
  let seed = 5;
  const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const src = Uint8Array.from({ length: 4096 }, () => rnd(256));
  for (const slotSize of [2048, 1023]) { // 1023: slots not 4-aligned take the other copy
    const p = new PacketPool(8, slotSize);
    for (let k = 0; k < 3000; k++) {
      const n = 1 + rnd(slotSize - 128), off = rnd(src.length - n);
      p.data.fill(0xa5);
      const h = p.allocFrom(src, off, n);
      assert.ok(h >= 0);
      const at = p.start(h);
      assert.deepEqual(p.data.subarray(at, at + n), src.subarray(off, off + n), `n ${n} off ${off} slot ${slotSize}`);
      assert.equal(p.data[at + n], 0xa5, 'nothing written past the frame');
      assert.equal(p.data[at - 1], 0xa5, 'nothing written before it');
      p.free(h);
    }
  }
});

test('one million handles cross to a worker thread and back in order, none lost', async () => {
  const there = new Ring(1024), back = new Ring(1024);
  const N = 1_000_000;
  const code = `
    const { workerData } = require('node:worker_threads');
    const mk = (s) => ({ idx: new Int32Array(s.buffer, 0, 32), slots: new Int32Array(s.buffer, 128, s.capacity), cap: s.capacity });
    const a = mk(workerData.there), b = mk(workerData.back);
    let moved = 0;
    while (moved < workerData.n) {
      const head = a.idx[0], tail = Atomics.load(a.idx, 16);
      if (tail === head) continue;
      const btail = b.idx[16];
      if (btail - Atomics.load(b.idx, 0) >= b.cap) continue;
      b.slots[btail & (b.cap - 1)] = a.slots[head & (a.cap - 1)];
      Atomics.store(b.idx, 16, btail + 1);
      Atomics.store(a.idx, 0, head + 1);
      moved++;
    }`;
  const w = new Worker(code, { eval: true, workerData: { there: there.shared(), back: back.shared(), n: N } });
  const buf = new Int32Array(64);
  let sent = 0, got = 0, bad = 0;
  const src = new Int32Array(64);
  while (got < N) {
    if (sent < N) {
      const k = Math.min(64, N - sent);
      for (let i = 0; i < k; i++) src[i] = sent + i;
      sent += there.enqueueBurst(src, 0, k);
    }
    const n = back.dequeueBurst(buf, 64);
    for (let i = 0; i < n; i++) if (buf[i] !== got + i) bad++;
    got += n;
    if (n === 0) await new Promise((r) => setImmediate(r));
  }
  await w.terminate();
  assert.equal(got, N);
  assert.equal(bad, 0);
});
