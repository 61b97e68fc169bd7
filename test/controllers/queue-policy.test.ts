// QueuePolicy's rules, period by period on made-up loads: dedicated queues never beyond the
// filters or the queues that must stay shared; a "never" port's flow never gets one however
// heavy; an "always" flow gets one while capacity exists; every RSS bucket points at a shared
// queue and every load lands on some thread; and a load that flaps does not move more than once
// per hold period.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowLoad, QueuePolicy } from '../../src/controllers/queue-policy.js';
import { prng as rng } from '../helpers/qos-sim.js';

test('random loads (50 seeds): filters and shared queues respected, never/always obeyed, every bucket on a shared queue', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const r = rng(seed), queues = [4, 8, 16][seed % 3], threads = [2, 4][seed % 2], filterCapacity = Math.floor(r() * 6);
    const p = new QueuePolicy({ queues, threads, filterCapacity, buckets: 64, minRate: 100 });
    for (let period = 0; period < 60; period++) {
      const flows: FlowLoad[] = Array.from({ length: 40 }, (_, id) => ({ id, port: id % 4, bucket: (id * 7) % 64, load: (id === 1 ? 5000 : 0) + r() * (id < 10 ? 800 : 50), weight: id % 4 === 1 ? 0 : 100, always: id === 7 }));
      const a = p.decide(flows);
      const held = [...a.dedicated.values()];
      assert.ok(a.dedicated.size <= Math.min(filterCapacity, queues - Math.max(2, threads)), `seed ${seed}: ${a.dedicated.size} dedicated queues, ${filterCapacity} filters, ${queues} queues`);
      assert.equal(new Set(held).size, held.length, 'one flow per dedicated queue');
      assert.ok(!a.dedicated.has(1), 'flow 1 (port 1: never) has no queue, at 5000 the heaviest');
      if (a.dedicated.size > 0 || Math.min(filterCapacity, queues - Math.max(2, threads)) > 0) assert.ok(a.dedicated.has(7), `seed ${seed}: flow 7 (always) has a queue while there is room`);
      for (let b = 0; b < 64; b++) assert.ok(!held.includes(a.indirection[b]) && a.indirection[b] >= 0 && a.indirection[b] < queues, `bucket ${b} on shared queue ${a.indirection[b]}`);
      for (let q = 0; q < queues; q++) assert.ok(a.thread[q] >= 0 && a.thread[q] < threads);
    }
  }
});

test('a load that flaps between two threads every period moves at most once per hold period', () => {
  const hold = 5;
  const p = new QueuePolicy({ queues: 4, threads: 2, filterCapacity: 0, buckets: 8, minRate: Infinity, holdPeriods: hold });
  let last = 0;
  for (let period = 0; period < 100; period++) {
    // Bucket 0 carries a burst every other period; the rest are even.
    const flows: FlowLoad[] = Array.from({ length: 8 }, (_, b) => ({ id: b, port: 0, bucket: b, load: 100 + (b === 0 && period % 2 === 0 ? 400 : 0) }));
    const before = p.moves;
    p.decide(flows);
    if (p.moves > before) {
      assert.ok(period - last >= hold || last === 0, `period ${period}: moved again ${period - last} periods after the last move`);
      last = period;
    }
  }
  assert.ok(p.moves <= Math.ceil(100 / hold) * 2, `${p.moves} moves in 100 periods`);
});
