// RuleChange: one atomic batch of rule changes, applied to a RuleSet in slices of bounded time
// so that no thread stops forwarding while 100,000 rules come or go.
//
//   feed(specs, ids)*  — input, in chunks (dels first, then adds), as it arrives
//   end()              — no more input
//   step(deadline)*    — compile and validate, check the limits, then stage: deleted rules
//                        are marked to vanish at the next generation, added ones inserted
//                        to appear at it (invisible until then). Returns true when staged.
//   commit()           — O(1): the classifiers move to the next generation (deleted rules
//                        vanish, added ones appear, all at once), the flow caches see the
//                        generation move and start over, interned verdicts start over
//   clean(deadline)*   — take the deleted rules out, free their counter slots, update the
//                        index by id. Returns true when done; the next change may begin then.
//
// Lookups between slices see exactly the old rules until commit(), then exactly the new ones:
// no packet is classified under half a change. A refused batch (RuleError naming add[i].field
// or del[i]) is found before staging, so nothing has changed when step() throws.
// Replicas (one RuleSet per datapath thread) that run the same changes in the same order give
// every rule the same counter slot: slots are taken while staging, in add order, and given
// back while cleaning, in del order, and a change starts only after the previous one is clean.

import { compileRule, CompiledRule, LAYERS, RuleError, RuleSpec } from './rule.js';
import type { RuleSet } from './rule-set.js';
import { brief } from '../quote.js';

const enum Phase { Input, Check, StageDels, StageAdds, Staged, Committed, Clean, Done }

export class RuleChange {
  private readonly rs: RuleSet;
  private readonly specs: unknown[] = [];
  private readonly dels: string[] = [];
  private ended = false;
  private phase = Phase.Input;
  /** Rules compiled from specs[0..compiled.length). */
  readonly compiled: CompiledRule[] = [];
  /** Rules named by dels[0..gone.length). */
  private readonly gone: CompiledRule[] = [];
  private readonly goneIds = new Set<string>();
  private readonly batchIds = new Set<string>();
  private seq: number;
  private i = 0;
  /** Generation the change becomes visible at. */
  readonly next: number;
  // Mask budget check: per layer, entries added or removed per mask id.
  private readonly delta = LAYERS.map(() => new Map<string, number>());

  constructor(rs: RuleSet) {
    this.rs = rs;
    this.seq = rs.seq;
    this.next = rs.generation + 1;
  }

  /** More input: rule ids to delete (all before any add), rule specs to add. */
  feed(specs: readonly unknown[], ids: readonly string[] = []): void {
    if (this.ended) throw new Error('RuleChange: input after end()');
    if (ids.length && this.specs.length) throw new Error('RuleChange: deletions must come before additions');
    for (const id of ids) this.dels.push(id);
    for (const s of specs) this.specs.push(s);
  }

  end(): void { this.ended = true; }


  /** Work until `deadline` (performance.now() ms) or until staged; true when staged. */
  step(deadline: number): boolean {
    const rs = this.rs;
    for (let n = 0; ; n++) {
      if ((n & 63) === 63 && performance.now() >= deadline) break;
      switch (this.phase) {
        case Phase.Input: {
          if (this.gone.length < this.dels.length) { this.resolveDel(this.gone.length); continue; }
          if (this.compiled.length < this.specs.length) { this.compile(this.compiled.length); continue; }
          if (!this.ended) return false;
          const size = rs.size - this.gone.length + this.compiled.length;
          if (size > rs.maxRules) throw new RuleError('add', `the rule set would hold ${size} rules (limit ${rs.maxRules})`);
          this.phase = Phase.Check; this.i = 0;
          continue;
        }
        case Phase.Check: {
          // Mask budget per layer after the whole batch, from the batch alone.
          const all = this.gone.length + this.compiled.length;
          if (this.i < all) {
            const inDel = this.i < this.gone.length;
            const r = inDel ? this.gone[this.i] : this.compiled[this.i - this.gone.length];
            const d = this.delta[LAYERS.indexOf(r.layer)];
            for (let p = 0; p < r.pairs; p++) d.set(r.maskIds[p], (d.get(r.maskIds[p]) ?? 0) + (inDel ? -1 : 1));
            this.i++;
            continue;
          }
          LAYERS.forEach((layer, li) => {
            const cl = rs.layers[li];
            let masks = cl.masks;
            for (const [id, d] of this.delta[li]) {
              const cur = cl.entriesOf(id);
              if (cur === 0 && d > 0) masks++;
              else if (cur > 0 && cur + d === 0) masks--;
            }
            if (masks > cl.maxMasks) throw new RuleError('add', `layer ${layer} would need ${masks} distinct masks (limit ${cl.maxMasks}): reuse the prefixes and fields other rules match on`);
          });
          // Nothing can fail from here on.
          this.phase = Phase.StageDels; this.i = 0;
          continue;
        }
        case Phase.StageDels:
          if (this.i < this.gone.length) { rs.stageDel(this.gone[this.i++], this.next); continue; }
          this.phase = Phase.StageAdds; this.i = 0;
          continue;
        case Phase.StageAdds:
          if (this.i < this.compiled.length) { rs.stageAdd(this.compiled[this.i++], this.next); continue; }
          this.phase = Phase.Staged;
          continue;
        default:
          return this.phase >= Phase.Staged;
      }
    }
    rs.settle();
    return this.phase >= Phase.Staged;
  }

  /** Make the staged change visible, at once. */
  commit(): void {
    if (this.phase !== Phase.Staged) throw new Error('RuleChange: commit before staged');
    this.rs.commitChange(this, this.seq);
    this.phase = Phase.Clean; this.i = 0;
  }

  /** Take deleted rules out and index added ones, until `deadline`; true when done. */
  clean(deadline: number): boolean {
    const rs = this.rs;
    for (let n = 0; this.phase === Phase.Clean; n++) {
      if ((n & 63) === 63 && performance.now() >= deadline) { rs.settle(); return false; }
      if (this.i < this.gone.length) rs.dropDeleted(this.gone[this.i++]);
      else if (this.i < this.gone.length + this.compiled.length) rs.indexAdded(this.compiled[this.i++ - this.gone.length]);
      else this.phase = Phase.Done;
    }
    rs.settle();
    return true;
  }

  /** Stage, commit and clean at once (tests, configuration, small changes on one thread). */
  runAll(): CompiledRule[] {
    this.end();
    this.step(Infinity);
    this.commit();
    this.clean(Infinity);
    return this.compiled;
  }

  private resolveDel(i: number): void {
    const id = this.dels[i];
    const r = typeof id === 'string' ? this.rs.get(id) : undefined;
    if (!r) throw new RuleError(`del[${i}]`, `no rule with id ${brief(id)}`);
    if (this.goneIds.has(id)) throw new RuleError(`del[${i}]`, `rule ${brief(id)} is listed twice`);
    this.goneIds.add(id);
    this.gone.push(r);
  }

  private compile(i: number): void {
    let r: CompiledRule;
    try { r = compileRule(this.specs[i] as RuleSpec, this.rs.ctx, ++this.seq); } catch (e) {
      if (e instanceof RuleError) throw new RuleError(`add[${i}].${e.field}`, e.problem);
      throw e;
    }
    if ((this.rs.get(r.id) && !this.goneIds.has(r.id)) || this.batchIds.has(r.id)) throw new RuleError(`add[${i}].id`, `a rule with id ${brief(r.id)} exists`);
    this.batchIds.add(r.id);
    r.addGen = this.next;
    this.compiled.push(r);
  }
}
