// A sending host ticks a pair's SenderLimiter only when nextTickUs() says it can change (notice-intake.ts):
// over 40 seeded random histories of grants (some held, some below the guarantee) and silences
// (feedback lost for up to 50 ms), a limiter ticked only then keeps exactly the rate of one
// ticked every 100 µs, at every step.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SenderLimiter } from '../../src/qos/sender-limiter.js';
import { prng } from '../helpers/qos-sim.js';

test('ticking only at nextTickUs() gives the same rate as ticking every 100 µs, at every step of 40 random histories', () => {
  let decays = 0, held = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const cfg = { lineBps: 100e6, guaranteeBps: 5e6 + rand() * 40e6, budgetBytes: rand() < 0.5 ? 21200 : 0 };
    const every = new SenderLimiter(cfg), lazy = new SenderLimiter(cfg);
    let seq = 0, silentUntil = 0;
    for (let now = 0; now < 400_000; now += 100) {
      if (now >= silentUntil) {
        if (rand() < 0.01) silentUntil = now + Math.floor(rand() * 50_000); // feedback lost for a while
        else if (rand() < 0.3) {
          const bps = rand() < 0.2 ? rand() * cfg.guaranteeBps : rand() * cfg.lineBps, at = now + Math.floor(rand() * 100);
          seq++;
          const r = every.grant(bps, seq, at);
          assert.equal(lazy.grant(bps, seq, at), r);
          if (r === 'held') held++;
        }
      }
      every.tick(now);
      if (now >= lazy.nextTickUs()) lazy.tick(now);
      assert.equal(lazy.rate, every.rate, `seed ${seed} at ${now} µs: ${lazy.rate} against ${every.rate}`);
    }
    decays += every.decays;
    assert.equal(lazy.decays, every.decays, `seed ${seed}: the same halvings`);
  }
  assert.ok(decays > 100 && held > 100, `the histories lost feedback (${decays} halvings) and held grants (${held})`);
});

test('counting bytes: ticked only at nextTickUs(now, sent), a limiter is never stricter than one ticked every 100 µs, and follows it within 100 ms', () => {
  let decays = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(1000 + seed);
    const cfg = { lineBps: 100e6, guaranteeBps: 5e6 + rand() * 20e6, budgetBytes: 21200 };
    const every = new SenderLimiter(cfg), lazy = new SenderLimiter(cfg);
    let seq = 0, silentUntil = 0, sent = 0, perUs = 0, diverged = -1;
    for (let now = 0; now < 400_000; now += 100) {
      if (rand() < 0.002) perUs = rand() < 0.3 ? 0 : rand() * 12; // the pair's sending rate changes: silent, slow or up to 96 Mb/s
      sent = (sent + Math.floor(perUs * 100)) & 0x7fffffff;
      if (now >= silentUntil) {
        if (rand() < 0.005) silentUntil = now + Math.floor(rand() * 80_000);
        else if (rand() < 0.02) { seq++; const bps = rand() * cfg.lineBps; assert.equal(lazy.grant(bps, seq, now, sent), every.grant(bps, seq, now, sent)); }
      }
      every.tick(now, sent);
      if (now >= lazy.nextTickUs(now, sent)) lazy.tick(now, sent);
      assert.ok(lazy.rate >= every.rate, `seed ${seed} at ${now} µs: ${lazy.rate} under ${every.rate}`);
      if (lazy.rate > every.rate) { if (diverged < 0) diverged = now; assert.ok(now - diverged <= 100_100, `seed ${seed} at ${now} µs: behind since ${diverged}`); } else diverged = -1;
    }
    decays += every.decays;
  }
  assert.ok(decays > 50, `the histories lost feedback while sending (${decays} halvings)`);
});
