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
import { BATCH_MAX } from '../../batch.js';
import { PacketPool } from '../../nic/pool.js';
import { FlowDecisions } from '../../flow/flow-decisions.js';
import { FlowKeys } from '../../wire/flow-key.js';
import { BoundExtension, KINDS } from './api.js';
import { CacheRecord } from './cache-record.js';
import { EgressView, IngressView, MIRRORS } from './views.js';
import { EXT_AT as AT, EXT_COUNTERS, EXT_NC as NC, ExtensionState, STATUS_FAILED_CLOSED, STATUS_FAILED_OPEN, STATUS_OK } from './state.js';
import { thrownText } from '../../quote.js';
export type { BoundExtension };
export { MIRRORS };

export interface StackOptions {
  /** Per-batch time budget of one extension, milliseconds. */
  budgetMs: number;
  /** Consecutive overruns that disable an extension. */
  overrunLimit: number;
  now?: () => number;
  /** Time every n-th call of each extension (1: every call). */
  timeEvery?: number;
  onFault?: (ext: number, message: string) => void;
  /** Where to note the extension whose hook runs (index + 1, 0 after): the watchdog names it. */
  hookWord?: { words: Int32Array; at: number };
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
  private readonly timeEvery: number;
  private version = -1;
  /** Extension indices in ingress order (enabled, not failed-open); egress is the reverse. */
  private order = new Int32Array(0);
  // Consecutive overruns per extension, ingress and egress hooks counted apart.
  private readonly overrunsIn: Int32Array;
  private readonly overrunsOut: Int32Array;
  // Calls per extension and direction, for sampling the clock.
  private readonly ticksIn: Int32Array;
  private readonly ticksOut: Int32Array;
  /** Any extension with an ingress / egress hook in the current order. */
  hasIngress = false;
  hasEgress = false;
  /** Mirror copies requested per batch position (see MIRRORS). */
  readonly mirrorCount: Int32Array;
  readonly mirrorPorts: Int32Array;
  /** Any flow-cacheable extension in the current order (the pipeline then runs the flow stage). */
  hasCacheable = false;
  /** Every running extension is cacheable (or has no hooks): a batch of plain cache hits needs no call at all. */
  onlyCacheable = false;

  /** What cacheable extensions decided for the flows that missed the cache (cache-record.ts). */
  readonly record: CacheRecord;
  /** Per batch position: alive on ingress (a copy of the pipeline's live marks, cleared as extensions drop). */
  private readonly alive = new Uint8Array(BATCH_MAX);
  private readonly hookWords: Int32Array;
  private readonly hookAt: number;
  // invoke() on the ingress / egress view, for the cache record (made once).
  private readonly callIngress: (e: number) => boolean;
  private readonly callEgress: (e: number) => boolean;
  private readonly viewPairs: (pos: Int32Array, port: Int32Array, gone: Uint8Array, pairs: number) => void;

  constructor(exts: BoundExtension[], state: ExtensionState, counters: CounterBlock<typeof EXT_COUNTERS>, pool: PacketPool, keys: FlowKeys,
    portCount: number, o: StackOptions) {
    this.exts = exts; this.state = state; this.counters = counters; this.o = o;
    this.c = counters.values;
    this.now = o.now ?? (() => performance.now());
    this.timeEvery = o.timeEvery ?? 4;
    this.hookWords = o.hookWord?.words ?? new Int32Array(1);
    this.hookAt = o.hookWord?.at ?? 0;
    const ne = Math.max(1, exts.length);
    this.overrunsIn = new Int32Array(ne); this.overrunsOut = new Int32Array(ne);
    this.ticksIn = new Int32Array(ne); this.ticksOut = new Int32Array(ne);
    this.ingressView = new IngressView(pool, keys, this.c, BATCH_MAX, portCount);
    this.egressView = new EgressView(pool, keys, this.c, BATCH_MAX * (portCount + 1), BATCH_MAX);
    this.mirrorCount = new Int32Array(BATCH_MAX);
    this.mirrorPorts = new Int32Array(BATCH_MAX * MIRRORS);
    for (const v of [this.ingressView, this.egressView]) { v.mirrorCount = this.mirrorCount; v.mirrorPorts = this.mirrorPorts; v.portCount = portCount; }
    this.record = new CacheRecord(this.c, portCount);
    this.callIngress = (e) => this.invoke(e, this.exts[e], this.ingressView, true);
    this.callEgress = (e) => this.invoke(e, this.exts[e], this.egressView, false);
    this.viewPairs = (pos, port, gone, pairs) => this.view(pos, port, gone, pairs);
  }

  /**
   * A batch whose every frame hit a plain cached decision, with only cacheable extensions
   * running: nothing to call or apply; count what each extension was spared.
   */
  plainBatch(frames: number, pairs: number): void {
    const order = this.order, c = this.c;
    for (let k = 0; k < order.length; k++) {
      const e = order[k];
      if (this.exts[e].cacheable) c[e * NC + AT.cacheHits] += frames + pairs;
    }
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
    this.hasCacheable = list.some((e) => this.exts[e].cacheable);
    this.onlyCacheable = list.every((e) => st.status(e) === STATUS_OK && (this.exts[e].cacheable || (this.exts[e].hooks.ingress === undefined && this.exts[e].hooks.egress === undefined)));
    return true;
  }

  /** Version of everything cached decisions depend on (the flow stage compares it). */
  get stateVersion(): number { return this.state.version; }

  /** Current ingress order, for reports and tests. */
  get ingressOrder(): readonly number[] { return [...this.order]; }

  // Run one hook over a view with fault isolation; false when the extension failed during it.
  // Time is read on every TIME_EVERY-th call of each extension (a clock read costs as much as
  // a small hook): an extension that keeps overrunning is still caught, a few calls later.
  private invoke(e: number, x: BoundExtension, v: IngressView | EgressView, ingress: boolean): boolean {
    const c = this.c, row = e * NC;
    const overruns = ingress ? this.overrunsIn : this.overrunsOut;
    const ticks = ingress ? this.ticksIn : this.ticksOut;
    c[row + AT.calls]++;
    c[row + AT.entries] += v.count;
    v.bind(e, x);
    const timed = ++ticks[e] % this.timeEvery === 0;
    const t0 = timed ? this.now() : 0;
    this.hookWords[this.hookAt] = e + 1;
    try {
      if (ingress) x.hooks.ingress!(v as IngressView); else x.hooks.egress!(v as EgressView);
    } catch (err) {
      this.hookWords[this.hookAt] = 0;
      c[row + AT.faults]++;
      this.fail(e, `threw ${thrownText(err)}`);
      return false;
    }
    this.hookWords[this.hookAt] = 0;
    if (!timed) return true;
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

  // The ingress view's live list: every alive position.
  private fill(n: number): void {
    const v = this.ingressView, alive = this.alive;
    let m = 0;
    for (let i = 0; i < n; i++) if (alive[i]) v.idx[m++] = i;
    v.count = m;
  }

  /**
   * Ingress over batch positions where live[i] is set; marks ingressView.dropped /
   * .modified / .destCount per position. `dec` holds each position's cached flow decision
   * (-1: a miss) when the flow stage ran: cacheable extensions are then applied from the
   * cache for hits and called only for misses, whose outcome is left in `record` for the
   * caller to cache. Returns how many entries were dropped.
   */
  ingress(handles: Int32Array, n: number, live: Uint8Array, dec: Int32Array | null, fd: FlowDecisions | null): number {
    const v = this.ingressView, alive = this.alive, rec = this.record;
    v.handles = handles;
    for (let i = 0; i < n; i++) { v.dropped[i] = 0; v.modified[i] = 0; v.destCount[i] = -1; alive[i] = live[i]; }
    rec.sortIngress(n, live, dec, fd);
    let dropped = 0;
    let dirty = true; // v.idx does not hold the full live list
    const order = this.order;
    for (let k = 0; k < order.length; k++) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed on another thread since the refresh
      if (st === STATUS_FAILED_CLOSED) { this.fill(n); dropped += this.dropAllIngress(e); dirty = true; continue; }
      if (x.cacheable && dec !== null && fd !== null) {
        dropped += rec.ingress(e, x, v, alive, dec, fd, this.callIngress);
        dirty = true;
        if (this.state.status(e) === STATUS_FAILED_CLOSED) { this.fill(n); dropped += this.dropAllIngress(e); }
        continue;
      }
      if (x.hooks.ingress === undefined) continue;
      if (dirty) { this.fill(n); dirty = false; }
      if (v.count === 0) break;
      const ok = this.invoke(e, x, v, true);
      for (let j = 0; j < v.count; j++) {
        const i = v.idx[j];
        if (v.dropped[i] && alive[i]) {
          alive[i] = 0; dropped++; rec.incomplete[i] = 1; dirty = true;
          if (dec !== null && dec[i] >= 0) rec.hitsAlive--;
        }
      }
      if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { this.fill(n); dropped += this.dropAllIngress(e); dirty = true; }
    }
    return dropped;
  }

  private dropAllIngress(e: number): number {
    const v = this.ingressView, m = v.count;
    for (let j = 0; j < m; j++) { const i = v.idx[j]; v.dropped[i] = 1; this.alive[i] = 0; this.record.incomplete[i] = 1; }
    this.c[e * NC + AT.droppedFailClosed] += m;
    v.count = 0;
    this.record.hitsAlive = 0;
    return m;
  }

  /**
   * Egress over `pairs` (packet position, destination port) pairs; sets pairGone for each
   * excluded pair. With `dec`, cacheable extensions exclude hits' pairs from the cached
   * decision and, for each miss still alive (alive[i]), are asked once about every port
   * (the answer is left in `record`). Returns how many pairs were excluded.
   */
  egress(handles: Int32Array, pairPos: Int32Array, pairPort: Int32Array, pairGone: Uint8Array, pairs: number, n: number,
    alive: Uint8Array, dec: Int32Array | null, fd: FlowDecisions | null): number {
    const v = this.egressView, rec = this.record;
    v.handles = handles;
    for (let i = 0; i < n; i++) v.modified[i] = 0;
    const cached = dec !== null && fd !== null && this.hasCacheable;
    if (cached) rec.sortEgress(n, alive, dec!, fd!, pairPos, pairs);
    let gone = 0;
    let dirty = true;
    const order = this.order;
    for (let k = order.length - 1; k >= 0; k--) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed earlier in this batch
      if (st === STATUS_FAILED_CLOSED) { gone += this.excludeAll(e, pairPos, pairPort, pairGone, pairs); dirty = true; continue; }
      if (x.cacheable && cached) {
        gone += rec.egress(e, x, v, pairPos, pairPort, pairGone, dec!, fd!, this.viewPairs, this.callEgress);
        dirty = true;
        continue;
      }
      if (x.hooks.egress === undefined) continue;
      if (dirty) { this.view(pairPos, pairPort, pairGone, pairs); dirty = false; }
      if (v.count === 0) continue;
      const before = v.count;
      const ok = this.invoke(e, x, v, false);
      v.compact();
      gone += before - v.count;
      if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { gone += this.excludeAll(e, pairPos, pairPort, pairGone, pairs); dirty = true; }
    }
    return gone;
  }

  private view(pos: Int32Array, port: Int32Array, goneArr: Uint8Array, pairs: number): void {
    const v = this.egressView;
    v.pairPos = pos; v.pairPort = port; v.pairGone = goneArr;
    v.count = 0;
    for (let p = 0; p < pairs; p++) if (!goneArr[p]) v.idx[v.count++] = p;
  }

  private excludeAll(e: number, pairPos: Int32Array, pairPort: Int32Array, pairGone: Uint8Array, pairs: number): number {
    this.view(pairPos, pairPort, pairGone, pairs);
    const v = this.egressView, m = v.count;
    for (let j = 0; j < m; j++) v.pairGone[v.idx[j]] = 1;
    this.c[e * NC + AT.droppedFailClosed] += m;
    v.count = 0;
    return m;
  }

  /** Is extension e currently being run (enabled and not failed)? */
  running(e: number): boolean { return this.state.enabled(e) && this.state.status(e) === STATUS_OK; }
}
