// The shared table of (source VM, destination VM) pairs: made on demand and found again by every
// thread, bounded (a full table refuses and counts), aged out when idle, a reused slot known by
// its generation; and the per-thread limiters over it hold a pair to its granted rate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PairTable } from '../../src/qos/pair-table.js';
import { PairLimiters } from '../../src/qos/pair-limiters.js';
import { PacketPool } from '../../src/nic/pool.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { NoticeIntake } from '../../src/qos/notice-intake.js';
import { NOTICE_LEN, writeNotice } from '../../src/wire/rate-notice.js';
import { parseMac } from '../../src/wire/bytes.js';

test('pairs are made once, found from another thread\'s view, refused when the table is full, aged when idle', () => {
  const t = new PairTable(4), other = new PairTable(t.shared());
  const a = t.findOrAdd(7, 0x0200, 1, 0x0200, 2, 100_000);
  assert.ok(a >= 0);
  assert.equal(t.findOrAdd(7, 0x0200, 1, 0x0200, 2, 5), a, 'the same pair: the same slot, its rate kept');
  assert.equal(other.find(7, 0x0200, 1, 0x0200, 2), a, 'another thread finds it');
  assert.equal(other.rateOf(a), 100_000);
  assert.equal(t.find(8, 0x0200, 1, 0x0200, 2), -1, 'another VNI is another pair');
  for (let i = 3; i <= 5; i++) assert.ok(t.findOrAdd(7, 0x0200, 1, 0x0200, i, 1) >= 0);
  assert.equal(t.findOrAdd(7, 0x0200, 1, 0x0200, 9, 1), -1, 'a fifth pair finds the table full');
  assert.equal(t.full, 1);
  assert.equal(other.full, 1, 'counted in shared memory: any thread\'s view (the report\'s) sees it');
  assert.equal(t.size, 4);
  const gen = t.genOf(a);
  t.touch(a, 100);
  assert.equal(t.age(50), 3, 'the three pairs never touched since second 50 go');
  assert.equal(t.size, 1);
  assert.ok(t.live(a) && t.find(7, 0x0200, 1, 0x0200, 2) === a, 'the touched one stays');
  const b = t.findOrAdd(7, 0x0200, 9, 0x0200, 9, 1);
  assert.ok(b >= 0 && b !== a);
  assert.equal(t.age(200), 2);
  const c = t.findOrAdd(9, 1, 1, 1, 1, 1);
  assert.ok(c >= 0);
  if (c === a) assert.notEqual(t.genOf(c), gen, 'a reused slot has a new generation');
});

test('PairLimiters: floods and unknown-VTEP frames pass, a pair is held to its granted rate, a new grant is taken at once', () => {
  const pool = new PacketPool(4096, 2048), t = new PairTable(16);
  const lim = new PairLimiters(t, { lineKbps: 1_000_000, burstUs: 1000, queueBytes: 1 << 20, ecnBytes: 0, maxFrame: 1500 });
  const frame = buildFrame({ dst: '02:00:00:00:00:0b', src: '02:00:00:00:00:0a', payload: 1000 - 14 });
  const h0 = pool.allocFrom(frame, 0, frame.length);
  assert.equal(lim.offer(pool, h0, 7, 0, 0, 0), 0, 'tunnel 0 (the flood list): not limited');
  pool.free(h0);
  const out = new Int32Array(256), tun = new Int32Array(256);
  let sent = 0, slot = -1;
  // 10 Mb/s granted: 1,250 bytes per ms. Offer 3 frames per ms for 200 ms.
  for (let ms = 0; ms < 200; ms++) {
    for (let k = 0; k < 3; k++) {
      const h = pool.allocFrom(frame, 0, frame.length);
      const r = lim.offer(pool, h, 7, 2, ms * 1000, 0);
      assert.ok(r === 0 || r === 1, 'queued, or within its tokens: sent at once');
      if (r === 0) { sent += pool.len[h]; pool.free(h); }
      if (slot < 0) { slot = t.find(7, 0x0200, 0x0a, 0x0200, 0x0b); t.setRate(slot, 10_000); }
    }
    const n = lim.release(ms * 1000, out, tun, 256);
    for (let i = 0; i < n; i++) { assert.equal(tun[i], 2, 'the tunnel travels with the frame'); sent += pool.len[out[i]]; pool.free(out[i]); }
  }
  // The bucket started full at the line rate's burst (1 ms at 1 Gb/s: 125,000 bytes), then 10 Mb/s.
  const lineBurst = 125_000;
  assert.ok(sent <= 1250 * 200 + lineBurst + 3000 && sent >= 1250 * 195, `${sent} bytes in 200 ms at 10 Mb/s`);
  t.setRate(slot, 40_000);
  let later = 0;
  for (let ms = 200; ms < 300; ms++) {
    for (let k = 0; k < 6; k++) {
      const h = pool.allocFrom(frame, 0, frame.length), r = lim.offer(pool, h, 7, 2, ms * 1000, 0);
      if (r === 0) later += pool.len[h];
      if (r !== 1) pool.free(h);
    }
    const n = lim.release(ms * 1000, out, tun, 256);
    for (let i = 0; i < n; i++) { later += pool.len[out[i]]; pool.free(out[i]); }
  }
  assert.ok(later > 4500 * 100 && later < 5000 * 100 + 10000, `${later} bytes in 100 ms after a 40 Mb/s grant`);
  const left: number[] = [];
  lim.drain(left);
  for (const h of left) pool.free(h);
  assert.equal(pool.available, 4096, 'every frame back');
});

test('a slot given to another pair while this thread still holds the old pair\'s frames: they leave first, with their tunnels, none lost', () => {
  const pool = new PacketPool(256, 2048), t = new PairTable(2);
  const lim = new PairLimiters(t, { lineKbps: 1000, burstUs: 1000, queueBytes: 1 << 16, ecnBytes: 0, maxFrame: 1500 }); // 1 Mb/s: frames wait
  const frame = (dst: number) => { const f = buildFrame({ dst: `02:00:00:00:00:${dst.toString(16).padStart(2, '0')}`, src: '02:00:00:00:00:aa', payload: 986 }); return pool.allocFrom(f, 0, f.length); };
  // The burst's worth (two of the largest frames: three of these) goes at once, as offered; the rest wait.
  const offer = (h: number, tunnel: number, now: number) => { const r = lim.offer(pool, h, 7, tunnel, now, now); assert.ok(r >= 0); if (r === 0) pool.free(h); return r; };
  let first = 0;
  for (let i = 0; i < 10; i++) first += offer(frame(1), 5, 0) === 0 ? 1 : 0;
  assert.equal(first, 3, 'three frames within the burst');
  const out = new Int32Array(64), tun = new Int32Array(64);
  assert.equal(lim.release(0, out, tun, 64), 0, 'no tokens left for the queued ones');
  const old = t.find(7, 0x0200, 0xaa, 0x0200, 1);
  assert.equal(t.age(1), 1, 'the pair, offered in second 0, is aged out');
  // Two new pairs, one of them in the old pair's slot: a destination whose pair lands there.
  let d2 = 2;
  for (; d2 < 255; d2++) { if (t.findOrAdd(7, 0x0200, 0xaa, 0x0200, d2, 1000) === old) break; t.age(1); }
  assert.ok(d2 < 255, 'some destination\'s pair takes the old slot');
  let direct = 0;
  for (let i = 0; i < 3; i++) { direct += offer(frame(d2), 6, 10) === 0 ? 1 : 0; direct += offer(frame(d2 === 3 ? 4 : 3), 8, 10) === 0 ? 1 : 0; }
  let n = 0;
  const seen: number[] = [];
  for (let now = 10; now < 10_000_000 && lim.backlog; now += 100_000) {
    const k = lim.release(now, out, tun, 64);
    for (let i = 0; i < k; i++) { seen.push(tun[i]); pool.free(out[i]); }
    n += k;
  }
  assert.equal(first + direct + n, 16, 'every frame offered came out');
  assert.deepEqual(seen.slice(0, 10 - first), new Array(10 - first).fill(5), 'the old pair\'s frames first, to their own VTEP');
  assert.equal(pool.available, 256);
});

test('notices lost: a pair falls back to its sending VM\'s guarantee (qos.minMbps), or to the floor for a VM without one', () => {
  for (const [vmKbps, expect] of [[47_000, 47_000], [0, 10_000]]) {
    const t = new PairTable(8), counts = new Float64Array(8);
    const world = { isPeer: () => true, isLocalVm: () => true, hostOf: () => '0' };
    const intake = new NoticeIntake(t, world, { lineKbps: 100_000, floorKbps: 10_000, key: null, floorOf: () => vmKbps }, counts);
    const b = new Uint8Array(NOTICE_LEN);
    writeNotice(b, 0, { seq: 1, rateBps: 80e6, vni: 7, receiver: parseMac('02:00:00:00:00:0b')!, sender: parseMac('02:00:00:00:00:0a')! });
    intake.take(b, 0, NOTICE_LEN, 0, 1000);
    assert.equal(counts[0], 1, 'accepted');
    const s = t.find(7, 0x0200, 0x0a, 0x0200, 0x0b);
    assert.equal(t.rateOf(s), 80_000, 'the grant is the pair\'s rate');
    for (let now = 1000; now < 1_000_000; now += 100) { t.addBytes(s, 1000); intake.tick(now); } // sending at 80 Mb/s, no notice for a second
    assert.equal(t.rateOf(s), expect, `with no notices the pair ends at ${expect} kbit/s`);
  }
});

test('a pair sending too little to be owed a notice keeps its grant: feedback counts as lost only after three notice budgets of its data', () => {
  const t = new PairTable(8), counts = new Float64Array(8);
  const world = { isPeer: () => true, isLocalVm: () => true, hostOf: () => '0' };
  const intake = new NoticeIntake(t, world, { lineKbps: 100_000, floorKbps: 10_000, key: null, floorOf: () => 0 }, counts);
  const b = new Uint8Array(NOTICE_LEN);
  writeNotice(b, 0, { seq: 1, rateBps: 80e6, vni: 7, receiver: parseMac('02:00:00:00:00:0b')!, sender: parseMac('02:00:00:00:00:0a')! });
  intake.take(b, 0, NOTICE_LEN, 0, 1000);
  const s = t.find(7, 0x0200, 0x0a, 0x0200, 0x0b);
  // 1,000 bytes every 10 ms (0.8 Mb/s): three budgets (63,600 bytes) take 0.64 s.
  let now = 1000;
  for (; now < 600_000; now += 100) { if (now % 10_000 === 0) t.addBytes(s, 1000); intake.tick(now); }
  assert.equal(t.rateOf(s), 80_000, '60 KB in 0.6 s, under three budgets of 21,200 bytes: no notice was owed, the grant stands');
  for (; now < 2_000_000; now += 100) { if (now % 10_000 === 0) t.addBytes(s, 1000); intake.tick(now); }
  assert.ok(t.rateOf(s) < 80_000, `three budgets sent without a notice: feedback is lost, the rate falls (${t.rateOf(s)} kbit/s)`);
  assert.ok(t.rateOf(s) >= 10_000, 'never below the floor');
});

test('a grant held back (sooner than 120 µs after the last change) is applied by the next tick after, not at the next sweep of every pair', () => {
  const t = new PairTable(8), counts = new Float64Array(8);
  const world = { isPeer: () => true, isLocalVm: () => true, hostOf: () => '0' };
  const intake = new NoticeIntake(t, world, { lineKbps: 100_000, floorKbps: 10_000, key: null, floorOf: () => 0 }, counts);
  const b = new Uint8Array(NOTICE_LEN);
  const grant = (seq: number, bps: number, now: number) => {
    writeNotice(b, 0, { seq, rateBps: bps, vni: 7, receiver: parseMac('02:00:00:00:00:0b')!, sender: parseMac('02:00:00:00:00:0a')! });
    intake.take(b, 0, NOTICE_LEN, 0, now);
  };
  grant(1, 80e6, 5000);
  intake.tick(5000); // a sweep of every pair: the next one is 1 ms away
  const s = t.find(7, 0x0200, 0x0a, 0x0200, 0x0b);
  assert.equal(t.rateOf(s), 80_000);
  grant(2, 30e6, 5050); // 50 µs after the change: held
  assert.equal(t.rateOf(s), 80_000, 'held, not yet applied');
  intake.tick(5110);
  assert.equal(t.rateOf(s), 80_000, '110 µs after the change: still held');
  intake.tick(5220);
  assert.equal(t.rateOf(s), 30_000, 'applied at the first tick 120 µs after the change, before the next sweep (6,000)');
});
