// ExactTable: an exact-match hash table over typed arrays, keyed by a fixed number of u32
// words, with an i32 value. Open addressing with linear probing; deletions leave tombstones
// that inserts reuse. Keys hash with hashWords (src/hash.ts). Capacity is fixed at construction (twice the entry limit, so probe
// runs stay short); nothing allocates after that. Single-threaded.

import { hashWords } from '../hash.js';

const EMPTY = 0;
const USED = 1;
const TOMB = 2;

export class ExactTable {
  readonly limit: number;
  readonly words: number;
  private readonly size: number;
  private readonly mask: number;
  private readonly state: Uint8Array;
  private readonly keys: Uint32Array;
  private readonly values: Int32Array;
  count = 0;

  constructor(limit: number, words: number) {
    this.limit = limit;
    this.words = words;
    let size = 8;
    while (size < limit * 2) size <<= 1;
    this.size = size;
    this.mask = size - 1;
    this.state = new Uint8Array(size);
    this.keys = new Uint32Array(size * words);
    this.values = new Int32Array(size);
  }

  private same(slot: number, key: Uint32Array, off: number): boolean {
    const base = slot * this.words;
    for (let i = 0; i < this.words; i++) if (this.keys[base + i] !== key[off + i]) return false;
    return true;
  }

  private find(key: Uint32Array, off: number): number {
    let s = hashWords(key, off, this.words) & this.mask;
    for (let n = 0; n < this.size; n++, s = (s + 1) & this.mask) {
      const st = this.state[s];
      if (st === EMPTY) return -1;
      if (st === USED && this.same(s, key, off)) return s;
    }
    return -1;
  }

  /** Value stored for the key at key[off..off+words), or -1. */
  get(key: Uint32Array, off = 0): number {
    if (this.count === 0) return -1;
    const s = this.find(key, off);
    return s < 0 ? -1 : this.values[s];
  }

  /** Insert or replace; false when the table already holds `limit` other keys. */
  set(key: Uint32Array, value: number, off = 0): boolean {
    const s = this.find(key, off);
    if (s >= 0) { this.values[s] = value; return true; }
    if (this.count >= this.limit) return false;
    let t = hashWords(key, off, this.words) & this.mask;
    while (this.state[t] === USED) t = (t + 1) & this.mask;
    this.state[t] = USED;
    this.keys.set(key.subarray(off, off + this.words), t * this.words);
    this.values[t] = value;
    this.count++;
    return true;
  }

  /** Remove a key; false when absent. */
  delete(key: Uint32Array, off = 0): boolean {
    const s = this.find(key, off);
    if (s < 0) return false;
    this.state[s] = TOMB;
    this.count--;
    return true;
  }
}
