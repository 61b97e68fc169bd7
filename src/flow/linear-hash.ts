// LinearHash: the bucket directory of a chained hash table that grows one bucket at a time
// (Litwin's linear hashing), so no insertion ever rehashes the whole table. A JavaScript Map
// rehashes all its entries when it doubles: 10 ms at 131,072 entries and 30 ms at 262,144 on
// this machine, a forwarding stall each time a large rule change crossed a power of two.
//
// The entries are the caller's rows (rule slots, match pairs): it keeps each row's 30-bit hash
// and its chain link in its own Int32Arrays and passes them in. Splitting a bucket keeps the
// relative order of its chain, so chains the caller keeps sorted stay sorted.
// The directory only grows (a copy of the heads, a few hundred kilobytes at most).

export class LinearHash {
  /** First row of each bucket's chain (-1: empty). */
  heads: Int32Array;
  /** Rows in the table. */
  count = 0;
  private level: number;
  private split = 0;

  constructor(level = 2) {
    this.level = level;
    this.heads = new Int32Array(2 << level).fill(-1);
  }

  /** Bucket of a 30-bit hash. */
  bucket(h: number): number {
    const low = h & ((1 << this.level) - 1);
    return low < this.split ? h & ((2 << this.level) - 1) : low;
  }

  /** A row was linked into a chain; above one row per two buckets, split the next bucket. */
  added(next: Int32Array, hash: Int32Array): void {
    this.count++;
    const base = 1 << this.level;
    if (2 * this.count <= base + this.split) return;
    const from = this.split, to = from + base;
    if (to >= this.heads.length) {
      const h = new Int32Array(this.heads.length * 2).fill(-1);
      h.set(this.heads);
      this.heads = h;
    }
    const heads = this.heads;
    let p = heads[from], stay = -1, move = -1;
    heads[from] = -1;
    heads[to] = -1;
    while (p >= 0) {
      const n = next[p];
      next[p] = -1;
      if ((hash[p] & base) === 0) { if (stay < 0) heads[from] = p; else next[stay] = p; stay = p; } else { if (move < 0) heads[to] = p; else next[move] = p; move = p; }
      p = n;
    }
    if (++this.split === base) { this.level++; this.split = 0; }
  }

  /** A row was unlinked from its chain. */
  removed(): void { this.count--; }
}

/** 30-bit FNV-1a hash of a string (rule ids). */
export function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}
