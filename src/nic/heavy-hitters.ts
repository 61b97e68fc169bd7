// HeavyHitters: the top flows by bytes in bounded memory (Space-Saving, Metwally et al. 2005),
// for the queue manager: which flows are heavy enough to earn a queue of their own.
//
// `capacity` entries, each a flow (the 5-tuple words of its packed key: EtherType, protocol and
// IP version; addresses; ports — not the fragment bits, not the input port) with its bytes,
// packets, and `error`: the most its bytes may be over-counted. A frame of a tracked flow adds
// to it; a frame of another flow takes the entry with the fewest bytes, starts from that count
// and records it as its error. Guarantees (for any stream): every flow with more than
// total/capacity bytes is tracked, and a tracked flow's true bytes lie in [bytes − error, bytes].
//
// Allocation-free per frame: a linear-probe index over the entries (hash of the key words) and a
// min-heap of entries by bytes (counts only grow: a frame sifts its entry down). O(log capacity)
// per frame at worst. One instance per thread; the reader merges or takes one thread's view.

import { KEY_STRIDE } from '../wire/flow-key.js';

/** Key words a flow is identified by (src/flow/key.ts): word 1 (without the fragment bits), 5..13. */
export const FLOW_WORDS = [1, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
const NW = FLOW_WORDS.length;
const W1_MASK = 0xfffffff0 | 0; // EtherType, protocol, IP version; not the fragment bits
const EMPTY = -1;

export interface HeavyFlow { key: Uint32Array; bytes: number; packets: number; error: number }

export class HeavyHitters {
  readonly capacity: number;
  private readonly keys: Int32Array;
  private readonly hashes: Int32Array;
  readonly bytes: Float64Array;
  readonly packets: Float64Array;
  readonly error: Float64Array;
  /** A number the caller gives with each frame, the last one kept per flow (FlowMeter: its queue). */
  readonly tag: Int32Array;
  /** Index: slot -> entry (EMPTY), linear probing; entries' positions in it. */
  private readonly index: Int32Array;
  private readonly slotOf: Int32Array;
  private readonly mask: number;
  /** Min-heap of entries by bytes; heapPos[e]: e's position. */
  private readonly heap: Int32Array;
  private readonly heapPos: Int32Array;
  private used = 0;
  /** Bytes and frames counted in all. */
  total = 0;
  frames = 0;

  constructor(capacity = 256) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 16) throw new RangeError(`heavy hitter capacity must be 1..65536, got ${capacity}`);
    this.capacity = capacity;
    this.keys = new Int32Array(capacity * NW);
    this.hashes = new Int32Array(capacity);
    this.bytes = new Float64Array(capacity); this.packets = new Float64Array(capacity); this.error = new Float64Array(capacity);
    this.tag = new Int32Array(capacity);
    let n = 16;
    while (n < capacity * 2) n <<= 1;
    this.index = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
    this.slotOf = new Int32Array(capacity);
    this.heap = new Int32Array(capacity);
    this.heapPos = new Int32Array(capacity);
  }

  /** Flows tracked now. */
  get size(): number { return this.used; }

  /** Count a frame of `len` bytes whose packed key is at key[off..] (KEY_STRIDE words); a sample standing for `frames` frames counts `len` as their bytes. */
  add(key: Uint32Array, off: number, len: number, tag = 0, frames = 1): void {
    this.total += len; this.frames++;
    const h = hashFlow(key, off);
    let s = h & this.mask;
    for (let e = this.index[s]; e !== EMPTY; s = (s + 1) & this.mask, e = this.index[s]) {
      if (this.hashes[e] === h && this.same(e, key, off)) { this.bytes[e] += len; this.packets[e] += frames; this.tag[e] = tag; this.down(this.heapPos[e]); return; }
    }
    let e: number;
    if (this.used < this.capacity) {
      e = this.used++;
      this.heap[e] = e; this.heapPos[e] = e;
      this.bytes[e] = 0; this.error[e] = 0;
      this.up(e);
    } else {
      e = this.heap[0]; // the fewest bytes: its count becomes the newcomer's error
      this.unindex(e);
      this.error[e] = this.bytes[e];
      s = h & this.mask;
      while (this.index[s] !== EMPTY) s = (s + 1) & this.mask;
    }
    this.index[s] = e; this.slotOf[e] = s; this.hashes[e] = h;
    const k = e * NW;
    this.keys[k] = key[off + 1] & W1_MASK;
    for (let i = 1; i < NW; i++) this.keys[k + i] = key[off + FLOW_WORDS[i]] | 0;
    this.bytes[e] += len; this.packets[e] = frames; this.tag[e] = tag;
    this.down(this.heapPos[e]);
  }

  /** Entry e's flow words (FLOW_WORDS order, as unsigned numbers) into out[o..]: entries 0..size-1 are the tracked flows, unordered. */
  keyWords(e: number, out: Float64Array, o: number): void {
    for (let i = 0; i < NW; i++) out[o + i] = this.keys[e * NW + i] >>> 0;
  }

  /** The tracked flows, most bytes first, at most `n` (allocates: for the control path). */
  top(n = this.capacity): HeavyFlow[] {
    const order = Array.from({ length: this.used }, (_, e) => e).sort((a, b) => this.bytes[b] - this.bytes[a]).slice(0, n);
    return order.map((e) => {
      const key = new Uint32Array(KEY_STRIDE);
      for (let i = 0; i < NW; i++) key[FLOW_WORDS[i]] = this.keys[e * NW + i];
      return { key, bytes: this.bytes[e], packets: this.packets[e], error: this.error[e] };
    });
  }

  /** Forget everything (a new measurement period). */
  reset(): void {
    this.index.fill(EMPTY); this.used = 0; this.total = 0; this.frames = 0;
  }

  // Entry e holds the flow of key[off..]: one OR of XORs, unrolled (words 1 masked, 5..13).
  private same(e: number, key: Uint32Array, off: number): boolean {
    const k = e * NW, ks = this.keys;
    return ((ks[k] ^ (key[off + 1] & W1_MASK)) | (ks[k + 1] ^ key[off + 5]) | (ks[k + 2] ^ key[off + 6]) | (ks[k + 3] ^ key[off + 7]) |
      (ks[k + 4] ^ key[off + 8]) | (ks[k + 5] ^ key[off + 9]) | (ks[k + 6] ^ key[off + 10]) | (ks[k + 7] ^ key[off + 11]) |
      (ks[k + 8] ^ key[off + 12]) | (ks[k + 9] ^ key[off + 13])) === 0;
  }

  // Take entry e out of the index, moving later entries of its probe run back (no tombstones).
  private unindex(e: number): void {
    const idx = this.index, m = this.mask;
    let hole = this.slotOf[e];
    idx[hole] = EMPTY;
    for (let s = (hole + 1) & m; idx[s] !== EMPTY; s = (s + 1) & m) {
      const x = idx[s], home = this.hashes[x] & m;
      // x may fill the hole if its home is not in (hole, s] cyclically.
      if (((s - home) & m) >= ((s - hole) & m)) { idx[hole] = x; this.slotOf[x] = hole; idx[s] = EMPTY; hole = s; }
    }
  }

  private up(p: number): void {
    const heap = this.heap, pos = this.heapPos, b = this.bytes;
    const e = heap[p];
    while (p > 0) {
      const q = (p - 1) >> 1;
      if (b[heap[q]] <= b[e]) break;
      heap[p] = heap[q]; pos[heap[p]] = p; p = q;
    }
    heap[p] = e; pos[e] = p;
  }

  private down(p: number): void {
    const heap = this.heap, pos = this.heapPos, b = this.bytes, n = this.used;
    const e = heap[p];
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && b[heap[c + 1]] < b[heap[c]]) c++;
      if (b[heap[c]] >= b[e]) break;
      heap[p] = heap[c]; pos[heap[p]] = p; p = c;
    }
    heap[p] = e; pos[e] = p;
  }
}

/** Hash of a flow's identifying words (int32). */
export function hashFlow(key: Uint32Array, off: number): number {
  // Two chains (addresses; the rest), as hashKey does: the CPU runs them side by side.
  let a = Math.imul(key[off + 5] ^ 0x9e3779b9, 0x01000193), b = Math.imul((key[off + 1] & W1_MASK) ^ 0x7f4a7c15, 0x01000193);
  a = Math.imul(a ^ key[off + 6], 0x01000193); b = Math.imul(b ^ key[off + 13], 0x01000193);
  a = Math.imul(a ^ key[off + 7], 0x01000193); b = Math.imul(b ^ key[off + 9], 0x01000193);
  a = Math.imul(a ^ key[off + 8], 0x01000193); b = Math.imul(b ^ key[off + 10], 0x01000193);
  a ^= a >>> 15; b = Math.imul(b ^ key[off + 11], 0x01000193); b = Math.imul(b ^ key[off + 12], 0x01000193);
  let h = Math.imul(a, 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}
