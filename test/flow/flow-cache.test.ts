// FlowCache against a reference model (a Map with insertion-order LRU): same answers, same
// evictions, for random operation sequences; generation invalidation; the packed key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowCache } from '../../src/flow/flow-cache.js';
import { hashKey, KEY_WORDS, packKey } from '../../src/flow/key.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

function keyOf(n: number, collide = false): Uint32Array {
  const k = new Uint32Array(KEY_WORDS);
  k[5] = n; k[13] = n * 7;
  if (collide) k[0] = 1;
  return k;
}

test('matches an LRU reference model over random lookups and inserts', () => {
  const cap = 64;
  const cache = new FlowCache(cap);
  const model = new Map<number, number>();
  let seed = 7;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
  // A tiny hash forces long chains and full-word comparison.
  const weakHash = (n: number) => n & 7;
  for (let i = 0; i < 200000; i++) {
    const n = rnd() % 150;
    const k = keyOf(n);
    if (rnd() & 1) {
      const got = cache.lookup(k, 0, weakHash(n));
      const want = model.has(n) ? model.get(n)! : -1;
      assert.equal(got, want, `step ${i} lookup ${n}`);
      if (want >= 0) { model.delete(n); model.set(n, want); }
    } else {
      const v = rnd() % 1000;
      cache.insert(k, 0, weakHash(n), v);
      model.delete(n);
      model.set(n, v);
      if (model.size > cap) model.delete(model.keys().next().value!);
    }
    assert.equal(cache.size, model.size, `step ${i} size`);
  }
  assert.equal(cache.size, model.size);
  assert.ok(cache.evictions > 0 && cache.hits > 0 && cache.misses > 0);
});

test('invalidateAll makes every entry stale; re-inserting revives it', () => {
  const c = new FlowCache(8);
  const k = keyOf(1);
  const h = hashKey(k, 0);
  c.insert(k, 0, h, 5);
  assert.equal(c.lookup(k, 0, h), 5);
  c.invalidateAll();
  assert.equal(c.lookup(k, 0, h), -1);
  assert.equal(c.stale, 1);
  c.insert(k, 0, h, 6);
  assert.equal(c.lookup(k, 0, h), 6);
  assert.equal(c.size, 1, 'the stale entry was reused, not duplicated');
});

test('keys that share a hash are told apart by their words', () => {
  const c = new FlowCache(8);
  c.insert(keyOf(1), 0, 42, 10);
  c.insert(keyOf(1, true), 0, 42, 20);
  assert.equal(c.lookup(keyOf(1), 0, 42), 10);
  assert.equal(c.lookup(keyOf(1, true), 0, 42), 20);
  assert.equal(c.lookup(keyOf(2), 0, 42), -1);
});

test('packKey: fields land in their documented words; distinct flows give distinct keys', () => {
  const keys = new FlowKeys(4);
  const f = buildFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', vlans: [{ vid: 100, pcp: 5 }], ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1234, dport: 443, flags: 0x18 } });
  f[18 + 1] = 0xb8; // TOS: DSCP 46 (EF)
  keys.extract(f, 0, f.length, 2);
  keys.inPort[2] = 3;
  const k = new Uint32Array(KEY_WORDS * 2);
  packKey(keys, 2, k, KEY_WORDS);
  const w = k.subarray(KEY_WORDS);
  assert.equal(w[0] >>> 16, 3); assert.equal((w[0] >>> 4) & 0xfff, 100); assert.equal((w[0] >>> 1) & 7, 5); assert.equal(w[0] & 1, 1);
  assert.equal(w[1] >>> 16, 0x0800); assert.equal((w[1] >>> 8) & 255, 6); assert.equal((w[1] >>> 4) & 15, 4);
  assert.equal(w[5], 0x0a000001); assert.equal(w[9], 0x0a000002);
  assert.equal(w[13], ((1234 << 16) | 443) >>> 0);
  assert.equal(w[14] >>> 24, 0x18); assert.equal(((w[14] >>> 16) & 255) >>> 2, 46);
  const seen = new Set<number>();
  for (let p = 0; p < 1000; p++) {
    const g = buildFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000 + p, dport: 53 } });
    keys.extract(g, 0, g.length, 1);
    packKey(keys, 1, k, 0);
    seen.add(hashKey(k, 0));
  }
  assert.ok(seen.size >= 999, `hashes of 1000 flows: ${seen.size} distinct`);
});

test('a port flooding new flows recycles its own entries: another port\'s flows stay cached; a lone port has the whole cache', () => {
  const keyFrom = (port: number, n: number) => { const k = keyOf(n); k[0] = (port << 16) >>> 0; return k; };
  const cap = 256;
  const c = new FlowCache(cap);
  // A lone port may fill every entry.
  for (let n = 0; n < cap; n++) { const k = keyFrom(0, n); c.insert(k, 0, hashKey(k, 0), n); }
  let hits = 0;
  for (let n = 0; n < cap; n++) { const k = keyFrom(0, n); if (c.lookup(k, 0, hashKey(k, 0)) === n) hits++; }
  assert.equal(hits, cap, 'a lone port keeps all its entries');
  // Port 1's 40 flows, each seen once per round; between rounds port 0 sends 1,000 new flows
  // (four times the cache). Plain LRU would evict every one of port 1's flows each round.
  const victims = Array.from({ length: 40 }, (_, i) => keyFrom(1, 100_000 + i));
  let victimHits = 0, victimLookups = 0, flood = 1_000_000;
  for (let round = 0; round < 20; round++) {
    for (const k of victims) {
      const h = hashKey(k, 0);
      victimLookups++;
      if (c.lookup(k, 0, h) >= 0) victimHits++; else c.insert(k, 0, h, 1);
    }
    for (let i = 0; i < 1000; i++) { const k = keyFrom(0, flood++); c.insert(k, 0, hashKey(k, 0), 2); }
  }
  assert.equal(victimHits, victimLookups - victims.length, `port 1 missed only its first round (${victimHits} of ${victimLookups} hit)`);
  assert.equal(c.size, cap, 'the flood still used the rest of the cache');
});
