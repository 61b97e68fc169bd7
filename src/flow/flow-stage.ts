// FlowStage: the flow cache in front of a RuleSet — what a datapath thread asks for a verdict.
//
// Input: a handle whose flow key the NIC extracted. Output: its composed Verdict.
// Steps: pack the key (KEY_WORDS words), hash it, look it up in this thread's FlowCache; on a
// miss classify through every layer of the RuleSet and cache the verdict id.
// Consistency: the stage remembers the rule generation its cache was filled under; the first
// lookup after the RuleSet changed invalidates the whole cache (one counter bump), so no
// verdict computed under older rules is ever used.
// One per thread (the cache is not shared). Allocation-free on hits and on misses that reuse
// an interned verdict.

import { FlowKeys } from '../wire/flow-key.js';
import { FlowCache } from './flow-cache.js';
import { hashKey, KEY_WORDS, packKey } from './key.js';
import { RuleSet, Verdict } from './rule-set.js';

export const DEFAULT_FLOW_CACHE_ENTRIES = 65536;

export class FlowStage {
  readonly rules: RuleSet;
  readonly cache: FlowCache;
  private readonly key = new Uint32Array(KEY_WORDS);
  private generation = 0;

  constructor(rules: RuleSet, cache: FlowCache) {
    this.rules = rules;
    this.cache = cache;
  }

  /** True when there is something to classify against (no rules: every verdict is "none"). */
  get active(): boolean { return this.rules.size !== 0; }

  /** The verdict for handle h. */
  verdictOf(keys: FlowKeys, h: number): Verdict {
    const rules = this.rules, cache = this.cache, key = this.key;
    if (rules.generation !== this.generation) { cache.invalidateAll(); this.generation = rules.generation; }
    packKey(keys, h, key, 0);
    const hash = hashKey(key, 0);
    let id = cache.lookup(key, 0, hash);
    if (id < 0) {
      id = rules.classify(key, 0);
      cache.insert(key, 0, hash, id);
    }
    return rules.verdicts[id];
  }
}
