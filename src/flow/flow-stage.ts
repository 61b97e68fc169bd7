// FlowStage: the flow cache in front of the rules, the flow-cacheable extensions and the
// switch's own decision — what a datapath thread asks for a flow's decision.
//
// Input: a handle whose flow key the NIC extracted. Output: a FlowDecisions id (the compiled
// per-flow action: rule verdict, cached extension outcomes, switch outcome), or a miss.
// Steps: hash the packed key the NIC wrote while parsing (FlowKeys.packed; the hash is folded
// from the NIC's RSS hash when there is one; of word 14, TCP flags and TOS, only the bits some
// rule or extension needs count: FlowCache.mask14), look it up in place in this thread's FlowCache
// (begin() once per batch first). On a miss the rules are classified at once (missRule) and
// the caller inserts the full decision later (insert), once the extensions and the switch
// have had their say on that packet; verdictOf() does both at once for callers with no
// extensions (the NIC's queue rules).
// A frame edited between lookup and insert is re-parsed, which rewrites its packed key:
// preserve(pos) keeps the key it was looked up under, so the insert files it there.
// Consistency: the cache is tagged with the rule generation and the caller's version of
// everything else decisions depend on (extension state, MAC table, port table: begin(v));
// the first batch after either moves invalidates it (one counter bump) and starts the
// decision table over, so no decision made under older rules, an older extension stack or an
// older switch state is ever used. A full decision table starts over the same way.
// One per thread (the cache is not shared). Allocation-free on hits.

import { FlowKeys } from '../wire/flow-key.js';
import { BATCH_MAX } from '../batch.js';
import { FlowCache } from './flow-cache.js';
import { FlowDecisions } from './flow-decisions.js';
import { hashKey, KEY_STRIDE, KEY_WORDS } from './key.js';
import { RuleSet, Verdict } from './rule-set.js';

export const DEFAULT_FLOW_CACHE_ENTRIES = 65536;
/** Entries of a NIC's own flow cache (every thread's), used only for rules with a `queue` action. */
export const NIC_FLOW_CACHE_ENTRIES = 4096;

/** Flow cache hash from the RSS hash and the key words RSS does not cover but that vary within a 5-tuple. */
function mixRss(rss: number, w0: number, w1: number, w2: number, w14: number): number {
  let x = rss ^ Math.imul(w0 ^ (w1 >>> 7), 0x9e3779b1) ^ Math.imul(w2 ^ w14, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d);
  return x ^ (x >>> 13); // int32, like hashKey
}
/** Batch positions a stage keeps per-packet state for. */
const POSITIONS = BATCH_MAX;
/** Slots of the table of this batch's misses (a power of two, at least twice the positions). */
const MEMO = 2 * POSITIONS;

export class FlowStage {
  readonly rules: RuleSet;
  readonly cache: FlowCache;
  readonly decisions: FlowDecisions;
  /** Key words of positions whose frame was edited after the lookup (see preserve). */
  private readonly saved = new Uint32Array(POSITIONS * KEY_STRIDE);
  private readonly isSaved = new Uint8Array(POSITIONS);
  /** Handle and hash looked up at each position. */
  private readonly handles = new Int32Array(POSITIONS);
  private readonly hashes = new Int32Array(POSITIONS);
  private flowKeys: FlowKeys | null = null;
  /** Rule verdict id of a position that missed. */
  readonly missRule = new Int32Array(POSITIONS);
  private generation = -1;
  private version = -1;
  /** This batch's misses: memoPos[s] missed at a position, filled in batch memoBatch[s] (no clearing per batch). */
  private readonly memoPos = new Int32Array(MEMO);
  private readonly memoBatch = new Int32Array(MEMO).fill(-1);
  private batch = 0;
  /** Bits of key word 14 the extensions' cached decisions need (FlowFields); the rules' are added at begin(). */
  private readonly need14: number;

  constructor(rules: RuleSet, cache: FlowCache, ports: number, need14 = 0) {
    this.rules = rules;
    this.cache = cache;
    this.need14 = need14;
    this.decisions = new FlowDecisions(ports);
  }

  /**
   * Pick up changes: once per batch, before the lookups. `version` must move whenever anything
   * besides the rules that cached decisions depend on changes (a sum of monotonic counters).
   */
  begin(version = 0): void {
    this.batch = (this.batch + 1) & 0x3fffffff;
    const g = this.rules.generation;
    if (g !== this.generation || version !== this.version || this.decisions.full) {
      this.cache.invalidateAll();
      // Key the cache only by the bits of word 14 (TCP flags, TOS) some rule or extension needs:
      // one flow is one entry, not one per flag combination (megaflow-style wildcarding).
      this.cache.mask14 = (this.rules.keyWordMask(14) | this.need14) | 0;
      this.decisions.reset();
      this.generation = g;
      this.version = version;
    }
  }

  /** Look up handle h's flow at batch position pos: a decision id, or -1 (missRule[pos] then holds its rule verdict). */
  lookup(keys: FlowKeys, h: number, pos: number): number {
    const key = keys.packed, off = h * KEY_STRIDE;
    // The NIC's RSS hash already mixes addresses and ports: fold in the rest of the key's
    // first two words and the flags word, and skip hashing all fifteen. (0: no RSS hash.)
    const rss = keys.hash[h], m14 = this.cache.mask14;
    const hash = rss !== 0 ? mixRss(rss, key[off], key[off + 1], key[off + 2], key[off + 14] & m14) : hashKey(key, off, m14);
    const d = this.cache.lookup(key, off, hash);
    // Only a miss or a partial decision may be completed and inserted later: remember where it came from.
    if (d >= 0 && this.decisions.complete[d] !== 0) return d;
    this.flowKeys = keys;
    this.hashes[pos] = hash;
    this.handles[pos] = h;
    this.isSaved[pos] = 0;
    if (d >= 0) return d;
    // A flow whose first frames arrive in one batch misses once: the others take its verdict.
    const m = MEMO - 1, hv = hash | 0;
    let s = hv & m;
    for (; this.memoBatch[s] === this.batch; s = (s + 1) & m) {
      const p = this.memoPos[s];
      if (this.hashes[p] !== hv) continue;
      const o = this.handles[p] * KEY_STRIDE;
      let same = ((key[o + 14] ^ key[off + 14]) & m14) === 0;
      for (let w = 0; same && w < 14; w++) same = key[o + w] === key[off + w];
      if (same) { this.missRule[pos] = this.missRule[p]; this.cache.repeatedMiss(); return -1; }
    }
    this.memoBatch[s] = this.batch; this.memoPos[s] = pos;
    this.missRule[pos] = this.rules.classify(key, off);
    return -1;
  }

  /** The frame at position pos is about to be re-parsed: keep the key it was looked up under. */
  preserve(pos: number): void {
    const src = this.flowKeys!.packed, from = this.handles[pos] * KEY_STRIDE, to = pos * KEY_STRIDE;
    for (let w = 0; w < KEY_WORDS; w++) this.saved[to + w] = src[from + w];
    this.isSaved[pos] = 1;
  }

  /** Cache decision d (>= 0; -1 from a full table is ignored) for the flow looked up at position pos (in this batch). */
  insert(pos: number, d: number): void {
    if (d < 0) return;
    if (this.isSaved[pos]) this.cache.insert(this.saved, pos * KEY_STRIDE, this.hashes[pos], d);
    else this.cache.insert(this.flowKeys!.packed, this.handles[pos] * KEY_STRIDE, this.hashes[pos], d);
  }

  /** The rule verdict of decision d. */
  verdict(d: number): Verdict { return this.rules.verdicts[this.decisions.rule[d]]; }

  /** The rule verdict for handle h, cached (for callers with no extensions: the NIC). */
  verdictOf(keys: FlowKeys, h: number): Verdict {
    this.begin();
    let d = this.lookup(keys, h, 0);
    if (d >= 0) return this.verdict(d);
    const rule = this.missRule[0];
    d = this.decisions.forRule(rule);
    this.insert(0, d);
    return this.rules.verdicts[rule];
  }
}
