// Flow cache lookup: 10k active flows, every lookup a hit (steady state), keys as the parser
// packs them (FlowKeys.packed, one line per handle). Compares the typed-array FlowCache with lru-cache v11 keyed by the
// numeric hash (entries keep their key words for verification) and a string-keyed Map
// (the naive baseline). Each lookup includes hashing the key. Checked before timing: all
// three return the right verdict for every flow.
import { Bench } from 'tinybench';
import { LRUCache } from 'lru-cache';
import { FlowCache } from '../src/flow/flow-cache.js';
import { hashKey, KEY_STRIDE, KEY_WORDS } from '../src/flow/key.js';
import { FlowKeys } from '../src/wire/flow-key.js';
import { benchFrames } from './pipeline-rig.js';
import { figure, Figure, print, save } from './report.js';

const FLOWS = 10_000;

export async function flowCacheBench(): Promise<Figure[]> {
  const frames = benchFrames(FLOWS);
  const fk = new FlowKeys(FLOWS);
  for (let i = 0; i < FLOWS; i++) fk.extract(frames[i], 0, frames[i].length, i);
  const keys = fk.packed;

  const typed = new FlowCache(65536);
  const lru = new LRUCache<number, { words: Uint32Array; verdict: number }>({ max: 65536 });
  const map = new Map<string, number>();
  for (let i = 0; i < FLOWS; i++) {
    const off = i * KEY_STRIDE;
    const h = hashKey(keys, off);
    typed.insert(keys, off, h, i);
    lru.set(h, { words: keys.slice(off, off + KEY_WORDS), verdict: i });
    map.set(Array.prototype.join.call(keys.subarray(off, off + KEY_WORDS), ','), i);
  }

  const typedLookup = (i: number) => { const off = i * KEY_STRIDE; return typed.lookup(keys, off, hashKey(keys, off)); };
  const lruLookup = (i: number) => {
    const off = i * KEY_STRIDE;
    const e = lru.get(hashKey(keys, off));
    if (e === undefined) return -1;
    for (let w = 0; w < KEY_WORDS; w++) if (e.words[w] !== keys[off + w]) return -1;
    return e.verdict;
  };
  const mapLookup = (i: number) => map.get(Array.prototype.join.call(keys.subarray(i * KEY_STRIDE, i * KEY_STRIDE + KEY_WORDS), ',')) ?? -1;
  for (let i = 0; i < FLOWS; i++) {
    if (typedLookup(i) !== i || lruLookup(i) !== i || mapLookup(i) !== i) throw new Error(`flow cache check failed at flow ${i}`);
  }

  let sink = 0;
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add('typed-array FlowCache (chosen)', () => { for (let i = 0; i < FLOWS; i++) sink += typedLookup(i); });
  bench.add('lru-cache v11, numeric key + verification', () => { for (let i = 0; i < FLOWS; i++) sink += lruLookup(i); });
  bench.add('baseline: string-keyed Map', () => { for (let i = 0; i < FLOWS; i++) sink += mapLookup(i); });
  await bench.run();
  if (sink === 0) throw new Error('unreachable');
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(t.name, FLOWS, (r.latency?.mean ?? r.mean!) / 1000, 'lookups (Mpps = M lookups/s)');
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await flowCacheBench();
  print('flow cache hit path, 10k active flows', figs);
  save('flow-cache', figs);
}
