// RuleSet: the programmed rules of a switch — one Classifier per layer, atomic batches of
// changes, a generation number, and composed verdicts.
//
// A packet passes through every layer in LAYERS order; in each, the best matching rule (if
// any) contributes its actions. Composition: a drop in any layer drops; otherwise fields a
// later layer sets override an earlier layer's (output/flood, VLAN edits, DSCP, queue, rate
// class, mirror). The composed verdict is interned by the tuple of matched rules, so the flow
// cache stores one small integer per flow and the datapath reads verdict fields by index.
//
// Storage: the rules are rows of a RuleStore (rule-store.ts), indexed by slot; the layers'
// classifiers hold their match pairs. Lookups return slots.
//
// Counters: every rule has a packet and a byte counter at its `slot` in `counters` (slot*2,
// slot*2+1), a Float64Array that may live in a SharedArrayBuffer so another thread can read
// it. Slots come from the store's free stack; a replica (one per datapath worker) puts each rule
// at the slot this thread gave it (rule-rows.ts). A reused slot starts from zero.
//
// Consistency: every change is a RuleChange (rule-change.ts): validated and compiled whole
// before anything changes (the error names the batch entry and field), staged invisibly,
// then committed at once, which bumps `generation`. Caches compare generations, so no packet
// classified after the commit can use a verdict computed before it. apply() runs a change to
// the end at once; datapath threads run theirs in slices between batches of packets.

import { Classifier } from './classifier.js';
import { CompiledRule, Layer, LAYERS, RuleBatch, RuleContext } from './rule.js';
import { RuleChange } from './rule-change.js';
import { DROP, FLOOD, RuleStore, RuleView, slotsFor, STRIP_VLAN } from './rule-store.js';
import { RuleIndex } from './rule-index.js';


export interface Verdict {
  id: number;
  drop: boolean;
  output: number[]; flood: boolean;
  setVlan: number; stripVlan: boolean; setDscp: number; queue: number; rateClass: number; mirror: number;
  /** The matched rule's slot per layer (-1: no rule matched in that layer). */
  rules: Int32Array;
  /** Counter slots of the matched rules. */
  slots: Int32Array;
}

export interface RuleSetOptions {
  maxMasksPerLayer?: number;
  /** Most rules installed at once. */
  maxRules?: number;
  /** Counter storage (ruleCounterBytes(maxRules)); default: a fresh SharedArrayBuffer. */
  counterBuffer?: SharedArrayBuffer;
  /**
   * A datapath thread's copy: takes changes as rows compiled elsewhere (rule-rows.ts), at the
   * slots given there; keeps no ids or texts (it lists nothing, and deletions come as slots).
   */
  replica?: boolean;
}

export const DEFAULT_MAX_RULES = 131072;

/** Bytes of the packet and byte counters of a RuleSet of maxRules rules. */
export const ruleCounterBytes = (maxRules: number): number => slotsFor(maxRules) * 16;

export class RuleSet {
  readonly ctx: RuleContext;
  readonly store: RuleStore;
  readonly layers: Classifier[];
  /** Slots by id; installed rules in the order added (null on a replica). */
  private readonly index: RuleIndex | null;
  readonly replica: boolean;
  /** Sequence number of the last rule added (RuleChange continues from it). */
  seq = 0;
  generation = 1;
  readonly verdicts: Verdict[] = [];
  private readonly intern = new Map<number, unknown>();
  private readonly matched: Int32Array = new Int32Array(LAYERS.length);
  readonly maxRules: number;
  /** Packets at slot*2, bytes at slot*2+1. */
  readonly counters: Float64Array;
  /** Installed rules per layer, in LAYERS order. */
  readonly perLayer: number[] = LAYERS.map(() => 0);
  /** Installed rules with a `queue` action (the NIC consults the rules only when > 0). */
  queueRules = 0;

  constructor(ctx: RuleContext, o: RuleSetOptions = {}) {
    this.ctx = ctx;
    this.maxRules = o.maxRules ?? DEFAULT_MAX_RULES;
    this.replica = o.replica ?? false;
    this.store = new RuleStore(slotsFor(this.maxRules), this.replica);
    this.layers = LAYERS.map(() => new Classifier(this.store, o.maxMasksPerLayer ?? 1024));
    this.index = this.replica ? null : new RuleIndex(this.store.capacity, this.store.ids);
    this.counters = new Float64Array(o.counterBuffer ?? new SharedArrayBuffer(ruleCounterBytes(this.maxRules)));
    if (this.counters.byteLength !== ruleCounterBytes(this.maxRules)) throw new RangeError('rule counter buffer size does not match maxRules');
  }

  /** Count `packets` (a GSO frame: its segments) of `bytes` against every rule that made verdict v. */
  count(v: Verdict, bytes: number, packets = 1): void {
    const s = v.slots, c = this.counters;
    for (let i = 0; i < s.length; i++) { c[s[i] * 2] += packets; c[s[i] * 2 + 1] += bytes; }
  }

  /** Installed rules, as of the last commit (the index by id catches up while a change cleans). */
  get size(): number { return this.installed; }
  private installed = 0;
  /** Installed rules in evaluation order (layer, priority, order added). */
  list(): RuleView[] {
    const st = this.store;
    return this.ids().page(0, this.store.capacity).sort((a, b) => st.layer[a] - st.layer[b] || st.priority[b] - st.priority[a] || st.seq[a] - st.seq[b]).map((s) => st.view(s));
  }
  /** Slots of the installed rules, in the order added. */
  installedSlots(): number[] { return this.ids().page(0, this.store.capacity); }
  get(id: string): RuleView | undefined { const s = this.slotOf(id); return s < 0 ? undefined : this.store.view(s); }
  /** Slot of the installed rule with this id (visible now), or -1. */
  slotOf(id: string): number { return this.ids().find(id, this.isInstalled); }
  private ids(): RuleIndex {
    if (!this.index) throw new Error('a replica rule set keeps no ids (deletions reach it as slots)');
    return this.index;
  }
  private readonly isInstalled = (s: number): boolean => this.store.addGen[s] <= this.generation && this.store.delGen[s] > this.generation;
  /** Slot of a rule with this id that a change at generation `next` may not add again (installed and kept, or added by it), or -1. */
  takenId(id: string, next: number): number {
    this.changeAt = next;
    return this.ids().find(id, this.isTaken);
  }
  private changeAt = 0;
  private readonly isTaken = (s: number): boolean => this.store.addGen[s] === this.changeAt || (this.isInstalled(s) && this.store.delGen[s] !== this.changeAt);

  /** Apply a batch atomically, at once; throws RuleError (nothing changed) when any part is invalid. Returns the added ids. */
  apply(batch: RuleBatch): string[] {
    const c = new RuleChange(this);
    c.feed(batch.add ?? [], batch.del ?? []);
    c.runAll();
    return c.addedIds();
  }

  /** Start a change to run in slices (see RuleChange). One at a time, to its end. */
  change(): RuleChange { return new RuleChange(this); }

  // --- the steps of a RuleChange ---

  // Installed-rule figures a staged change will move at commit (kept while staging, so the
  // commit itself is O(1)).
  private readonly pendingPerLayer: number[] = LAYERS.map(() => 0);
  private pendingQueueRules = 0;
  private pendingInstalled = 0;

  /** Store a compiled rule in a fresh slot, invisible until generation `at`, its pairs placed but not linked. */
  place(c: CompiledRule, id: string | undefined, seq: number, at: number, slot = -1): number {
    slot = this.store.take(c, id, seq, at, slot);
    this.layers[c.layer].place(slot, c);
    this.index?.addId(slot);
    return slot;
  }

  /** Undo place() (a refused change; call in the reverse order of place). */
  unplace(slot: number): void {
    this.layers[this.store.layer[slot]].unplace(slot);
    this.index?.removeId(slot);
    this.store.give(slot);
  }

  /** Mark a rule to vanish at generation `at`. */
  stageDel(slot: number, at: number): void {
    this.store.delGen[slot] = at;
    this.pendingPerLayer[this.store.layer[slot]]--;
    if (this.store.queue[slot] >= 0) this.pendingQueueRules--;
    this.pendingInstalled--;
  }

  /** Link a placed rule into its layer (still invisible until its addGen); zero its counters. */
  stageAdd(slot: number): void {
    this.pendingPerLayer[this.store.layer[slot]]++;
    if (this.store.queue[slot] >= 0) this.pendingQueueRules++;
    this.pendingInstalled++;
    this.counters[slot * 2] = 0;
    this.counters[slot * 2 + 1] = 0;
    this.layers[this.store.layer[slot]].link(slot);
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
  dropDeleted(slot: number): void {
    this.layers[this.store.layer[slot]].unlink(slot);
    this.index?.removeId(slot);
    this.index?.unlist(slot);
    this.store.give(slot);
  }

  /** A committed addition joins the listing order. */
  indexAdded(slot: number): void { this.index?.append(slot); }

  /** Make every layer ready for lookups (see Classifier.settle). */
  settle(): void { for (const l of this.layers) l.settle(); }

  /** Installed rules in the order they were added, from `offset`, at most `limit` (listing without sorting). */
  page(offset: number, limit: number): RuleView[] { return this.ids().page(offset, limit).map((s) => this.store.view(s)); }

  /** The bits of key word w some rule, installed or being added, matches on. */
  keyWordMask(w: number): number {
    let m = 0;
    for (const l of this.layers) m |= l.wordMask(w);
    return m >>> 0;
  }

  /** Classify the packed key at key[off..] through every layer; returns the verdict id. */
  classify(key: Uint32Array, off: number): number {
    const m = this.matched, seq = this.store.seq;
    for (let l = 0; l < this.layers.length; l++) m[l] = this.layers[l].lookup(key, off);
    // Intern by the matched rules' seq numbers (0 = none), one nested map level per layer.
    let node = this.intern as Map<number, unknown>;
    for (let l = 0; l < m.length - 1; l++) {
      const s = m[l] >= 0 ? seq[m[l]] : 0;
      let next = node.get(s) as Map<number, unknown> | undefined;
      if (next === undefined) { next = new Map(); node.set(s, next); }
      node = next;
    }
    const last = m[m.length - 1] >= 0 ? seq[m[m.length - 1]] : 0;
    const id = node.get(last) as number | undefined;
    if (id !== undefined) return id;
    const v = this.compose(this.verdicts.length, m);
    this.verdicts.push(v);
    node.set(last, v.id);
    return v.id;
  }

  private compose(id: number, rules: Int32Array): Verdict {
    const st = this.store;
    const v: Verdict = {
      id, drop: false, output: [], flood: false, setVlan: -1, stripVlan: false, setDscp: -1, queue: -1, rateClass: -1, mirror: -1,
      rules: rules.slice(), slots: rules.filter((r) => r >= 0),
    };
    for (const r of rules) {
      if (r < 0) continue;
      const f = st.flags[r];
      if (f & DROP) v.drop = true;
      if (st.output[r] >= 0) { v.output = [...st.outputs[st.output[r]]]; v.flood = false; }
      if (f & FLOOD) { v.flood = true; v.output = []; }
      if (st.setVlan[r] >= 0) { v.setVlan = st.setVlan[r]; v.stripVlan = false; }
      if (f & STRIP_VLAN) { v.stripVlan = true; v.setVlan = -1; }
      if (st.setDscp[r] >= 0) v.setDscp = st.setDscp[r];
      if (st.queue[r] >= 0) v.queue = st.queue[r];
      if (st.rateClass[r] >= 0) v.rateClass = st.rateClass[r];
      if (st.mirror[r] >= 0) v.mirror = st.mirror[r];
    }
    return v;
  }
}

export type { Layer, RuleBatch, RuleView };
