// FlowDecisions: compiled per-flow decisions interned by content — the same decision gets the
// same id, any difference gets another (in the switch's compiled outcome too, attached as the
// table's DecisionPart); fields read back as built; the table is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowDecisions } from '../../src/flow/flow-decisions.js';
import { CompiledOutcomes, SW_DROP, SW_FORWARD, SWF_UNKNOWN_UNICAST } from '../../src/vswitch/compiled-outcome.js';

const PORTS = 4;
const excl = (by: number[], why: number[]) => ({ by: Uint8Array.from(by), why: Uint8Array.from(why) });

// A decision table with the switch outcome attached, as each datapath thread has.
const outcomes = new WeakMap<FlowDecisions, CompiledOutcomes>();
function make(ports: number, limit?: number): FlowDecisions { const fd = new FlowDecisions(ports, limit); outcomes.set(fd, new CompiledOutcomes(fd)); return fd; }
const so = (fd: FlowDecisions) => outcomes.get(fd)!;

function forward(fd: FlowDecisions, rule: number, pairs: [number, number][], slot = 8, flags = 0): number {
  fd.begin(rule);
  so(fd).set(SW_FORWARD, 3, flags, pairs.length === 1 ? pairs[0][0] : -2, slot, 16);
  for (const [p, op] of pairs) so(fd).addPair(p, op);
  return fd.finish();
}

test('equal decisions share an id; any field that differs makes another', () => {
  const fd = make(PORTS);
  const a = forward(fd, 1, [[2, 0]]);
  assert.equal(forward(fd, 1, [[2, 0]]), a);
  const others = [forward(fd, 2, [[2, 0]]), forward(fd, 1, [[3, 0]]), forward(fd, 1, [[2, 5]]), forward(fd, 1, [[2, 0]], 16), forward(fd, 1, [[2, 0]], 8, SWF_UNKNOWN_UNICAST), forward(fd, 1, [[2, 0], [3, 0]])];
  assert.equal(new Set([a, ...others]).size, 7);
  assert.equal(fd.count, 7);
  fd.begin(1); fd.setDrop(0, 2); const dropped = fd.finish();
  fd.begin(1); so(fd).set(SW_DROP, 9, 0, 0, 8, -1); const switchDrop = fd.finish();
  assert.notEqual(dropped, switchDrop);
  assert.equal(fd.forRule(1), fd.forRule(1));
  assert.ok(![a, ...others, dropped, switchDrop].includes(fd.forRule(1)), 'rule only is a decision of its own');
});

test('fields read back as built: extension outcomes, switch outcome, pairs; plain only without extension outcomes', () => {
  const fd = make(PORTS);
  const x = excl([0, 0, 3, 0], [0, 0, 1, 0]);
  fd.begin(7);
  fd.setDestinations(Int32Array.of(9, 1, 3, 9), 1, 2);
  fd.setExclusions(x.by, x.why, 0);
  so(fd).set(SW_FORWARD, 4, SWF_UNKNOWN_UNICAST, -4, 40, -1);
  so(fd).addPair(1, 0); so(fd).addPair(3, -2);
  const d = fd.finish();
  assert.equal(fd.rule[d], 7);
  assert.equal(fd.destN[d], 2);
  assert.deepEqual([fd.dest(d, 0), fd.dest(d, 1)], [1, 3]);
  assert.deepEqual([0, 1, 2, 3].map((p) => fd.excludedBy(d, p)), [0, 0, 3, 0]);
  assert.equal(fd.excludedReason(d, 2), 1);
  assert.equal(fd.plain[d], 0);
  const o = so(fd);
  assert.equal(fd.complete[d], 1);
  assert.equal(o.kind[d], SW_FORWARD); assert.equal(o.counter[d], 4); assert.equal(o.flags[d], SWF_UNKNOWN_UNICAST);
  assert.equal(o.dest[d], -4); assert.equal(o.srcSlot[d], 40); assert.equal(o.dstSlot[d], -1);
  assert.equal(o.pairN[d], 2);
  assert.deepEqual([...o.pairs.subarray(o.pairAt[d], o.pairAt[d] + 4)], [1, 0, 3, -2]);
  // beginFrom keeps the rule and extension outcomes, not the switch outcome (a partial decision).
  fd.beginFrom(d);
  const partial = fd.finish();
  assert.notEqual(partial, d);
  assert.equal(fd.complete[partial], 0);
  assert.equal(fd.destN[partial], 2);
  assert.equal(fd.excludedBy(partial, 2), 3);
  const plain = forward(fd, 7, [[1, 0]]);
  assert.equal(fd.plain[plain], 1);
});

test('the table is bounded: past its limit finish() answers -1 and full says so; reset starts over', () => {
  const fd = make(PORTS, 100);
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
  const fd = make(64);
  const lists: [number, number][][] = [];
  for (let i = 0; i < 3000; i++) lists.push(Array.from({ length: 1 + (i % 40) }, (_, j) => [(i + j) % 64, (i * 7 + j) & 0xffff] as [number, number]));
  const ids = lists.map((l, i) => forward(fd, i % 5, l));
  lists.forEach((l, i) => {
    const d = ids[i];
    const o = so(fd);
    assert.equal(o.pairN[d], l.length);
    for (let j = 0; j < l.length; j++) assert.deepEqual([o.pairs[o.pairAt[d] + 2 * j], o.pairs[o.pairAt[d] + 2 * j + 1]], l[j]);
    assert.equal(forward(fd, i % 5, l), d);
  });
});
