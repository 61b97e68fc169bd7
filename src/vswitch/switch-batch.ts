// SwitchBatch: everything the pipeline's steps share — the switch they work on (pool, flow
// keys, port and MAC tables, flow stage, extension stack, counters, output rings) and the
// state of the batch in flight, one slot per batch position or per (frame, port) pair. One per
// datapath thread; every buffer is sized once from BATCH_MAX and the port count.
//
// A step reads and writes these fields and nothing else (steps/, pipeline.ts). Position i's
// fate is dest[i]: a port (>= 0, known unicast), or one of the codes below.

import { BATCH_MAX } from '../batch.js';
import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { FlowKeys } from '../wire/flow-key.js';
import { FlowDecisions } from '../flow/flow-decisions.js';
import { FlowStage } from '../flow/flow-stage.js';
import { Verdict } from '../flow/rule-set.js';
import { CompiledOutcomes } from './compiled-outcome.js';
import { ExtensionStack } from './ext/stack.js';
import { IngressView } from './ext/views.js';
import { MacTable } from './mac-table.js';
import { PIPELINE_COUNTERS } from './pipeline-counters.js';
import { PortTable } from './port-table.js';

/** dest[i] codes: chosen by a forwarding extension, a rule's output list, flood, dropped. */
export const EXTENSION = -4;
export const EXPLICIT = -3;
export const FLOOD = -2;
export const DROP = -1;

export interface PipelineOutputs {
  /** One transmit ring per port (withTags: each copy's egress tag op beside it), from this thread to the transmitting one. */
  tx: Ring[];
  /** Handles this thread is done with: to this ring (a benchmark rig recycles them), or null: freed to the pool at once. */
  ret: Ring | null;
  /** Wakes the transmitting thread. */
  bell: Doorbell;
  /** Ports whose transmit ring the bell's thread drains (1); the bell rings only when one got frames. Absent: every port. */
  bellPorts?: Uint8Array;
}

/** One step of the pipeline: a pass over the batch (steps/). */
export interface PipelineStep {
  readonly name: string;
  run(b: SwitchBatch): void;
}

export class SwitchBatch {
  // The switch.
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  readonly ports: PortTable;
  readonly macs: MacTable;
  readonly out: PipelineOutputs;
  private readonly ret: Ring | null;
  /** Per port: does staging frames for it ring the bell? */
  readonly bellPorts: Uint8Array;
  readonly counters: CounterBlock<typeof PIPELINE_COUNTERS>;
  /** counters.values, its row width and counter indices. */
  readonly c: Float64Array;
  readonly nc: number;
  readonly at: CounterBlock<typeof PIPELINE_COUNTERS>['at'];
  /** Rules and flow cache; null: plain learning switch. */
  readonly flowStage: FlowStage | null;
  /** The switch outcomes compiled into flowStage's decisions. */
  readonly outcomes: CompiledOutcomes | null;
  /** Bound extensions; null: none. */
  readonly ext: ExtensionStack | null;
  /** Some port is a tunnel uplink: cached decisions must check that a source MAC still comes from the same remote VTEP. */
  readonly tunnels: boolean;

  // The batch: handles[0..n), its time in whole seconds.
  handles: Int32Array = new Int32Array(0);
  n = 0;
  now = 0;
  /** The flow stage when it runs for this batch (rules, or a cacheable extension), and its decisions. */
  flow: FlowStage | null = null;
  fd: FlowDecisions | null = null;
  /** Cached decisions hold the cacheable extensions' outcomes. */
  cached = false;
  /** MAC table generation when the batch began (a change while learning demotes the fast path). */
  macGen = 0;
  /** Frames that missed the cache or hit a decision with an extension outcome. */
  unusual = 0;
  /** Every frame hit a plain decision and only cacheable extensions run: no extension is called. */
  plain = false;
  plainFrames = 0;
  /** The ingress view when extensions were called on ingress, else null. */
  iv: IngressView | null = null;
  /** Frames switched step by step, and from their cached outcome. */
  slow = 0;
  nFast = 0;

  // Per position.
  readonly vlan = new Int32Array(BATCH_MAX);
  readonly dest = new Int32Array(BATCH_MAX);
  readonly verdict: (Verdict | null)[] = new Array<Verdict | null>(BATCH_MAX).fill(null);
  /** Flow decision: >= 0 cached, -1 a miss, -2 not looked up. */
  readonly dec = new Int32Array(BATCH_MAX);
  /** 1: switched from its cached decision (the fast path). */
  readonly fast = new Uint8Array(BATCH_MAX);
  /** 1: edited on ingress, or sent where a non-cacheable forwarding extension chose: its outcome is not its flow's. */
  readonly diverted = new Uint8Array(BATCH_MAX);
  readonly live = new Uint8Array(BATCH_MAX);
  /** Alive after the ingress extensions: the frames whose cacheable decisions can be completed. */
  readonly afterIngress = new Uint8Array(BATCH_MAX);
  // The outcome of frames switched step by step, for their flow's decision: the counter that
  // dropped it (-1: none), flags, and the MAC table slots of its source and destination.
  readonly swDrop = new Int16Array(BATCH_MAX);
  readonly swFlags = new Uint8Array(BATCH_MAX);
  readonly srcSlot = new Int32Array(BATCH_MAX);
  readonly dstSlot = new Int32Array(BATCH_MAX);
  /** Drops decided after the extensions: counted at once, released at the end of the batch. */
  readonly deferred = new Int32Array(BATCH_MAX);
  nDeferred = 0;

  // Per (frame position, destination port) pair: its egress tag op (negative: a mirror copy
  // that keeps the tag as received) and whether an egress extension excluded it. Position i's
  // pairs are [pairFrom[i], pairFrom[i + 1]).
  readonly pairPos: Int32Array;
  readonly pairPort: Int32Array;
  readonly pairOp: Int32Array;
  readonly pairGone: Uint8Array;
  readonly pairFrom = new Int32Array(BATCH_MAX + 1);
  pairs = 0;
  /** A list of ports being built (one frame's destinations). */
  readonly portList: Int32Array;
  /** Per port: the handles and tag ops staged for its transmit ring (BATCH_MAX each), and how many. */
  readonly stage: Int32Array;
  readonly stageOp: Int32Array;
  readonly staged: Int32Array;

  constructor(pool: PacketPool, keys: FlowKeys, ports: PortTable, macs: MacTable, out: PipelineOutputs,
    counters: CounterBlock<typeof PIPELINE_COUNTERS>, flow: FlowStage | null, ext: ExtensionStack | null) {
    this.pool = pool; this.keys = keys; this.ports = ports; this.macs = macs; this.out = out;
    this.ret = out.ret;
    this.bellPorts = out.bellPorts ?? new Uint8Array(ports.count).fill(1);
    this.counters = counters;
    this.c = counters.values;
    this.nc = PIPELINE_COUNTERS.length;
    this.at = counters.at;
    this.flowStage = flow;
    this.outcomes = flow !== null ? new CompiledOutcomes(flow.decisions) : null;
    this.ext = ext;
    this.tunnels = ports.anyTunnel;
    const np = ports.count, maxPairs = BATCH_MAX * (np + 1);
    this.pairPos = new Int32Array(maxPairs);
    this.pairPort = new Int32Array(maxPairs);
    this.pairOp = new Int32Array(maxPairs);
    this.pairGone = new Uint8Array(maxPairs);
    this.portList = new Int32Array(np + 1);
    this.stage = new Int32Array(np * BATCH_MAX);
    this.stageOp = new Int32Array(np * BATCH_MAX);
    this.staged = new Int32Array(np);
    if (ext !== null) {
      const iv = ext.ingressView;
      iv.vlans = this.vlan;
      iv.macLookup = (v, h) => this.macs.lookup(v, keys.dstMacHi[h], keys.dstMacLo[h], this.now);
    }
  }

  /** Take handles[0..n) at time `now` (whole seconds); settle what this batch runs. */
  begin(handles: Int32Array, n: number, now: number): void {
    this.handles = handles; this.n = n; this.now = now;
    const ext = this.ext, f = this.flowStage;
    if (ext !== null) { ext.refresh(); ext.mirrorCount.fill(0, 0, n); }
    // The flow stage runs when there is something to classify: rules, or a flow-cacheable
    // extension. With neither, a cache hit costs more than the learning switch's own decision
    // it would replace (native-free-bench/extensions.ts), so the switch decides every packet.
    this.flow = f !== null && (f.rules.size !== 0 || (ext !== null && ext.hasCacheable)) ? f : null;
    this.fd = this.flow !== null ? this.flow.decisions : null;
    this.cached = this.flow !== null && ext !== null && ext.hasCacheable;
    this.macGen = this.macs.generation;
    // Everything besides the rules that decisions depend on; each term only grows.
    if (this.flow !== null) this.flow.begin((ext !== null ? ext.stateVersion : 0) + this.macGen + this.ports.generation);
    this.unusual = 0; this.plain = false; this.plainFrames = 0; this.iv = null;
    this.slow = 0; this.nFast = 0; this.nDeferred = 0; this.pairs = 0;
  }

  /** Release one reference this thread holds on h; the last one frees it (or puts it on the return ring). */
  release(h: number): void {
    if (Atomics.sub(this.pool.refs, h, 1) === 1) {
      if (this.ret === null) this.pool.free(h); else this.ret.enqueue(h);
    }
  }

  /** Count a drop on `row` and give h back now. */
  drop(h: number, row: number, counter: number): void {
    this.c[row * this.nc + counter]++;
    this.pool.refs[h] = 1;
    this.release(h);
  }

  /** Drop position i before it was looked up. */
  dropAt(i: number, h: number, row: number, counter: number): void {
    this.dest[i] = DROP;
    this.dec[i] = -2;
    this.drop(h, row, counter);
  }

  /** A drop decided after the extensions: counted now, released at the end of the batch (the extensions may still look at the frame while its flow's decision is completed). */
  dropLater(h: number, row: number, counter: number): void {
    this.c[row * this.nc + counter]++;
    this.deferred[this.nDeferred++] = h;
  }

  /** May position i's flow be filed (or completed) at the end of this batch? A miss, or a hit on a partial decision. */
  mayInsert(i: number): boolean {
    const d = this.dec[i];
    return d === -1 || (d >= 0 && this.fd!.complete[d] === 0);
  }
}
