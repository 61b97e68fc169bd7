// PairTable: the (source VM, destination VM) pairs a sending host limits — keyed by VNI, source
// MAC and destination MAC — in shared memory, so that every datapath thread carrying a pair's
// frames finds the same entry: its granted rate and its token bucket (a SharedBucket each, one
// rate whatever the spread over threads). Entries are made on demand by the thread that first
// sends for a pair, bounded in number (a full table is counted, and the pair's frames go
// unlimited: work-conserving, never dropped for want of a slot), and aged out when idle.
//
// Layout (Int32 words): word 0 the insert lock, word 1 the live pairs, word 2 the frames sent
// unlimited because the table was full; then per slot SLOT_WORDS words — state (FREE,
// LIVE, GONE: a removed entry a lookup steps over), generation (bumped on each reuse, so a
// thread's own state for the slot is known stale), VNI, the two MACs (16 + 32 bits each), the
// granted rate (kbit/s), the last second a frame was offered, the bytes offered (every thread adds
// its frames', wrapping at 2^31: read as differences).
// Open addressing, linear probing over twice as many slots as pairs (a lookup of a pair the table
// has stops at a free slot within a few probes, even when it is full). Lookups take no lock: a slot is published by storing LIVE
// after its key (Atomics.store), and read by loading its state first. Inserts and removals take
// the lock (a new pair, an aged one: rare). Buckets: BUCKET_BYTES per slot in `buckets`.

import { BUCKET_BYTES, SharedBucket } from './shared-bucket.js';

export const FREE = 0, LIVE = 1, GONE = 2;
const STATE = 0, GEN = 1, VNI = 2, SRC_HI = 3, SRC_LO = 4, DST_HI = 5, DST_LO = 6, RATE = 7, LAST = 8, BYTES = 9;
export const SLOT_WORDS = 10;
const LOCK = 0, LIVE_N = 1, FULL_N = 2, HEAD = 3;
/** Default most pairs a sending host limits. */
export const DEFAULT_MAX_PAIRS = 1024;

export interface PairTableShare { words: SharedArrayBuffer; buckets: SharedArrayBuffer; capacity: number }

export class PairTable {
  /** Most live pairs. */
  readonly capacity: number;
  /** Slots (twice the capacity): slot numbers are below it. */
  readonly slots: number;
  private readonly mask: number;
  readonly w: Int32Array;
  readonly buckets: SharedArrayBuffer;

  /** `capacity` pairs (a power of two), or attach to a share made by another thread. */
  constructor(capacity: number | PairTableShare) {
    if (typeof capacity === 'number') {
      if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`maxPairs: ${capacity} is not a power of two >= 2`);
      this.capacity = capacity;
      this.slots = 2 * capacity;
      this.w = new Int32Array(new SharedArrayBuffer((HEAD + this.slots * SLOT_WORDS) * 4));
      this.buckets = SharedBucket.create(this.slots);
    } else {
      this.capacity = capacity.capacity;
      this.slots = 2 * capacity.capacity;
      this.w = new Int32Array(capacity.words);
      this.buckets = capacity.buckets;
    }
    this.mask = this.slots - 1;
  }

  /** Live pairs now. */
  get size(): number { return Atomics.load(this.w, LIVE_N); }
  /** Frames whose pair found the table full (they went unlimited). */
  get full(): number { return Atomics.load(this.w, FULL_N); }

  shared(): PairTableShare { return { words: this.w.buffer as SharedArrayBuffer, buckets: this.buckets, capacity: this.capacity }; }

  /** The slot of the pair (vni, src, dst) — MACs as 16 high and 32 low bits — or -1 when it has none. */
  find(vni: number, srcHi: number, srcLo: number, dstHi: number, dstLo: number): number {
    const w = this.w;
    let s = hash(vni, srcHi, srcLo, dstHi, dstLo) & this.mask;
    for (let i = 0; i < this.slots; i++, s = (s + 1) & this.mask) {
      const b = HEAD + s * SLOT_WORDS, st = Atomics.load(w, b + STATE);
      if (st === FREE) return -1;
      if (st === LIVE && w[b + VNI] === vni && w[b + SRC_LO] === srcLo && w[b + DST_LO] === dstLo && w[b + SRC_HI] === srcHi && w[b + DST_HI] === dstHi) return s;
    }
    return -1;
  }

  /** The pair's slot, made (at rate `kbps`) if it has none; -1 when the table is full (counted). */
  findOrAdd(vni: number, srcHi: number, srcLo: number, dstHi: number, dstLo: number, kbps: number): number {
    const found = this.find(vni, srcHi, srcLo, dstHi, dstLo);
    if (found >= 0) return found;
    const w = this.w;
    if (Atomics.load(w, LIVE_N) >= this.capacity) { Atomics.add(w, FULL_N, 1); return -1; } // full: no lock taken
    while (Atomics.compareExchange(w, LOCK, 0, 1) !== 0) { /* another thread is adding or removing: a few instructions */ }
    try {
      const again = this.find(vni, srcHi, srcLo, dstHi, dstLo);
      if (again >= 0) return again;
      if (w[LIVE_N] >= this.capacity) { Atomics.add(w, FULL_N, 1); return -1; }
      let s = hash(vni, srcHi, srcLo, dstHi, dstLo) & this.mask;
      for (let i = 0; i < this.slots; i++, s = (s + 1) & this.mask) {
        const b = HEAD + s * SLOT_WORDS;
        if (w[b + STATE] === LIVE) continue;
        w[b + VNI] = vni; w[b + SRC_HI] = srcHi; w[b + SRC_LO] = srcLo; w[b + DST_HI] = dstHi; w[b + DST_LO] = dstLo;
        w[b + RATE] = kbps; w[b + LAST] = 0; w[b + BYTES] = 0; w[b + GEN]++;
        SharedBucket.reset(this.buckets, s * BUCKET_BYTES);
        Atomics.store(w, b + STATE, LIVE);
        Atomics.add(w, LIVE_N, 1);
        return s;
      }
      Atomics.add(w, FULL_N, 1); // not reached: a free slot is left while live < capacity
      return -1;
    } finally {
      Atomics.store(w, LOCK, 0);
    }
  }

  /** Remove the pairs no frame was offered for since second `before` (at most `max`); how many. */
  age(before: number, max = this.capacity): number {
    const w = this.w;
    let n = 0;
    while (Atomics.compareExchange(w, LOCK, 0, 1) !== 0) { /* see findOrAdd */ }
    for (let s = 0; s < this.slots && n < max; s++) {
      const b = HEAD + s * SLOT_WORDS;
      if (w[b + STATE] === LIVE && w[b + LAST] < before) { Atomics.store(w, b + STATE, GONE); Atomics.sub(w, LIVE_N, 1); n++; }
    }
    Atomics.store(w, LOCK, 0);
    return n;
  }

  /** Slot s's granted rate (kbit/s); set it (one writer: the thread that takes notices). */
  rateOf(s: number): number { return this.w[HEAD + s * SLOT_WORDS + RATE]; }
  setRate(s: number, kbps: number): void { this.w[HEAD + s * SLOT_WORDS + RATE] = kbps; }
  /** Slot s's generation (a thread's shaper for an older one is stale). */
  genOf(s: number): number { return this.w[HEAD + s * SLOT_WORDS + GEN]; }
  /** Slot s's pair sent `n` more bytes (any thread). */
  addBytes(s: number, n: number): void { Atomics.add(this.w, HEAD + s * SLOT_WORDS + BYTES, n); }
  /** The bytes slot s's pair sent, mod 2^31 (never negative): ((later - earlier) & 0x7fffffff) is what passed between. */
  bytesOf(s: number): number { return Atomics.load(this.w, HEAD + s * SLOT_WORDS + BYTES) & 0x7fffffff; }
  /** A frame of slot s's pair was offered in second `sec`. */
  touch(s: number, sec: number): void { this.w[HEAD + s * SLOT_WORDS + LAST] = sec; }
  /** Is slot s a live pair? */
  live(s: number): boolean { return Atomics.load(this.w, HEAD + s * SLOT_WORDS + STATE) === LIVE; }
  /** Slot s's key: VNI, source and destination MAC (16 high + 32 low bits each). */
  keyOf(s: number): [number, number, number, number, number] {
    const w = this.w, b = HEAD + s * SLOT_WORDS;
    return [w[b + VNI], w[b + SRC_HI], w[b + SRC_LO], w[b + DST_HI], w[b + DST_LO]];
  }
}

/** The live pairs of a table (reports; allocates): VNI, sender and receiver MACs, granted rate. */
export function listPairs(t: PairTable): { vni: number; sender: string; receiver: string; rateMbps: number }[] {
  const mac = (hi: number, lo: number) => [hi >>> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':');
  const out = [];
  for (let s = 0; s < t.slots; s++) {
    if (!t.live(s)) continue;
    const [vni, sHi, sLo, dHi, dLo] = t.keyOf(s);
    out.push({ vni, sender: mac(sHi, sLo), receiver: mac(dHi, dLo), rateMbps: t.rateOf(s) / 1000 });
  }
  return out;
}

function hash(vni: number, a: number, b: number, c: number, d: number): number {
  let h = Math.imul(vni ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ a ^ (b >>> 16), 0xc2b2ae35) ^ b;
  h = Math.imul(h ^ (h >>> 13) ^ c, 0x85ebca6b) ^ d;
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 15)) >>> 0;
}
