// RuleStore: the installed rules of a RuleSet as columns indexed by counter slot — layer,
// priority, order added, visibility generations, actions — plus each rule's id and (on the
// thread that lists rules) its JSON text.
//
// Why columns: 100,000 rules as objects were ~20 heap objects and 1.7 KB each; the garbage
// collector traced and copied them while a change ran, and its pauses (20–70 ms) stopped
// forwarding. Here a rule is one row in typed arrays allocated once and one id string; its
// match pairs live in the classifier's pair store (pair-store.ts), its JSON text in a
// TextArena outside the heap (text-arena.ts).
//
// Slots: a free stack on the thread that validates changes; a replica (a datapath thread) puts
// each rule at the slot that thread gave it (rule-rows.ts), so every thread counts a rule at the
// same place. There are twice maxRules slots: a change adds its rules before the rules it
// deletes are gone, so replacing a full set fits.

import { CompiledRule, LAYERS, Layer, NEVER, RuleSpec } from './rule.js';
import { TextArena } from './text-arena.js';

export const DROP = 1, ALLOW = 2, FLOOD = 4, STRIP_VLAN = 8, COUNT = 16;

/** Slots a RuleSet of maxRules rules has (see above). */
export const slotsFor = (maxRules: number): number => 2 * maxRules;

/** An installed rule as the control plane lists it (built on demand, never on the data path). */
export interface RuleView { id: string; layer: Layer; priority: number; seq: number; slot: number; spec: RuleSpec | undefined }

export class RuleStore {
  readonly capacity: number;
  readonly ids: (string | undefined)[];
  /** Each rule's JSON text as given (null: this store keeps no texts, e.g. a datapath worker). */
  readonly texts: TextArena | null;
  readonly layer: Uint8Array;
  readonly priority: Int32Array;
  /** Order added: the earlier rule wins a priority tie. */
  readonly seq: Float64Array;
  /** Visible to a classifier at generation g when addGen <= g < delGen. */
  readonly addGen: Int32Array;
  readonly delGen: Int32Array;
  /** First of the rule's match pairs in its layer's pair store (chained by PairStore.ruleNext). */
  readonly firstPair: Int32Array;
  // Actions: flag bits above, -1 where a field is not set.
  readonly flags: Uint8Array;
  readonly setVlan: Int16Array;
  readonly setDscp: Int8Array;
  readonly queue: Int32Array;
  readonly rateClass: Int16Array;
  readonly mirror: Int32Array;
  /** Index of the rule's output port list in `outputs` (-1: none). */
  readonly output: Int32Array;
  /** Distinct output port lists, shared by the rules that name them. */
  readonly outputs: number[][] = [];
  private readonly outputRefs: number[] = [];
  private readonly outputIndex = new Map<string, number>();
  private readonly freeOutputs: number[] = [];
  private readonly free: Int32Array;
  private top: number;
  private readonly inUse: Uint8Array;
  private usedCount = 0;

  /** A replica's store: rules come at given slots (no free stack) and keep no texts. */
  readonly replica: boolean;

  constructor(capacity: number, replica: boolean) {
    this.replica = replica;
    this.capacity = capacity;
    this.ids = new Array<string | undefined>(capacity);
    this.texts = replica ? null : new TextArena(capacity);
    this.layer = new Uint8Array(capacity);
    this.priority = new Int32Array(capacity);
    this.seq = new Float64Array(capacity);
    this.addGen = new Int32Array(capacity);
    this.delGen = new Int32Array(capacity);
    this.firstPair = new Int32Array(capacity).fill(-1);
    this.flags = new Uint8Array(capacity);
    this.setVlan = new Int16Array(capacity);
    this.setDscp = new Int8Array(capacity);
    this.queue = new Int32Array(capacity);
    this.rateClass = new Int16Array(capacity);
    this.mirror = new Int32Array(capacity);
    this.output = new Int32Array(capacity).fill(-1);
    this.inUse = new Uint8Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.top = capacity;
  }

  /** Slots in use. */
  get used(): number { return this.usedCount; }

  /**
   * Write the rule into a free slot — the next of the free stack, or `at` (a replica's, given by
   * the thread that validated the change; a replica never uses the free stack) — invisible
   * until its addGen is reached.
   */
  take(c: CompiledRule, id: string | undefined, seq: number, addGen: number, at = -1): number {
    if (at < 0 && this.top === 0) throw new RangeError('rule store: no free slot');
    const s = at >= 0 ? at : this.free[--this.top];
    if (s >= this.capacity || this.inUse[s]) throw new Error(`rule store: slot ${s} is not free (replica diverged)`);
    this.inUse[s] = 1;
    this.usedCount++;
    this.ids[s] = id;
    this.layer[s] = c.layer;
    this.priority[s] = c.priority;
    this.seq[s] = seq;
    this.addGen[s] = addGen;
    this.delGen[s] = NEVER;
    const a = c.actions;
    this.flags[s] = (a.drop ? DROP : 0) | (a.allow ? ALLOW : 0) | (a.flood ? FLOOD : 0) | (a.stripVlan ? STRIP_VLAN : 0) | (a.count ? COUNT : 0);
    this.setVlan[s] = a.setVlan;
    this.setDscp[s] = a.setDscp;
    this.queue[s] = a.queue;
    this.rateClass[s] = a.rateClass;
    this.mirror[s] = a.mirror;
    this.output[s] = a.output.length ? this.internOutput(a.output) : -1;
    return s;
  }

  /** Empty a slot and give it back (slots come back in the reverse order of take for an undo). */
  give(s: number): void {
    this.inUse[s] = 0;
    this.usedCount--;
    this.ids[s] = undefined;
    this.texts?.drop(s);
    this.firstPair[s] = -1;
    if (this.output[s] >= 0) this.releaseOutput(this.output[s]);
    this.output[s] = -1;
    if (!this.replica) this.free[this.top++] = s;
  }

  view(s: number): RuleView {
    const text = this.texts?.text(s);
    const id = this.ids[s]!;
    return { id, layer: LAYERS[this.layer[s]], priority: this.priority[s], seq: this.seq[s], slot: s, spec: text === undefined ? undefined : { ...(JSON.parse(text) as RuleSpec), id } };
  }

  private internOutput(ports: number[]): number {
    const key = ports.join(',');
    let i = this.outputIndex.get(key);
    if (i === undefined) {
      i = this.freeOutputs.pop() ?? this.outputs.length;
      this.outputs[i] = [...ports];
      this.outputRefs[i] = 0;
      this.outputIndex.set(key, i);
    }
    this.outputRefs[i]++;
    return i;
  }

  private releaseOutput(i: number): void {
    if (--this.outputRefs[i] > 0) return;
    this.outputIndex.delete(this.outputs[i].join(','));
    this.freeOutputs.push(i);
  }
}
