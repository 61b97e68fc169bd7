// ExtensionStack: one datapath thread's bound extensions, run over each batch.
//
// Ingress (source port known): captures, then filters, then the forwarding extension, each
// in its configured position. Egress (one entry per packet and destination port): the
// reverse order. Each extension sees only the entries still alive; what it may do is checked
// against its kind (RIGHTS) on every call — a refused call is a counted violation with no
// effect. The stack owns no handles: it marks entries dropped/excluded and the pipeline
// accounts for every one.
//
// Fault isolation: a hook that throws, or that overruns the per-batch time budget
// `overrunLimit` times in a row, is marked failed in the shared ExtensionState (every thread
// stops calling it from its next batch) and reported through `onFault`. Fail-open: skipped
// from then on; what it already did to the batch in flight stands. Fail-closed: the batch in
// flight and every later one have all the entries it would have seen dropped
// (droppedFailClosed). Nothing is left unaccounted.

import { CounterBlock } from '../../counters.js';
import { PacketPool } from '../../nic/pool.js';
import { FlowKeys } from '../../wire/flow-key.js';
import { DatapathHooks, DropReason, EgressBatch, ExtensionKind, IngressBatch, KINDS, RIGHTS } from './api.js';
import { EXT_COUNTERS, ExtensionState, MAX_REASONS, REASON_BASE, STATUS_FAILED_CLOSED, STATUS_FAILED_OPEN, STATUS_OK } from './state.js';

export interface BoundExtension {
  name: string;
  kind: ExtensionKind;
  failClosed: boolean;
  cacheable: boolean;
  dropReasons: readonly string[];
  hooks: DatapathHooks;
}

export interface StackOptions {
  /** Per-batch time budget of one extension, milliseconds. */
  budgetMs: number;
  /** Consecutive overruns that disable an extension. */
  overrunLimit: number;
  now?: () => number;
  onFault?: (ext: number, message: string) => void;
}

const NC = EXT_COUNTERS.length;
const AT = Object.fromEntries(EXT_COUNTERS.map((n, i) => [n, i])) as Record<(typeof EXT_COUNTERS)[number], number>;

// Common state of the two views: which extension is running and its rights.
abstract class View {
  protected e = 0;
  protected kind: ExtensionKind = 'capture';
  protected reasons: readonly string[] = [];
  protected c: Float64Array;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  count = 0;
  constructor(pool: PacketPool, keys: FlowKeys, counters: Float64Array) { this.pool = pool; this.keys = keys; this.c = counters; }
  bind(e: number, x: BoundExtension): void { this.e = e; this.kind = x.kind; this.reasons = x.dropReasons; }
  protected violation(): void { this.c[this.e * NC + AT.violations]++; }
  protected reason(r: DropReason): void {
    const rs = this.reasons;
    let k = 0;
    while (k < rs.length && rs[k] !== r) k++;
    this.c[this.e * NC + REASON_BASE + (k < MAX_REASONS - 1 ? k : MAX_REASONS - 1)]++;
  }
}

class IngressView extends View implements IngressBatch {
  /** Batch positions of the live entries. */
  readonly idx = new Int32Array(64);
  handles: Int32Array = new Int32Array(0);
  readonly dropped: Uint8Array;
  readonly modified: Uint8Array;
  /** Destinations chosen by the forwarding extension: count per position (-1: none). */
  readonly destCount: Int32Array;
  readonly dest: Int32Array;
  private readonly portCount: number;

  constructor(pool: PacketPool, keys: FlowKeys, counters: Float64Array, batchMax: number, portCount: number) {
    super(pool, keys, counters);
    this.dropped = new Uint8Array(batchMax);
    this.modified = new Uint8Array(batchMax);
    this.destCount = new Int32Array(batchMax).fill(-1);
    this.dest = new Int32Array(batchMax * portCount);
    this.portCount = portCount;
  }
  handle(j: number): number { return this.handles[this.idx[j]]; }
  inPort(j: number): number { return this.keys.inPort[this.handles[this.idx[j]]]; }
  drop(j: number, reason: DropReason): void {
    if (!RIGHTS[this.kind].drop || j < 0 || j >= this.count) { this.violation(); return; }
    const i = this.idx[j];
    if (this.dropped[i]) return;
    this.dropped[i] = 1;
    this.c[this.e * NC + AT.dropped]++;
    this.reason(reason);
  }
  modify(j: number): boolean {
    if (!RIGHTS[this.kind].modify || j < 0 || j >= this.count) { this.violation(); return false; }
    this.modified[this.idx[j]] = 1;
    this.c[this.e * NC + AT.modified]++;
    return true;
  }
  setDestinations(j: number, ports: readonly number[]): void {
    if (!RIGHTS[this.kind].choose || j < 0 || j >= this.count || ports.length > this.portCount) { this.violation(); return; }
    const i = this.idx[j];
    for (let k = 0; k < ports.length; k++) {
      const p = ports[k];
      if (!Number.isInteger(p) || p < 0 || p >= this.portCount) { this.violation(); return; }
      this.dest[i * this.portCount + k] = p;
    }
    this.destCount[i] = ports.length;
    this.c[this.e * NC + AT.destinationsSet]++;
  }
  // Drop dropped entries from the live list.
  compact(): void {
    let m = 0;
    for (let j = 0; j < this.count; j++) if (!this.dropped[this.idx[j]]) this.idx[m++] = this.idx[j];
    this.count = m;
  }
}

class EgressView extends View implements EgressBatch {
  /** Entry j -> pair index. */
  idx: Int32Array;
  pairPos: Int32Array = new Int32Array(0);
  pairPort: Int32Array = new Int32Array(0);
  pairGone: Uint8Array = new Uint8Array(0);
  handles: Int32Array = new Int32Array(0);
  /** Set when an extension modified a packet (egress edits apply to all its copies). */
  readonly modified: Uint8Array;
  constructor(pool: PacketPool, keys: FlowKeys, counters: Float64Array, maxPairs: number, batchMax: number) {
    super(pool, keys, counters);
    this.idx = new Int32Array(maxPairs);
    this.modified = new Uint8Array(batchMax);
  }
  handle(j: number): number { return this.handles[this.pairPos[this.idx[j]]]; }
  inPort(j: number): number { return this.keys.inPort[this.handle(j)]; }
  outPort(j: number): number { return this.pairPort[this.idx[j]]; }
  exclude(j: number, reason: DropReason): void {
    if (!RIGHTS[this.kind].exclude || j < 0 || j >= this.count) { this.violation(); return; }
    const p = this.idx[j];
    if (this.pairGone[p]) return;
    this.pairGone[p] = 1;
    this.c[this.e * NC + AT.excluded]++;
    this.reason(reason);
  }
  modify(j: number): boolean {
    if (!RIGHTS[this.kind].modify || j < 0 || j >= this.count) { this.violation(); return false; }
    this.modified[this.pairPos[this.idx[j]]] = 1;
    this.c[this.e * NC + AT.modified]++;
    return true;
  }
  compact(): void {
    let m = 0;
    for (let j = 0; j < this.count; j++) if (!this.pairGone[this.idx[j]]) this.idx[m++] = this.idx[j];
    this.count = m;
  }
}

export class ExtensionStack {
  readonly exts: BoundExtension[];
  readonly state: ExtensionState;
  readonly counters: CounterBlock<typeof EXT_COUNTERS>;
  readonly ingressView: IngressView;
  readonly egressView: EgressView;
  private readonly o: StackOptions;
  private readonly c: Float64Array;
  private readonly now: () => number;
  private version = -1;
  /** Extension indices in ingress order (enabled, not failed-open); egress is the reverse. */
  private order = new Int32Array(0);
  // Consecutive overruns per extension, ingress and egress hooks counted apart.
  private readonly overrunsIn: Int32Array;
  private readonly overrunsOut: Int32Array;
  /** Any extension with an ingress / egress hook in the current order. */
  hasIngress = false;
  hasEgress = false;

  constructor(exts: BoundExtension[], state: ExtensionState, counters: CounterBlock<typeof EXT_COUNTERS>, pool: PacketPool, keys: FlowKeys,
    batchMax: number, portCount: number, o: StackOptions) {
    this.exts = exts; this.state = state; this.counters = counters; this.o = o;
    this.c = counters.values;
    this.now = o.now ?? (() => performance.now());
    this.overrunsIn = new Int32Array(Math.max(1, exts.length));
    this.overrunsOut = new Int32Array(Math.max(1, exts.length));
    this.ingressView = new IngressView(pool, keys, this.c, batchMax, portCount);
    this.egressView = new EgressView(pool, keys, this.c, batchMax * (portCount + 1), batchMax);
  }

  /** Pick up enable/disable/reorder/failure changes (cheap when nothing changed). */
  refresh(): boolean {
    const v = this.state.version;
    if (v === this.version) return false;
    this.version = v;
    const st = this.state;
    const list: number[] = [];
    for (let e = 0; e < this.exts.length; e++) if (st.enabled(e) && st.status(e) !== STATUS_FAILED_OPEN) list.push(e);
    list.sort((a, b) => KINDS.indexOf(this.exts[a].kind) - KINDS.indexOf(this.exts[b].kind) || st.position(a) - st.position(b) || a - b);
    this.order = Int32Array.from(list);
    this.hasIngress = list.some((e) => this.exts[e].hooks.ingress !== undefined || st.status(e) === STATUS_FAILED_CLOSED);
    this.hasEgress = list.some((e) => this.exts[e].hooks.egress !== undefined || st.status(e) === STATUS_FAILED_CLOSED);
    return true;
  }

  /** Current ingress order, for reports and tests. */
  get ingressOrder(): readonly number[] { return [...this.order]; }

  // Run one hook with fault isolation; false when the extension failed during it.
  private call(e: number, run: () => void, count: number, overruns: Int32Array): boolean {
    const c = this.c, row = e * NC;
    c[row + AT.calls]++;
    c[row + AT.entries] += count;
    const t0 = this.now();
    try {
      run();
    } catch (err) {
      c[row + AT.faults]++;
      this.fail(e, `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      return false;
    }
    const dt = this.now() - t0;
    if (dt > this.o.budgetMs) {
      c[row + AT.overruns]++;
      if (++overruns[e] >= this.o.overrunLimit) {
        c[row + AT.faults]++;
        this.fail(e, `took over its ${this.o.budgetMs} ms per-batch budget ${overruns[e]} batches in a row (last ${dt.toFixed(2)} ms)`);
        return false;
      }
    } else overruns[e] = 0;
    return true;
  }

  private fail(e: number, why: string): void {
    const x = this.exts[e];
    if (this.state.fail(e, x.failClosed ? STATUS_FAILED_CLOSED : STATUS_FAILED_OPEN)) this.o.onFault?.(e, `extension ${x.name} (${x.kind}) disabled, fail-${x.failClosed ? 'closed' : 'open'}: ${why}`);
  }

  /**
   * Ingress over batch positions where live[i] is set; marks ingressView.dropped /
   * .modified / .destCount per position. Returns how many entries extensions dropped.
   */
  ingress(handles: Int32Array, n: number, live: Uint8Array): number {
    const v = this.ingressView;
    v.handles = handles;
    v.count = 0;
    for (let i = 0; i < n; i++) {
      v.dropped[i] = 0; v.modified[i] = 0; v.destCount[i] = -1;
      if (live[i]) v.idx[v.count++] = i;
    }
    let dropped = 0;
    const order = this.order;
    for (let k = 0; k < order.length && v.count !== 0; k++) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed on another thread since the refresh
      if (st === STATUS_FAILED_CLOSED) { dropped += this.dropAllIngress(e); continue; }
      const hook = x.hooks.ingress;
      if (hook === undefined) continue;
      v.bind(e, x);
      const before = v.count;
      const ok = this.call(e, () => hook.call(x.hooks, v), before, this.overrunsIn);
      if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { v.compact(); dropped += this.dropAllIngress(e); continue; }
      v.compact();
      dropped += before - v.count;
    }
    return dropped;
  }

  private dropAllIngress(e: number): number {
    const v = this.ingressView, m = v.count;
    for (let j = 0; j < m; j++) v.dropped[v.idx[j]] = 1;
    this.c[e * NC + AT.droppedFailClosed] += m;
    v.count = 0;
    return m;
  }

  /**
   * Egress over `pairs` (packet position, destination port) pairs; sets pairGone for each
   * excluded pair. Returns how many pairs were excluded.
   */
  egress(handles: Int32Array, pairPos: Int32Array, pairPort: Int32Array, pairGone: Uint8Array, pairs: number, n: number): number {
    const v = this.egressView;
    v.handles = handles; v.pairPos = pairPos; v.pairPort = pairPort; v.pairGone = pairGone;
    v.count = 0;
    for (let i = 0; i < n; i++) v.modified[i] = 0;
    for (let p = 0; p < pairs; p++) if (!pairGone[p]) v.idx[v.count++] = p;
    let gone = 0;
    const order = this.order;
    for (let k = order.length - 1; k >= 0 && v.count !== 0; k--) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed earlier in this batch
      if (st === STATUS_FAILED_CLOSED) { gone += this.excludeAll(e); continue; }
      const hook = x.hooks.egress;
      if (hook === undefined) continue;
      v.bind(e, x);
      const before = v.count;
      const ok = this.call(e, () => hook.call(x.hooks, v), before, this.overrunsOut);
      v.compact();
      if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { gone += before - v.count; gone += this.excludeAll(e); continue; }
      gone += before - v.count;
    }
    return gone;
  }

  private excludeAll(e: number): number {
    const v = this.egressView, m = v.count;
    for (let j = 0; j < m; j++) v.pairGone[v.idx[j]] = 1;
    this.c[e * NC + AT.droppedFailClosed] += m;
    v.count = 0;
    return m;
  }

  /** Is extension e currently being run (enabled and not failed)? */
  running(e: number): boolean { return this.state.enabled(e) && this.state.status(e) === STATUS_OK; }
}
