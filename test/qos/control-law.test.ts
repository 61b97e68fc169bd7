// The control law of predictable bandwidth in virtual time (test/helpers/qos-sim.ts): the
// receiving host's CongestionDetector and the senders' SenderLimiters, a 1 Gb/s downlink,
// grants after 100 µs. A greedy tenant beside UDP-flooding tenants keeps its guarantee in every
// 10 ms window (and does not with the pillar off); weights divide the link; a lone VM uses it;
// after a flood starts the victim is back at its guarantee within 5 ms, and after it stops at
// full rate within 10 ms; with grants lost the senders fall toward their guarantees, never to
// zero and never above their last grant; and the limiter refuses replayed grants.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulate, windows } from '../helpers/qos-sim.js';
import { CongestionDetector } from '../../src/qos/congestion-detector.js';
import { MIN_GRANT_BPS, SenderLimiter } from '../../src/qos/sender-limiter.js';

const C = 1e9, GAMMA = 0.95, LINE = () => C;
const share = (w: number[], i: number) => (GAMMA * C * w[i]) / w.reduce((a, b) => a + b, 0);
const fmt = (x: number) => `${(x / 1e6).toFixed(1)} Mb/s`;

for (const k of [1, 2, 4, 8]) {
  test(`a greedy VM beside ${k} UDP sender(s) into the other VM (weights 1:1) keeps >= 95% of its guarantee in every 10 ms window`, (t) => {
    const w = [1, 1], senders = [{ vm: 0, demand: LINE }, ...Array.from({ length: k }, () => ({ vm: 1, demand: LINE }))];
    const on = simulate({ linkBps: C, weights: w, senders, durationUs: 200_000 });
    const victim = windows(on.vmRate[0], 20, 200, 10), g = share(w, 0);
    t.diagnostic(`victim's 10 ms windows ${fmt(Math.min(...victim))}..${fmt(Math.max(...victim))} (guarantee ${fmt(g)})`);
    assert.ok(victim.every((r) => r >= 0.95 * g), `victim per 10 ms: ${victim.map(fmt).join(', ')} (guarantee ${fmt(g)})`);
    const total = windows(on.vmRate[0].map((r, i) => r + on.vmRate[1][i]), 20, 200, 10);
    assert.ok(total.every((r) => r <= 1.05 * GAMMA * C), `aggregate per 10 ms at most 1.05 gamma C: ${total.map(fmt).join(', ')}`);
    if (k >= 2) {
      const off = simulate({ linkBps: C, weights: w, senders, durationUs: 200_000, pillar: false });
      const without = windows(off.vmRate[0], 20, 200, 10);
      assert.ok(without.every((r) => r < 0.95 * g), `pillar off, the victim gets ${fmt(without[0])}: below its guarantee`);
    }
  });
}

for (const w of [[2, 1], [4, 1], [1, 4]]) {
  test(`weights ${w.join(':')}: each VM gets its weighted share of gamma C within 5% under floods into both`, () => {
    const senders = [{ vm: 0, demand: LINE }, { vm: 0, demand: LINE }, ...Array.from({ length: 4 }, () => ({ vm: 1, demand: LINE }))];
    const r = simulate({ linkBps: C, weights: w, senders, durationUs: 150_000 });
    for (const vm of [0, 1]) {
      const got = windows(r.vmRate[vm], 30, 150, 10), want = share(w, vm);
      assert.ok(got.every((x) => Math.abs(x - want) <= 0.05 * want), `VM ${vm}: ${got.map(fmt).join(', ')} (share ${fmt(want)})`);
    }
  });
}

test('work conservation: a lone VM reaches >= 95% of the link; one VM with 1 sender and one with 16 split it evenly', () => {
  const lone = simulate({ linkBps: C, weights: [1, 1], senders: [{ vm: 0, demand: LINE }], durationUs: 100_000 });
  const got = windows(lone.vmRate[0], 20, 100, 10);
  assert.ok(got.every((x) => x >= 0.95 * C * (1 - 1e-9)), `lone VM: ${got.map(fmt).join(', ')}`);
  const many = simulate({ linkBps: C, weights: [1, 1], senders: [{ vm: 0, demand: LINE }, ...Array.from({ length: 16 }, () => ({ vm: 1, demand: LINE }))], durationUs: 150_000 });
  for (const vm of [0, 1]) {
    const part = windows(many.vmRate[vm], 30, 150, 10).map((x) => x / (GAMMA * C));
    assert.ok(part.every((p) => p >= 0.45 && p <= 0.55), `VM ${vm} part of gamma C: ${part.map((p) => p.toFixed(3)).join(', ')}`);
  }
});

test('step and stop: after a flood starts the victim is back at >= 95% of its guarantee within 5 ms; after it stops, at full rate within 10 ms', (t) => {
  const w = [1, 1], g = share(w, 0);
  const flood = (t: number) => (t >= 50_000 && t < 100_000 ? C : 0);
  const r = simulate({ linkBps: C, weights: w, senders: [{ vm: 0, demand: LINE }, ...Array.from({ length: 4 }, () => ({ vm: 1, demand: flood }))], durationUs: 150_000 });
  const v = r.vmRate[0];
  const back = Array.from({ length: 50 }, (_, i) => 50 + i).find((ms) => v.slice(ms, 100).every((x) => x >= 0.95 * g));
  assert.ok(back !== undefined && back - 50 <= 5, `victim at >= 95% of ${fmt(g)} from ${back} ms (flood from 50 ms): ${[...v.slice(48, 60)].map(fmt).join(', ')}`);
  t.diagnostic(`the flood starts at 50 ms; the victim holds >= 95% of its guarantee from ${back} ms`);
  const full = Array.from({ length: 50 }, (_, i) => 100 + i).find((ms) => v.slice(ms, 150).every((x) => x >= 0.95 * GAMMA * C * (1 - 1e-9)));
  t.diagnostic(`the flood stops at 100 ms; the victim is at full rate from ${full} ms`);
  assert.ok(full !== undefined && full - 100 <= 10, `victim at full rate from ${full} ms (flood stopped at 100 ms): ${[...v.slice(98, 115)].map(fmt).join(', ')}`);
});

test('grants lost: with all lost the senders fall to their guarantees (never zero, never above the last grant); with 30% lost the guarantee still holds', () => {
  const w = [1, 1], g = share(w, 0), guaranteeBps = 50e6;
  const senders = [{ vm: 0, demand: LINE, guaranteeBps }, ...Array.from({ length: 4 }, () => ({ vm: 1, demand: LINE, guaranteeBps }))];
  const all = simulate({ linkBps: C, weights: w, senders, durationUs: 100_000, loss: 1, lossFromUs: 40_000 });
  all.senderRate.forEach((rates, i) => {
    const before = rates[39], after = [...rates.slice(40)];
    assert.ok(after.every((x) => x >= guaranteeBps && x > 0), `sender ${i} never below its guarantee: min ${fmt(Math.min(...after))}`);
    assert.ok(after.every((x) => x <= before), `sender ${i} never above its last grant ${fmt(before)}: max ${fmt(Math.max(...after))}`);
    assert.equal(rates[99], guaranteeBps, `sender ${i} settles at its guarantee`);
  });
  assert.ok(all.limiters.every((l) => l.decays > 0));
  const some = simulate({ linkBps: C, weights: w, senders, durationUs: 200_000, loss: 0.3, seed: 7 });
  assert.ok(some.grantsLost > 0.25 * some.grantsSent);
  const victim = windows(some.vmRate[0], 20, 200, 10);
  assert.ok(victim.every((r) => r >= 0.9 * 0.95 * g), `victim with 30% of grants lost: ${victim.map(fmt).join(', ')}`);
});

test('the detector grants the line rate until arrivals reach the onset of congestion, then names the VM above its share', () => {
  const d = new CongestionDetector({ linkBps: C, weights: [1, 1] });
  d.tick(0);
  d.arrive(0, (0.8 * GAMMA * C * 200e-6) / 8); // 80% of gamma C for one interval
  assert.ok(d.tick(200));
  assert.equal(d.congested, false);
  assert.deepEqual([...d.grant], [C, C]);
  d.arrive(0, (0.3 * C * 200e-6) / 8);
  d.arrive(1, (0.7 * C * 200e-6) / 8);
  d.tick(400);
  assert.equal(d.congested, true);
  assert.deepEqual([...d.over], [0, 1], 'VM 1 sends above its share');
  assert.ok(d.grant[1] < d.share[1] && d.grant[1] >= d.minBps, `VM 1's grant ${fmt(d.grant[1])} below its share ${fmt(d.share[1])}`);
  assert.ok(d.share[0] >= share([1, 1], 0) - 1, 'VM 0 keeps at least its guarantee part');
  assert.equal(d.tick(450), false, 'not before a whole interval');
});

test('the limiter refuses replayed and older grants, holds one that comes sooner than 120 µs after a change, and validates its configuration', () => {
  const l = new SenderLimiter({ lineBps: C, guaranteeBps: 10e6 });
  assert.equal(l.grant(300e6, 5, 1000), 'taken');
  assert.equal(l.rate, 300e6);
  assert.equal(l.grant(100e6, 5, 1300), 'stale');
  assert.equal(l.grant(100e6, 4, 1300), 'stale');
  assert.equal(l.stale, 2);
  assert.equal(l.grant(200e6, 6, 1050), 'held');
  assert.equal(l.rate, 300e6);
  l.tick(1100);
  assert.equal(l.rate, 300e6);
  l.tick(1120);
  assert.equal(l.rate, 200e6, 'the held grant applies 120 µs after the last change');
  assert.equal(l.grant(5e6, 7, 2000), 'taken');
  assert.equal(l.rate, 5e6, 'a grant below the guarantee is taken as it is (n senders share the receiver\'s grant)');
  assert.equal(l.grant(1e3, 8, 3000), 'taken');
  assert.equal(l.rate, MIN_GRANT_BPS, 'a grant near zero is raised to the lowest grant, never stops the pair');
  for (let t = 3000; t < 100_000; t += 100) l.tick(t);
  assert.equal(l.rate, MIN_GRANT_BPS, 'lost feedback never raises a rate above its last grant');
  assert.throws(() => new SenderLimiter({ lineBps: C, guaranteeBps: 0 }), /guaranteeBps/);
  assert.throws(() => new CongestionDetector({ linkBps: C, weights: [1, 0] }), /weights/);
});
