// FlowDecisions: compiled per-flow decisions interned by content — the same decision gets the
// same id, any difference gets another; fields read back as built; the table is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowDecisions, SW_DROP, SW_FORWARD, SW_NONE, SWF_UNKNOWN_UNICAST } from '../../src/flow/flow-decisions.js';

const PORTS = 4;
const excl = (by: number[], why: number[]) => ({ by: Uint8Array.from(by), why: Uint8Array.from(why) });

function forward(fd: FlowDecisions, rule: number, pairs: [number, number][], slot = 8, flags = 0): number {
  fd.begin(rule);
  fd.setSwitch(SW_FORWARD, 3, flags, pairs.length === 1 ? pairs[0][0] : -2, slot, 16);
  for (const [p, op] of pairs) fd.addPair(p, op);
  return fd.finish();
}

test('equal decisions share an id; any field that differs makes another', () => {
  const fd = new FlowDecisions(PORTS);
  const a = forward(fd, 1, [[2, 0]]);
  assert.equal(forward(fd, 1, [[2, 0]]), a);
  const others = [forward(fd, 2, [[2, 0]]), forward(fd, 1, [[3, 0]]), forward(fd, 1, [[2, 5]]), forward(fd, 1, [[2, 0]], 16), forward(fd, 1, [[2, 0]], 8, SWF_UNKNOWN_UNICAST), forward(fd, 1, [[2, 0], [3, 0]])];
  assert.equal(new Set([a, ...others]).size, 7);
  assert.equal(fd.count, 7);
  fd.begin(1); fd.setDrop(0, 2); const dropped = fd.finish();
  fd.begin(1); fd.setSwitch(SW_DROP, 9, 0, 0, 8, -1); const switchDrop = fd.finish();
  assert.notEqual(dropped, switchDrop);
  assert.equal(fd.forRule(1), fd.forRule(1));
  assert.ok(![a, ...others, dropped, switchDrop].includes(fd.forRule(1)), 'rule only is a decision of its own');
});

test('fields read back as built: extension outcomes, switch outcome, pairs; plain only without extension outcomes', () => {
  const fd = new FlowDecisions(PORTS);
  const x = excl([0, 0, 3, 0], [0, 0, 1, 0]);
  fd.begin(7);
  fd.setDestinations(Int32Array.of(9, 1, 3, 9), 1, 2);
  fd.setExclusions(x.by, x.why, 0);
  fd.setSwitch(SW_FORWARD, 4, SWF_UNKNOWN_UNICAST, -4, 40, -1);
  fd.addPair(1, 0); fd.addPair(3, -2);
  const d = fd.finish();
  assert.equal(fd.rule[d], 7);
  assert.equal(fd.destN[d], 2);
  assert.deepEqual([fd.dest(d, 0), fd.dest(d, 1)], [1, 3]);
  assert.deepEqual([0, 1, 2, 3].map((p) => fd.excludedBy(d, p)), [0, 0, 3, 0]);
  assert.equal(fd.excludedReason(d, 2), 1);
  assert.equal(fd.plain[d], 0);
  assert.equal(fd.sw[d], SW_FORWARD); assert.equal(fd.swCounter[d], 4); assert.equal(fd.swFlags[d], SWF_UNKNOWN_UNICAST);
  assert.equal(fd.swDest[d], -4); assert.equal(fd.srcSlot[d], 40); assert.equal(fd.dstSlot[d], -1);
  assert.equal(fd.pairN[d], 2);
  assert.deepEqual([...fd.pairs.subarray(fd.pairAt[d], fd.pairAt[d] + 4)], [1, 0, 3, -2]);
  // beginFrom keeps the rule and extension outcomes, not the switch outcome.
  fd.beginFrom(d);
  const partial = fd.finish();
  assert.notEqual(partial, d);
  assert.equal(fd.sw[partial], SW_NONE);
  assert.equal(fd.destN[partial], 2);
  assert.equal(fd.excludedBy(partial, 2), 3);
  const plain = forward(fd, 7, [[1, 0]]);
  assert.equal(fd.plain[plain], 1);
});

test('the table is bounded: past its limit finish() answers -1 and full says so; reset starts over', () => {
  const fd = new FlowDecisions(PORTS, 100);
  const ids = new Set<number>();
  for (let i = 0; i < 150; i++) ids.add(forward(fd, i, [[1, i]]));
  assert.ok(fd.full);
  assert.equal(fd.count, 100);
  assert.ok(ids.has(-1));
  assert.equal(ids.size, 101, '100 ids and -1');
  assert.equal(forward(fd, 5, [[1, 5]]), 5, 'a decision already in the table is still found');
  fd.reset();
  assert.equal(fd.full, false);
  assert.equal(forward(fd, 149, [[1, 149]]), 0);
});

test('thousands of decisions with long pair lists intern and read back', () => {
  const fd = new FlowDecisions(64);
  const lists: [number, number][][] = [];
  for (let i = 0; i < 3000; i++) lists.push(Array.from({ length: 1 + (i % 40) }, (_, j) => [(i + j) % 64, (i * 7 + j) & 0xffff] as [number, number]));
  const ids = lists.map((l, i) => forward(fd, i % 5, l));
  lists.forEach((l, i) => {
    const d = ids[i];
    assert.equal(fd.pairN[d], l.length);
    for (let j = 0; j < l.length; j++) assert.deepEqual([fd.pairs[fd.pairAt[d] + 2 * j], fd.pairs[fd.pairAt[d] + 2 * j + 1]], l[j]);
    assert.equal(forward(fd, i % 5, l), d);
  });
});
