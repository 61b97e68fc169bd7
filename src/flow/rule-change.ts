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
// Added rules go into the rule store as they compile (a slot each, pairs placed but not
// linked), so nothing of a compiled rule outlives its step as an object; a refused change
// gives the slots back in reverse order, leaving the store as it was.
// A replica (a datapath thread's RuleSet) is fed the same change as compiled rows and deleted
// slots (feedRows, feedSlots): each rule goes to the slot the validating thread gave it, so
// every thread counts a rule at the same place.

import { compileRule, LAYERS, NEVER, RuleError, RuleSpec } from './rule.js';
import type { RuleSet } from './rule-set.js';
import type { RuleTexts } from './rule-texts.js';
import { decodeRows, Row } from './rule-rows.js';
import { brief } from '../quote.js';

const enum Phase { Input, Check, StageDels, StageAdds, Staged, Committed, Clean, Done, Refused }

export class RuleChange {
  private readonly rs: RuleSet;
  /** Input not yet compiled (each entry is dropped once compiled). */
  private readonly specs: unknown[] = [];
  /** Where specs[i]'s JSON text is (element i of texts.add), when the input came as bytes. */
  private texts: RuleTexts | null = null;
  private readonly dels: string[] = [];
  private ended = false;
  private phase = Phase.Input;
  /** Slots of the rules compiled from specs[0..added.length). */
  readonly added: number[] = [];
  /** Slots of the rules deleted (named by dels, or given as slots). */
  readonly gone: number[] = [];
  // A replica's input: deleted slots, and rows compiled by the thread that validated the change.
  private readonly delSlots: number[] = [];
  private readonly rowChunks: Int32Array[] = [];
  private rows: Iterator<Row> | null = null;
  private seq: number;
  private i = 0;
  /** Generation the change becomes visible at. */
  readonly next: number;

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

  /** A replica's input: slots to delete (before any rows), then rows to add (rule-rows.ts). */
  feedSlots(del: ArrayLike<number>): void {
    if (this.ended) throw new Error('RuleChange: input after end()');
    for (let i = 0; i < del.length; i++) this.delSlots.push(del[i]);
  }

  feedRows(rows: Int32Array): void {
    if (this.ended) throw new Error('RuleChange: input after end()');
    this.rowChunks.push(rows);
  }

  /** The specs fed are parsed from these texts, in order: listing keeps their bytes (else a listing RuleSet stringifies each spec). */
  textsFrom(t: RuleTexts): void { this.texts = t; }

  end(): void { this.ended = true; }

  /** Input fed but not yet worked through (ids to resolve, rules to compile). */
  get backlog(): number { return this.dels.length - Math.min(this.gone.length, this.dels.length) + this.specs.length - this.added.length; }

  /** Ids of the added rules. */
  addedIds(): string[] { return this.added.map((s) => this.rs.store.ids[s]!); }

  /**
   * Work until `deadline` (performance.now() ms) or until staged; true when staged. Throws
   * RuleError for a refused change, after undoing everything it stored.
   */
  step(deadline: number): boolean {
    if (this.phase === Phase.Refused) throw new Error('RuleChange: step after a refusal');
    try { return this.work(deadline); } catch (e) {
      this.undo();
      throw e;
    }
  }

  private work(deadline: number): boolean {
    const rs = this.rs;
    for (let n = 0; ; n++) {
      if ((n & 63) === 63 && performance.now() >= deadline) break;
      switch (this.phase) {
        case Phase.Input: {
          if (this.gone.length < this.dels.length) { this.resolveDel(this.gone.length); continue; }
          if (this.gone.length < this.dels.length + this.delSlots.length) { this.markDel(this.delSlots[this.gone.length - this.dels.length]); continue; }
          if (this.nextRow()) continue;
          if (this.added.length < this.specs.length) { this.compile(this.added.length); continue; }
          if (!this.ended) return false;
          this.phase = Phase.Check;
          continue;
        }
        case Phase.Check: {
          // Mask budget per layer after the whole batch (place and countDel kept the counts).
          LAYERS.forEach((layer, li) => {
            const cl = rs.layers[li], masks = cl.masksAfter();
            if (masks > cl.maxMasks) throw new RuleError('add', `layer ${layer} would need ${masks} distinct masks (limit ${cl.maxMasks}): reuse the prefixes and fields other rules match on`);
          });
          // Nothing can fail from here on.
          for (const cl of rs.layers) cl.clearPending(false);
          this.phase = Phase.StageDels; this.i = 0;
          continue;
        }
        case Phase.StageDels:
          if (this.i < this.gone.length) { rs.stageDel(this.gone[this.i++], this.next); continue; }
          this.phase = Phase.StageAdds; this.i = 0;
          continue;
        case Phase.StageAdds:
          if (this.i < this.added.length) { rs.stageAdd(this.added[this.i++]); continue; }
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
      else if (this.i < this.gone.length + this.added.length) rs.indexAdded(this.added[this.i++ - this.gone.length]);
      else this.phase = Phase.Done;
    }
    rs.settle();
    return true;
  }

  /** Stage, commit and clean at once (tests, configuration, small changes on one thread). */
  runAll(): void {
    this.end();
    this.step(Infinity);
    this.commit();
    this.clean(Infinity);
  }

  /** A refusal before staging: give back every slot and pair this change took. */
  private undo(): void {
    for (let k = this.added.length - 1; k >= 0; k--) this.rs.unplace(this.added[k]);
    this.added.length = 0;
    for (const s of this.gone) this.rs.store.delGen[s] = NEVER;
    for (const cl of this.rs.layers) cl.clearPending(true);
    this.phase = Phase.Refused;
  }

  private resolveDel(i: number): void {
    const id = this.dels[i];
    const slot = typeof id === 'string' ? this.rs.slotOf(id) : -1;
    if (slot < 0) throw new RuleError(`del[${i}]`, `no rule with id ${brief(id)}`);
    const st = this.rs.store;
    if (st.delGen[slot] === this.next) throw new RuleError(`del[${i}]`, `rule ${brief(id)} is listed twice`);
    this.markDel(slot);
  }

  private markDel(slot: number): void {
    // Marked at once (it stays visible until the commit moves the generation to `next`):
    // this is how the change knows what it deletes, without a set of 100,000 ids.
    this.rs.store.delGen[slot] = this.next;
    this.gone.push(slot);
    this.rs.layers[this.rs.store.layer[slot]].countDel(slot);
  }

  // Place the next row of a replica's input; false when there is none.
  private nextRow(): boolean {
    for (;;) {
      if (this.rows) {
        const r = this.rows.next();
        if (!r.done) {
          const { slot, seq, rule } = r.value;
          this.added.push(this.rs.place(rule, undefined, seq, this.next, slot));
          if (seq > this.seq) this.seq = seq;
          return true;
        }
        this.rows = null;
      }
      const chunk = this.rowChunks.shift();
      if (!chunk) return false;
      this.rows = decodeRows(chunk);
    }
  }

  private compile(i: number): void {
    const rs = this.rs;
    const size = rs.size - this.gone.length + i + 1;
    if (size > rs.maxRules) {
      const total = rs.size - this.gone.length + this.specs.length;
      throw new RuleError('add', `the rule set would hold ${total}${this.ended ? '' : ' or more'} rules (limit ${rs.maxRules})`);
    }
    const spec = this.specs[i] as RuleSpec;
    let c;
    try { c = compileRule(spec, rs.ctx); } catch (e) {
      if (e instanceof RuleError) throw new RuleError(`add[${i}].${e.field}`, e.problem);
      throw e;
    }
    const seq = ++this.seq;
    const id = c.id ?? `r${seq}`;
    if (rs.takenId(id, this.next) >= 0) throw new RuleError(`add[${i}].id`, `a rule with id ${brief(id)} exists`);
    const slot = rs.place(c, id, seq, this.next);
    this.added.push(slot);
    const arena = rs.store.texts;
    if (arena && this.texts) arena.put(slot, this.texts.bytes, this.texts.add[2 * i], this.texts.add[2 * i + 1]);
    else if (arena) arena.putString(slot, JSON.stringify(spec));
    // The spec was its only reference: let it die young.
    this.specs[i] = undefined;
  }
}
