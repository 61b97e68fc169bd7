// Properties of the data-path shaper (LinkShaper) over 60 seeded random cases: rates from
// 10 Mb/s to 10 Gb/s, 64-byte, 1,500-byte and GSO-sized frames (up to 64 KiB, each charged its
// full bytes), served every 1-50 µs (a datapath loop's turns), offered at 1.5x the rate:
//   - in every interval τ, bytes sent <= r·τ + burst + one frame;
//   - over the overloaded run, bytes sent within 0.5% of r·T;
//   - liveness: no frame waits longer than twice its refill horizon (the bytes ahead of it and its
//     own, at the rate) plus two turns.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkShaper } from '../../src/qos/link-shaper.js';
import { PacketPool } from '../../src/nic/pool.js';
import { prng } from '../helpers/qos-sim.js';

const OVERHEAD = 0;

test('60 random shapers: no interval above r·τ + burst + a frame, long-run rate within 0.5%, no frame starved', () => {
  const pool = new PacketPool(4096, 65536 + 256);
  const out = new Int32Array(512);
  for (let seed = 1; seed <= 60; seed++) {
    const rand = prng(seed);
    const rateMbps = 10 * Math.pow(1000, rand()); // 10 Mb/s .. 10 Gb/s, log-uniform
    const kind = seed % 3, size = () => (kind === 0 ? 64 : kind === 1 ? 1500 : 64 + Math.floor(rand() * 65472));
    const maxFrame = kind === 0 ? 64 : kind === 1 ? 1500 : 65536;
    const sh = new LinkShaper({ rateMbps, queueBytes: 4 * (maxFrame + OVERHEAD) + 65536, overhead: OVERHEAD, maxFrame, minFrame: 64 });
    const perUs = rateMbps / 8, burst = Math.max(2 * maxFrame, perUs * 100);
    // Run long enough for ~3,000 frames to pass, at least 20 ms.
    const meanSize = kind === 2 ? 32800 : maxFrame;
    const T = Math.max(20_000, (3000 * meanSize) / perUs);
    const sent: { t: number; bytes: number }[] = [];
    const enq = new Map<number, { t: number; horizonUs: number }>();
    let owed = 0, now = 0, worst = 0, lastStep = 0;
    while (now < T) {
      const step = 1 + Math.floor(rand() * 50);
      now += step; lastStep = Math.max(lastStep, step);
      for (owed += 1.5 * perUs * step; owed > 0;) {
        const len = size();
        const h = pool.alloc();
        if (h < 0) break;
        pool.len[h] = len;
        owed -= len;
        const ahead = sh.depthBytes;
        if (sh.offer(pool, h)) enq.set(h, { t: now, horizonUs: (ahead + len) / perUs }); else pool.free(h);
      }
      const k = sh.release(now, out, out.length);
      for (let i = 0; i < k; i++) {
        const h = out[i], e = enq.get(h)!;
        enq.delete(h);
        worst = Math.max(worst, (now - e.t) - (2 * e.horizonUs + 2 * lastStep));
        sent.push({ t: now, bytes: pool.len[h] });
        pool.free(h);
      }
    }
    const where = `seed ${seed}: ${rateMbps.toFixed(1)} Mb/s, frames ${kind === 2 ? 'GSO-sized' : maxFrame}`;
    assert.ok(worst <= 0, `${where}: a frame waited ${worst.toFixed(1)} µs beyond twice its refill horizon`);
    // Every interval τ (sliding over departures, τ from one frame time to 10 ms).
    for (const tau of [Math.max(1, maxFrame / perUs), 1000, 10_000]) {
      let j = 0, inWin = 0;
      for (let i = 0; i < sent.length; i++) {
        inWin += sent[i].bytes;
        while (sent[i].t - sent[j].t > tau) inWin -= sent[j++].bytes;
        assert.ok(inWin <= perUs * tau + burst + maxFrame, `${where}: ${inWin} bytes within ${tau.toFixed(1)} µs, bound ${(perUs * tau + burst + maxFrame).toFixed(0)}`);
      }
    }
    // Long run, from the first 10% (the initial burst) to the end.
    const from = T * 0.1, bytes = sent.filter((x) => x.t > from).reduce((a, x) => a + x.bytes, 0), want = perUs * (now - from);
    assert.ok(Math.abs(bytes - want) / want <= 0.005, `${where}: ${(bytes / want * 100).toFixed(3)}% of the rate over ${((now - from) / 1000).toFixed(1)} ms`);
    const left: number[] = [];
    sh.drain(left);
    for (const h of left) pool.free(h);
  }
});
