// FlowDecisions: what the flow cache stores per flow — a small integer naming a decision,
// interned here. A decision is the rule verdict plus what the flow-cacheable extensions
// decided for the flow: which one dropped it (and why), the destinations a cacheable
// forwarding extension chose, and per output port which extension excluded it (and why).
// Decisions are shared by every flow that got the same one (most flows: "rule verdict v,
// nothing else"), so the table stays small; it starts over whenever the rules or the
// extensions change (the cache generation moves with them).
// One per datapath thread. Interning allocates (a string key) — on flow-cache misses only.

const NONE = -1;

export class FlowDecisions {
  readonly ports: number;
  private cap = 64;
  count = 0;
  /** Rule verdict id. */
  rule = new Int32Array(this.cap);
  /** Extension that dropped the flow on ingress (-1: none) and its reason slot. */
  dropBy = new Int16Array(this.cap);
  dropReason = new Int16Array(this.cap);
  /** Destinations chosen by a cacheable forwarding extension (null: none). */
  dest: (Int32Array | null)[] = [];
  /** 1 when the decision has no extension outcome at all (the common case: skip them all). */
  plain = new Uint8Array(this.cap);
  /** Per (decision, port): 1 + the extension that excluded the port (0: none), and its reason slot. */
  exclBy: Uint8Array;
  exclReason: Uint8Array;
  /** Decisions with no extension outcome, by rule verdict id (-1: not made yet). */
  private ruleOnly = new Int32Array(64).fill(NONE);
  private readonly intern = new Map<string, number>();

  constructor(ports: number) {
    this.ports = ports;
    this.exclBy = new Uint8Array(this.cap * ports);
    this.exclReason = new Uint8Array(this.cap * ports);
  }

  reset(): void {
    this.count = 0;
    this.dest.length = 0;
    this.ruleOnly.fill(NONE);
    this.intern.clear();
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <T extends Int32Array | Int16Array | Uint8Array>(a: T, n: number): T => { const b = new (a.constructor as new (n: number) => T)(n); b.set(a); return b; };
    this.rule = g(this.rule, cap); this.dropBy = g(this.dropBy, cap); this.dropReason = g(this.dropReason, cap); this.plain = g(this.plain, cap);
    this.exclBy = g(this.exclBy, cap * this.ports); this.exclReason = g(this.exclReason, cap * this.ports);
    this.cap = cap;
  }

  private add(rule: number, dropBy: number, dropReason: number, dest: Int32Array | null, exclBy: Uint8Array | null, exclReason: Uint8Array | null, off: number): number {
    if (this.count === this.cap) this.grow();
    const d = this.count++;
    this.rule[d] = rule; this.dropBy[d] = dropBy; this.dropReason[d] = dropReason;
    this.dest[d] = dest;
    const np = this.ports, base = d * np;
    let any = dropBy !== NONE || dest !== null;
    for (let p = 0; p < np; p++) {
      const by = exclBy ? exclBy[off + p] : 0;
      this.exclBy[base + p] = by; this.exclReason[base + p] = exclReason ? exclReason[off + p] : 0;
      if (by !== 0) any = true;
    }
    this.plain[d] = any ? 0 : 1;
    return d;
  }

  /** The decision "rule verdict `rule`, no extension outcome". */
  forRule(rule: number): number {
    if (rule >= this.ruleOnly.length) { const b = new Int32Array(Math.max(rule + 1, this.ruleOnly.length * 2)).fill(NONE); b.set(this.ruleOnly); this.ruleOnly = b; }
    let d = this.ruleOnly[rule];
    if (d === NONE) { d = this.add(rule, NONE, 0, null, null, null, 0); this.ruleOnly[rule] = d; }
    return d;
  }

  /** Intern a full decision; exclusion rows are read at exclBy/exclReason[off .. off+ports). */
  get(rule: number, dropBy: number, dropReason: number, dest: Int32Array | null, destN: number, exclBy: Uint8Array, exclReason: Uint8Array, off: number): number {
    let anyExcl = false;
    for (let p = 0; p < this.ports; p++) if (exclBy[off + p] !== 0) { anyExcl = true; break; }
    if (dropBy === NONE && destN < 0 && !anyExcl) return this.forRule(rule);
    let key = `${rule}|${dropBy}|${dropReason}|`;
    if (destN >= 0) for (let j = 0; j < destN; j++) key += `${dest![j]},`;
    else key += '-';
    key += '|';
    if (anyExcl) for (let p = 0; p < this.ports; p++) key += `${exclBy[off + p]}.${exclReason[off + p]},`;
    let d = this.intern.get(key);
    if (d === undefined) {
      d = this.add(rule, dropBy, dropReason, destN >= 0 ? dest!.slice(0, destN) : null, exclBy, exclReason, off);
      this.intern.set(key, d);
    }
    return d;
  }
}
