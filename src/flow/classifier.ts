// Classifier: tuple space search over one layer's rules — one hash table per distinct mask
// (a "subtable"), probed in order of the best priority it holds, stopping as soon as no
// remaining subtable can beat the match found. A lookup costs one masked hash probe per
// subtable visited, not one test per rule.
//
// Bounding adversarial traffic: subtables come only from the rules, never from traffic, and
// `maxMasks` caps them per layer (RuleSet refuses a batch that would exceed it). Traffic made
// to miss every mask (the tuple-space explosion) is cut by tuple pruning: per key word, a trie
// of the prefixes the pairs use says which subtables can match at all (subtable-filter.ts),
// and only those are probed (see PRUNE_ABOVE). The flow cache means a flow misses once.
// Tie-break: the higher priority wins; on equal priority the rule added first (lower seq).
// Lookup is allocation-free: a probe masks and hashes only the words its mask uses.
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
// nobody did); with an upper bound a lookup merely probes a subtable it could have skipped.
// Visibility: entries are looked up at generation `visible`; a rule is seen when
// addGen <= visible < delGen, so a change can be staged (added invisible, deleted still
// visible) while lookups go on, and committed by moving `visible` (see RuleChange).
// Mask budget: a change in progress places its added rules' pairs (place) and counts its
// deletions (countDel) in each subtable's `pending`; masksAfter() tells how many distinct
// masks the layer would have, before anything is linked.

import { KEY_WORDS } from './key.js';
import { CompiledRule } from './rule.js';
import { PairStore } from './pair-store.js';
import { RuleStore } from './rule-store.js';
import { maskedHash, Subtable } from './subtable.js';
import { MANY, NONE, SubtableFilter } from './subtable-filter.js';

// Pruning starts when plain scans probe more than PRUNE_ABOVE subtables on average (about the
// last 1/SCAN_SMOOTH lookups) and stops below PLAIN_BELOW: the filter costs some ten probes,
// so rule sets whose scans stop after a dozen keep the plain scan, and traffic that makes
// scans long (the tuple-space explosion) switches the layer to pruning within a few lookups.
const PRUNE_ABOVE = 16, PLAIN_BELOW = 12, SCAN_SMOOTH = 1 / 32;

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
  /** Tuple pruning: which subtables can match a key (subtable-filter.ts), by subtable id. */
  private readonly filter = new SubtableFilter();
  // Filter ids handed out so far, and those given back.
  private ids = 0;
  private readonly freeIds: number[] = [];
  // Each subtable's probe rank by id; bitsets of ranks: the candidates' (scratch) and all (a plain scan's order).
  private rankOf = new Int32Array(1); private ranks = new Int32Array(1); private all = new Int32Array(1);
  /** 'auto': prune while plain scans would probe more than PRUNE_ABOVE subtables on average (tests force either). */
  prune: 'auto' | 'always' | 'never' = 'auto';
  private pruneNow = false; private avgScan = 0;
  /** Generation lookups see (RuleSet moves it when a change commits). */
  visible = 0;
  // settle() has work: the order may be wrong or some maxPriority too high.
  private unsettled = false;

  constructor(rules: RuleStore, maxMasks = 1024) { this.rules = rules; this.maxMasks = maxMasks; }

  /** What tuple pruning's tries hold (see SubtableFilter.size). */
  get filterSize(): { nodes: number; rows: number } { return this.filter.size; }

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
      if (!st.probed) {
        st.probed = true; this.subtables.push(st); this.unsettled = true;
        st.id = this.freeIds.length ? this.freeIds.pop()! : this.ids++;
      }
      this.filter.change(st.id, st.mask, 0, ps.values, p * KEY_WORDS, 1);
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
      this.filter.change(st.id, st.mask, 0, ps.values, p * KEY_WORDS, -1);
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
        this.freeIds.push(st.id); st.id = -1;
        this.subtables = this.subtables.filter((s) => s !== st);
        this.unsettled = true; // the ranks after it moved
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
    const n = this.subtables.length, words = Math.max(1, Math.ceil(n / 32));
    if (this.rankOf.length < this.ids) this.rankOf = new Int32Array(this.ids * 2);
    this.subtables.forEach((st, i) => { st.rank = i; this.rankOf[st.id] = i; });
    if (this.ranks.length < words) this.ranks = new Int32Array(words);
    this.all = new Int32Array(words);
    for (let t = 0; t < n; t++) this.all[t >>> 5] |= 1 << (t & 31);
    this.unsettled = false;
  }

  /**
   * Slot of the best rule visible at this.visible for the packed key at key[off..], or -1.
   * Subtables are probed best priority first, stopping when none left can beat the match. A
   * plain scan probes every subtable up to that point; pruning asks the filter first and
   * probes only the candidates among them. Which runs is decided from the recent lookups (see
   * PRUNE_ABOVE); both give the same answer.
   */
  lookup(key: Uint32Array, off: number): number {
    if (this.unsettled) this.settle();
    const list = this.subtables, priority = this.rules.priority, seq = this.rules.seq;
    let best = -1, bestPri = -1, bestSeq = 0;
    let probes = 0, scanned = list.length, order: Int32Array | null = this.all, only: Int32Array | null = null;
    if (this.prune === 'auto' ? this.pruneNow : this.prune === 'always' && this.filter.pruning) {
      const sel = this.filter.select(key, off, this.rankOf, this.ranks);
      if (sel === NONE) order = null; else if (sel === MANY) only = this.filter.cand; else order = this.ranks;
    }
    if (order !== null) {
      const ps = this.pairs, values = ps.values, next = ps.next, ruleOf = ps.rule, hashes = ps.hash;
      const addGen = this.rules.addGen, delGen = this.rules.delGen, g = this.visible;
      // The subtables in `order` (a bitset of probe ranks), best priority first.
      scan: for (let i = 0; i < order.length; i++) {
        for (let bits = order[i]; bits !== 0; bits &= bits - 1) {
          const t = i * 32 + 31 - Math.clz32(bits & -bits), st = list[t];
          if (best >= 0 && st.maxPriority < bestPri) { scanned = t; break scan; }
          if (only !== null && (only[st.id >>> 5] & (1 << (st.id & 31))) === 0) continue; // not a candidate (MANY)
          probes++;
          // Its bucket for the key: the first visible pair that matches and beats the best so far.
          const h = maskedHash(key, off, st.mask, st.words), mask = st.mask, words = st.words;
          for (let p = st.heads[st.bucket(h)]; p >= 0; p = next[p]) {
            if (hashes[p] !== h) continue; // another hash in the same bucket
            const r = ruleOf[p], pri = priority[r];
            if (best >= 0 && (pri < bestPri || (pri === bestPri && seq[r] > bestSeq))) break;
            if (addGen[r] > g || delGen[r] <= g) continue;
            let hit = true;
            const o = p * KEY_WORDS;
            for (let k = 0; k < words.length; k++) { const w = words[k]; if (((key[off + w] & mask[w]) >>> 0) !== values[o + w]) { hit = false; break; } }
            if (hit) { best = r; bestPri = pri; bestSeq = seq[r]; break; }
          }
        }
      }
    }
    this.probes = probes;
    // What a plain scan costs lately (it probes `scanned`), against what the filter costs.
    const avg = (this.avgScan += (scanned - this.avgScan) * SCAN_SMOOTH);
    this.pruneNow = this.filter.pruning && (this.pruneNow ? avg >= PLAIN_BELOW : avg > PRUNE_ABOVE);
    return best;
  }
}
