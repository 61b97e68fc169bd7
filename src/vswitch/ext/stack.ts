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
import { DatapathHooks, DropReason, EgressBatch, ExtensionKind, IngressBatch, KINDS, RIGHTS } from './api.js';
import { EXT_COUNTERS, ExtensionState, MAX_REASONS, REASON_BASE, STATUS_FAILED_CLOSED, STATUS_FAILED_OPEN, STATUS_OK } from './state.js';
import { thrownText } from '../../quote.js';

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
  /** Time every n-th call of each extension (1: every call). */
  timeEvery?: number;
  onFault?: (ext: number, message: string) => void;
  /** Where to note the extension whose hook runs (index + 1, 0 after): the watchdog names it. */
  hookWord?: { words: Int32Array; at: number };
}

const NC = EXT_COUNTERS.length;
const AT = Object.fromEntries(EXT_COUNTERS.map((n, i) => [n, i])) as Record<(typeof EXT_COUNTERS)[number], number>;

// Common state of the two views: which extension is running and its rights.
/** Mirror copies one packet may be given per batch. */
export const MIRRORS = 4;

abstract class View {
  protected e = 0;
  protected kind: ExtensionKind = 'capture';
  protected cacheable = false;
  protected reasons: readonly string[] = [];
  /** Reason slot of the last drop/exclusion, per entry target (position or pair). */
  readonly lastReason: Uint8Array;
  protected c: Float64Array;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  count = 0;
  constructor(pool: PacketPool, keys: FlowKeys, counters: Float64Array, targets: number) { this.pool = pool; this.keys = keys; this.c = counters; this.lastReason = new Uint8Array(targets); }
  bind(e: number, x: BoundExtension): void { this.e = e; this.kind = x.kind; this.reasons = x.dropReasons; this.cacheable = x.cacheable; }
  protected violation(): void { this.c[this.e * NC + AT.violations]++; }
  /** Mirror ports per batch position (shared by both views): count and up to MIRRORS ports. */
  mirrorCount: Int32Array = new Int32Array(0);
  mirrorPorts: Int32Array = new Int32Array(0);
  portCount = 0;
  protected addMirror(i: number, port: number): boolean {
    if (!Number.isInteger(port) || port < 0 || port >= this.portCount) { this.violation(); return false; }
    const n = this.mirrorCount[i];
    for (let k = 0; k < n; k++) if (this.mirrorPorts[i * MIRRORS + k] === port) return true;
    if (n === MIRRORS) return false;
    this.mirrorPorts[i * MIRRORS + n] = port;
    this.mirrorCount[i] = n + 1;
    this.c[this.e * NC + AT.originated]++;
    return true;
  }
  protected reason(r: DropReason, target: number): void {
    const rs = this.reasons;
    let k = 0;
    while (k < rs.length && rs[k] !== r) k++;
    const slot = k < MAX_REASONS - 1 ? k : MAX_REASONS - 1;
    this.lastReason[target] = slot;
    this.c[this.e * NC + REASON_BASE + slot]++;
  }
}

class IngressView extends View implements IngressBatch {
  /** Batch positions of the live entries. */
  readonly idx = new Int32Array(BATCH_MAX);
  handles: Int32Array = new Int32Array(0);
  readonly dropped: Uint8Array;
  readonly modified: Uint8Array;
  /** Destinations chosen by the forwarding extension: count per position (-1: none). */
  readonly destCount: Int32Array;
  readonly dest: Int32Array;

  constructor(pool: PacketPool, keys: FlowKeys, counters: Float64Array, batchMax: number, portCount: number) {
    super(pool, keys, counters, batchMax);
    this.dropped = new Uint8Array(batchMax);
    this.modified = new Uint8Array(batchMax);
    this.destCount = new Int32Array(batchMax).fill(-1);
    this.dest = new Int32Array(batchMax * portCount);
    this.portCount = portCount;
  }
  handle(j: number): number { return this.handles[this.idx[j]]; }
  inPort(j: number): number { return this.keys.inPort[this.handles[this.idx[j]]]; }
  /** Set by the pipeline: the VLAN per position and a MAC table lookup. */
  vlans: Int32Array = new Int32Array(BATCH_MAX);
  macLookup: ((vlan: number, h: number) => number) | null = null;
  vlan(j: number): number { return this.vlans[this.idx[j]]; }
  knownDestination(j: number): boolean {
    const h = this.handles[this.idx[j]];
    if ((this.keys.dstMacHi[h] & 0x100) !== 0 || this.macLookup === null) return false;
    return this.macLookup(this.vlans[this.idx[j]], h) >= 0;
  }
  mirror(j: number, port: number): boolean {
    // A flow-cacheable extension is not called for later packets of the flow: a copy it asked
    // for would be made of the first packet only. Refused, like modify.
    if (this.cacheable || j < 0 || j >= this.count) { this.violation(); return false; }
    return this.addMirror(this.idx[j], port);
  }
  drop(j: number, reason: DropReason): void {
    if (!RIGHTS[this.kind].drop || j < 0 || j >= this.count) { this.violation(); return; }
    const i = this.idx[j];
    if (this.dropped[i]) return;
    this.dropped[i] = 1;
    this.c[this.e * NC + AT.dropped]++;
    this.reason(reason, i);
  }
  modify(j: number): boolean {
    // A flow-cacheable extension's decisions are replayed from the cache: it cannot edit bytes.
    if (!RIGHTS[this.kind].modify || this.cacheable || j < 0 || j >= this.count) { this.violation(); return false; }
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
    super(pool, keys, counters, maxPairs);
    this.idx = new Int32Array(maxPairs);
    this.modified = new Uint8Array(batchMax);
  }
  handle(j: number): number { return this.handles[this.pairPos[this.idx[j]]]; }
  inPort(j: number): number { return this.keys.inPort[this.handle(j)]; }
  outPort(j: number): number { return this.pairPort[this.idx[j]]; }
  /** Egress copies are taken only from real pairs, not from a cacheable extension's survey of every port. */
  synthetic = false;
  mirror(j: number, port: number): boolean {
    if (this.cacheable || j < 0 || j >= this.count) { this.violation(); return false; }
    if (this.synthetic) return false;
    return this.addMirror(this.pairPos[this.idx[j]], port);
  }
  exclude(j: number, reason: DropReason): void {
    if (!RIGHTS[this.kind].exclude || j < 0 || j >= this.count) { this.violation(); return; }
    const p = this.idx[j];
    if (this.pairGone[p]) return;
    this.pairGone[p] = 1;
    this.c[this.e * NC + AT.excluded]++;
    this.reason(reason, p);
  }
  modify(j: number): boolean {
    if (!RIGHTS[this.kind].modify || this.cacheable || j < 0 || j >= this.count) { this.violation(); return false; }
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
  private readonly np: number;
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

  /**
   * A batch whose every frame hit a plain cached decision, with only cacheable extensions
   * running: nothing to call or apply; count what each extension was spared.
   */
  plainBatch(frames: number, pairs: number): void {
    const order = this.order, c = this.c;
    for (let k = 0; k < order.length; k++) {
      const e = order[k], x = this.exts[e];
      if (!x.cacheable) continue;
      c[e * NC + AT.cacheHits] += frames + pairs;
    }
  }

  // Per batch position, for flows that missed the cache: what the cacheable extensions decided.
  private alive: Uint8Array;
  readonly pendDropBy: Int16Array;
  readonly pendDropReason: Int16Array;
  /** A non-cacheable extension dropped the packet before every cacheable one saw it. */
  readonly incomplete: Uint8Array;
  /** The destinations in ingressView.dest were chosen by a cacheable forwarding extension. */
  readonly pendDest: Uint8Array;
  readonly pendExclBy: Uint8Array;
  readonly pendExclReason: Uint8Array;
  // Synthetic (position, every port) pairs a cacheable egress hook is asked about on a miss.
  private readonly synPos: Int32Array;
  private readonly synPort: Int32Array;
  private readonly synGone: Uint8Array;

  private readonly hookWords: Int32Array;
  private readonly hookAt: number;

  constructor(exts: BoundExtension[], state: ExtensionState, counters: CounterBlock<typeof EXT_COUNTERS>, pool: PacketPool, keys: FlowKeys,
    batchMax: number, portCount: number, o: StackOptions) {
    this.exts = exts; this.state = state; this.counters = counters; this.o = o;
    this.c = counters.values;
    this.np = portCount;
    this.now = o.now ?? (() => performance.now());
    this.timeEvery = o.timeEvery ?? 4;
    this.hookWords = o.hookWord?.words ?? new Int32Array(1);
    this.hookAt = o.hookWord?.at ?? 0;
    this.overrunsIn = new Int32Array(Math.max(1, exts.length));
    this.overrunsOut = new Int32Array(Math.max(1, exts.length));
    this.ticksIn = new Int32Array(Math.max(1, exts.length));
    this.ticksOut = new Int32Array(Math.max(1, exts.length));
    this.ingressView = new IngressView(pool, keys, this.c, batchMax, portCount);
    this.egressView = new EgressView(pool, keys, this.c, batchMax * (portCount + 1), batchMax);
    this.mirrorCount = new Int32Array(batchMax);
    this.mirrorPorts = new Int32Array(batchMax * MIRRORS);
    for (const v of [this.ingressView, this.egressView]) { v.mirrorCount = this.mirrorCount; v.mirrorPorts = this.mirrorPorts; v.portCount = portCount; }
    this.alive = new Uint8Array(batchMax);
    this.pendDropBy = new Int16Array(batchMax);
    this.pendDropReason = new Int16Array(batchMax);
    this.incomplete = new Uint8Array(batchMax);
    this.pendDest = new Uint8Array(batchMax);
    this.pendExclBy = new Uint8Array(batchMax * portCount);
    this.pendExclReason = new Uint8Array(batchMax * portCount);
    this.synPos = new Int32Array(batchMax * portCount);
    this.synPort = new Int32Array(batchMax * portCount);
    this.synGone = new Uint8Array(batchMax * portCount);
    this.pairSpecial = new Int32Array(batchMax * (portCount + 1));
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

  // Positions of this batch, sorted once: misses of the flow cache, hits whose decision has an
  // extension outcome ("special"); plain hits need nothing from cacheable extensions.
  private readonly misses = new Int32Array(BATCH_MAX);
  private readonly special = new Int32Array(BATCH_MAX);
  private nMiss = 0;
  private nSpecial = 0;
  private hitsAlive = 0;

  // The ingress view's live list: every alive position, or only alive misses.
  private fill(n: number, onlyMisses: boolean): void {
    const v = this.ingressView, alive = this.alive;
    let m = 0;
    if (onlyMisses) { for (let j = 0; j < this.nMiss; j++) { const i = this.misses[j]; if (alive[i]) v.idx[m++] = i; } } else { for (let i = 0; i < n; i++) if (alive[i]) v.idx[m++] = i; }
    v.count = m;
  }

  /**
   * Ingress over batch positions where live[i] is set; marks ingressView.dropped /
   * .modified / .destCount per position. `dec` holds each position's cached flow decision
   * (-1: a miss) when the flow stage ran: cacheable extensions are then applied from the
   * cache for hits (nothing to do for plain decisions) and called only for misses, whose
   * outcome is left in pendDropBy / pendDropReason / pendDest for the caller to cache.
   * Returns how many entries were dropped.
   */
  ingress(handles: Int32Array, n: number, live: Uint8Array, dec: Int32Array | null, fd: FlowDecisions | null): number {
    const v = this.ingressView, alive = this.alive, np = this.np, c = this.c;
    v.handles = handles;
    this.nMiss = 0; this.nSpecial = 0; this.hitsAlive = 0;
    for (let i = 0; i < n; i++) {
      v.dropped[i] = 0; v.modified[i] = 0; v.destCount[i] = -1;
      alive[i] = live[i];
      this.pendDropBy[i] = -1; this.pendDropReason[i] = 0; this.incomplete[i] = 0; this.pendDest[i] = 0;
      if (dec === null || !live[i]) continue;
      const d = dec[i];
      if (d < 0) this.misses[this.nMiss++] = i;
      else { this.hitsAlive++; if (!fd!.plain[d]) this.special[this.nSpecial++] = i; }
    }
    let dropped = 0;
    let dirty = true; // v.idx does not hold the full live list
    const order = this.order;
    for (let k = 0; k < order.length; k++) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed on another thread since the refresh
      if (st === STATUS_FAILED_CLOSED) { this.fill(n, false); dropped += this.dropAllIngress(e); dirty = true; continue; }
      const hook = x.hooks.ingress;
      if (x.cacheable && dec !== null && fd !== null) {
        // Hits: the flow's cached outcome for this extension, no call.
        c[e * NC + AT.cacheHits] += this.hitsAlive;
        for (let j = 0; j < this.nSpecial; j++) {
          const i = this.special[j], d = dec[i];
          if (!alive[i]) continue;
          if (fd.dropBy[d] === e) {
            v.dropped[i] = 1; alive[i] = 0; dropped++; this.hitsAlive--; dirty = true;
            c[e * NC + AT.dropped]++;
            c[e * NC + REASON_BASE + fd.dropReason[d]]++;
          } else if (x.kind === 'forward') {
            const dn = fd.destN[d];
            if (dn >= 0) { for (let q = 0; q < dn; q++) v.dest[i * np + q] = fd.dest(d, q); v.destCount[i] = dn; }
          }
        }
        // Misses: call it on them and remember what it decided.
        if (hook === undefined || this.nMiss === 0) continue;
        this.fill(n, true);
        dirty = true;
        if (v.count === 0) continue;
        const ok = this.invoke(e, x, v, true);
        for (let j = 0; j < v.count; j++) {
          const i = v.idx[j];
          if (v.dropped[i] && alive[i]) { alive[i] = 0; dropped++; this.pendDropBy[i] = e; this.pendDropReason[i] = v.lastReason[i]; }
          else if (x.kind === 'forward' && v.destCount[i] >= 0) this.pendDest[i] = 1;
        }
        if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { this.fill(n, false); dropped += this.dropAllIngress(e); }
        continue;
      }
      if (hook === undefined) continue;
      if (dirty) { this.fill(n, false); dirty = false; }
      if (v.count === 0) break;
      const ok = this.invoke(e, x, v, true);
      for (let j = 0; j < v.count; j++) {
        const i = v.idx[j];
        if (v.dropped[i] && alive[i]) {
          alive[i] = 0; dropped++; this.incomplete[i] = 1; dirty = true;
          if (dec !== null && dec[i] >= 0) this.hitsAlive--;
        }
      }
      if (!ok && this.state.status(e) === STATUS_FAILED_CLOSED) { this.fill(n, false); dropped += this.dropAllIngress(e); dirty = true; }
    }
    return dropped;
  }

  private dropAllIngress(e: number): number {
    const v = this.ingressView, m = v.count;
    for (let j = 0; j < m; j++) { const i = v.idx[j]; v.dropped[i] = 1; this.alive[i] = 0; this.incomplete[i] = 1; }
    this.c[e * NC + AT.droppedFailClosed] += m;
    v.count = 0;
    this.hitsAlive = 0;
    return m;
  }

  // Real pairs whose frame is a miss or a special hit: the only ones cacheable extensions touch.
  private readonly pairSpecial: Int32Array;

  /**
   * Egress over `pairs` (packet position, destination port) pairs; sets pairGone for each
   * excluded pair. With `dec`, cacheable extensions exclude hits' pairs from the cached
   * decision and, for each miss still alive (alive[i]), are asked once about every port;
   * the answer is left in pendExclBy/pendExclReason (1 + extension per position and port).
   * Returns how many pairs were excluded.
   */
  egress(handles: Int32Array, pairPos: Int32Array, pairPort: Int32Array, pairGone: Uint8Array, pairs: number, n: number,
    alive: Uint8Array, dec: Int32Array | null, fd: FlowDecisions | null): number {
    const v = this.egressView, np = this.np, c = this.c;
    v.handles = handles;
    for (let i = 0; i < n; i++) v.modified[i] = 0;
    let syn = 0, nSpecial = 0, plainPairs = 0;
    const cached = dec !== null && fd !== null && this.hasCacheable;
    if (cached) {
      for (let i = 0; i < n; i++) {
        if (dec![i] >= 0 || !alive[i]) continue;
        const base = i * np;
        for (let p = 0; p < np; p++) { this.pendExclBy[base + p] = 0; this.pendExclReason[base + p] = 0; this.synPos[syn] = i; this.synPort[syn] = p; this.synGone[syn] = 0; syn++; }
      }
      for (let q = 0; q < pairs; q++) {
        const d = dec![pairPos[q]];
        if (d < 0 || !fd!.plain[d]) this.pairSpecial[nSpecial++] = q; else plainPairs++;
      }
    }
    let gone = 0;
    let dirty = true;
    const order = this.order;
    for (let k = order.length - 1; k >= 0; k--) {
      const e = order[k], x = this.exts[e];
      const st = this.state.status(e);
      if (st === STATUS_FAILED_OPEN) continue; // failed earlier in this batch
      if (st === STATUS_FAILED_CLOSED) { gone += this.excludeAll(e, pairPos, pairPort, pairGone, pairs); dirty = true; continue; }
      const hook = x.hooks.egress;
      if (x.cacheable && cached) {
        c[e * NC + AT.cacheHits] += plainPairs;
        // Misses first: ask about every port, remember the answer.
        if (hook !== undefined && syn !== 0) {
          this.view(this.synPos, this.synPort, this.synGone, syn);
          dirty = true;
          if (v.count !== 0) {
            const before = c[e * NC + AT.excluded];
            v.synthetic = true;
            this.invoke(e, x, v, false);
            v.synthetic = false;
            c[e * NC + AT.excluded] = before; // counted below, on the real pairs
            for (let q = 0; q < syn; q++) {
              if (!this.synGone[q]) continue;
              const t = this.synPos[q] * np + this.synPort[q];
              if (this.pendExclBy[t] === 0) { this.pendExclBy[t] = e + 1; this.pendExclReason[t] = v.lastReason[q]; }
            }
          }
        }
        // Then the real pairs of misses and special hits.
        for (let j = 0; j < nSpecial; j++) {
          const q = this.pairSpecial[j];
          if (pairGone[q]) continue;
          const i = pairPos[q], d = dec![i], p = pairPort[q];
          let by: number, why: number;
          if (d >= 0) { by = fd!.excludedBy(d, p); why = fd!.excludedReason(d, p); c[e * NC + AT.cacheHits]++; } else { by = this.pendExclBy[i * np + p]; why = this.pendExclReason[i * np + p]; }
          if (by === e + 1) { pairGone[q] = 1; gone++; c[e * NC + AT.excluded]++; c[e * NC + REASON_BASE + why]++; dirty = true; }
        }
        continue;
      }
      if (hook === undefined) continue;
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
