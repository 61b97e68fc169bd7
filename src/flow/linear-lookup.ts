// The reference classifier: every rule tested in priority order, each compiled on its own from
// its listed spec, outside any store. Tests compare the classifier with it, and the classifier
// benchmark uses it as its naive baseline.

import { compileRule, CompiledRule, pairMatches, RuleContext } from './rule.js';
import { RuleView } from './rule-store.js';

/** A rule for the reference scan: compiled on its own, outside any store. */
export interface ReferenceRule { id: string; layer: string; priority: number; seq: number; compiled: CompiledRule }

/** Reference rules for linearLookup, compiled afresh from listed rules' specs. */
export function referenceRules(views: readonly RuleView[], ctx: RuleContext): ReferenceRule[] {
  return views.map((v) => ({ id: v.id, layer: v.layer, priority: v.priority, seq: v.seq, compiled: compileRule(v.spec!, ctx) }));
}

/** The reference: test every rule in priority order (tests and the benchmark baseline). */
export function linearLookup<R extends ReferenceRule>(rules: readonly R[], key: Uint32Array, off: number): R | null {
  let best: R | null = null;
  for (const r of rules) {
    if (best !== null && (r.priority < best.priority || (r.priority === best.priority && r.seq > best.seq))) continue;
    for (let i = 0; i < r.compiled.pairs; i++) if (pairMatches(r.compiled, i, key, off)) { best = r; break; }
  }
  return best;
}
