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
// Storage: rules are rows of the RuleStore's columns and their pairs rows of a PairStore — no
// object per rule or pair (see rule-store.ts for why). A bucket is a chain of pairs through
// PairStore.next, best rule first; each subtable's buckets are a LinearHash over the pairs'
// masked hashes, which grows a bucket at a time (no stall when a layer passes 131,072 pairs).
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
// Mask budget: a change in progress places its added rules' pairs (place) and counts its
// deletions (countDel) in each subtable's `pending`; masksAfter() tells how many distinct
// masks the layer would have, before anything is linked.

import { KEY_WORDS } from './key.js';
import { CompiledRule } from './rule.js';
import { LinearHash } from './linear-hash.js';
import { PairStore } from './pair-store.js';
import { RuleStore } from './rule-store.js';

/** One distinct mask: its buckets (a LinearHash over the pairs' masked hashes, chains best rule first) and what the probe order needs. */
class Subtable extends LinearHash {
  /** Indices of the words the mask uses: a probe masks and hashes only these. */
  readonly words: Int32Array;
  /** Upper bound of the best priority of the entries (exact after settle()). */
  maxPriority = -1;
  /** Entries per priority. */
  readonly priorities = new Map<number, number>();
  /** maxPriority may be too high (an entry at the top priority went). */
  stale = false;
  /** Linked pairs. */
  entries = 0;
  /** Pairs the change in progress adds (+) or deletes (-). */
  pending = 0;
  /** In the probe list. */
  probed = false;
  readonly mask: Uint32Array;
  /** Hash of the mask (the registry's key). */
  readonly maskHash: number;

  constructor(mask: Uint32Array, maskHash: number) {
    super();
    this.mask = mask;
    this.maskHash = maskHash;
    const words: number[] = [];
    for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) words.push(w);
    this.words = Int32Array.from(words);
  }
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

const ALL_WORDS = Int32Array.from({ length: KEY_WORDS }, (_, i) => i);
const ALL_ONES = new Uint32Array(KEY_WORDS).fill(0xffffffff);

export class Classifier {
  readonly maxMasks: number;
  private readonly rules: RuleStore;
  private readonly pairs = new PairStore<Subtable>();
  /** Subtables with entries, in probe order. */
  private subtables: Subtable[] = [];
  /** Every subtable, linked or pending, by mask hash. */
  private readonly registry = new Map<number, Subtable[]>();
  /** Subtables probed by the last lookup (for tests and the adversarial benchmark). */
  probes = 0;
  /** Generation lookups see (RuleSet moves it when a change commits). */
  visible = 0;
  // settle() has work: the order may be wrong or some maxPriority too high.
  private unsettled = false;

  constructor(rules: RuleStore, maxMasks = 1024) { this.rules = rules; this.maxMasks = maxMasks; }

  /** Distinct masks in the probe list. */
  get masks(): number { return this.subtables.length; }

  /** The bits of key word w any of this layer's masks uses (subtables of rules being added included). */
  wordMask(w: number): number {
    let m = 0;
    for (const list of this.registry.values()) for (const st of list) m |= st.mask[w];
    return m >>> 0;
  }

  /** Pairs stored (placed or linked). */
  get pairCount(): number { return this.pairs.used; }

  private subtableOf(masks: Uint32Array, o: number): Subtable {
    const h = maskedHash(masks, o, ALL_ONES, ALL_WORDS);
    let list = this.registry.get(h);
    if (list) {
      outer: for (const st of list) {
        for (let w = 0; w < KEY_WORDS; w++) if (st.mask[w] !== masks[o + w]) continue outer;
        return st;
      }
    } else { list = []; this.registry.set(h, list); }
    const st = new Subtable(masks.slice(o, o + KEY_WORDS), h);
    list.push(st);
    return st;
  }

  /** Store the pairs of rule `slot` (compiled as c), not yet findable; they count as pending. */
  place(slot: number, c: CompiledRule): void {
    const ps = this.pairs;
    let prev = -1;
    for (let i = 0; i < c.pairs; i++) {
      const o = i * KEY_WORDS;
      const st = this.subtableOf(c.masks, o);
      const p = ps.take();
      ps.values.set(c.values.subarray(o, o + KEY_WORDS), p * KEY_WORDS);
      ps.rule[p] = slot;
      ps.sub[p] = st;
      ps.hash[p] = maskedHash(c.values, o, st.mask, st.words);
      ps.next[p] = -1;
      ps.ruleNext[p] = -1;
      if (prev < 0) this.rules.firstPair[slot] = p; else ps.ruleNext[prev] = p;
      prev = p;
      st.pending++;
    }
  }

  /** Pairs of rule `slot`. */
  pairsOf(slot: number): number {
    let n = 0;
    for (let p = this.rules.firstPair[slot]; p >= 0; p = this.pairs.ruleNext[p]) n++;
    return n;
  }

  /** Copy rule `slot`'s pairs out, in their compiled order: pair i's mask and value at [i*KEY_WORDS ..). */
  copyPairs(slot: number, masks: Uint32Array, values: Uint32Array): void {
    const ps = this.pairs;
    let i = 0;
    for (let p = this.rules.firstPair[slot]; p >= 0; p = ps.ruleNext[p], i++) {
      masks.set(ps.sub[p]!.mask, i * KEY_WORDS);
      values.set(ps.values.subarray(p * KEY_WORDS, (p + 1) * KEY_WORDS), i * KEY_WORDS);
    }
  }

  /** Rule `slot` is deleted by the change in progress (for masksAfter). */
  countDel(slot: number): void {
    for (let p = this.rules.firstPair[slot]; p >= 0; p = this.pairs.ruleNext[p]) this.pairs.sub[p]!.pending--;
  }

  /** Distinct masks the layer would have once the change in progress is applied. */
  masksAfter(): number {
    let n = 0;
    for (const list of this.registry.values()) for (const st of list) if (st.entries + st.pending > 0) n++;
    return n;
  }

  /** The change in progress passed the budget (its pairs get linked next) or was refused (its masks unused so far are forgotten). */
  clearPending(refused: boolean): void {
    for (const list of [...this.registry.values()]) for (const st of [...list]) { st.pending = 0; if (refused && st.entries === 0 && !st.probed) this.forget(st); }
  }

  /** Free the pairs of a placed, never linked rule (a refused change). */
  unplace(slot: number): void {
    const ps = this.pairs;
    for (let p = this.rules.firstPair[slot], n; p >= 0; p = n) { n = ps.ruleNext[p]; ps.give(p); }
    this.rules.firstPair[slot] = -1;
  }

  /** Link every pair of a placed rule into its bucket. Call settle() before the next lookup. */
  link(slot: number): void {
    const ps = this.pairs, pri = this.rules.priority[slot], seq = this.rules.seq[slot];
    for (let p = this.rules.firstPair[slot]; p >= 0; p = ps.ruleNext[p]) {
      const st = ps.sub[p]!;
      if (!st.probed) { st.probed = true; this.subtables.push(st); this.unsettled = true; }
      // Before the first entry r comes before (higher priority, then added first).
      const b = st.bucket(ps.hash[p]);
      let prev = -1, at = st.heads[b];
      while (at >= 0) {
        const r = ps.rule[at], rp = this.rules.priority[r];
        if (rp < pri || (rp === pri && this.rules.seq[r] > seq)) break;
        prev = at; at = ps.next[at];
      }
      ps.next[p] = at;
      if (prev < 0) st.heads[b] = p; else ps.next[prev] = p;
      st.added(ps.next, ps.hash);
      st.entries++;
      st.priorities.set(pri, (st.priorities.get(pri) ?? 0) + 1);
      if (pri > st.maxPriority) { st.maxPriority = pri; this.unsettled = true; }
    }
  }

  /** Take every pair of a linked rule out and free it. Call settle() before the next lookup. */
  unlink(slot: number): void {
    const ps = this.pairs, pri = this.rules.priority[slot];
    for (let p = this.rules.firstPair[slot], n; p >= 0; p = n) {
      n = ps.ruleNext[p];
      const st = ps.sub[p]!, b = st.bucket(ps.hash[p]);
      let prev = -1, at = st.heads[b];
      while (at >= 0 && at !== p) { prev = at; at = ps.next[at]; }
      if (at < 0) throw new Error(`classifier: pair ${p} of rule slot ${slot} is not in its bucket`);
      if (prev >= 0) ps.next[prev] = ps.next[p]; else st.heads[b] = ps.next[p];
      st.removed();
      ps.give(p);
      st.entries--;
      const left = st.priorities.get(pri)! - 1;
      if (left > 0) st.priorities.set(pri, left);
      else {
        st.priorities.delete(pri);
        if (pri === st.maxPriority) { st.stale = true; this.unsettled = true; }
      }
      if (st.entries === 0) {
        st.probed = false; st.stale = false;
        this.subtables = this.subtables.filter((s) => s !== st);
        if (st.pending === 0) this.forget(st);
      }
    }
    this.rules.firstPair[slot] = -1;
  }

  private forget(st: Subtable): void {
    const list = this.registry.get(st.maskHash);
    if (!list) return;
    const i = list.indexOf(st);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.registry.delete(st.maskHash);
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

  /** Slot of the best rule visible at this.visible for the packed key at key[off..], or -1. */
  lookup(key: Uint32Array, off: number): number {
    if (this.unsettled) this.settle();
    const ps = this.pairs, values = ps.values, next = ps.next, ruleOf = ps.rule, hashes = ps.hash;
    const priority = this.rules.priority, seq = this.rules.seq, addGen = this.rules.addGen, delGen = this.rules.delGen;
    let best = -1, bestPri = -1, bestSeq = 0, probes = 0;
    const g = this.visible;
    for (let t = 0; t < this.subtables.length; t++) {
      const st = this.subtables[t];
      if (best >= 0 && st.maxPriority < bestPri) break;
      probes++;
      const h = maskedHash(key, off, st.mask, st.words);
      const mask = st.mask, words = st.words;
      for (let p = st.heads[st.bucket(h)]; p >= 0; p = next[p]) {
        if (hashes[p] !== h) continue; // another hash in the same bucket
        const r = ruleOf[p], pri = priority[r];
        if (best >= 0 && (pri < bestPri || (pri === bestPri && seq[r] > bestSeq))) break;
        if (addGen[r] > g || delGen[r] <= g) continue;
        let hit = true;
        const o = p * KEY_WORDS;
        for (let i = 0; i < words.length; i++) { const w = words[i]; if (((key[off + w] & mask[w]) >>> 0) !== values[o + w]) { hit = false; break; } }
        if (hit) { best = r; bestPri = pri; bestSeq = seq[r]; break; }
      }
    }
    this.probes = probes;
    return best;
  }
}
