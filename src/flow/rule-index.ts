// RuleIndex: rule slots by id, and installed rules in the order they were added — over typed
// arrays, so neither an index insertion nor a removal ever rehashes or copies the whole index
// (a Map of 131,072 ids stalled its thread 10 ms when it doubled; see linear-hash.ts).
//
// By id: every slot that carries an id — installed, being added or being deleted — so one id
// may have two slots while a change replaces a rule. RuleSet tells them apart by their
// visibility generations. In order: installed rules only, for listing in pages.

import { LinearHash, stringHash } from './linear-hash.js';

export class RuleIndex {
  private readonly ids: (string | undefined)[];
  private readonly byId = new LinearHash(4);
  private readonly idNext: Int32Array;
  private readonly idHash: Int32Array;
  private readonly orderNext: Int32Array;
  private readonly orderPrev: Int32Array;
  private head = -1;
  private tail = -1;

  /** `ids`: the store's id column (read only here). */
  constructor(capacity: number, ids: (string | undefined)[]) {
    this.ids = ids;
    this.idNext = new Int32Array(capacity).fill(-1);
    this.idHash = new Int32Array(capacity);
    this.orderNext = new Int32Array(capacity).fill(-1);
    this.orderPrev = new Int32Array(capacity).fill(-1);
  }

  /** Index slot s under its id. */
  addId(s: number): void {
    const h = stringHash(this.ids[s]!);
    const b = this.byId.bucket(h);
    this.idHash[s] = h;
    this.idNext[s] = this.byId.heads[b];
    this.byId.heads[b] = s;
    this.byId.added(this.idNext, this.idHash);
  }

  removeId(s: number): void {
    const b = this.byId.bucket(this.idHash[s]);
    let prev = -1, at = this.byId.heads[b];
    while (at >= 0 && at !== s) { prev = at; at = this.idNext[at]; }
    if (at < 0) return;
    if (prev >= 0) this.idNext[prev] = this.idNext[s]; else this.byId.heads[b] = this.idNext[s];
    this.idNext[s] = -1;
    this.byId.removed();
  }

  /** Slots carrying this id, for which `want` holds; the first such, or -1. */
  find(id: string, want: (s: number) => boolean): number {
    const h = stringHash(id);
    for (let s = this.byId.heads[this.byId.bucket(h)]; s >= 0; s = this.idNext[s]) if (this.idHash[s] === h && this.ids[s] === id && want(s)) return s;
    return -1;
  }

  /** Slot s is installed: last in the order added. */
  append(s: number): void {
    this.orderPrev[s] = this.tail;
    this.orderNext[s] = -1;
    if (this.tail >= 0) this.orderNext[this.tail] = s; else this.head = s;
    this.tail = s;
  }

  /** Slot s is no longer installed. */
  unlist(s: number): void {
    const p = this.orderPrev[s], n = this.orderNext[s];
    if (p >= 0) this.orderNext[p] = n; else if (this.head === s) this.head = n; else return;
    if (n >= 0) this.orderPrev[n] = p; else this.tail = p;
    this.orderNext[s] = -1;
    this.orderPrev[s] = -1;
  }

  /** Installed slots in the order added, from `offset`, at most `limit`. */
  page(offset: number, limit: number): number[] {
    const out: number[] = [];
    let s = this.head;
    for (let i = 0; s >= 0 && i < offset; i++) s = this.orderNext[s];
    for (; s >= 0 && out.length < limit; s = this.orderNext[s]) out.push(s);
    return out;
  }
}
