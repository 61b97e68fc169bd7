// The views an extension's hooks get of a batch (api.ts: IngressBatch, EgressBatch): the live
// entries, what the extension may do to them — checked against its kind (RIGHTS) on every
// call, a refused call being a counted violation with no effect — and the marks it leaves
// (dropped, excluded, modified, destinations, mirror copies) for the stack and the pipeline.

import { BATCH_MAX } from '../../batch.js';
import { PacketPool } from '../../nic/pool.js';
import { FlowKeys } from '../../wire/flow-key.js';
import { BoundExtension, DropReason, EgressBatch, ExtensionKind, IngressBatch, RIGHTS } from './api.js';
import { EXT_AT as AT, EXT_NC as NC, MAX_REASONS, REASON_BASE } from './state.js';

// Common state of the two views: which extension is running and its rights.
/** Mirror copies one packet may be given per batch. */
export const MIRRORS = 4;

export abstract class View {
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

export class IngressView extends View implements IngressBatch {
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

export class EgressView extends View implements EgressBatch {
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
