// RuleSet: the programmed rules of a switch — one Classifier per layer, atomic batches of
// changes, a generation number, and composed verdicts.
//
// A packet passes through every layer in LAYERS order; in each, the best matching rule (if
// any) contributes its actions. Composition: a drop in any layer drops; otherwise fields a
// later layer sets override an earlier layer's (output/flood, VLAN edits, DSCP, queue, rate
// class, mirror). The composed verdict is interned by the tuple of matched rules, so the flow
// cache stores one small integer per flow and the datapath reads verdict fields by index.
//
// Counters: every rule has a packet and a byte counter at its `slot` in `counters` (slot*2,
// slot*2+1), a Float64Array that may live in a SharedArrayBuffer so another thread can read
// it. Slots come from a free stack, so replicas that apply the same batches in the same order
// (one per datapath worker) give every rule the same slot; a reused slot starts from zero.
//
// Consistency: every change is a RuleChange (rule-change.ts): validated and compiled whole
// before anything changes (the error names the batch entry and field), staged invisibly,
// then committed at once, which bumps `generation`. Caches compare generations, so no packet
// classified after the commit can use a verdict computed before it. apply() runs a change to
// the end at once; datapath threads run theirs in slices between batches of packets.

import { Classifier } from './classifier.js';
import { Actions, CompiledRule, Layer, LAYERS, NEVER, RuleContext, RuleSpec } from './rule.js';
import { RuleChange } from './rule-change.js';

export interface RuleBatch { add?: RuleSpec[]; del?: string[] }
/** A rule batch as texts (how large batches travel): each rule's JSON text, each deleted id's JSON text. */
export interface RuleTexts { addTexts: string[]; delTexts: string[] }

export interface Verdict {
  id: number;
  drop: boolean;
  output: number[]; flood: boolean;
  setVlan: number; stripVlan: boolean; setDscp: number; queue: number; rateClass: number; mirror: number;
  /** The matched rule per layer (null: no rule matched in that layer). */
  rules: (CompiledRule | null)[];
  /** Counter slots of the matched rules. */
  slots: Int32Array;
}

export interface RuleSetOptions {
  maxMasksPerLayer?: number;
  /** Most rules installed at once (sizes the counter array). */
  maxRules?: number;
  /** Counter storage (2 * maxRules float64s); default: a fresh SharedArrayBuffer. */
  counterBuffer?: SharedArrayBuffer;
}

export const DEFAULT_MAX_RULES = 131072;

export class RuleSet {
  readonly ctx: RuleContext;
  readonly layers: Classifier[];
  private readonly byId = new Map<string, CompiledRule>();
  /** Sequence number of the last rule added (RuleChange continues from it). */
  seq = 0;
  generation = 1;
  readonly verdicts: Verdict[] = [];
  private readonly intern = new Map<number, unknown>();
  private readonly matched: (CompiledRule | null)[] = LAYERS.map(() => null);
  readonly maxRules: number;
  /** Packets at slot*2, bytes at slot*2+1. */
  readonly counters: Float64Array;
  private readonly freeSlots: Int32Array;
  private freeTop: number;
  /** Installed rules per layer, in LAYERS order. */
  readonly perLayer: number[] = LAYERS.map(() => 0);
  /** Installed rules with a `queue` action (the NIC consults the rules only when > 0). */
  queueRules = 0;

  constructor(ctx: RuleContext, o: RuleSetOptions = {}) {
    this.ctx = ctx;
    this.layers = LAYERS.map(() => new Classifier(o.maxMasksPerLayer ?? 1024));
    this.maxRules = o.maxRules ?? DEFAULT_MAX_RULES;
    this.counters = new Float64Array(o.counterBuffer ?? new SharedArrayBuffer(this.maxRules * 16));
    if (this.counters.length !== this.maxRules * 2) throw new RangeError('rule counter buffer size does not match maxRules');
    this.freeSlots = new Int32Array(this.maxRules);
    for (let i = 0; i < this.maxRules; i++) this.freeSlots[i] = this.maxRules - 1 - i;
    this.freeTop = this.maxRules;
  }

  /** Count one packet of `bytes` against every rule that made verdict v. */
  count(v: Verdict, bytes: number): void {
    const s = v.slots, c = this.counters;
    for (let i = 0; i < s.length; i++) { c[s[i] * 2]++; c[s[i] * 2 + 1] += bytes; }
  }

  /** Installed rules, as of the last commit (the index by id catches up while a change cleans). */
  get size(): number { return this.installed; }
  private installed = 0;
  list(): CompiledRule[] { return [...this.byId.values()].sort((a, b) => LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer) || b.priority - a.priority || a.seq - b.seq); }
  get(id: string): CompiledRule | undefined { return this.byId.get(id); }

  /** Apply a batch atomically, at once; throws RuleError (nothing changed) when any part is invalid. */
  apply(batch: RuleBatch): CompiledRule[] {
    const c = new RuleChange(this);
    c.feed(batch.add ?? [], batch.del ?? []);
    return c.runAll();
  }

  /** Start a change to run in slices (see RuleChange). One at a time, to its end. */
  change(): RuleChange { return new RuleChange(this); }

  // --- the steps of a RuleChange ---

  // Installed-rule figures a staged change will move at commit (kept while staging, so the
  // commit itself is O(1)).
  private readonly pendingPerLayer: number[] = LAYERS.map(() => 0);
  private pendingQueueRules = 0;
  private pendingInstalled = 0;

  /** Mark a rule to vanish at generation `at`. */
  stageDel(r: CompiledRule, at: number): void {
    r.delGen = at;
    this.pendingPerLayer[LAYERS.indexOf(r.layer)]--;
    if (r.actions.queue >= 0) this.pendingQueueRules--;
    this.pendingInstalled--;
  }

  /** Insert a rule invisible until generation `at`; take its counter slot (zeroed). */
  stageAdd(r: CompiledRule, at: number): void {
    this.pendingPerLayer[LAYERS.indexOf(r.layer)]++;
    if (r.actions.queue >= 0) this.pendingQueueRules++;
    this.pendingInstalled++;
    r.addGen = at;
    r.delGen = NEVER;
    r.slot = this.freeSlots[--this.freeTop];
    this.counters[r.slot * 2] = 0;
    this.counters[r.slot * 2 + 1] = 0;
    this.layers[LAYERS.indexOf(r.layer)].add(r);
  }

  /** The change is visible from now on: generation moves, cached verdicts start over. */
  commitChange(c: RuleChange, seq: number): void {
    for (let l = 0; l < LAYERS.length; l++) { this.perLayer[l] += this.pendingPerLayer[l]; this.pendingPerLayer[l] = 0; }
    this.queueRules += this.pendingQueueRules;
    this.installed += this.pendingInstalled;
    this.pendingQueueRules = 0;
    this.pendingInstalled = 0;
    this.seq = seq;
    this.generation = c.next;
    for (const l of this.layers) l.visible = c.next;
    // Every cached verdict id is stale from here on, so the interned verdicts can start over:
    // the table stays bounded by the rule combinations seen since the last change.
    this.verdicts.length = 0;
    this.intern.clear();
  }

  /** A committed deletion: out of the classifier and the index; its slot is free again. */
  dropDeleted(r: CompiledRule): void {
    this.layers[LAYERS.indexOf(r.layer)].remove(r);
    if (this.byId.get(r.id) === r) this.byId.delete(r.id);
    this.freeSlots[this.freeTop++] = r.slot;
  }

  /** A committed addition joins the index by id. */
  indexAdded(r: CompiledRule): void { this.byId.set(r.id, r); }

  /** Make every layer ready for lookups (see Classifier.settle). */
  settle(): void { for (const l of this.layers) l.settle(); }

  /** Installed rules in the order they were added, from `offset`, at most `limit` (listing without sorting). */
  page(offset: number, limit: number): CompiledRule[] {
    const out: CompiledRule[] = [];
    let i = 0;
    for (const r of this.byId.values()) {
      if (i++ < offset) continue;
      if (out.length >= limit) break;
      out.push(r);
    }
    return out;
  }

  /** Classify the packed key at key[off..] through every layer; returns the verdict id. */
  classify(key: Uint32Array, off: number): number {
    const m = this.matched;
    for (let l = 0; l < this.layers.length; l++) m[l] = this.layers[l].lookup(key, off);
    // Intern by the matched rules' seq numbers (0 = none), one nested map level per layer.
    let node = this.intern as Map<number, unknown>;
    for (let l = 0; l < m.length - 1; l++) {
      const s = m[l]?.seq ?? 0;
      let next = node.get(s) as Map<number, unknown> | undefined;
      if (next === undefined) { next = new Map(); node.set(s, next); }
      node = next;
    }
    const last = m[m.length - 1]?.seq ?? 0;
    const id = node.get(last) as number | undefined;
    if (id !== undefined) return id;
    const v = compose(this.verdicts.length, m);
    this.verdicts.push(v);
    node.set(last, v.id);
    return v.id;
  }
}

function compose(id: number, rules: (CompiledRule | null)[]): Verdict {
  const matched = rules.filter((r): r is CompiledRule => r !== null);
  const v: Verdict = {
    id, drop: false, output: [], flood: false, setVlan: -1, stripVlan: false, setDscp: -1, queue: -1, rateClass: -1, mirror: -1,
    rules: [...rules], slots: Int32Array.from(matched, (r) => r.slot),
  };
  for (const r of rules) {
    if (!r) continue;
    const a: Actions = r.actions;
    if (a.drop) v.drop = true;
    if (a.output.length) { v.output = [...a.output]; v.flood = false; }
    if (a.flood) { v.flood = true; v.output = []; }
    if (a.setVlan >= 0) { v.setVlan = a.setVlan; v.stripVlan = false; }
    if (a.stripVlan) { v.stripVlan = true; v.setVlan = -1; }
    if (a.setDscp >= 0) v.setDscp = a.setDscp;
    if (a.queue >= 0) v.queue = a.queue;
    if (a.rateClass >= 0) v.rateClass = a.rateClass;
    if (a.mirror >= 0) v.mirror = a.mirror;
  }
  return v;
}

export type { Layer };
