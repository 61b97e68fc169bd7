// FlowDecisions: what the flow cache stores per flow — a small integer naming a decision,
// interned here. A decision is a compiled per-flow action:
//   - the rule verdict (its id in the RuleSet);
//   - what the flow-cacheable extensions decided: which one dropped the flow (and why), the
//     destinations a cacheable forwarding extension chose, and per output port which
//     extension excluded it (and why);
//   - the outcome of the layer above, when known: an attached DecisionPart's words (the
//     switch's own outcome: vswitch/compiled-outcome.ts). This module does not read them; they
//     are part of the interning key, and the part decodes them when a decision is added.
// A decision without that outcome ("partial", complete[d] = 0) is replayed for the rules and
// extensions only; the switch then decides the packet itself (and may complete the decision).
// Decisions are shared by every flow that got the same one, so the table stays small; it
// starts over whenever anything a decision depends on changes (the flow stage compares the
// versions), and when it is full (`full`), so it is bounded.
//
// Building one: begin(rule), then any of setDrop / setDestinations / setExclusions (and the
// part's own setters), then finish() returns the interned id (or -1 when full). Interning
// hashes the decision's words and compares them: no string, no allocation (tables grow by
// doubling up to the limit, on flow-cache misses only). One per datapath thread.

/**
 * An outcome another layer compiles into each decision. While a decision is built, `size`
 * words of `scratch` (0: none, the decision stays partial) are appended to its key; when the
 * decision is new, added() decodes them from words[at .. at+n).
 */
export interface DecisionPart {
  readonly scratch: Int32Array;
  readonly size: number;
  /** A decision is begun: no words yet. */
  clear(): void;
  added(d: number, words: Int32Array, at: number, n: number): void;
  /** The decision table starts over. */
  reset(): void;
}

const NONE = -1;
/** Most decisions one table holds before it starts over. */
export const MAX_DECISIONS = 1 << 16;

// Serialized form (the interning key), in `words`:
//   rule, dropBy, dropReason, destN (-1: none), dest ports..., exclN, (port, by, reason)...,
//   partN, part words...

export class FlowDecisions {
  readonly ports: number;
  private readonly limit: number;
  private cap = 64;
  count = 0;
  /** Rule verdict id. */
  rule = new Int32Array(this.cap);
  /** Extension that dropped the flow on ingress (-1: none) and its reason slot. */
  dropBy = new Int16Array(this.cap);
  dropReason = new Int16Array(this.cap);
  /** 1 when the decision has no extension outcome at all (the common case: skip them all). */
  plain = new Uint8Array(this.cap);
  /** Destinations chosen by a cacheable forwarding extension: count (-1: none) and start in `words`. */
  destN = new Int32Array(this.cap);
  destAt = new Int32Array(this.cap);
  /** Exclusion row (-1: none): exclBy/exclReason[row * ports + p]. */
  exclRow = new Int32Array(this.cap);
  /** Per (row, port): 1 + the extension that excluded the port (0: none), and its reason slot. */
  exclBy: Uint8Array;
  exclReason: Uint8Array;
  private exclRows = 0;
  /** 1 when the decision carries the attached part's outcome (the switch's): not partial. */
  complete = new Uint8Array(this.cap);
  private part: DecisionPart | null = null;
  /** Serialized decisions (interning keys) and where each starts and how long it is. */
  private words = new Int32Array(1024);
  private wordsUsed = 0;
  private wordAt = new Int32Array(this.cap);
  private wordLen = new Int32Array(this.cap);
  private hashOf = new Int32Array(this.cap);
  // Open-addressed index: decision + 1 per slot (0: empty).
  private index = new Int32Array(256);
  // The decision being built.
  private s = new Int32Array(64);
  /** Decisions with no extension or switch outcome, by rule verdict id (-1: not made yet). */
  private ruleOnly = new Int32Array(64).fill(NONE);

  constructor(ports: number, limit = MAX_DECISIONS) {
    this.ports = ports;
    this.limit = limit;
    this.exclBy = new Uint8Array(16 * ports);
    this.exclReason = new Uint8Array(16 * ports);
  }

  /** Compile `part`'s outcome into every decision from now on (one part per table). */
  attach(part: DecisionPart): void { this.part = part; }

  /** The table reached its limit: the owner should start over (reset, with its cache). */
  get full(): boolean { return this.count >= this.limit; }

  reset(): void {
    this.count = 0;
    this.exclRows = 0;
    this.wordsUsed = 0;
    this.part?.reset();
    this.index.fill(0);
    this.ruleOnly.fill(NONE);
  }

  /** The decision "rule verdict `rule`, nothing else" (a partial decision), or -1 when full. */
  forRule(rule: number): number {
    if (rule >= this.ruleOnly.length) { const b = new Int32Array(Math.max(rule + 1, this.ruleOnly.length * 2)).fill(NONE); b.set(this.ruleOnly); this.ruleOnly = b; }
    let d = this.ruleOnly[rule];
    if (d === NONE) { this.begin(rule); d = this.finish(); if (d >= 0) this.ruleOnly[rule] = d; }
    return d;
  }

  // Scratch layout while building: fixed header, then the variable parts are appended.
  private dropByS = NONE; private dropReasonS = 0;
  private destS: Int32Array | null = null; private destOff = 0; private destNS = -1;
  private exclS: Uint8Array | null = null; private exclReasonS: Uint8Array | null = null; private exclOff = 0;
  private ruleS = 0;

  /** Start a decision for rule verdict `rule`. */
  begin(rule: number): void {
    this.ruleS = rule;
    this.dropByS = NONE; this.dropReasonS = 0;
    this.destS = null; this.destNS = -1;
    this.exclS = null; this.exclReasonS = null;
    this.part?.clear();
  }

  /** Start a decision with decision d's rule verdict and extension outcomes (not the part's). */
  beginFrom(d: number): void {
    this.begin(this.rule[d]);
    this.setDrop(this.dropBy[d], this.dropReason[d]);
    if (this.destN[d] >= 0) this.setDestinations(this.words, this.destAt[d], this.destN[d]);
    const row = this.exclRow[d];
    if (row >= 0) this.setExclusions(this.exclBy, this.exclReason, row * this.ports);
  }

  /** A cacheable extension dropped the flow on ingress. */
  setDrop(by: number, reason: number): void { this.dropByS = by; this.dropReasonS = reason; }

  /** A cacheable forwarding extension chose these destinations (ports[off .. off+n)). */
  setDestinations(ports: Int32Array, off: number, n: number): void { this.destS = ports; this.destOff = off; this.destNS = n; }

  /** Per-port exclusions by cacheable extensions: by[off + p] (1 + extension, 0: none), reason[off + p]. */
  setExclusions(by: Uint8Array, reason: Uint8Array, off: number): void {
    for (let p = 0; p < this.ports; p++) if (by[off + p] !== 0) { this.exclS = by; this.exclReasonS = reason; this.exclOff = off; return; }
  }

  /** Intern the decision built since begin(): its id, or -1 when the table is full. */
  finish(): number {
    // Serialize.
    const np = this.ports;
    const part = this.part, partN = part === null ? 0 : part.size;
    const need = 6 + Math.max(0, this.destNS) + 3 * np + partN;
    if (need > this.s.length) { let m = this.s.length; while (m < need) m *= 2; this.s = new Int32Array(m); }
    const s = this.s;
    let n = 0;
    s[n++] = this.ruleS; s[n++] = this.dropByS; s[n++] = this.dropReasonS; s[n++] = this.destNS;
    for (let j = 0; j < this.destNS; j++) s[n++] = this.destS![this.destOff + j];
    const exclAt = n++;
    let exclN = 0;
    if (this.exclS !== null) {
      for (let p = 0; p < np; p++) {
        const by = this.exclS[this.exclOff + p];
        if (by === 0) continue;
        s[n++] = p; s[n++] = by; s[n++] = this.exclReasonS![this.exclOff + p];
        exclN++;
      }
    }
    s[exclAt] = exclN;
    s[n++] = partN;
    for (let j = 0; j < partN; j++) s[n++] = part!.scratch[j];
    // Look it up.
    let hsh = 0x811c9dc5;
    for (let j = 0; j < n; j++) { hsh = Math.imul(hsh ^ s[j], 0x01000193); hsh ^= hsh >>> 15; }
    const mask = this.index.length - 1;
    for (let slot = hsh & mask; ; slot = (slot + 1) & mask) {
      const e = this.index[slot] - 1;
      if (e < 0) break;
      if (this.hashOf[e] !== hsh || this.wordLen[e] !== n) continue;
      const at = this.wordAt[e];
      let j = 0;
      while (j < n && this.words[at + j] === s[j]) j++;
      if (j === n) return e;
    }
    if (this.count >= this.limit) return NONE;
    return this.add(hsh, exclN, n, partN);
  }

  // Store the n serialized words in s as a new decision and decode its fields.
  private add(hsh: number, exclN: number, n: number, partN: number): number {
    if (this.count === this.cap) this.grow();
    const d = this.count++;
    const s = this.s, np = this.ports;
    // Keep the serialized words (for interning) ...
    if (this.wordsUsed + n > this.words.length) this.words = growTo(this.words, this.wordsUsed + n);
    this.words.set(s.subarray(0, n), this.wordsUsed);
    this.wordAt[d] = this.wordsUsed; this.wordLen[d] = n; this.hashOf[d] = hsh;
    this.wordsUsed += n;
    // ... and decode them into the fields the datapath reads.
    this.rule[d] = this.ruleS; this.dropBy[d] = this.dropByS; this.dropReason[d] = this.dropReasonS;
    this.destN[d] = this.destNS; this.destAt[d] = this.wordAt[d] + 4;
    if (exclN !== 0) {
      if ((this.exclRows + 1) * np > this.exclBy.length) { this.exclBy = growTo(this.exclBy, (this.exclRows + 1) * np); this.exclReason = growTo(this.exclReason, (this.exclRows + 1) * np); }
      const row = this.exclRows++, base = row * np;
      this.exclBy.fill(0, base, base + np); this.exclReason.fill(0, base, base + np);
      for (let p = 0; p < np; p++) { const by = this.exclS![this.exclOff + p]; this.exclBy[base + p] = by; this.exclReason[base + p] = by !== 0 ? this.exclReasonS![this.exclOff + p] : 0; }
      this.exclRow[d] = row;
    } else this.exclRow[d] = NONE;
    this.plain[d] = this.dropByS === NONE && this.destNS < 0 && exclN === 0 ? 1 : 0;
    this.complete[d] = partN !== 0 ? 1 : 0;
    if (partN !== 0) this.part!.added(d, this.words, this.wordAt[d] + n - partN, partN);
    // Index it (kept at most half full).
    if (this.count * 2 > this.index.length) this.rehash();
    else this.place(d);
    return d;
  }

  /** Destination q chosen by the cacheable forwarding extension for decision d. */
  dest(d: number, q: number): number { return this.words[this.destAt[d] + q]; }

  /** 1 + the extension that excluded port p for decision d (0: none). */
  excludedBy(d: number, p: number): number { const r = this.exclRow[d]; return r < 0 ? 0 : this.exclBy[r * this.ports + p]; }
  /** Reason slot of that exclusion. */
  excludedReason(d: number, p: number): number { const r = this.exclRow[d]; return r < 0 ? 0 : this.exclReason[r * this.ports + p]; }

  private place(d: number): void {
    const mask = this.index.length - 1;
    let slot = this.hashOf[d] & mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & mask;
    this.index[slot] = d + 1;
  }

  private rehash(): void {
    this.index = new Int32Array(this.index.length * 2);
    for (let d = 0; d < this.count; d++) this.place(d);
  }

  private grow(): void {
    const cap = this.cap * 2;
    this.rule = growTo(this.rule, cap); this.dropBy = growTo(this.dropBy, cap); this.dropReason = growTo(this.dropReason, cap);
    this.plain = growTo(this.plain, cap); this.destN = growTo(this.destN, cap); this.destAt = growTo(this.destAt, cap); this.exclRow = growTo(this.exclRow, cap);
    this.complete = growTo(this.complete, cap);
    this.wordAt = growTo(this.wordAt, cap); this.wordLen = growTo(this.wordLen, cap); this.hashOf = growTo(this.hashOf, cap);
    this.cap = cap;
  }
}

// A copy of a with room for at least n elements (doubling).
export function growTo<T extends Int32Array | Int16Array | Uint8Array>(a: T, n: number): T {
  let m = Math.max(16, a.length);
  while (m < n) m *= 2;
  const b = new (a.constructor as new (n: number) => T)(m);
  b.set(a);
  return b;
}
