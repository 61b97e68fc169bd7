// A datapath thread sleeps while frames wait in a shaper, until the next one is due
// (LinkShaper.dueIn, worker.ts). Over 30 seeded random shapers (10 Mb/s .. 10 Gb/s; limiters and
// emulated links; 64-byte, 1,500-byte and GSO-sized frames):
//   - dueIn is exact: a release a microsecond before it moves nothing, one at it moves a frame;
//   - a thread that only wakes when it says (plus 0-30 µs of wake-up latency) still sends the
//     rate within 0.5% over the run, and never more than r·τ + burst + a frame in 1 ms;
//   - with nothing queued it says -1 (sleep as long as you like).
// And with a bucket shared by two threads, one thread's due time counts the tokens the other took.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkShaper } from '../../src/qos/link-shaper.js';
import { SharedBucket } from '../../src/qos/shared-bucket.js';
import { PacketPool } from '../../src/nic/pool.js';
import { prng } from '../helpers/qos-sim.js';

test('30 random shapers served only when dueIn says: exact due times, the rate within 0.5%, no interval over r·τ + burst + a frame', () => {
  const pool = new PacketPool(2048, 65536 + 256);
  const out = new Int32Array(512);
  for (let seed = 1; seed <= 30; seed++) {
    const rand = prng(seed);
    const rateMbps = 10 * Math.pow(1000, rand()), perUs = rateMbps / 8;
    const kind = seed % 3, maxFrame = kind === 0 ? 64 : kind === 1 ? 1500 : 65536;
    const size = () => (kind === 2 ? 64 + Math.floor(rand() * 65472) : maxFrame);
    const limiter = seed % 2 === 0, burstUs = limiter ? 1000 : 100;
    const sh = new LinkShaper({ rateMbps, queueBytes: 4 * maxFrame + 65536, maxFrame, minFrame: 64, burstUs, catchUp: !limiter });
    const burst = Math.max(2 * maxFrame, perUs * burstUs);
    const where = `seed ${seed}: ${rateMbps.toFixed(1)} Mb/s, ${limiter ? 'limiter' : 'emulated link'}, frames ${kind === 2 ? 'GSO-sized' : maxFrame}`;
    assert.equal(sh.dueIn(0), -1, `${where}: nothing queued`);
    const T = Math.max(20_000, (2000 * (kind === 2 ? 32800 : maxFrame)) / perUs);
    const sent: { t: number; bytes: number }[] = [];
    let now = 0, exactChecks = 0;
    const fill = () => { // keep it overloaded: the queue topped up at every wake
      for (;;) {
        const h = pool.alloc();
        if (h < 0) return;
        pool.len[h] = size();
        if (!sh.offer(pool, h)) { pool.free(h); return; }
      }
    };
    fill();
    while (now < T) {
      let k = sh.release(now, out, out.length);
      for (let i = 0; i < k; i++) { sent.push({ t: now, bytes: pool.len[out[i]] }); pool.free(out[i]); }
      fill();
      const due = sh.dueIn(now);
      assert.ok(due >= 0, `${where}: frames wait, so a due time`);
      if (due >= 2 && exactChecks < 20) { // a release just before the due time finds too few tokens
        const early = Math.ceil(due) - 1; // under the due time
        assert.equal(sh.release(now + early, out, 1), 0, `${where}: a frame left ${(due - early).toFixed(2)} µs before it was due`);
        exactChecks++;
      }
      now += Math.max(Math.ceil(due), 1) + (rand() < 0.5 ? 0 : Math.floor(rand() * 30)); // sleep, and wake a little late
      k = sh.release(now, out, out.length);
      assert.ok(k >= 1, `${where}: nothing left at its due time`);
      for (let i = 0; i < k; i++) { sent.push({ t: now, bytes: pool.len[out[i]] }); pool.free(out[i]); }
    }
    const from = T * 0.1, bytes = sent.filter((x) => x.t > from).reduce((a, x) => a + x.bytes, 0), want = perUs * (now - from);
    assert.ok(Math.abs(bytes - want) / want <= 0.005, `${where}: ${((bytes / want) * 100).toFixed(3)}% of the rate`);
    let j = 0, inWin = 0;
    for (let i = 0; i < sent.length; i++) {
      inWin += sent[i].bytes;
      while (sent[i].t - sent[j].t > 1000) inWin -= sent[j++].bytes;
      assert.ok(inWin <= perUs * 1000 + burst + maxFrame, `${where}: ${inWin} bytes within 1 ms`);
    }
    const left: number[] = [];
    sh.drain(left);
    for (const h of left) pool.free(h);
    assert.equal(sh.dueIn(now), -1, `${where}: drained`);
  }
});

test('a shared bucket: one thread\'s due time counts the tokens another thread took', () => {
  const pool = new PacketPool(64, 2048);
  const buf = SharedBucket.create();
  const mk = () => new LinkShaper({ rateMbps: 8, queueBytes: 16384, maxFrame: 1000, minFrame: 64, burstUs: 1000, catchUp: false, bucket: new SharedBucket(buf) });
  const a = mk(), b = mk(); // 1 byte/µs; burst max(2 frames, 1000 µs) = 2,000 bytes
  const frame = () => { const h = pool.alloc(); pool.len[h] = 1000; return h; };
  const out = new Int32Array(8);
  assert.ok(a.offer(pool, frame()) && b.offer(pool, frame()) && b.offer(pool, frame()));
  assert.equal(a.dueIn(100), 0, 'an unstarted bucket starts full');
  assert.equal(b.release(100, out, 8), 2, 'b takes the whole burst');
  assert.equal(a.dueIn(100), 1000, 'a waits for 1,000 bytes at 1 byte/µs');
  assert.equal(a.dueIn(600), 500);
  assert.equal(a.release(1099, out, 8), 0);
  assert.equal(a.release(1100, out, 8), 1);
  assert.equal(a.dueIn(1100), -1);
  for (const h of [out[0]]) pool.free(h);
});

test('pass() first, then offer (a pair limiter): frames keep their order, no 1 ms holds more than r·τ + burst + a frame, an overloaded one keeps the rate within 0.5%', () => {
  const pool = new PacketPool(4096, 65536 + 256);
  const out = new Int32Array(512);
  for (let seed = 1; seed <= 30; seed++) {
    const rand = prng(500 + seed);
    const rateMbps = 10 * Math.pow(100, rand()), perUs = rateMbps / 8, maxFrame = seed % 2 ? 1500 : 9000;
    const sh = new LinkShaper({ rateMbps, queueBytes: 1 << 20, maxFrame, minFrame: 64, burstUs: 1000, catchUp: false });
    const burst = Math.max(2 * maxFrame, perUs * 1000), where = `seed ${seed}: ${rateMbps.toFixed(1)} Mb/s`;
    const sent: { t: number; bytes: number; seq: number }[] = [], seqOf = new Map<number, number>();
    let now = 0, seq = 0, owed = 0, overloadedFrom = -1;
    const T = Math.max(50_000, (3000 * maxFrame) / perUs);
    const load = () => (now < T / 3 ? 0.5 : 1.5); // under the rate, then over it
    while (now < T) {
      const step = 1 + Math.floor(rand() * 50);
      now += step;
      if (load() > 1 && overloadedFrom < 0) overloadedFrom = now;
      for (owed += load() * perUs * step; owed > 0;) {
        const h = pool.alloc();
        if (h < 0) break;
        const len = 64 + Math.floor(rand() * (maxFrame - 64));
        pool.len[h] = len; owed -= len;
        if (sh.pass(pool, h, now)) { sent.push({ t: now, bytes: len, seq: seq++ }); pool.free(h); continue; }
        if (sh.offer(pool, h, 0, now)) seqOf.set(h, seq++); else pool.free(h);
      }
      const k = sh.release(now, out, out.length);
      for (let i = 0; i < k; i++) { sent.push({ t: now, bytes: pool.len[out[i]], seq: seqOf.get(out[i])! }); seqOf.delete(out[i]); pool.free(out[i]); }
    }
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i].seq > sent[i - 1].seq, `${where}: frame ${sent[i].seq} left after ${sent[i - 1].seq}`);
    let j = 0, inWin = 0;
    for (let i = 0; i < sent.length; i++) {
      inWin += sent[i].bytes;
      while (sent[i].t - sent[j].t > 1000) inWin -= sent[j++].bytes;
      assert.ok(inWin <= perUs * 1000 + burst + maxFrame, `${where}: ${inWin} bytes within 1 ms`);
    }
    const from = overloadedFrom + 0.2 * (T - overloadedFrom), bytes = sent.filter((x) => x.t > from).reduce((a, x) => a + x.bytes, 0), want = perUs * (now - from);
    assert.ok(Math.abs(bytes - want) / want <= 0.005, `${where}: ${((100 * bytes) / want).toFixed(3)}% of the rate while overloaded`);
    assert.ok(sent.filter((x) => x.t < overloadedFrom).length > 10, `${where}: frames passed while under the rate`);
    const left: number[] = [];
    sh.drain(left);
    for (const h of left) pool.free(h);
  }
});
