// CompiledOutcomes: the switch's own outcome for a flow, compiled into its flow decision the
// first time one of its packets is switched step by step, so later packets skip learning,
// deciding and listing (the pipeline's fast path):
//   - dropped by the switch (which counter), or forwarded: the (destination port, egress tag
//     operation) pairs in order, the destination code that counts it, whether it was unknown
//     unicast or had no destination;
//   - the MAC table slot of its source address (refreshed on every hit instead of learning
//     again) and of the learned destination it was sent to (an expired one makes the switch
//     decide again, as a lookup would).
// It is the DecisionPart of its thread's FlowDecisions (flow/flow-decisions.ts): set() and
// addPair() write the words of the decision being built; the table interns them with the rest
// of the decision and hands them back here, decoded into columns indexed by decision id.

import { DecisionPart, FlowDecisions, growTo } from '../flow/flow-decisions.js';

/** Outcome kinds (0: none, the decision is partial). */
export const SW_DROP = 1;
export const SW_FORWARD = 2;
/** Outcome flags. */
export const SWF_UNKNOWN_UNICAST = 1;
export const SWF_NO_DESTINATION = 2;

// Words: kind, counter, flags, dest, srcSlot, dstSlot, then (port, op) per pair.
const HEAD = 6;

export class CompiledOutcomes implements DecisionPart {
  private cap = 64;
  /** SW_DROP / SW_FORWARD, the counter index that dropped it, flags, destination code. */
  kind = new Uint8Array(this.cap);
  counter = new Uint8Array(this.cap);
  flags = new Uint8Array(this.cap);
  dest = new Int32Array(this.cap);
  /** MAC table slot of the source address to refresh on a hit (-1: none). */
  srcSlot = new Int32Array(this.cap);
  /** MAC table slot of the learned destination the flow was sent to (-1: none). */
  dstSlot = new Int32Array(this.cap);
  /** Forwarding pairs: count and start in `pairs` (port, op interleaved). */
  pairN = new Int32Array(this.cap);
  pairAt = new Int32Array(this.cap);
  pairs = new Int32Array(256);
  private pairsUsed = 0;
  scratch = new Int32Array(64);
  size = 0;

  /** Compile into `decisions` from now on. */
  constructor(decisions: FlowDecisions) { decisions.attach(this); }

  clear(): void { this.size = 0; }
  reset(): void { this.pairsUsed = 0; }

  /** The outcome of the decision being built: kind, counter, flags, destination code, source and destination MAC slots. */
  set(kind: number, counter: number, flags: number, dest: number, srcSlot: number, dstSlot: number): void {
    const s = this.scratch;
    s[0] = kind; s[1] = counter; s[2] = flags; s[3] = dest; s[4] = srcSlot; s[5] = dstSlot;
    this.size = HEAD;
  }

  /** Append a forwarding pair (destination port, egress tag op; a negative op marks a mirror copy). */
  addPair(port: number, op: number): void {
    if (this.size + 2 > this.scratch.length) this.scratch = growTo(this.scratch, this.size + 2);
    this.scratch[this.size++] = port;
    this.scratch[this.size++] = op;
  }

  added(d: number, w: Int32Array, at: number, n: number): void {
    if (d >= this.cap) this.grow(d + 1);
    this.kind[d] = w[at]; this.counter[d] = w[at + 1]; this.flags[d] = w[at + 2]; this.dest[d] = w[at + 3];
    this.srcSlot[d] = w[at + 4]; this.dstSlot[d] = w[at + 5];
    const words = n - HEAD;
    if (this.pairsUsed + words > this.pairs.length) this.pairs = growTo(this.pairs, this.pairsUsed + words);
    this.pairs.set(w.subarray(at + HEAD, at + n), this.pairsUsed);
    this.pairN[d] = words >> 1; this.pairAt[d] = this.pairsUsed;
    this.pairsUsed += words;
  }

  private grow(need: number): void {
    let cap = this.cap;
    while (cap < need) cap *= 2;
    this.kind = growTo(this.kind, cap); this.counter = growTo(this.counter, cap); this.flags = growTo(this.flags, cap); this.dest = growTo(this.dest, cap);
    this.srcSlot = growTo(this.srcSlot, cap); this.dstSlot = growTo(this.dstSlot, cap); this.pairN = growTo(this.pairN, cap); this.pairAt = growTo(this.pairAt, cap);
    this.cap = cap;
  }
}
