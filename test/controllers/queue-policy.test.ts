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

test('at low load the queues coalesce on one thread, spread again at twice that, and not in between', () => {
  const p = new QueuePolicy({ queues: 4, threads: 2, filterCapacity: 0, buckets: 8, minRate: Infinity, holdPeriods: 1, coalesceBelow: 1000 });
  const threadsUsed = () => new Set(p.a.thread).size;
  const at = (total: number) => { p.decide(Array.from({ length: 8 }, (_, b) => ({ id: b, port: 0, bucket: b, load: total / 8 }))); return threadsUsed(); };
  assert.equal(at(500), 1, 'under 1000: one thread');
  assert.match(p.decisions.map((d) => d.reason).join(), /coalesced on thread \d/);
  assert.equal(at(1500), 1, 'between: stays coalesced');
  assert.equal(at(1500), 1);
  // The moving average needs a few periods to pass 2000.
  let spread = 0;
  for (let i = 0; i < 6 && spread !== 2; i++) spread = at(3000);
  assert.equal(spread, 2, 'at twice: spread');
  assert.match(p.decisions.map((d) => d.reason).join(), /spread over the threads/);
  for (let i = 0; i < 6; i++) assert.equal(at(1500), 2, 'between: stays spread');
  let back = 2;
  for (let i = 0; i < 6 && back !== 1; i++) back = at(200);
  assert.equal(back, 1, 'under again: coalesced');
});

test('weights rank flows for the one queue left; a port limit holds; unlisted load counts on its bucket', () => {
  const p = new QueuePolicy({ queues: 4, threads: 2, filterCapacity: 1, buckets: 8, minRate: 100, heavyPeriods: 1, portQueues: new Map([[2, 0]]) });
  const flows = [
    { id: 1, port: 0, bucket: 1, load: 1000, weight: 10 }, // weighs 10,000
    { id: 2, port: 1, bucket: 2, load: 600, weight: 100 }, // weighs 60,000
    { id: 3, port: 2, bucket: 3, load: 5000 }, // port 2 may hold no queue
  ];
  const a = p.decide(flows, new Float64Array(8).fill(50));
  assert.deepEqual([...a.dedicated.keys()], [2], 'the flow weighing most holds the one filter');
  assert.equal(p.decisions.filter((d) => d.kind === 'give').length, 1);
  assert.match(p.decisions.find((d) => d.kind === 'give')!.reason, /minimum rate for 1 period; queue \d left the RSS table/);
});
