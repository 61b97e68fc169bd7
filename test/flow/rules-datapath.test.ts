// Programmed rules acting on real traffic through the in-memory switch (NIC, flow cache,
// classifier, pipeline, egress): every action, layer composition, rule counters, changes
// visible to the next packet — inline and across worker threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleError, RuleSpec } from '../../src/flow/rule.js';
import { inetChecksum } from '../../src/wire/ipv4.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch, waitFor } from '../helpers/switch.js';

const counts = (got: Uint8Array[][]) => got.map((g) => g.length);
const udp = (src: number, dst: number, dport = 53, over: Partial<FrameSpec> = {}) => buildFrame({
  dst: MAC(dst), src: MAC(src), ipv4: { src: `10.0.0.${src}`, dst: `10.0.0.${dst}` }, udp: { sport: 1000 + src, dport }, payload: 18, ...over,
});
const rule = (layer: RuleSpec['layer'], priority: number, match: RuleSpec['match'], actions: RuleSpec['actions'], id?: string): RuleSpec => ({ id, layer, priority, match, actions });

// Three access ports in VLAN 1 with MAC(n) learned on port n-1.
async function learned(over: Parameters<typeof memorySwitch>[1] = {}, ports: Parameters<typeof memorySwitch>[0] = [{}, {}, {}]) {
  const s = await memorySwitch(ports, over);
  for (let p = 0; p < ports.length; p++) s.send(p, buildFrame({ dst: BCAST, src: MAC(p + 1), etherType: 0x88b5, payload: 46 }));
  s.got();
  return s;
}

test('acl drop: the matching flow is dropped and counted, other flows pass; rule counters count packets and bytes', async () => {
  const s = await learned({ rules: { add: [rule('acl', 10, { proto: 'udp', dstPort: 53 }, [{ drop: true }], 'no-dns')] } });
  const f = udp(1, 2, 53);
  s.send(0, f); s.send(0, f);
  s.send(0, udp(1, 2, 54));
  assert.deepEqual(counts(s.got()), [0, 1, 0]);
  assert.equal(s.dp.stats().ports[0].counters.dropRule, 2);
  const [st] = s.dp.ruleStats();
  assert.equal(st.id, 'no-dns');
  assert.equal(st.packets, 2);
  assert.equal(st.bytes, 2 * f.length);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('layers compose: forward output overrides learning, a drop in any layer wins, priorities pick within a layer', async () => {
  const s = await learned({ rules: { add: [
    rule('forward', 10, { dstIp: '10.0.0.2' }, [{ output: ['p3'] }]),
    rule('forward', 20, { dstIp: '10.0.0.2', proto: 'udp', dstPort: 99 }, [{ output: ['p1', 'p2'] }]),
    rule('acl', 5, { proto: 'udp', dstPort: 666 }, [{ drop: true }]),
  ] } });
  s.send(0, udp(1, 2, 53)); // forward rule: p3 instead of the learned p2
  assert.deepEqual(counts(s.got()), [0, 0, 1]);
  s.send(0, udp(1, 2, 99)); // higher priority: p1 (its own input port, skipped) and p2
  assert.deepEqual(counts(s.got()), [0, 1, 0]);
  s.send(0, udp(1, 2, 666)); // acl drop beats the forward output
  assert.deepEqual(counts(s.got()), [0, 0, 0]);
  const c = s.dp.stats().ports[0].counters;
  assert.equal(c.ruleOutput, 2);
  assert.equal(c.dropRule, 1);
  await s.dp.stop();
});

test('flood action floods a known unicast; count action only counts', async () => {
  const s = await learned({ rules: { add: [
    rule('forward', 1, { proto: 'udp', dstPort: 7 }, [{ flood: true }]),
    rule('qos', 1, { srcMac: '02:00:00:00:00:00/ff:ff:ff:ff:ff:00' }, [{ count: true }], 'all'),
  ] } });
  s.send(0, udp(1, 2, 7));
  assert.deepEqual(counts(s.got()), [0, 1, 1]);
  s.send(0, udp(1, 2, 8));
  assert.deepEqual(counts(s.got()), [0, 1, 0]);
  // The three broadcasts that taught the switch its MACs matched too.
  assert.equal(s.dp.ruleStats().find((r) => r.id === 'all')!.packets, 3 + 2);
  await s.dp.stop();
});

test('setVlan moves the frame into another VLAN; stripVlan sends it untagged', async () => {
  // p1 access VLAN 1, p2 access VLAN 20, p3 trunk 10,20.
  const s = await learned({ rules: { add: [
    rule('forward', 1, { inPort: 'p1', proto: 'udp', dstPort: 20 }, [{ setVlan: 20 }, { flood: true }]),
    rule('forward', 1, { inPort: 'p3', vlan: 10 }, [{ stripVlan: true }, { output: ['p2'] }]),
  ] } }, [{}, { vlan: { mode: 'access', vlan: 20 } }, { vlan: { mode: 'trunk', allowed: [10, 20] } }]);
  s.send(0, udp(1, 9, 20));
  let g = s.got();
  assert.deepEqual(counts(g), [0, 1, 1], 'flooded in VLAN 20: p2 and p3');
  assert.equal(g[1][0].length, 60, 'untagged on the VLAN 20 access port');
  assert.equal((g[2][0][14] << 8 | g[2][0][15]) & 0xfff, 20, 'tagged 20 on the trunk');
  s.send(0, udp(1, 9, 21)); // no rule: VLAN 1 has nowhere to flood
  assert.deepEqual(counts(s.got()), [0, 0, 0]);
  const tagged = udp(3, 9, 5, { vlans: [{ vid: 10 }] });
  s.send(2, tagged);
  g = s.got();
  assert.deepEqual(counts(g), [0, 1, 0]);
  assert.deepEqual(g[1][0], udp(3, 9, 5), 'tag stripped, bytes otherwise as sent');
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('setDscp rewrites IPv4 TOS (checksum still valid, ECN kept) and the IPv6 traffic class', async () => {
  const s = await learned({ rules: { add: [rule('qos', 1, { etherType: 'ipv4' }, [{ setDscp: 46 }]), rule('qos', 1, { etherType: 'ipv6' }, [{ setDscp: 10 }])] } });
  s.send(0, udp(1, 2, 53, { ipv4: { src: '10.0.0.1', dst: '10.0.0.2', tos: 0x01 } }));
  const [, [v4]] = s.got();
  assert.equal(v4[15], (46 << 2) | 1);
  assert.equal(inetChecksum(v4, 14, 20), 0, 'IPv4 header checksum verifies');
  s.send(0, buildFrame({ dst: MAC(2), src: MAC(1), ipv6: { src: 'fd00::1', dst: 'fd00::2', trafficClass: 0x02 }, udp: { sport: 1, dport: 2 } }));
  const [, [v6]] = s.got();
  const tc = ((v6[14] & 0x0f) << 4) | (v6[15] >> 4);
  assert.equal(tc, (10 << 2) | 2);
  assert.equal(v6[14] >> 4, 6, 'version untouched');
  await s.dp.stop();
});

test('queue action steers the flow to a NIC queue; rateClass travels with the packet; mirror copies to another port', async () => {
  const s = await learned({ rules: { add: [
    rule('qos', 1, { proto: 'udp', dstPort: 5001 }, [{ queue: 3 }, { rateClass: 7 }]),
    rule('acl', 1, { proto: 'udp', dstPort: 5002 }, [{ mirror: 'p3' }]),
  ] } });
  const q3 = () => s.dp.stats().queues[3].counters.byRule;
  for (let i = 0; i < 5; i++) s.send(0, udp(1, 2, 5001, { udp: { sport: 2000 + i, dport: 5001 } }));
  assert.equal(q3(), 5);
  assert.deepEqual(s.eps[1].sentRateClasses, [7, 7, 7, 7, 7]);
  s.got();
  s.send(0, udp(1, 2, 5003));
  assert.deepEqual(s.eps[1].sentRateClasses, [-1], 'no rate class without a rule');
  s.got();
  s.send(0, udp(1, 2, 5002));
  const g = s.got();
  assert.deepEqual(counts(g), [0, 1, 1]);
  assert.deepEqual(g[2][0], g[1][0], 'the mirror port gets the same frame');
  assert.equal(s.dp.stats().ports[0].counters.mirrored, 1);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('a rule change is visible to the next packet; a bad batch changes nothing', async () => {
  // A count-only rule keeps the flow cache in use throughout.
  const s = await learned({ rules: { add: [rule('qos', 1, { proto: 'udp' }, [{ count: true }])] } });
  const f = udp(1, 2, 53);
  s.send(0, f);
  assert.deepEqual(counts(s.got()), [0, 1, 0]);
  await s.dp.applyRules({ add: [rule('acl', 1, { proto: 'udp' }, [{ drop: true }], 'x')] });
  s.send(0, f);
  assert.deepEqual(counts(s.got()), [0, 0, 0]);
  await assert.rejects(s.dp.applyRules({ del: ['x'], add: [rule('acl', 1, { srcIp: '10.0.0.300' }, [{ allow: true }])] }), (e: unknown) => e instanceof RuleError && e.field === 'add[0].match.srcIp');
  s.send(0, f);
  assert.deepEqual(counts(s.got()), [0, 0, 0], 'the refused batch did not delete x');
  await s.dp.applyRules({ del: ['x'] });
  s.send(0, f);
  assert.deepEqual(counts(s.got()), [0, 1, 0]);
  assert.ok(s.dp.stats().flows.cache.stale >= 1, 'the cached drop verdict went stale');
  await s.dp.stop();
});

test('two worker threads: after applyRules resolves, every packet follows the new rules; counters sum over threads', async () => {
  const s = await memorySwitch([{}, {}, {}], { workers: 2, poolSlots: 4096, ringSize: 1024, txRingSize: 1024 });
  s.eps[1].inject(buildFrame({ dst: BCAST, src: MAC(2), payload: 46 }));
  await waitFor(() => s.eps[0].sentCount === 1);
  // 64 flows spread over all four queues (so both workers classify).
  const frames = Array.from({ length: 64 }, (_, i) => udp(1, 2, 53, { udp: { sport: 3000 + i, dport: 53 } }));
  const burst = async () => {
    for (const f of frames) s.eps[0].inject(f);
    await waitFor(() => s.dp.pool.available === s.dp.pool.slots);
  };
  await burst();
  assert.equal(s.eps[1].sentCount, 64);
  for (let round = 0; round < 3; round++) {
    await s.dp.applyRules({ add: [rule('acl', 1, { proto: 'udp', dstPort: 53 }, [{ drop: true }], 'drop')] });
    await burst();
    assert.equal(s.eps[1].sentCount, 64 * (round + 1), `round ${round}: nothing passed the drop rule`);
    assert.equal(s.dp.ruleStats()[0].packets, 64, 'both workers counted into one total');
    await s.dp.applyRules({ del: ['drop'] });
    await burst();
    assert.equal(s.eps[1].sentCount, 64 * (round + 2), `round ${round}: all passed after the delete`);
  }
  const st = s.dp.stats();
  assert.ok(st.queues.filter((q) => q.counters.packets > 0).length === 4);
  assert.equal(st.ports[0].counters.dropRule, 3 * 64);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});
