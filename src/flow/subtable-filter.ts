// SubtableFilter: which of a classifier layer's subtables can hold a match for a key, found
// without probing them — tuple pruning (Srinivasan, Suri and Varghese, SIGCOMM 1999) over
// binary tries, so that traffic crafted to miss every mask (the tuple-space explosion) costs a
// few trie steps instead of one hash probe per mask.
//
// One trie per key word. A pair of subtable S with mask m and value v on word w stands for the
// prefix of v's top L bits, L the number of leading ones of m (a prefix mask — an address
// prefix, the EtherType, the input port — gives its exact length; any other mask its leading
// part, which loses pruning but never a match). Each prefix keeps the set of subtables with a
// pair on it (a bitset over subtable ids). A key matching a pair of S on word w lies inside
// S's prefix there, so the union of the sets of the prefixes holding the key has S; the
// intersection over the words has every subtable that can match. Words where every pair has
// length 0 are skipped (their union is every subtable).
//
// The tries step 4 bits at a time (8 steps for a word, not 32): a node at depth k has 16
// children and holds the prefixes of length 4k+1 .. 4k+4, at most 30, as a bitmask of which
// exist and a block of their bitset rows; COVER[x] is the mask of those that hold nibble x.
//
// Changes are incremental: a pair adds or removes one count along one path per word; a node
// whose subtree holds nothing is freed (the tries hold at most what the rules need, however
// rules churn). Per lookup: for each active word, up to 8 steps and one OR of an id bitset
// per prefix holding the key; no allocation.

import { KEY_WORDS } from './key.js';

/** select()'s answers: nothing can match; the candidates' ranks are in `ranks`; too many to rank, their ids are in `cand`. */
export const NONE = 0, FEW = 1, MANY = 2;
/** Candidates up to this many are ranked; more are picked out during a scan in rank order. */
const FEW_CANDIDATES = 32;

/** Prefixes a node holds: index (1 << j) - 2 + bits for j = 1..4 bits below its depth. */
const OWN = 30;
/** For each nibble, the mask of a node's prefix indices that hold it. */
const COVER = Int32Array.from({ length: 16 }, (_, x) => {
  let m = 0;
  for (let j = 1; j <= 4; j++) m |= 1 << ((1 << j) - 2 + (x >>> (4 - j)));
  return m;
});

/** One word's trie: node 0 is the root; arrays grow by doubling. */
class WordTrie {
  /** Children (16 per node, -1 none). */
  child = new Int32Array(16 * 16).fill(-1);
  /** Pairs at or below each node. */
  below = new Int32Array(16);
  /** Which of its OWN prefixes each node holds, and where their rows are (-1: no block). */
  own = new Int32Array(16);
  block = new Int32Array(16).fill(-1);
  /** Row of each prefix a node holds: blocks of OWN. */
  rowOf = new Int32Array(OWN * 4).fill(-1);
  /** Each prefix's cumulative row — its own and its ancestors' — made when a lookup needs it, valid while cumGen is the filter's generation. */
  cumOf = new Int32Array(OWN * 4).fill(-1);
  cumGen = new Int32Array(OWN * 4);
  /** Row of the length-0 prefix (-1 none). */
  zero = -1;
  nodes = 1;
  blocks = 0;
  private freeNodes: number[] = [];
  private freeBlocks: number[] = [];
  /** Pairs of length ≥ 1: 0 means this word prunes nothing. */
  deep = 0;

  alloc(): number {
    const n = this.freeNodes.length ? this.freeNodes.pop()! : this.nodes++;
    if (n >= this.below.length) {
      const L = this.below.length * 2;
      const c = new Int32Array(L * 16).fill(-1); c.set(this.child); this.child = c;
      const b = new Int32Array(L); b.set(this.below); this.below = b;
      const o = new Int32Array(L); o.set(this.own); this.own = o;
      const k = new Int32Array(L).fill(-1); k.set(this.block); this.block = k;
    }
    this.child.fill(-1, 16 * n, 16 * n + 16); this.below[n] = 0; this.own[n] = 0; this.block[n] = -1;
    return n;
  }

  release(n: number): void { this.freeNodes.push(n); }

  /** Nodes in use besides the root. */
  get used(): number { return this.nodes - 1 - this.freeNodes.length; }

  /** The row slot of prefix index o at node n (a block is made on first use). */
  slot(n: number, o: number): number {
    if (this.block[n] < 0) {
      const b = this.freeBlocks.length ? this.freeBlocks.pop()! : this.blocks++;
      if ((b + 1) * OWN > this.rowOf.length) {
        const L = this.rowOf.length * 2, r = new Int32Array(L).fill(-1), c = new Int32Array(L).fill(-1), g = new Int32Array(L);
        r.set(this.rowOf); c.set(this.cumOf); g.set(this.cumGen);
        this.rowOf = r; this.cumOf = c; this.cumGen = g;
      }
      this.rowOf.fill(-1, b * OWN, (b + 1) * OWN); this.cumOf.fill(-1, b * OWN, (b + 1) * OWN);
      this.block[n] = b;
    }
    return this.block[n] * OWN + o;
  }

  /** Node n holds no prefix any more: its block goes back. */
  dropBlock(n: number): void { if (this.block[n] >= 0 && this.own[n] === 0) { this.freeBlocks.push(this.block[n]); this.block[n] = -1; } }
}

export class SubtableFilter {
  private readonly tries: WordTrie[] = Array.from({ length: KEY_WORDS }, () => new WordTrie());
  /** Id bitsets, `width` words a row. */
  private rows: Int32Array;
  private width: number;
  private readonly freeRows: number[] = [];
  private rowCount = 0;
  /** Pairs per (word, trie node, subtable id): key (node * KEY_WORDS + word) * idCap + id. */
  private readonly held = new Map<number, number>();
  /** Changes so far: a cumulative row made at another generation is stale. */
  private gen = 1;
  /** Words with pairs below the root, in key order. */
  private active = new Int32Array(0);
  /** The lookup's scratch: one word's union. */
  private uni: Int32Array;
  /** select()'s candidate ids (read when it answers MANY). */
  cand: Int32Array;

  constructor(ids = 64) {
    this.width = Math.max(1, Math.ceil(ids / 32));
    this.rows = new Int32Array(this.width * 16);
    this.uni = new Int32Array(this.width); this.cand = new Int32Array(this.width);
  }

  /** Words of the candidate bitset candidates() fills. */
  get words(): number { return this.width; }

  /** Trie nodes (besides the roots) and bitset rows in use: what the rules cost it. */
  get size(): { nodes: number; rows: number } {
    return { nodes: this.tries.reduce((n, t) => n + t.used, 0), rows: this.rowCount - this.freeRows.length };
  }

  /** Whether any word prunes (else every subtable is a candidate). */
  get pruning(): boolean { return this.active.length !== 0; }

  /** Make room for subtable ids below `ids` (rows widen; ids never move). */
  reserve(ids: number): void {
    const w = Math.ceil(ids / 32);
    if (w <= this.width) return;
    const rows = new Int32Array(w * Math.max(16, this.rowCount + 1));
    for (let r = 0; r < this.rowCount; r++) rows.set(this.rows.subarray(r * this.width, (r + 1) * this.width), r * w);
    const old = this.width;
    this.rows = rows; this.width = w;
    this.uni = new Int32Array(w); this.cand = new Int32Array(w);
    // held's keys carry the id capacity: rewrite them for the new one.
    const entries = [...this.held];
    this.held.clear();
    for (const [k, v] of entries) { const at = Math.floor(k / (old * 32)), id = k % (old * 32); this.held.set(at * w * 32 + id, v); }
  }

  private newRow(): number {
    const r = this.freeRows.length ? this.freeRows.pop()! : this.rowCount++;
    if ((r + 1) * this.width > this.rows.length) { const b = new Int32Array(this.rows.length * 2); b.set(this.rows); this.rows = b; }
    this.rows.fill(0, r * this.width, (r + 1) * this.width);
    return r;
  }

  /** Count a pair of subtable `id` (mask and value at [off..off+KEY_WORDS)) in; `sign` -1 counts it out. */
  change(id: number, mask: Uint32Array, mOff: number, value: Uint32Array, vOff: number, sign: 1 | -1): void {
    this.reserve(id + 1);
    this.gen++; // every cumulative row is stale
    const cap = this.width * 32;
    let activeChanged = false;
    for (let w = 0; w < KEY_WORDS; w++) {
      const t = this.tries[w], v = value[vOff + w];
      const len = Math.clz32(~mask[mOff + w] >>> 0); // leading ones
      // Walk (making nodes when adding) to the node at depth k = (len - 1) >> 2 on v's path.
      let n = 0;
      t.below[0] += sign;
      const path: number[] = [0];
      for (let k = 0; k < (len - 1) >> 2; k++) {
        const x = (v >>> (28 - 4 * k)) & 15;
        let c = t.child[16 * n + x];
        if (c < 0) { c = t.alloc(); t.child[16 * n + x] = c; }
        n = c;
        t.below[n] += sign;
        path.push(n);
      }
      if (len > 0) { const was = t.deep; t.deep += sign; if ((was === 0) !== (t.deep === 0)) activeChanged = true; }
      // The prefix's index at the node (-1: the length-0 prefix) and its pair count for this subtable.
      const j = len - 4 * ((len - 1) >> 2), o = len === 0 ? -1 : (1 << j) - 2 + ((v >>> (32 - len)) & ((1 << j) - 1));
      const key = ((n * 32 + o + 1) * KEY_WORDS + w) * cap + id, count = (this.held.get(key) ?? 0) + sign;
      if (count > 0) this.held.set(key, count); else this.held.delete(key);
      if (count === (sign > 0 ? 1 : 0)) {
        const at = o < 0 ? -1 : t.slot(n, o);
        let r = o < 0 ? t.zero : t.rowOf[at];
        if (r < 0) { r = this.newRow(); if (o < 0) t.zero = r; else { t.rowOf[at] = r; t.own[n] |= 1 << o; } }
        if (sign > 0) this.rows[r * this.width + (id >>> 5)] |= 1 << (id & 31);
        else {
          this.rows[r * this.width + (id >>> 5)] &= ~(1 << (id & 31));
          if (this.rows.subarray(r * this.width, (r + 1) * this.width).every((x) => x === 0)) {
            this.freeRows.push(r);
            if (o < 0) t.zero = -1;
            else {
              if (t.cumOf[at] >= 0) { this.freeRows.push(t.cumOf[at]); t.cumOf[at] = -1; }
              t.rowOf[at] = -1; t.own[n] &= ~(1 << o); t.dropBlock(n);
            }
          }
        }
      }
      // Free the nodes whose subtree now holds nothing (deepest first; the root stays).
      if (sign < 0) {
        for (let i = path.length - 1; i > 0; i--) {
          const node = path[i];
          if (t.below[node] !== 0) break;
          const parent = path[i - 1], x = (v >>> (28 - 4 * (i - 1))) & 15;
          t.child[16 * parent + x] = -1;
          t.release(node);
        }
      }
    }
    if (activeChanged) {
      const a: number[] = [];
      for (let w = 0; w < KEY_WORDS; w++) if (this.tries[w].deep > 0) a.push(w);
      this.active = Int32Array.from(a);
    }
  }

  /**
   * The subtables that can match the packed key at key[off..]: NONE; FEW, their probe ranks
   * (rankOf by id) set in `ranks`; or MANY, their ids set in this.cand.
   */
  select(key: Uint32Array, off: number, rankOf: Int32Array, ranks: Int32Array): number {
    const cand = this.cand, width = this.width;
    if (!this.candidates(key, off, cand)) return NONE;
    let n = 0;
    for (let i = 0; i < width; i++) n += popcount(cand[i]);
    if (n > FEW_CANDIDATES) return MANY;
    ranks.fill(0);
    for (let i = 0; i < width; i++) {
      for (let bits = cand[i]; bits !== 0; bits &= bits - 1) { const r = rankOf[i * 32 + 31 - Math.clz32(bits & -bits)]; ranks[r >>> 5] |= 1 << (r & 31); }
    }
    return FEW;
  }

  /** Fill `out` (this.words words) with the ids of the subtables that can match the key; false when there are none. */
  candidates(key: Uint32Array, off: number, out: Int32Array): boolean {
    const width = this.width, act = this.active;
    out.fill(-1, 0, width);
    for (let a = 0; a < act.length; a++) {
      const t = this.tries[act[a]], child = t.child, own = t.own, block = t.block, v = key[off + act[a]];
      // The longest prefix holding the key: its cumulative row is the union of every prefix that holds it.
      let last = -1;
      for (let k = 0, n = 0; k < 8 && n >= 0; k++) {
        const x = (v >>> (28 - 4 * k)) & 15, cov = own[n] & COVER[x];
        if (cov !== 0) last = block[n] * OWN + 31 - Math.clz32(cov);
        n = child[16 * n + x];
      }
      let r: number;
      if (last < 0) { if ((r = t.zero) < 0) return false; } else r = t.cumGen[last] === this.gen ? t.cumOf[last] : this.cumulate(t, v, last);
      const rows = this.rows, o = r * width;
      let left = 0;
      for (let i = 0; i < width; i++) left |= (out[i] &= rows[o + i]);
      if (left === 0) return false;
    }
    return true;
  }

  // Make the cumulative row of prefix slot `last` of trie t, on key word v's path (allocates a row once per prefix).
  private cumulate(t: WordTrie, v: number, last: number): number {
    const width = this.width, uni = this.uni;
    if (t.zero >= 0) { const z = t.zero * width; for (let i = 0; i < width; i++) uni[i] = this.rows[z + i]; } else uni.fill(0);
    for (let k = 0, n = 0; k < 8 && n >= 0; k++) {
      const x = (v >>> (28 - 4 * k)) & 15;
      for (let cov = t.own[n] & COVER[x]; cov !== 0; cov &= cov - 1) {
        const o = t.rowOf[t.block[n] * OWN + 31 - Math.clz32(cov & -cov)] * width;
        for (let i = 0; i < width; i++) uni[i] |= this.rows[o + i];
      }
      n = t.child[16 * n + x];
    }
    if (t.cumOf[last] < 0) t.cumOf[last] = this.newRow();
    this.rows.set(uni, t.cumOf[last] * width);
    t.cumGen[last] = this.gen;
    return t.cumOf[last];
  }
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
