// L2 learning switch semantics through the whole in-memory path (NIC, rings, pipeline, TX).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';

const frame = (dst: string, src: string, vlans?: { vid: number; pcp?: number }[], payload = 46) => buildFrame({ dst, src, vlans, payload, etherType: 0x88b5 });
const counts = (got: Uint8Array[][]) => got.map((g) => g.length);

test('unknown unicast and broadcast flood to every other port, never back to the source', async () => {
  const s = await memorySwitch([{}, {}, {}]);
  s.send(0, frame(BCAST, MAC(1)));
  assert.deepEqual(counts(s.got()), [0, 1, 1]);
  s.send(1, frame(MAC(9), MAC(2)));
  assert.deepEqual(counts(s.got()), [1, 0, 1]);
  assert.equal(s.dp.stats().ports[1].counters.unknownUnicast, 1);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('learned destinations get exactly one copy; moves are followed', async () => {
  const s = await memorySwitch([{}, {}, {}]);
  s.send(0, frame(BCAST, MAC(1))); // learn MAC1 on p1
  s.got();
  const f = frame(MAC(1), MAC(2));
  s.send(1, f);
  const g = s.got();
  assert.deepEqual(counts(g), [1, 0, 0]);
  assert.deepEqual(g[0][0], f, 'frame delivered byte for byte');
  s.send(2, frame(BCAST, MAC(1))); // MAC1 moves to p3
  s.got();
  s.send(1, frame(MAC(1), MAC(2)));
  assert.deepEqual(counts(s.got()), [0, 0, 1]);
  assert.equal(s.dp.macs.counter('moved'), 1);
  // A frame for a MAC that lives on its own input port is filtered.
  s.send(2, frame(MAC(1), MAC(7)));
  assert.deepEqual(counts(s.got()), [0, 0, 0]);
  assert.equal(s.dp.stats().ports[2].counters.dropSameSegment, 1);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('MAC entries age out with the clock and traffic floods again', async () => {
  const s = await memorySwitch([{}, {}, {}]);
  s.send(0, frame(BCAST, MAC(1)));
  s.send(1, frame(MAC(1), MAC(2)));
  s.got();
  s.clock.advance(301);
  s.send(1, frame(MAC(1), MAC(2)));
  assert.deepEqual(counts(s.got()), [1, 0, 1], 'expired entry is not used');
  assert.equal(s.dp.macs.age(s.clock.now), 1, 'MAC1 removed, MAC2 was refreshed');
  await s.dp.stop();
});

test('VLANs isolate: access ports in different VLANs never see each other', async () => {
  const s = await memorySwitch([{ vlan: { mode: 'access', vlan: 10 } }, { vlan: { mode: 'access', vlan: 10 } }, { vlan: { mode: 'access', vlan: 20 } }, { vlan: { mode: 'access', vlan: 20 } }]);
  s.send(0, frame(BCAST, MAC(1)));
  assert.deepEqual(counts(s.got()), [0, 1, 0, 0]);
  s.send(2, frame(BCAST, MAC(3)));
  assert.deepEqual(counts(s.got()), [0, 0, 0, 1]);
  // Same MAC in two VLANs are two entries.
  s.send(3, frame(BCAST, MAC(1)));
  s.got();
  s.send(1, frame(MAC(1), MAC(2)));
  assert.deepEqual(counts(s.got()), [1, 0, 0, 0]);
  await s.dp.stop();
});

test('trunk ports tag, access ports untag, disallowed VLANs are dropped', async () => {
  const s = await memorySwitch([{ vlan: { mode: 'access', vlan: 10 } }, { vlan: { mode: 'trunk', allowed: [10, 20], native: 99 } }, { vlan: { mode: 'access', vlan: 20 } }]);
  const untagged = frame(BCAST, MAC(1));
  s.send(0, untagged);
  let g = s.got();
  assert.deepEqual(counts(g), [0, 1, 0]);
  const tagged = g[1][0];
  assert.equal(tagged.length, untagged.length + 4);
  assert.deepEqual([...tagged.subarray(12, 16)], [0x81, 0x00, 0x00, 10], '802.1Q tag with VLAN 10 pushed');
  assert.deepEqual(tagged.subarray(16), untagged.subarray(12), 'payload unchanged');
  // Tagged VLAN 20 from the trunk reaches the VLAN 20 access port untagged.
  s.send(1, frame(BCAST, MAC(5), [{ vid: 20, pcp: 5 }]));
  g = s.got();
  assert.deepEqual(counts(g), [0, 0, 1]);
  assert.deepEqual(g[2][0], frame(BCAST, MAC(5)));
  // VLAN 30 is not allowed on the trunk; tagged frames on an access port are dropped.
  s.send(1, frame(BCAST, MAC(5), [{ vid: 30 }]));
  s.send(0, frame(BCAST, MAC(1), [{ vid: 10 }]));
  assert.deepEqual(counts(s.got()), [0, 0, 0]);
  const st = s.dp.stats().ports;
  assert.equal(st[1].counters.dropVlanNotAllowed, 1);
  assert.equal(st[0].counters.dropTaggedOnAccess, 1);
  // Native VLAN: untagged on the trunk.
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('a flood to an access and a trunk port edits private copies, both correct', async () => {
  const s = await memorySwitch([{ vlan: { mode: 'trunk', allowed: [10] } }, { vlan: { mode: 'trunk', allowed: [10] } }, { vlan: { mode: 'access', vlan: 10 } }]);
  const f = frame(BCAST, MAC(1), [{ vid: 10, pcp: 3 }]);
  s.send(0, f);
  const g = s.got();
  assert.deepEqual(g[1][0], f, 'trunk copy keeps its tag and PCP');
  assert.deepEqual(g[2][0], frame(BCAST, MAC(1)), 'access copy is untagged');
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('per-port MAC limit drops frames from further new MACs', async () => {
  const s = await memorySwitch([{ macLimit: 2 }, {}]);
  for (let i = 1; i <= 4; i++) s.send(0, frame(BCAST, MAC(i)));
  assert.deepEqual(counts(s.got()), [0, 2]);
  assert.equal(s.dp.stats().ports[0].counters.dropMacLimit, 2);
  assert.equal(s.dp.macs.learnedOn(0), 2);
  s.send(0, frame(BCAST, MAC(1)));
  assert.deepEqual(counts(s.got()), [0, 1], 'known MACs still pass');
  await s.dp.stop();
});

test('group source MACs are dropped', async () => {
  const s = await memorySwitch([{}, {}]);
  s.send(0, frame(BCAST, '01:00:5e:00:00:01'));
  assert.deepEqual(counts(s.got()), [0, 0]);
  assert.equal(s.dp.stats().ports[0].counters.dropSrcMacGroup, 1);
  await s.dp.stop();
});
