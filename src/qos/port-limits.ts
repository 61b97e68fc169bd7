// PortLimits: each port's maximum rates (its configuration's `qos`, as Hyper-V's
// MaximumBandwidth) turned into shapers on the port's native links (endpoints/burst-link.ts).
//   - maxRxMbps: frames the port receives from its endpoint — what the VM sends — wait in a
//     queue after they are read, and enter the switch as the tokens allow;
//   - maxTxMbps: frames the switch sends to the port — what the VM receives — wait in a queue
//     before they are written.
// A frame is charged its length (a GSO frame its full bytes). Shapers, not policers: a frame
// waits (up to queueBytes each direction and thread), and is dropped only when the queue is full
// (rxDropQueue, txDropQueue). A port's guarantee on a tunnel's downlink (weight, minMbps) is
// handed to the uplinks' receiving side here too.
//
// Threads: a port's frames are spread over the datapath threads (its flows by RSS over the
// queues, each worker writing what its queues produced; a multi-queue tap's descriptors over the
// workers that read them). Each thread shapes them in a queue of its own, so a flow — which
// stays on one thread — is never reordered, and all of them draw from one SharedBucket: one
// rate for the port whatever the spread. Counters are kept per thread (one writer each) and
// summed for reports.

import type { LinkShape, LinkShare, ShapeSpec } from '../endpoints/link.js';
import { DEFAULT_QUEUE_BYTES, LinkShaper, ShaperReport } from './link-shaper.js';
import { SharedBucket } from './shared-bucket.js';

/** A limiter's burst when none is configured (µs at its rate). */
export const DEFAULT_BURST_US = 1000;

/** A port's `qos` configuration. */
export interface PortQos {
  /** Most Mb/s the port takes from its endpoint (what the VM sends). */
  maxRxMbps?: number;
  /** Most Mb/s the port sends to its endpoint (what the VM receives). */
  maxTxMbps?: number;
  /** Tokens an idle limiter saves: burstUs at its rate (at least two of the largest frames). */
  burstUs?: number;
  /** Bytes each direction's queue holds, per datapath thread. */
  queueBytes?: number;
  /** Its guarantee on a tunnel's downlink, as a weight (shares of γC are w / Σw over the active VMs)… */
  weight?: number;
  /** …or in Mb/s (taken as its weight). */
  minMbps?: number;
}

export interface PortLimitReport { rx?: ShaperReport; tx?: ShaperReport }

export class PortLimits {
  /** Per port: the shapes of its links, or null (unlimited). */
  readonly shapes: (LinkShape | null)[];
  /** Per port: its weight on a tunnel's downlink (qos.weight, else qos.minMbps, else 1). */
  readonly weights: number[];
  /** Per port: its guarantee in kbit/s (qos.minMbps; 0: none), its pairs' floor when notices are lost. */
  readonly floorsKbps: number[];

  /**
   * `workers`: datapath threads that may run a port's links; native[i]: port i's endpoint is
   * native. A limit on a port no datapath thread runs — no workers, or an endpoint on Node's
   * dgram path or in memory — throws, naming the port: nothing would pace it.
   */
  constructor(ports: readonly { name: string; qos?: PortQos }[], workers: number, native: Uint8Array) {
    const qos = ports.map((p, i) => {
      const q = p.qos;
      if (q === undefined || (q.maxRxMbps === undefined && q.maxTxMbps === undefined)) return undefined;
      if (workers === 0) throw new Error(`port "${p.name}" qos: maximum rates are paced by a datapath worker thread: set workers >= 1`);
      if (native[i] === 0) throw new Error(`port "${p.name}" qos: maximum rates need a native endpoint (udp on the native I/O path, tap, netdev, vxlan): this one is not`);
      return q;
    });
    const threads = workers;
    this.weights = ports.map((p) => p.qos?.weight ?? p.qos?.minMbps ?? 1);
    this.floorsKbps = ports.map((p) => (p.qos?.minMbps ?? 0) * 1000);
    const spec = (mbps: number | undefined, q: PortQos): ShapeSpec | null => mbps === undefined ? null : {
      rateMbps: mbps, queueBytes: q.queueBytes ?? DEFAULT_QUEUE_BYTES, overhead: 0, ecnBytes: 0, burstUs: q.burstUs ?? DEFAULT_BURST_US,
      catchUp: false, minFrame: 14, stats: Array.from({ length: threads }, () => LinkShaper.newStats(true)), bucket: SharedBucket.create(),
    };
    this.shapes = qos.map((q) => (q === undefined ? null : { rx: spec(q.maxRxMbps, q), tx: spec(q.maxTxMbps, q) }));
  }

  /** Does any port have a limit? */
  get any(): boolean { return this.shapes.some((s) => s !== null); }

  /** Put each limited port's shapes on its links, and the ports' weights on tunnel uplinks with guarantees. */
  attach(links: LinkShare[]): void {
    for (const l of links) {
      const s = this.shapes[l.port];
      if (s !== null) l.shape = s;
      const q = l.tunnel?.qos;
      if (q) { q.watch.weights = this.weights; q.floorsKbps = this.floorsKbps; }
    }
  }

  /** Port p's limiters, their counters summed over threads (null: unlimited). */
  report(p: number): PortLimitReport | null {
    const s = this.shapes[p];
    if (s === null) return null;
    const r: PortLimitReport = {};
    if (s.rx !== null) r.rx = LinkShaper.report(s.rx.rateMbps, s.rx.queueBytes, s.rx.stats);
    if (s.tx !== null) r.tx = LinkShaper.report(s.tx.rateMbps, s.tx.queueBytes, s.tx.stats);
    return r;
  }
}
