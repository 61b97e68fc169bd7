// One control tick (issue 11): controllers are ticked in order with the clock's microseconds;
// a throwing controller is counted and the others still run; MAC aging runs as a controller
// on the switch's tick, on the switch's clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../src/clock.js';
import { Controller, ControlTick } from '../../src/controllers/control-tick.js';
import { MacAging } from '../../src/controllers/mac-aging.js';
import { MacTable } from '../../src/vswitch/mac-table.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

test('controllers tick in order with the clock; a fault is counted and never stops the others', () => {
  const clock = new ManualClock(1000);
  const tick = new ControlTick(clock);
  const seen: string[] = [];
  const a: Controller = { name: 'a', tick: (now) => { seen.push(`a@${now}`); } };
  const bad: Controller = { name: 'bad', tick: () => { throw new Error('boom'); } };
  const b: Controller = { name: 'b', tick: (now) => { seen.push(`b@${now}`); } };
  for (const c of [a, bad, b]) tick.add(c);
  assert.throws(() => tick.add({ name: 'a', tick: () => undefined }), /controller a is registered already/);
  tick.run();
  clock.advance(0.25);
  tick.run();
  assert.deepEqual(seen, ['a@1000000000', 'b@1000000000', 'a@1000250000', 'b@1000250000']);
  assert.deepEqual(tick.report().map((r) => [r.name, r.ticks, r.faults]), [['a', 2, 0], ['bad', 2, 2], ['b', 2, 0]]);
  assert.match(tick.report()[1].lastFault!, /boom/);
  tick.remove(bad);
  tick.run();
  assert.deepEqual(tick.report().map((r) => r.name), ['a', 'b']);
  // The system clock's microseconds and seconds lie on one time line.
  const us = systemClock.micros(), s = systemClock.seconds();
  assert.ok(Math.abs(Math.floor(us / 1e6) - s) <= 1, `${us} µs vs ${s} s`);
});

test('MAC aging sweeps every half aging time (1..10 s), removing only what expired', () => {
  const macs = new MacTable(64, 2, 4);
  const aging = new MacAging(macs, 4); // sweeps every 2 s
  const at = (s: number) => s * 1e6;
  macs.learn(1, 0x0200, 0x00000001, 0, 1000);
  macs.learn(1, 0x0200, 0x00000002, 1, 1003);
  aging.tick(at(1003));
  aging.tick(at(1004));
  assert.equal(aging.sweeps, 0, 'the first sweep comes a period after the first tick');
  aging.tick(at(1005));
  assert.deepEqual([aging.sweeps, aging.removed, macs.count], [1, 1, 1], 'the MAC last seen at 1000 expired (aging 4 s)');
  aging.tick(at(1006));
  assert.equal(aging.sweeps, 1, 'not again before 2 s');
  aging.tick(at(1008));
  assert.deepEqual([aging.sweeps, aging.removed, macs.count], [2, 2, 0]);
});

test('the switch ages its MAC table through its control tick, on its own clock', async () => {
  const s = await memorySwitch([{}, {}]);
  try {
    assert.deepEqual(s.dp.tick.report().map((c) => c.name), ['mac-aging', 'queue-watch', 'queue-manager']);
    s.send(0, buildFrame({ dst: BCAST, src: MAC(1) }));
    assert.equal(s.dp.macs.count, 1);
    s.dp.tick.run();
    s.clock.advance(301);
    s.dp.tick.run();
    assert.equal(s.dp.macs.count, 0, 'aged out after macAgingSeconds (300) on the injected clock');
    const [c] = s.dp.stats().controllers;
    assert.deepEqual([c.name, c.faults, c.ticks >= 2], ['mac-aging', 0, true]);
  } finally {
    await s.dp.stop();
  }
});
