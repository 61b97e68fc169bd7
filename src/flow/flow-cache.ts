// FlowCache: an exact-match LRU cache from a packed classification key (KEY_WORDS u32 words)
// to a verdict number. One per datapath worker; not shared between threads.
//
// Layout (all typed arrays, sized once): per entry the key words, its hash, its verdict, the
// rule generation it was computed under, chain link and LRU prev/next indices. Buckets are
// chained (head per bucket, `chain` per entry); the LRU is a doubly linked list through
// `prev`/`next` with `head` = most recent, `tail` = next to evict.
// Consistency: `generation` is bumped by invalidateAll(); an entry from an older generation
// is a miss (counted as `stale`) and is overwritten by the next insert — no sweep needed.
// Counters: hits, misses, stale, evictions, inserts.
// Chosen over lru-cache v11 (numeric key + verification) and a string-keyed Map by
// native-free-bench/flow-cache.ts; figures in the README.

import { counterIndex, CounterBlock } from '../counters.js';
import { KEY_WORDS } from './key.js';

export const FLOW_CACHE_COUNTERS = ['hits', 'misses', 'stale', 'evictions', 'inserts'] as const;
const FC = counterIndex(FLOW_CACHE_COUNTERS);
const NIL = -1;

export class FlowCache {
  readonly capacity: number;
  private readonly keys: Uint32Array;
  private readonly hashes: Uint32Array;
  private readonly values: Int32Array;
  private readonly gens: Uint32Array;
  private readonly chain: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly buckets: Int32Array;
  private readonly bucketMask: number;
  private head = NIL;
  private tail = NIL;
  private used = 0;
  generation = 1;
  /** Counters, in shared memory so another thread can report them. */
  readonly counters: CounterBlock<typeof FLOW_CACHE_COUNTERS>;
  private readonly c: Float64Array;

  constructor(capacity: number, counterBuffer?: SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`flow cache capacity must be 1..16777216, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.hashes = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
    this.gens = new Uint32Array(capacity);
    this.chain = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    let b = 16;
    while (b < capacity * 2) b <<= 1;
    this.buckets = new Int32Array(b).fill(NIL);
    this.bucketMask = b - 1;
    this.counters = new CounterBlock(FLOW_CACHE_COUNTERS, 1, counterBuffer);
    this.c = this.counters.values;
  }

  get hits(): number { return this.c[FC.hits]; }
  get misses(): number { return this.c[FC.misses]; }
  get stale(): number { return this.c[FC.stale]; }
  get evictions(): number { return this.c[FC.evictions]; }

  get size(): number { return this.used; }

  // Entry index holding key[off..] with this hash, or NIL.
  private find(key: Uint32Array, off: number, hash: number): number {
    const keys = this.keys;
    for (let e = this.buckets[hash & this.bucketMask]; e !== NIL; e = this.chain[e]) {
      if (this.hashes[e] !== hash) continue;
      const base = e * KEY_WORDS;
      let i = 0;
      while (i < KEY_WORDS && keys[base + i] === key[off + i]) i++;
      if (i === KEY_WORDS) return e;
    }
    return NIL;
  }

  // Move entry e to the most-recent end. Unlink: its neighbours point past it; relink: it
  // becomes the new head and the old head's prev.
  private touch(e: number): void {
    if (this.head === e) return;
    const p = this.prev[e], n = this.next[e];
    if (p !== NIL) this.next[p] = n;
    if (n !== NIL) this.prev[n] = p;
    if (this.tail === e) this.tail = p;
    this.prev[e] = NIL;
    this.next[e] = this.head;
    if (this.head !== NIL) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === NIL) this.tail = e;
  }

  /** Verdict cached for the key under the current generation, or -1 (a miss). */
  lookup(key: Uint32Array, off: number, hash: number): number {
    const e = this.find(key, off, hash);
    if (e === NIL) { this.c[FC.misses]++; return -1; }
    if (this.gens[e] !== this.generation) { this.c[FC.stale]++; this.c[FC.misses]++; return -1; }
    this.c[FC.hits]++;
    this.touch(e);
    return this.values[e];
  }

  /** Cache `value` for the key (replacing an entry for it, or evicting the least recent). */
  insert(key: Uint32Array, off: number, hash: number, value: number): void {
    this.c[FC.inserts]++;
    let e = this.find(key, off, hash);
    if (e !== NIL) {
      this.touch(e);
    } else {
      if (this.used < this.capacity) {
        e = this.used++;
      } else {
        // Evict the tail: off its bucket chain and off the LRU end.
        e = this.tail;
        this.unchain(e);
        this.tail = this.prev[e];
        if (this.tail !== NIL) this.next[this.tail] = NIL; else this.head = NIL;
        this.c[FC.evictions]++;
      }
      const base = e * KEY_WORDS;
      for (let i = 0; i < KEY_WORDS; i++) this.keys[base + i] = key[off + i];
      this.hashes[e] = hash;
      const b = hash & this.bucketMask;
      this.chain[e] = this.buckets[b];
      this.buckets[b] = e;
      // Link the detached entry in front of the LRU list.
      this.prev[e] = NIL;
      this.next[e] = this.head;
      if (this.head !== NIL) this.prev[this.head] = e; else this.tail = e;
      this.head = e;
    }
    this.values[e] = value;
    this.gens[e] = this.generation;
  }

  // Remove entry e from its bucket chain (its LRU links are reused by the caller).
  private unchain(e: number): void {
    const b = this.hashes[e] & this.bucketMask;
    if (this.buckets[b] === e) { this.buckets[b] = this.chain[e]; return; }
    for (let x = this.buckets[b]; x !== NIL; x = this.chain[x]) {
      if (this.chain[x] === e) { this.chain[x] = this.chain[e]; return; }
    }
  }

  /** Make every cached verdict stale at once (a rule change). */
  invalidateAll(): void { this.generation = (this.generation + 1) >>> 0 || 1; }
}
