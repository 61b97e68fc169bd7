// VtepTable: VTEPs are addresses (a datagram's source port does not make a new one), the
// table is shared with other threads (attach sees what was added), bounded (full is counted),
// and each thread's counter slice adds up in the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VC_TX_PACKETS, VtepTable } from '../../src/endpoints/vtep-table.js';

const rec = (a: number[], port: number) => {
  const r = new Int32Array(6), b = new Uint8Array(r.buffer);
  b[0] = 4; b[2] = port >> 8; b[3] = port & 0xff; b.set(a, 4);
  return r;
};

test('a VTEP is its address: another source port finds the same entry, which keeps the configured port', () => {
  const t = new VtepTable(4);
  const i = t.add(new Uint8Array(rec([10, 0, 0, 2], 4789).buffer), true);
  assert.equal(t.findOrAdd(rec([10, 0, 0, 2], 51234), 0, 4789), i);
  const j = t.findOrAdd(rec([10, 0, 0, 3], 40000), 0, 8472);
  assert.notEqual(i, j);
  assert.equal(t.count, 2);
  assert.equal(t.address(j), '10.0.0.3');
  assert.equal((t.records[j * 24 + 2] << 8) | t.records[j * 24 + 3], 8472, 'a learned VTEP gets the uplink\'s port');
  assert.deepEqual(t.floodList(), [i]);
  const other = VtepTable.attach(t.shared());
  assert.equal(other.count, 2);
  assert.equal(other.findOrAdd(rec([10, 0, 0, 3], 1), 0, 8472), j, 'an attached table indexes what was added');
});

test('a full table counts the datagrams it had no room for', () => {
  const t = new VtepTable(2);
  t.findOrAdd(rec([10, 0, 0, 1], 1), 0, 4789);
  t.findOrAdd(rec([10, 0, 0, 2], 1), 0, 4789);
  assert.equal(t.findOrAdd(rec([10, 0, 0, 3], 1), 0, 4789), -1);
  assert.equal(t.findOrAdd(rec([10, 0, 0, 3], 1), 0, 4789), -1);
  assert.equal(t.full, 2);
  assert.equal(t.count, 2);
});

test('counter slices of several threads add up in the report', () => {
  const t = new VtepTable(8);
  const v = t.findOrAdd(rec([10, 0, 0, 1], 1), 0, 4789);
  const s0 = t.claimSlice(), other = VtepTable.attach(t.shared()), s1 = other.claimSlice();
  assert.notEqual(s0, s1);
  t.values[t.row(s0, v) + VC_TX_PACKETS] += 3;
  other.values[other.row(s1, v) + VC_TX_PACKETS] += 4;
  assert.equal(t.report()[0].counters.txPackets, 7);
});
