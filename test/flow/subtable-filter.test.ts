// Tuple pruning (src/flow/subtable-filter.ts) in the classifier: with pruning forced on, off,
// or left to decide, every lookup finds the rule a linear scan finds — over random rule sets
// with prefix masks, non-prefix masks (masked MACs, port ranges) and IPv6, under random
// additions and deletions, with keys drawn inside the rules' prefixes so the tries are walked
// deep; traffic that misses every one of 1,024 masks probes none once the layer prunes; and
// the tries give back every node and row when the rules go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearLookup, referenceRules } from '../../src/flow/linear-lookup.js';
import { KEY_WORDS } from '../../src/flow/key.js';
import { RuleSpec } from '../../src/flow/rule.js';
import { RuleSet } from '../../src/flow/rule-set.js';
import { prng } from '../helpers/qos-sim.js';

const ctx = { ports: ['p1', 'p2', 'p3'], queues: 4 };
const ip4 = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;

test('property: pruned, plain and automatic lookups all equal a linear scan, under random rule changes', () => {
  for (let seed = 1; seed <= 6; seed++) {
    const rnd = prng(seed * 4099), r = (n: number) => Math.floor(rnd() * n);
    const rs = new RuleSet(ctx);
    const cl = rs.layers[0];
    // A few networks the rules and keys share, so prefixes nest and keys fall inside them.
    const nets = Array.from({ length: 6 }, () => (0x0a000000 | (r(4) << 16) | (r(256) << 8)) >>> 0);
    const v6 = ['2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:2::/64', 'fe80::/10'];
    const randomRule = (i: number): RuleSpec => {
      const m: RuleSpec['match'] = {};
      const pfx = () => { const len = [8, 12, 16, 20, 24, 28, 32][r(7)]; return `${ip4((nets[r(nets.length)] & (len === 32 ? 0xffffffff : ~(0xffffffff >>> len))) >>> 0)}/${len}`; };
      if (r(6) === 0) { m.etherType = 'ipv6'; m.srcIp = v6[r(v6.length)]; } else {
        if (r(3)) m.srcIp = pfx();
        if (r(2)) m.dstIp = pfx();
      }
      if (r(3) === 0 && !m.etherType) { m.etherType = 'ipv4'; m.proto = r(2) ? 'tcp' : 'udp'; if (r(2)) m.dstPort = r(2) ? 80 : '1000-1100'; }
      if (r(5) === 0) m.srcMac = r(2) ? '02:00:00:00:00:00/ff:00:ff:00:00:f0' : '02:00:00:00:00:01'; // a mask that is not a prefix
      if (r(5) === 0) m.inPort = ctx.ports[r(3)];
      return { id: `s${seed}r${i}`, layer: 'acl', priority: r(4), match: m, actions: [{ drop: true }] };
    };
    const key = (): Uint32Array => {
      const k = new Uint32Array(KEY_WORDS);
      const v6key = r(6) === 0, tcp = r(2) === 1;
      k[0] = (r(3) << 16) >>> 0;
      k[1] = v6key ? ((0x86dd << 16) | ((tcp ? 6 : 17) << 8) | (6 << 4)) >>> 0 : ((0x0800 << 16) | ((tcp ? 6 : 17) << 8) | (4 << 4)) >>> 0;
      k[2] = 0x0200 | (r(2) ? 0x0200 << 16 : 0); // dst MAC high, src MAC high
      k[4] = r(3) ? 1 : r(1 << 24);
      if (v6key) { k[5] = 0x20010db8; k[6] = r(2) ? 0x00010002 : r(1 << 20); k[7] = r(1 << 30); k[8] = r(1 << 30); } else {
        k[5] = (nets[r(nets.length)] | r(1 << (4 + r(9)))) >>> 0;
        k[9] = (nets[r(nets.length)] | r(1 << (4 + r(9)))) >>> 0;
      }
      k[13] = ((r(65536) << 16) | (r(3) === 0 ? 80 : 990 + r(120))) >>> 0;
      return k;
    };
    let n = 0, pruned = 0;
    for (let step = 0; step < 60; step++) {
      const ids = rs.list().map((x) => x.id);
      const del = ids.length > 20 ? Array.from({ length: 1 + r(6) }, () => ids[r(ids.length)]).filter((x, i, a) => a.indexOf(x) === i) : [];
      rs.apply({ del, add: Array.from({ length: 1 + r(8) }, () => randomRule(n++)) });
      const reference = referenceRules(rs.list(), ctx);
      for (let j = 0; j < 30; j++) {
        const k = key(), want = linearLookup(reference, k, 0)?.id ?? null;
        for (const mode of ['always', 'never', 'auto'] as const) {
          cl.prune = mode;
          const got = cl.lookup(k, 0);
          assert.equal(got < 0 ? null : rs.store.ids[got], want, `seed ${seed} step ${step} key ${j} (${mode})`);
          if (mode === 'always' && cl.probes < cl.masks) pruned++;
        }
      }
    }
    assert.ok(pruned > 0, `seed ${seed}: pruning skipped some subtable at least once`);
  }
});

test('traffic that misses all of 1,024 masks probes none once the layer prunes; every node and row goes back with the rules', () => {
  const rs = new RuleSet(ctx);
  const cl = rs.layers[0];
  const rules: RuleSpec[] = [];
  for (let sl = 1; sl <= 32; sl++) {
    for (let dl = 1; dl <= 32; dl++) {
      const m = (len: number) => (len === 32 ? 0xffffffff : ~(0xffffffff >>> len)) >>> 0;
      rules.push({ id: `m${sl}x${dl}`, layer: 'acl', priority: (sl * 31 + dl) % 97, match: { srcIp: `${ip4((0xc0a80001 & m(sl)) >>> 0)}/${sl}`, dstIp: `${ip4((0xc0a80101 & m(dl)) >>> 0)}/${dl}` }, actions: [{ drop: true }] });
    }
  }
  const before = cl.filterSize;
  rs.apply({ add: rules });
  assert.equal(cl.masks, 1024);
  const k = new Uint32Array(KEY_WORDS);
  k[1] = ((0x0800 << 16) | (17 << 8) | (4 << 4)) >>> 0;
  const probes: number[] = [];
  for (let i = 0; i < 200; i++) {
    k[5] = (0x0a000000 | i) >>> 0; k[9] = 0x0a000001; // 10.0.0.i -> 10.0.0.1: under no rule's prefix
    assert.equal(cl.lookup(k, 0), -1);
    probes.push(cl.probes);
  }
  assert.equal(probes[0], 1024, 'the first lookup scans every mask');
  assert.deepEqual(probes.slice(100), new Array(100).fill(0), 'later ones probe none');
  // A key inside both deepest prefixes matches the best rule the linear scan finds.
  k[5] = 0xc0a80001; k[9] = 0xc0a80101;
  const want = linearLookup(referenceRules(rs.list(), ctx), k, 0)!.id;
  assert.equal(rs.store.ids[cl.lookup(k, 0)], want);
  assert.ok(cl.filterSize.nodes > 0 && cl.filterSize.rows > 0);
  rs.apply({ del: rules.map((x) => x.id!) });
  assert.deepEqual(cl.filterSize, before, 'the tries are back to empty');
  assert.equal(cl.masks, 0);
});
