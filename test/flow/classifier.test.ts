// Rule semantics (priorities, layers, masks, CIDR v4/v6, port ranges, VLAN, fragments, every
// action, refusals naming the field) and the property: cached verdicts always equal a fresh
// linear classification under the current rules, across random interleaved rule changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearLookup, referenceRules } from '../../src/flow/linear-lookup.js';
import { FlowCache } from '../../src/flow/flow-cache.js';
import { FlowStage } from '../../src/flow/flow-stage.js';
import { KEY_WORDS, packKey } from '../../src/flow/key.js';
import { compileRule, rangeToPrefixes, RuleSpec } from '../../src/flow/rule.js';
import { RuleSet } from '../../src/flow/rule-set.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';

const ctx = { ports: ['p1', 'p2', 'p3'], queues: 4 };
const fk = new FlowKeys(2);
function key(spec: Partial<FrameSpec>, inPort = 0): Uint32Array {
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ...spec } as FrameSpec);
  assert.equal(fk.extract(f, 0, f.length, 0), 0);
  fk.inPort[0] = inPort;
  const k = new Uint32Array(KEY_WORDS);
  packKey(fk, 0, k, 0);
  return k;
}
const tcp4 = (src: string, dst: string, sport: number, dport: number, extra: Partial<FrameSpec> = {}) => key({ ipv4: { src, dst }, tcp: { sport, dport }, ...extra });
function verdictOf(rs: RuleSet, k: Uint32Array) { return rs.verdicts[rs.classify(k, 0)]; }
/** Id of the rule the first layer's classifier finds, or undefined. */
const found = (rs: RuleSet, k: Uint32Array) => { const s = rs.layers[0].lookup(k, 0); return s < 0 ? undefined : rs.store.ids[s]; };
const reference = (rs: RuleSet) => referenceRules(rs.list(), ctx);

test('range expansion covers exactly the range', () => {
  for (const [lo, hi] of [[0, 65535], [1000, 2000], [80, 80], [1, 65534], [1024, 1024 + 511]]) {
    const ps = rangeToPrefixes(lo, hi);
    for (let p = Math.max(0, lo - 3); p <= Math.min(65535, hi + 3); p++) {
      const hit = ps.filter(([v, m]) => (p & m) === v).length;
      assert.equal(hit, p >= lo && p <= hi ? 1 : 0, `port ${p} in [${lo},${hi}]`);
    }
  }
  assert.equal(rangeToPrefixes(0, 65535).length, 1);
  assert.equal(rangeToPrefixes(1024, 1535).length, 1);
});

test('priorities within a layer; ties go to the first added; layers compose, a drop anywhere drops', () => {
  const rs = new RuleSet(ctx);
  rs.apply({ add: [
    { id: 'low', layer: 'forward', priority: 10, match: { dstIp: '10.0.0.0/8' }, actions: [{ output: ['p2'] }] },
    { id: 'high', layer: 'forward', priority: 20, match: { dstIp: '10.1.0.0/16' }, actions: [{ output: ['p3'] }] },
    { id: 'tie', layer: 'forward', priority: 20, match: { proto: 'tcp', etherType: 'ipv4' }, actions: [{ flood: true }] },
    { id: 'dscp', layer: 'qos', priority: 1, match: { etherType: 'ipv4' }, actions: [{ setDscp: 46 }, { queue: 2 }, { rateClass: 7 }] },
  ] });
  let v = verdictOf(rs, tcp4('1.1.1.1', '10.1.2.3', 5, 80));
  assert.deepEqual(v.output, [2], 'high beats low; high added before tie at equal priority');
  assert.equal(v.setDscp, 46); assert.equal(v.queue, 2); assert.equal(v.rateClass, 7);
  v = verdictOf(rs, tcp4('1.1.1.1', '10.9.9.9', 5, 80));
  assert.equal(v.flood, true, 'tie (prio 20) beats low (prio 10)');
  v = verdictOf(rs, key({ ipv4: { src: '1.1.1.1', dst: '10.9.9.9' }, udp: { sport: 1, dport: 2 } }));
  assert.deepEqual(v.output, [1]);
  rs.apply({ add: [{ id: 'acl', layer: 'acl', priority: 5, match: { srcIp: '1.1.1.0/24' }, actions: [{ drop: true }] }] });
  v = verdictOf(rs, tcp4('1.1.1.1', '10.1.2.3', 5, 80));
  assert.equal(v.drop, true, 'acl drop composes over forward output');
  assert.equal(verdictOf(rs, tcp4('2.2.2.2', '10.1.2.3', 5, 80)).drop, false);
});

test('priority ties across subtables go to the rule added first, whatever the probe order', () => {
  const rs = new RuleSet(ctx);
  // A (prio 30) makes the /8 subtable the first probed; B (prio 20) adds a /16 subtable;
  // C joins the /8 subtable at B's priority; deleting A leaves /8 first with C, though B
  // was added before C and must win the tie.
  rs.apply({ add: [{ id: 'A', layer: 'acl', priority: 30, match: { dstIp: '11.0.0.0/8' }, actions: [{ count: true }] }] });
  rs.apply({ add: [{ id: 'B', layer: 'acl', priority: 20, match: { dstIp: '10.1.0.0/16' }, actions: [{ count: true }] }] });
  rs.apply({ add: [{ id: 'C', layer: 'acl', priority: 20, match: { dstIp: '10.0.0.0/8' }, actions: [{ count: true }] }] });
  rs.apply({ del: ['A'] });
  const k = tcp4('1.1.1.1', '10.1.2.3', 5, 80);
  assert.equal(linearLookup(reference(rs), k, 0)?.id, 'B');
  assert.equal(found(rs, k), 'B');
  assert.equal(rs.layers[0].probes, 2, 'both subtables probed, no more');
});

test('match fields: MAC with mask, VLAN and PCP, IPv6 CIDR, port ranges, TCP flags, DSCP, fragments, in-port', () => {
  const rs = new RuleSet(ctx);
  const r = (id: string, match: RuleSpec['match']) => ({ id, layer: 'acl' as const, priority: 1, match, actions: [{ count: true as const }] });
  rs.apply({ add: [
    r('mac', { srcMac: '02:00:00:00:00:00/ff:ff:ff:ff:ff:f0' }), r('vlan', { vlan: 100, pcp: 5 }), r('v6', { srcIp: '2001:db8::/32' }),
    r('range', { proto: 'tcp', etherType: 'ipv4', dstPort: '8000-8099' }), r('syn', { proto: 'tcp', etherType: 'ipv4', tcpFlags: 'syn,!ack' }),
    r('ef', { etherType: 'ipv4', dscp: 46 }), r('frag', { etherType: 'ipv4', fragment: true }), r('inport', { inPort: 'p3' }),
  ] });
  const only = (k: Uint32Array, id: string | null) => {
    const got = reference(rs).filter((x) => linearLookup([x], k, 0)).map((x) => x.id);
    assert.deepEqual(got, id ? [id] : [], `expected ${id}, matched ${got.join(',')}`);
  };
  only(key({ src: '02:00:00:00:00:0f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8' }, udp: { sport: 1, dport: 2 } }), 'mac');
  only(key({ src: '02:00:00:00:00:1f', vlans: [{ vid: 100, pcp: 5 }], etherType: 0x88b5 }), 'vlan');
  only(key({ src: '02:00:00:00:00:1f', vlans: [{ vid: 100, pcp: 4 }], etherType: 0x88b5 }), null);
  only(key({ src: '02:00:00:00:00:1f', ipv6: { src: '2001:db8:1::5', dst: '::1' }, udp: { sport: 1, dport: 2 } }), 'v6');
  only(key({ src: '02:00:00:00:00:1f', ipv6: { src: '2001:db9::5', dst: '::1' }, udp: { sport: 1, dport: 2 } }), null);
  only(key({ src: '02:00:00:00:00:1f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8' }, tcp: { sport: 1, dport: 8050, flags: 0x10 } }), 'range');
  only(key({ src: '02:00:00:00:00:1f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8' }, tcp: { sport: 1, dport: 8100, flags: 0x10 } }), null);
  only(key({ src: '02:00:00:00:00:1f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8' }, tcp: { sport: 1, dport: 22, flags: 0x02 } }), 'syn');
  const ef = key({ src: '02:00:00:00:00:1f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8' }, udp: { sport: 1, dport: 2 } });
  ef[14] |= (46 << 2) << 16;
  only(ef, 'ef');
  only(key({ src: '02:00:00:00:00:1f', ipv4: { src: '9.9.9.9', dst: '9.9.9.8', fragOffset: 10, proto: 17 }, payload: 8 }), 'frag');
  only(key({ src: '02:00:00:00:00:1f', etherType: 0x88b5 }, 2), 'inport');
  // The classifier agrees with the linear scan on all of these.
  for (const k of [ef, key({ src: '02:00:00:00:00:1f', etherType: 0x88b5 }, 2)]) {
    assert.equal(found(rs, k), linearLookup(reference(rs), k, 0)?.id);
  }
});

test('bad rules are refused with the field named, and a bad batch changes nothing', () => {
  const rs = new RuleSet(ctx);
  const bad: [RuleSpec, RegExp][] = [
    [{ layer: 'acl', priority: 1, match: { srcIp: '10.0.0.0/33' }, actions: [{ drop: true }] }, /add\[0\]\.match\.srcIp/],
    [{ layer: 'acl', priority: 1, match: { srcIp: '10.0.0.1/8' }, actions: [{ drop: true }] }, /host bits/],
    [{ layer: 'acl', priority: 1, match: { proto: 'tcp', etherType: 'ipv4', dstPort: 70000 }, actions: [{ drop: true }] }, /match\.dstPort/],
    [{ layer: 'acl', priority: 1, match: { dstPort: 80 }, actions: [{ drop: true }] }, /match\.dstPort: needs match\.proto/],
    [{ layer: 'nope' as 'acl', priority: 1, match: {}, actions: [{ drop: true }] }, /add\[0\]\.layer/],
    [{ layer: 'acl', priority: 1, match: {}, actions: [{ output: ['p9'] }] }, /actions\[0\]\.output: unknown port "p9"/],
    [{ layer: 'acl', priority: 1, match: { inPort: 'x' }, actions: [{ drop: true }] }, /match\.inPort: unknown port/],
    [{ layer: 'acl', priority: 1, match: {}, actions: [{ drop: true }, { output: ['p1'] }] }, /conflicting actions/],
    [{ layer: 'acl', priority: 1, match: {}, actions: [{ queue: 4 }] }, /actions\[0\]\.queue/],
  ];
  for (const [spec, re] of bad) assert.throws(() => rs.apply({ add: [spec] }), re);
  rs.apply({ add: [{ id: 'a', layer: 'acl', priority: 1, match: {}, actions: [{ allow: true }] }] });
  const gen = rs.generation;
  assert.throws(() => rs.apply({ del: ['a'], add: [{ id: 'b', layer: 'acl', priority: 1, match: {}, actions: [{ allow: true }] }, { id: 'c', layer: 'acl', priority: 1, match: { srcIp: 'x' }, actions: [{ allow: true }] }] }), /add\[1\]\.match\.srcIp/);
  assert.equal(rs.generation, gen, 'generation unchanged');
  assert.deepEqual(rs.list().map((r) => r.id), ['a'], 'nothing half-applied');
  assert.throws(() => rs.apply({ del: ['zz'] }), /del\[0\]: no rule with id "zz"/);
});

test('property: cached verdict == fresh linear classification, under random rule changes (rules on TCP flags and DSCP among them)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    let s = seed * 7919;
    const rnd = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
    const rs = new RuleSet(ctx);
    // The production path: a FlowStage (flow cache + generation check) over parsed packets.
    const stage = new FlowStage(rs, new FlowCache(64), 3);
    const cache = stage.cache;
    const pk = new FlowKeys(40);
    const nets = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '192.168.0.0/16'];
    const randomRule = (i: number): RuleSpec => {
      const m: RuleSpec['match'] = {};
      if (rnd(2)) m.srcIp = nets[rnd(nets.length)];
      if (rnd(2)) m.dstIp = nets[rnd(nets.length)];
      if (rnd(3) === 0) { m.proto = rnd(2) ? 'tcp' : 'udp'; m.etherType = 'ipv4'; if (rnd(2)) m.dstPort = rnd(2) ? 80 : '1000-1100'; }
      if (rnd(4) === 0) m.inPort = ctx.ports[rnd(3)];
      // Now and then a rule on TCP flags or DSCP: the cache must then key those bits (and only then).
      if (rnd(8) === 0) { m.proto = 'tcp'; m.etherType = 'ipv4'; delete m.dstPort; m.tcpFlags = rnd(2) ? 'syn,!ack' : 'ack'; } else if (rnd(8) === 0) { m.etherType = 'ipv4'; m.dscp = rnd(2) ? 46 : 0; }
      const actions = [[{ drop: true }], [{ output: [ctx.ports[rnd(3)]] }], [{ flood: true }], [{ setDscp: rnd(64) }], [{ queue: rnd(4) }]][rnd(5)] as RuleSpec['actions'];
      return { id: `s${seed}r${i}`, layer: (['acl', 'forward', 'qos'] as const)[rnd(3)], priority: rnd(3), match: m, actions };
    };
    const packets: Uint32Array[] = [];
    for (let i = 0; i < 40; i++) {
      const a = `10.${rnd(2)}.${rnd(3)}.${rnd(5)}`, b = rnd(3) ? `10.1.2.${rnd(5)}` : `192.168.${rnd(3)}.1`;
      // Packets of one 5-tuple come with several flag and TOS combinations (SYN, ACK, PSH+ACK; DSCP 0/46, ECN).
      const tos = [0, 46 << 2, (46 << 2) | 1, 2][rnd(4)], flags = [0x02, 0x10, 0x18, 0x12][rnd(4)];
      const spec: Partial<FrameSpec> = rnd(2) ? { ipv4: { src: a, dst: b, tos }, tcp: { sport: 1000 + rnd(4), dport: rnd(2) ? 80 : 1050, flags } } : { ipv4: { src: a, dst: b, tos }, udp: { sport: 5, dport: 1000 + rnd(150) } };
      const inPort = rnd(3);
      const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ...spec } as FrameSpec);
      pk.inPort[i] = inPort; // before parsing, as the NIC does: the packed key includes it
      assert.equal(pk.extract(f, 0, f.length, i), 0);
      packets.push(key(spec, inPort));
    }
    let n = 0;
    for (let step = 0; step < 400; step++) {
      if (rnd(5) === 0) {
        const ids = rs.list().map((r) => r.id);
        const del = ids.length && rnd(2) ? [ids[rnd(ids.length)]] : [];
        rs.apply({ del, add: rnd(3) ? [randomRule(n++), randomRule(n++)] : [] });
      }
      const i = rnd(packets.length);
      const k = packets[i];
      const got = stage.verdictOf(pk, i);
      // Fresh linear classification, layer by layer.
      const all = reference(rs);
      for (const [li, layer] of (['acl', 'forward', 'qos'] as const).entries()) {
        const want = linearLookup(all.filter((r) => r.layer === layer), k, 0);
        assert.equal(got.rules[li] < 0 ? null : rs.store.ids[got.rules[li]], want?.id ?? null, `seed ${seed} step ${step} layer ${layer}`);
      }
    }
    assert.ok(cache.hits > 0 && cache.stale > 0, `seed ${seed}: cache hit (${cache.hits}) and went stale (${cache.stale})`);
  }
});

test('a layer refuses rules beyond its distinct-mask budget', () => {
  const rs = new RuleSet(ctx, { maxMasksPerLayer: 4 });
  const prefixes = ['10.0.0.0/8', '10.0.0.0/9', '10.0.0.0/10', '10.0.0.0/11'];
  rs.apply({ add: prefixes.map((p, i) => ({ id: `m${i}`, layer: 'acl' as const, priority: 1, match: { srcIp: p }, actions: [{ drop: true as const }] })) });
  assert.throws(() => rs.apply({ add: [{ layer: 'acl', priority: 1, match: { srcIp: '10.0.0.0/12' }, actions: [{ drop: true }] }] }), /5 distinct masks \(limit 4\)/);
  rs.apply({ add: [{ layer: 'acl', priority: 1, match: { srcIp: '11.0.0.0/8' }, actions: [{ drop: true }] }] });
  assert.equal(rs.layers[0].masks, 4);
  void compileRule;
});

test('the flow cache keys TCP flags and TOS only while a rule matches on them: one flow, one entry', () => {
  const rs = new RuleSet(ctx);
  const stage = new FlowStage(rs, new FlowCache(64), 3);
  const pk = new FlowKeys(8);
  // One TCP flow with four flag and TOS combinations, then a second flow.
  const variants: [number, number][] = [[0x02, 0], [0x10, 0], [0x18, 46 << 2], [0x11, (46 << 2) | 1]];
  const frames = [...variants.map(([flags, tos]) => ({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2', tos }, tcp: { sport: 4000, dport: 80, flags } })), { ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 4001, dport: 80 } }];
  frames.forEach((spec, i) => { const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ...spec } as FrameSpec); pk.inPort[i] = 0; assert.equal(pk.extract(f, 0, f.length, i), 0); });
  const run = () => { const h0 = stage.cache.hits, m0 = stage.cache.misses; for (let i = 0; i < frames.length; i++) stage.verdictOf(pk, i); return { hits: stage.cache.hits - h0, misses: stage.cache.misses - m0 }; };
  rs.apply({ add: [{ id: 'web', layer: 'acl', priority: 1, match: { etherType: 'ipv4', proto: 'tcp', dstPort: 80 }, actions: [{ count: true }] }] });
  assert.deepEqual(run(), { hits: 3, misses: 2 }, 'no rule on flags or TOS: the first frame of each flow misses, the other variants hit');
  assert.equal(stage.cache.size, 2);
  rs.apply({ add: [{ id: 'syn', layer: 'acl', priority: 2, match: { etherType: 'ipv4', proto: 'tcp', tcpFlags: 'syn' }, actions: [{ drop: true }] }] });
  const r = run();
  assert.equal(r.misses, 3, 'a rule on the SYN flag: frames with and without it are apart (SYN, not SYN, the other flow)');
  assert.equal(stage.verdictOf(pk, 0).drop, true, 'the SYN is dropped');
  assert.equal(stage.verdictOf(pk, 1).drop, false, 'the ACK of the same flow is not: no entry of the SYN answers for it');
  assert.equal(stage.verdictOf(pk, 3).drop, false, 'nor the FIN+ACK');
});
