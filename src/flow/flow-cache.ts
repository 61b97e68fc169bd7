// FlowCache: an exact-match LRU cache from a packed classification key (KEY_WORDS u32 words)
// to a decision number. One per datapath thread; not shared between threads.
//
// Layout (typed arrays, sized once), chosen so a hit touches few cache lines:
//   ent   KEY_STRIDE words per entry — the key in words 0..14, the value in word 15: one
//         64-byte line holds everything a hit compares and returns;
//   meta  8 ints (32 bytes) per entry — hash, bucket chain link, LRU prev, LRU next and the
//         generation it was filled under: what a probe checks and a hit relinks, in one line;
//   buckets  head entry per bucket (chained), at least twice as many buckets as live entries:
//         the table starts small and doubles as entries are added (rehashing the chains, on a
//         miss), so a small working set's buckets stay in the first-level cache instead of
//         being spread over a table sized for the full capacity.
// The LRU is a doubly linked list through meta's prev/next with `head` = most recent and
// `tail` = next to evict. Per-port fairness: a full cache evicts, for a new entry from input
// port p, the least recent of p's own entries (among the SCAN least recent) when p holds at
// least capacity / (ports holding entries): a port flooding new flows recycles its own share.
// Consistency: `generation` is bumped by invalidateAll(); an entry from an older generation
// is a miss (counted as `stale`) and is overwritten by the next insert — no sweep needed.
// Counters: hits, misses, stale, evictions, inserts.
// Chosen over lru-cache v11 (numeric key + verification) and a string-keyed Map by
// native-free-bench/flow-cache.ts; the one-line entry layout replaced separate key, hash,
// value and link arrays (same benchmark, native-free-bench/README.md).

import { counterIndex, CounterBlock } from '../counters.js';
import { KEY_STRIDE } from './key.js';

export const FLOW_CACHE_COUNTERS = ['hits', 'misses', 'stale', 'evictions', 'inserts', 'batchRepeats'] as const;
const FC = counterIndex(FLOW_CACHE_COUNTERS);
const NIL = -1;
const VALUE = 15;
// meta fields
const M_HASH = 0, M_CHAIN = 1, M_PREV = 2, M_NEXT = 3, M_GEN = 4;
const META = 8;
/** Input ports counted for the per-port share (key word 0's top 16 bits, masked). */
const PORT_MASK = 4095;
/** LRU entries looked at for one of the inserting port's own to evict. */
const SCAN = 64;

export class FlowCache {
  readonly capacity: number;
  private readonly ent: Uint32Array;
  private readonly meta: Int32Array;
  private buckets: Int32Array;
  private bucketMask: number;
  private readonly maxBuckets: number;
  private head = NIL;
  private tail = NIL;
  private used = 0;
  /** Entries per input port, and how many ports hold any: a port's share is capacity / ports. */
  private readonly held = new Int32Array(PORT_MASK + 1);
  private ports = 0;
  generation = 1;
  /**
   * The bits of key word 14 (TCP flags, TOS) entries are keyed by (int32; -1: all). Frames that
   * differ only in the others share an entry. Change it only with invalidateAll().
   */
  mask14 = -1;
  /** Counters, in shared memory so another thread can report them. */
  readonly counters: CounterBlock<typeof FLOW_CACHE_COUNTERS>;
  private readonly c: Float64Array;

  constructor(capacity: number, counterBuffer?: SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 24) throw new RangeError(`flow cache capacity must be 1..16777216, got ${capacity}`);
    this.capacity = capacity;
    this.ent = new Uint32Array(capacity * KEY_STRIDE);
    this.meta = new Int32Array(capacity * META);
    let b = 16;
    while (b < capacity * 2) b <<= 1;
    this.maxBuckets = b;
    this.buckets = new Int32Array(Math.min(b, 64)).fill(NIL);
    this.bucketMask = this.buckets.length - 1;
    this.counters = new CounterBlock(FLOW_CACHE_COUNTERS, 1, counterBuffer);
    this.c = this.counters.values;
  }

  get hits(): number { return this.c[FC.hits]; }
  get misses(): number { return this.c[FC.misses]; }
  get stale(): number { return this.c[FC.stale]; }
  get evictions(): number { return this.c[FC.evictions]; }

  get size(): number { return this.used; }

  // Entry holding key[off..] with this hash, or NIL. The fifteen words are compared unrolled,
  // as one OR of XORs: int32 operations (no uint32-to-double conversions) and one branch.
  private find(key: Uint32Array, off: number, hash: number): number {
    const ent = this.ent, meta = this.meta, hv = hash | 0, o = off, m14 = this.mask14; // o: short for the unrolled compare
    for (let e = this.buckets[hash & this.bucketMask]; e !== NIL; e = meta[e * META + M_CHAIN]) {
      if (meta[e * META + M_HASH] !== hv) continue;
      const b = e * KEY_STRIDE;
      if (((ent[b] ^ key[o]) | (ent[b + 1] ^ key[o + 1]) | (ent[b + 2] ^ key[o + 2]) | (ent[b + 3] ^ key[o + 3]) |
          (ent[b + 4] ^ key[o + 4]) | (ent[b + 5] ^ key[o + 5]) | (ent[b + 6] ^ key[o + 6]) | (ent[b + 7] ^ key[o + 7]) |
          (ent[b + 8] ^ key[o + 8]) | (ent[b + 9] ^ key[o + 9]) | (ent[b + 10] ^ key[o + 10]) | (ent[b + 11] ^ key[o + 11]) |
          (ent[b + 12] ^ key[o + 12]) | (ent[b + 13] ^ key[o + 13]) | (ent[b + 14] ^ (key[o + 14] & m14))) === 0) return e;
    }
    return NIL;
  }

  // Move entry e to the most-recent end. Unlink: its neighbours point past it (e is not the
  // head, so it has a prev); relink: it becomes the new head and the old head's prev.
  private touch(e: number): void {
    const head = this.head;
    if (head === e) return;
    const meta = this.meta, m = e * META, p = meta[m + M_PREV], n = meta[m + M_NEXT];
    meta[p * META + M_NEXT] = n;
    if (n !== NIL) meta[n * META + M_PREV] = p; else this.tail = p;
    meta[m + M_PREV] = NIL;
    meta[m + M_NEXT] = head;
    meta[head * META + M_PREV] = e;
    this.head = e;
  }

  /**
   * The last lookup missed for a flow that already missed earlier in the same batch (FlowStage):
   * counted as a batch repeat, not as a miss of its own.
   */
  repeatedMiss(): void { this.c[FC.misses]--; this.c[FC.batchRepeats]++; }

  /** Value cached for the key under the current generation, or -1 (a miss). */
  lookup(key: Uint32Array, off: number, hash: number): number {
    const e = this.find(key, off, hash);
    if (e === NIL) { this.c[FC.misses]++; return -1; }
    if (this.meta[e * META + M_GEN] !== this.generation) { this.c[FC.stale]++; this.c[FC.misses]++; return -1; }
    this.c[FC.hits]++;
    this.touch(e);
    return this.ent[e * KEY_STRIDE + VALUE] | 0;
  }

  /** Cache `value` (>= 0) for the key (replacing an entry for it, or evicting the least recent). */
  insert(key: Uint32Array, off: number, hash: number, value: number): void {
    this.c[FC.inserts]++;
    const meta = this.meta;
    let e = this.find(key, off, hash);
    if (e !== NIL) {
      this.touch(e);
    } else {
      if (this.used < this.capacity) {
        e = this.used++;
        if (this.used * 2 > this.buckets.length && this.buckets.length < this.maxBuckets) this.rehash(this.buckets.length * 2);
      } else {
        // Evict the least recent entry — of the inserting port's own, when that port holds its
        // share of the cache or more: a port flooding new flows recycles its own entries and
        // cannot push the other ports' flows out. Off its bucket chain and off the LRU list.
        e = this.victim(key[off] >>> 16);
        this.unchain(e);
        this.unlink(e);
        this.release(e);
        this.c[FC.evictions]++;
      }
      this.hold(key[off] >>> 16);
      const base = e * KEY_STRIDE, ent = this.ent;
      for (let i = 0; i < VALUE; i++) ent[base + i] = key[off + i];
      ent[base + 14] = key[off + 14] & this.mask14;
      const m = e * META, b = hash & this.bucketMask;
      meta[m + M_HASH] = hash | 0;
      meta[m + M_CHAIN] = this.buckets[b];
      this.buckets[b] = e;
      // Link the detached entry in front of the LRU list.
      meta[m + M_PREV] = NIL;
      meta[m + M_NEXT] = this.head;
      if (this.head !== NIL) meta[this.head * META + M_PREV] = e; else this.tail = e;
      this.head = e;
    }
    this.ent[e * KEY_STRIDE + VALUE] = value;
    this.meta[e * META + M_GEN] = this.generation;
  }

  // Grow the bucket table to `size` buckets and re-chain every entry (the new entry, not yet
  // chained, is linked by the caller).
  private rehash(size: number): void {
    const meta = this.meta, last = this.used - 1;
    this.buckets = new Int32Array(size).fill(NIL);
    this.bucketMask = size - 1;
    for (let e = 0; e < last; e++) {
      const b = meta[e * META + M_HASH] & this.bucketMask;
      meta[e * META + M_CHAIN] = this.buckets[b];
      this.buckets[b] = e;
    }
  }

  // The entry to evict for a new one from input port `port`: the least recent of that port's
  // among the SCAN least recent entries if it holds its share or more, else the least recent.
  private victim(port: number): number {
    const p = port & PORT_MASK;
    if (this.held[p] * this.ports < this.capacity) return this.tail;
    const meta = this.meta, ent = this.ent;
    let e = this.tail;
    for (let i = 0; i < SCAN && e !== NIL; i++, e = meta[e * META + M_PREV]) if ((ent[e * KEY_STRIDE] >>> 16 & PORT_MASK) === p) return e;
    return this.tail;
  }

  // Take entry e off the LRU list.
  private unlink(e: number): void {
    const meta = this.meta, m = e * META, pr = meta[m + M_PREV], nx = meta[m + M_NEXT];
    if (pr !== NIL) meta[pr * META + M_NEXT] = nx; else this.head = nx;
    if (nx !== NIL) meta[nx * META + M_PREV] = pr; else this.tail = pr;
  }

  // Count a new entry against its input port, and an evicted one off its port.
  private hold(port: number): void { if (this.held[port & PORT_MASK]++ === 0) this.ports++; }
  private release(e: number): void { if (--this.held[(this.ent[e * KEY_STRIDE] >>> 16) & PORT_MASK] === 0) this.ports--; }

  // Remove entry e from its bucket chain (its LRU links are reused by the caller).
  private unchain(e: number): void {
    const meta = this.meta, b = meta[e * META + M_HASH] & this.bucketMask;
    if (this.buckets[b] === e) { this.buckets[b] = meta[e * META + M_CHAIN]; return; }
    for (let x = this.buckets[b]; x !== NIL; x = meta[x * META + M_CHAIN]) {
      if (meta[x * META + M_CHAIN] === e) { meta[x * META + M_CHAIN] = meta[e * META + M_CHAIN]; return; }
    }
  }

  /** Make every cached value stale at once (a rule change). */
  invalidateAll(): void { this.generation = (this.generation + 1) | 0 || 1; }
}
