// Transmitter: the transmit side of a thread. It takes what datapath threads produced — each
// port's transmit ring, whose entries carry the egress tag op beside the handle — applies the
// op (egress-tag.ts) and gives the port's endpoint (or link) the frames as one burst
// (sendBurst). It transmits the ports `sends` marks: on the main thread the ports whose
// endpoints live there (all of them inline; with worker threads, those that are not native),
// in a datapath thread the native ports, from its own rings, right after each pipeline pass.
// A tag op that needs a private copy when the pool is empty drops the copy
// (txDropPoolEmpty). For a port that cannot take GSO frames or partial checksums (`finish`),
// a frame from a vnet-header port that carries one is finished in software first (nic/gso.ts:
// segmented, checksums filled); one that cannot be is dropped (txDropOffload). On the main
// thread with worker threads it runs as a loop woken by their doorbell. Beside the burst it
// hands the endpoint each frame's tunnel (the op's remote VTEP, 0: the flood list), which only
// tunnel uplinks read.

import { PORT_COUNTERS } from '../endpoints/endpoint.js';
import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { applyTagOp, ownCopy, tunnelOf } from '../vswitch/egress-tag.js';
import { finishFrame, MAX_SEGMENTS } from '../nic/gso.js';
import { vnetPending } from '../nic/vnet-hdr.js';

/** Most handles moved per ring per burst. */
export const TX_BURST = 256;

/** One datapath thread's transmit rings, one per port. */
export interface TxSource { tx: Ring[] }

/**
 * The Transmitter's `finish` from which ports take GSO frames and partial checksums as they
 * are: null when none does (no such frame can appear), else 1 for each port that does not.
 */
export function finishFor(takesGso: readonly boolean[]): Uint8Array | null {
  return takesGso.some((t) => t) ? Uint8Array.from(takesGso, (t) => (t ? 0 : 1)) : null;
}

/** Where a port's frames go: an endpoint, or a thread's link over a native one (tunnels[i]: frame i's remote VTEP + 1, 0: flood list). */
export interface BurstSender { sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void }

export class Transmitter {
  private readonly pool: PacketPool;
  private readonly endpoints: readonly (BurstSender | null)[];
  /** Per port: 1 if this transmitter sends its frames. */
  private readonly sends: Uint8Array;
  private readonly portCounters: CounterBlock<typeof PORT_COUNTERS>;
  private readonly sources: readonly TxSource[];
  /** Rung by the datapath threads when they staged something. */
  readonly bell = new Doorbell();
  private readonly handles = new Int32Array(TX_BURST);
  private readonly ops = new Int32Array(TX_BURST);
  /** The handles to send after their tag ops (a copy may replace a handle). */
  private readonly burst = new Int32Array(TX_BURST);
  /** Their tunnels (the ops' remote VTEPs). */
  private readonly tunnels = new Int32Array(TX_BURST);
  private readonly segTunnels = new Int32Array(MAX_SEGMENTS);
  /** Per port: 1 if frames with a GSO or checksum job are finished before it; null: no port produces such frames. */
  private readonly finish: Uint8Array | null;
  private readonly segments = new Int32Array(MAX_SEGMENTS);

  constructor(pool: PacketPool, endpoints: readonly (BurstSender | null)[], portCounters: CounterBlock<typeof PORT_COUNTERS>, sources: readonly TxSource[], sends?: Uint8Array, finish?: Uint8Array | null) {
    this.pool = pool; this.endpoints = endpoints; this.portCounters = portCounters; this.sources = sources;
    this.sends = sends ?? Uint8Array.from(endpoints, (e) => (e === null ? 0 : 1));
    this.finish = finish ?? null;
  }

  /** Drop one reference to h; the last frees it. */
  release(h: number): void {
    if (Atomics.sub(this.pool.refs, h, 1) === 1) this.pool.free(h);
  }

  /** Transmit what the datapath produced for this transmitter's ports; returns handles moved. */
  drain(): number {
    let moved = 0;
    const pool = this.pool, tmp = this.handles, ops = this.ops, out = this.burst, tun = this.tunnels, c = this.portCounters.values, nc = PORT_COUNTERS.length;
    const dropAt = this.portCounters.at.txDropPoolEmpty;
    for (let w = 0; w < this.sources.length; w++) {
      const src = this.sources[w];
      for (let p = 0; p < src.tx.length; p++) {
        if (this.sends[p] === 0) continue;
        const ep = this.endpoints[p]!;
        for (let n; (n = src.tx[p].dequeueBurst(tmp, TX_BURST, ops)) !== 0;) {
          moved += n;
          let m = 0;
          const fin = this.finish !== null && this.finish[p] !== 0;
          for (let i = 0; i < n; i++) {
            const h = tmp[i];
            const t = applyTagOp(pool, h, ops[i]);
            if (t !== h) this.release(h);
            if (t < 0) { c[p * nc + dropAt]++; continue; }
            if (fin && vnetPending(pool, t)) { if (m !== 0) ep.sendBurst(out, m, tun); m = 0; this.finishAndSend(ep, p, t, tunnelOf(ops[i])); continue; }
            tun[m] = tunnelOf(ops[i]);
            out[m++] = t;
          }
          if (m !== 0) ep.sendBurst(out, m, tun);
        }
      }
    }
    return moved;
  }

  // Send t through ep finished in software: segments, or the frame with its checksum filled.
  private finishAndSend(ep: BurstSender, p: number, t: number, tunnel: number): void {
    const pool = this.pool, c = this.portCounters.values, row = p * PORT_COUNTERS.length, at = this.portCounters.at;
    const own = ownCopy(pool, t); // the checksum is filled in place: not in a frame other ports send
    if (own !== t) this.release(t);
    if (own < 0) { c[row + at.txDropPoolEmpty]++; return; }
    const k = finishFrame(pool, own, this.segments);
    if (k <= 0) { c[row + (k === 0 ? at.txDropOffload : at.txDropPoolEmpty)]++; this.release(own); return; }
    if (this.segments[0] !== own) this.release(own);
    this.segTunnels.fill(tunnel, 0, k);
    ep.sendBurst(this.segments, k, this.segTunnels);
  }

  /** Anything waiting on a transmit or return ring? */
  pending(): boolean {
    for (const s of this.sources) for (let p = 0; p < s.tx.length; p++) if (this.sends[p] !== 0 && s.tx[p].count !== 0) return true;
    return false;
  }

  /** Threaded mode: transmit whenever a thread rings, yielding to the event loop between rounds, while running() holds. */
  async loop(running: () => boolean): Promise<void> {
    while (running()) {
      if (this.drain() !== 0) { await new Promise<void>((r) => setImmediate(r)); continue; }
      const seq = this.bell.prepareSleep();
      if (this.pending()) { this.bell.wake(); continue; }
      await this.bell.sleepAsync(seq, 50);
    }
  }
}
