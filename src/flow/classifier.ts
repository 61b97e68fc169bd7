// Classifier: tuple space search over one layer's rules — one hash table per distinct mask
// (a "subtable"), probed in order of the best priority it holds, stopping as soon as no
// remaining subtable can beat the match found. A lookup costs one masked hash probe per
// subtable visited, not one test per rule.
//
// Bounding adversarial traffic: subtables come only from the rules (operators), never from
// traffic, so traffic cannot add masks; the worst case for any packet is one probe per
// distinct mask in the layer. `maxMasks` caps that number per layer (RuleSet refuses a batch
// that would exceed it, naming the cap), and the exact-match flow cache in
// front means a flow pays the miss path once.
//
// Tie-break: the higher priority wins; on equal priority the rule added first (lower seq).
// Lookup is allocation-free: a probe masks and hashes only the words its mask uses (two or
// three of the fifteen for typical ACLs) and looks the Smi hash up in a Map of buckets.
//
// Changes cost O(pairs) each, whatever the number of rules: an entry goes into its bucket at
// its sorted place; each subtable keeps a count of entries per priority, so its best priority
// is known without a scan. `maxPriority` is an upper bound: a removal that may lower it only
// marks the subtable, and settle() — called by the RuleSet before any lookup can run again —
// recomputes the marked ones and re-sorts the subtables once (a lookup settles first if
// nobody did). Lookups stay correct with an upper bound (they merely probe a subtable they
// could have skipped).
// Visibility: entries are looked up at generation `visible`; a rule is seen when
// addGen <= visible < delGen, so a change can be staged (added invisible, deleted still
// visible) while lookups go on, and committed by moving `visible` (see RuleChange).

import { KEY_WORDS } from './key.js';
import { CompiledRule, pairMatches } from './rule.js';

interface Entry { rule: CompiledRule; pair: number }
interface Subtable {
  mask: Uint32Array;
  /** Indices of the words this mask uses: a probe masks and hashes only these. */
  words: Int32Array;
  maskId: string;
  buckets: Map<number, Entry[]>;
  /** Upper bound of the best priority of the entries (exact after settle()). */
  maxPriority: number;
  /** Entries per priority. */
  priorities: Map<number, number>;
  /** maxPriority may be too high (an entry at the top priority went). */
  stale: boolean;
  entries: number;
}

/** Hash of (key & mask) over the listed words, as a Smi (30 bits) for Map keys. */
function maskedHash(key: Uint32Array, off: number, mask: Uint32Array, words: Int32Array): number {
  let h = 0x811c9dc5 ^ words.length;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    h = Math.imul(h ^ (key[off + w] & mask[w]), 0x01000193);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/** Does a come before b in a bucket (higher priority, then added first)? */
const before = (a: CompiledRule, b: CompiledRule) => a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

export class Classifier {
  readonly maxMasks: number;
  private subtables: Subtable[] = [];
  private readonly byMask = new Map<string, Subtable>();
  /** Subtables probed by the last lookup (for tests and the adversarial benchmark). */
  probes = 0;
  /** Generation lookups see (RuleSet moves it when a change commits). */
  visible = 0;
  // settle() has work: the order may be wrong or some maxPriority too high.
  private unsettled = false;

  constructor(maxMasks = 1024) { this.maxMasks = maxMasks; }

  get masks(): number { return this.subtables.length; }

  /** Entries (rule pairs) using the mask with this id; 0 when the layer has no such mask. */
  entriesOf(maskId: string): number { return this.byMask.get(maskId)?.entries ?? 0; }

  /** Insert every pair of r. Call settle() before the next lookup. */
  add(r: CompiledRule): void {
    for (let i = 0; i < r.pairs; i++) {
      const id = r.maskIds[i];
      let st = this.byMask.get(id);
      if (!st) {
        const mask = r.masks.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS);
        const words: number[] = [];
        for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) words.push(w);
        st = { mask, words: Int32Array.from(words), maskId: id, buckets: new Map(), maxPriority: -1, priorities: new Map(), stale: false, entries: 0 };
        this.byMask.set(id, st);
        this.subtables.push(st);
        this.unsettled = true;
      }
      const h = maskedHash(r.values, i * KEY_WORDS, st.mask, st.words);
      let b = st.buckets.get(h);
      if (!b) { b = []; st.buckets.set(h, b); }
      // Binary search for the first entry r comes before.
      let lo = 0, hi = b.length;
      while (lo < hi) { const mid = (lo + hi) >>> 1; if (before(b[mid].rule, r)) lo = mid + 1; else hi = mid; }
      b.splice(lo, 0, { rule: r, pair: i });
      st.entries++;
      st.priorities.set(r.priority, (st.priorities.get(r.priority) ?? 0) + 1);
      if (r.priority > st.maxPriority) { st.maxPriority = r.priority; this.unsettled = true; }
    }
  }

  /** Take every pair of r out. Call settle() before the next lookup. */
  remove(r: CompiledRule): void {
    for (let i = 0; i < r.pairs; i++) {
      const st = this.byMask.get(r.maskIds[i]);
      if (!st) continue;
      const h = maskedHash(r.values, i * KEY_WORDS, st.mask, st.words);
      const b = st.buckets.get(h);
      if (!b) continue;
      const at = b.findIndex((e) => e.rule === r && e.pair === i);
      if (at < 0) continue;
      b.splice(at, 1);
      if (b.length === 0) st.buckets.delete(h);
      st.entries--;
      const left = st.priorities.get(r.priority)! - 1;
      if (left > 0) st.priorities.set(r.priority, left);
      else {
        st.priorities.delete(r.priority);
        if (r.priority === st.maxPriority) { st.stale = true; this.unsettled = true; }
      }
      if (st.entries === 0) { this.byMask.delete(st.maskId); st.stale = false; this.subtables = this.subtables.filter((s) => s !== st); }
    }
  }

  /** Make maxPriority exact where a removal may have lowered it, and order the subtables. */
  settle(): void {
    if (!this.unsettled) return;
    for (const st of this.subtables) {
      if (!st.stale) continue;
      let mp = -1;
      for (const p of st.priorities.keys()) if (p > mp) mp = p;
      st.maxPriority = mp;
      st.stale = false;
    }
    this.subtables.sort((a, b) => b.maxPriority - a.maxPriority);
    this.unsettled = false;
  }

  /** Best rule visible at this.visible for the packed key at key[off..], or null. */
  lookup(key: Uint32Array, off: number): CompiledRule | null {
    if (this.unsettled) this.settle();
    let best: CompiledRule | null = null;
    let probes = 0;
    const g = this.visible;
    for (let t = 0; t < this.subtables.length; t++) {
      const st = this.subtables[t];
      if (best !== null && st.maxPriority < best.priority) break;
      probes++;
      const b = st.buckets.get(maskedHash(key, off, st.mask, st.words));
      if (b === undefined) continue;
      for (let i = 0; i < b.length; i++) {
        const e = b[i], r = e.rule;
        if (best !== null && (r.priority < best.priority || (r.priority === best.priority && r.seq > best.seq))) break;
        if (r.addGen > g || r.delGen <= g) continue;
        if (pairMatches(r, e.pair, key, off)) { best = r; break; }
      }
    }
    this.probes = probes;
    return best;
  }
}

/** The reference: test every rule in priority order (tests and the benchmark baseline). */
export function linearLookup(rules: CompiledRule[], key: Uint32Array, off: number): CompiledRule | null {
  let best: CompiledRule | null = null;
  for (const r of rules) {
    if (best !== null && (r.priority < best.priority || (r.priority === best.priority && r.seq > best.seq))) continue;
    for (let i = 0; i < r.pairs; i++) if (pairMatches(r, i, key, off)) { best = r; break; }
  }
  return best;
}
