// The rule store's parts (issue 10, defect 4): rules live in typed-array columns, their pairs
// in a pair store, their ids in a linear-hashing index and their texts in an arena outside the
// heap. Each part is checked against a plain reference, a RuleSet gives back every slot, pair
// and page once its rules are gone, and a replica fed compiled rows classifies as the original.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearHash, stringHash } from '../../src/flow/linear-hash.js';
import { TextArena } from '../../src/flow/text-arena.js';
import { RuleSet } from '../../src/flow/rule-set.js';
import { RuleSpec } from '../../src/flow/rule.js';
import { encodeRows } from '../../src/flow/rule-rows.js';
import { KEY_WORDS, packKey } from '../../src/flow/key.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
}

test('linear hashing: chains hold exactly the rows with their hash, in order, as the table grows one bucket at a time', () => {
  const rnd = rng(3);
  const N = 20000, lh = new LinearHash(1);
  const next = new Int32Array(N).fill(-1), hash = new Int32Array(N), linked = new Uint8Array(N);
  const ref = new Map<number, number[]>(); // hash -> rows, most recently linked first
  const link = (r: number, h: number) => {
    const b = lh.bucket(h);
    hash[r] = h; next[r] = lh.heads[b]; lh.heads[b] = r; linked[r] = 1;
    lh.added(next, hash);
    ref.set(h, [r, ...(ref.get(h) ?? [])]);
  };
  const unlink = (r: number) => {
    const b = lh.bucket(hash[r]);
    let prev = -1, at = lh.heads[b];
    while (at !== r) { prev = at; at = next[at]; }
    if (prev < 0) lh.heads[b] = next[r]; else next[prev] = next[r];
    lh.removed(); linked[r] = 0;
    ref.set(hash[r], ref.get(hash[r])!.filter((x) => x !== r));
  };
  for (let r = 0; r < N; r++) {
    link(r, rnd(3) === 0 ? rnd(50) : rnd(1 << 30)); // some hashes shared by many rows
    if (rnd(4) === 0) { const v = rnd(r + 1); if (linked[v]) unlink(v); }
  }
  assert.equal(lh.count, linked.reduce((a, b) => a + b, 0));
  for (const [h, rows] of ref) {
    const got: number[] = [];
    for (let r = lh.heads[lh.bucket(h)]; r >= 0; r = next[r]) if (hash[r] === h) got.push(r);
    assert.deepEqual(got, rows, `hash ${h}`);
  }
  assert.ok(lh.heads.length >= lh.count / 2, 'the directory grew with the rows');
  assert.notEqual(stringHash('r1'), stringHash('r2'));
});

test('text arena: every text reads back; pages are released as texts go, held bytes stay within four times the live ones', () => {
  const rnd = rng(11);
  const S = 6000, arena = new TextArena(S);
  const ref = new Map<number, string>();
  for (let step = 0; step < 60000; step++) {
    const s = rnd(S);
    if (ref.has(s)) { arena.drop(s); ref.delete(s); continue; }
    const t = JSON.stringify({ id: `r${s}`, pad: 'x'.repeat(rnd(300)), n: 'é€'.repeat(rnd(3)) });
    arena.putString(s, t);
    ref.set(s, t);
    if (step % 997 === 0) for (const [k, v] of ref) assert.equal(arena.text(k), v, `slot ${k} at step ${step}`);
  }
  for (const [k, v] of ref) assert.equal(arena.text(k), v);
  assert.ok(arena.bytesHeld <= 4 * arena.bytesLive + 2 * 65536, `held ${arena.bytesHeld} for ${arena.bytesLive} live`);
  for (const k of [...ref.keys()]) arena.drop(k);
  assert.equal(arena.bytesLive, 0);
  assert.ok(arena.pageCount <= 1, `${arena.pageCount} pages left`);
  assert.equal(arena.text(0), undefined);
});

const ctx = { ports: ['p1', 'p2'], queues: 2 };
const rule = (i: number): RuleSpec => ({
  id: `r${i}`, layer: (['acl', 'forward', 'qos'] as const)[i % 3], priority: i % 7,
  match: i % 2 ? { proto: 'tcp', dstPort: `${1000 + (i % 50)}-${1100 + (i % 50)}`, dstIp: `10.0.${(i >> 8) & 255}.${i & 255}/32` } : { srcIp: `10.${i % 4}.0.0/16` },
  actions: i % 3 === 1 ? [{ output: [ctx.ports[i % 2]] }] : [{ count: true }],
});

test('a rule set gives back every slot, pair, id and text page once its rules are deleted, refused batches included', () => {
  const rs = new RuleSet(ctx, { maxRules: 3000 });
  const pairs = () => rs.layers.reduce((n, l) => n + l.pairCount, 0);
  for (let round = 0; round < 3; round++) {
    rs.apply({ add: Array.from({ length: 3000 }, (_, i) => rule(i)) });
    assert.equal(rs.size, 3000);
    assert.ok(pairs() > 3000, 'port ranges expand to several pairs');
    // Refused half-way (a bad rule at the end; over the limit): nothing taken stays taken.
    const used = rs.store.used, p = pairs();
    assert.throws(() => rs.apply({ del: ['r0', 'r1'], add: [rule(5000), { ...rule(5001), match: { srcIp: 'nope' } }] }), /add\[1\]\.match\.srcIp/);
    assert.throws(() => rs.apply({ add: [rule(5000)] }), /limit 3000/);
    assert.deepEqual([rs.store.used, pairs(), rs.slotOf('r0') >= 0, rs.get('r5000')], [used, p, true, undefined]);
    // Replace the whole set in one batch (deleted slots are free only after the commit).
    rs.apply({ del: Array.from({ length: 3000 }, (_, i) => `r${i}`), add: Array.from({ length: 3000 }, (_, i) => ({ ...rule(i), id: `n${i}` })) });
    assert.equal(rs.size, 3000);
    assert.equal(rs.get('n2999')?.spec?.id, 'n2999');
    assert.deepEqual(rs.page(0, 3).map((r) => r.id), ['n0', 'n1', 'n2'], 'listed in the order added');
    rs.apply({ del: Array.from({ length: 3000 }, (_, i) => `n${i}`) });
    assert.deepEqual({ size: rs.size, used: rs.store.used, pairs: pairs(), masks: rs.layers.map((l) => l.masks) }, { size: 0, used: 0, pairs: 0, masks: [0, 0, 0] });
    assert.ok(rs.store.texts!.pageCount <= 1, `${rs.store.texts!.pageCount} text pages left`);
  }
});

test('a replica fed compiled rows and deleted slots classifies exactly as the rule set that validated the changes, at the same slots', () => {
  const fk = new FlowKeys(1);
  const key = (i: number) => {
    const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: `10.${i % 4}.0.${i & 255}`, dst: `10.0.${(i >> 8) & 3}.${i & 255}` }, tcp: { sport: 5, dport: 1000 + (i % 160) } });
    fk.extract(f, 0, f.length, 0);
    const k = new Uint32Array(KEY_WORDS);
    packKey(fk, 0, k, 0);
    return k;
  };
  const keys = Array.from({ length: 400 }, (_, i) => key(i * 7));
  const rs = new RuleSet(ctx, { maxRules: 2000 }), replica = new RuleSet(ctx, { maxRules: 2000, replica: true });
  const rnd = rng(5);
  let n = 0;
  for (let round = 0; round < 8; round++) {
    const ids = rs.list().map((r) => r.id);
    const del = ids.filter(() => rnd(3) === 0);
    const c = rs.change();
    c.feed(Array.from({ length: 150 }, () => rule(n++)), del);
    c.runAll();
    const r = replica.change();
    r.feedSlots(c.gone);
    r.feedRows(encodeRows(rs, c.added));
    r.runAll();
    assert.equal(replica.size, rs.size);
    for (const k of keys) {
      for (let l = 0; l < 3; l++) assert.equal(replica.layers[l].lookup(k, 0), rs.layers[l].lookup(k, 0), `round ${round} layer ${l}`);
      assert.deepEqual(replica.verdicts[replica.classify(k, 0)].slots, rs.verdicts[rs.classify(k, 0)].slots);
    }
  }
  assert.ok(rs.verdicts.some((v) => v.slots.length > 0), 'some keys matched rules');
});
