// PairStore: the (value, mask) pairs of one layer's rules, as rows of typed arrays. A pair is
// the unit the classifier hashes (a rule with a port range has several). Its mask is its
// subtable's, so only the value is stored. Each pair sits on two chains: its bucket's (pairs
// with the same masked hash, best rule first) and its rule's (all pairs of one rule).
// Arrays grow by doubling; freed rows are reused. Nothing here allocates per pair.

import { KEY_WORDS } from './key.js';

export class PairStore<S> {
  capacity: number;
  /** Masked key words of pair p at [p*KEY_WORDS ..). */
  values: Uint32Array;
  /** Rule (slot) the pair belongs to. */
  rule: Int32Array;
  /** Masked hash: the pair's bucket in its subtable. */
  hash: Int32Array;
  /** Next pair in the same bucket (-1: last). */
  next: Int32Array;
  /** Next pair of the same rule (-1: last). */
  ruleNext: Int32Array;
  /** The pair's subtable. */
  readonly sub: (S | undefined)[] = [];
  private free: Int32Array;
  private top: number;

  constructor(capacity = 256) {
    this.capacity = capacity;
    this.values = new Uint32Array(capacity * KEY_WORDS);
    this.rule = new Int32Array(capacity);
    this.hash = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.ruleNext = new Int32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.top = capacity;
  }

  /** Pairs in use. */
  get used(): number { return this.capacity - this.top; }

  take(): number {
    if (this.top === 0) this.grow();
    return this.free[--this.top];
  }

  give(p: number): void {
    this.sub[p] = undefined;
    this.free[this.top++] = p;
  }

  private grow(): void {
    const old = this.capacity, cap = old * 2;
    const widen = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T, per = 1): T => { const b = make(cap * per); b.set(a); return b; };
    this.values = widen(this.values, (n) => new Uint32Array(n), KEY_WORDS);
    this.rule = widen(this.rule, (n) => new Int32Array(n));
    this.hash = widen(this.hash, (n) => new Int32Array(n));
    this.next = widen(this.next, (n) => new Int32Array(n));
    this.ruleNext = widen(this.ruleNext, (n) => new Int32Array(n));
    this.free = new Int32Array(cap);
    for (let i = 0; i < old; i++) this.free[i] = cap - 1 - i;
    this.top = old;
    this.capacity = cap;
  }
}
