// BurstLink: what the two link kinds share (link.ts) — reading a burst into the slots a link
// keeps in stock (slot-stock.ts) and handing it to the port, and writing a burst, reporting
// each frame once: sent, failed with its errno, held back (PEER_DOWN) or dropped because the
// link is down (LINK_DOWN, and so is the rest of the burst). The kinds say how a burst is read
// and written (recvmmsg/sendmmsg, readv/writev, VXLAN) and what their failures mean.
//
// Shaped links (share.shape: a port's maximum rates, an emulated access link) put a LinkShaper
// in either direction. Frames read wait in the receive one before the switch takes them —
// released in pull(), whose count tells the thread to publish them — and frames to send wait in
// the transmit one — released in service(), after each transmit. Both are served as their tokens
// allow whenever the thread turns; while either holds frames the thread sleeps no longer than
// until the next one is due (dueIn()). A
// frame the receive queue has no room for is rxDropQueue, one the transmit queue has none for is
// txDropQueue (QUEUE_FULL). Several threads shaping one port draw from one shared bucket.

import { LINK_DOWN, PEER_DOWN, PortIo, QUEUE_FULL } from './endpoint.js';
import { LinkShare, PortLink, ShapeSpec, soonest } from './link.js';
import { SlotStock } from './slot-stock.js';
import { errnoName, native, NATIVE_BURST, NativeIo, PoolBinding } from '../native/io.js';
import { poolBinding } from '../nic/pool-binding.js';
import { LinkShaper } from '../qos/link-shaper.js';
import { SharedBucket } from '../qos/shared-bucket.js';
import { systemClock } from '../clock.js';

export abstract class BurstLink implements PortLink {
  readonly share: LinkShare;
  protected readonly nio: NativeIo;
  protected readonly io: PortIo;
  protected readonly fd: number;
  protected readonly bind: PoolBinding;
  private readonly stock = new SlotStock();
  /** The shapers of the two directions (share.shape), or null. */
  private readonly rxShaper: LinkShaper | null;
  private readonly txShaper: LinkShaper | null;
  private readonly out = new Int32Array(NATIVE_BURST);
  private readonly outTunnels = new Int32Array(NATIVE_BURST);
  /** Frames the receive queue released during this pull's reads. */
  private rxMoved = 0;

  /** `thread`: which datapath thread runs it (picks its shapers' counters). */
  constructor(share: LinkShare, io: PortIo, thread = 0) {
    this.share = share; this.io = io; this.fd = share.fd;
    this.nio = native!;
    this.bind = poolBinding(this.nio, io.pool);
    this.rxShaper = shaperOf(share.shape?.rx ?? null, io.pool.maxFrame, thread);
    this.txShaper = shaperOf(share.shape?.tx ?? null, io.pool.maxFrame, thread);
  }

  /** Read up to n frames into handles[0..n): how many, 0 when none wait, or -errno. */
  protected abstract read(handles: Int32Array, n: number): number;
  /** Write handles[from..from+n) (tunnels: as sendBurst's): how many went (the first ones), or -errno for the first. */
  protected abstract write(handles: Int32Array, from: number, n: number, tunnels: Int32Array | undefined): number;
  /** A read failed with errno `name`: count it. */
  protected abstract readFailed(name: string): void;
  /** A write failed with errno `name`: is the link down (the rest of the burst is dropped)? */
  protected abstract writeFailed(name: string): boolean;
  /** Frames arrived. */
  protected received(): void { /* most links do not care */ }
  /** Hold the next frame back (PEER_DOWN)? */
  protected holdBack(): boolean { return false; }

  pull(budget: number): number {
    this.rxMoved = 0;
    const n = this.readBurst(budget);
    if (this.rxShaper === null) return n;
    // Released here, not in service(): what pull returns is what the thread's NIC then publishes.
    return n + this.rxMoved + this.releaseRx(systemClock.micros());
  }

  // Read up to `budget` frames and hand them on (or queue them: shaped); how many were read.
  private readBurst(budget: number): number {
    const io = this.io, stock = this.stock, have = stock.fill(io.pool);
    const want = budget < have ? budget : have;
    if (want === 0) return 0; // pool empty: frames wait in the kernel
    const r = this.read(stock.handles, want);
    if (r <= 0) {
      if (r < 0) this.readFailed(errnoName(r));
      return 0;
    }
    this.received();
    if (this.rxShaper === null) this.hand(stock.handles, r); else this.queueRx(stock.handles, r);
    stock.used(r);
    return r;
  }

  // Shaped: frames read wait in the receive queue (those it has no room for are dropped, rxDropQueue).
  private queueRx(handles: Int32Array, n: number): void {
    const q = this.rxShaper!, pool = this.io.pool, now = systemClock.micros();
    let refused = 0;
    for (let i = 0; i < n; i++) {
      if (q.offer(pool, handles[i], 0, now, true)) continue;
      // Full: let out what the tokens allow (after a stall there may be many), then try again.
      this.rxMoved += this.releaseRx(now);
      if (!q.offer(pool, handles[i], 0, now)) { pool.free(handles[i]); refused++; }
    }
    if (refused !== 0) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropQueue] += refused; }
  }

  // Hand the switch what the receive queue's tokens allow at `now`; how many.
  private releaseRx(now: number): number {
    const rx = this.rxShaper!;
    let moved = 0;
    for (let k; rx.queued !== 0 && (k = rx.release(now, this.out, NATIVE_BURST)) !== 0;) { this.hand(this.out, k); moved += k; }
    return moved;
  }

  /** Hand frames to the switch (after the receive shaper, if any): a link that watches what arrives sees them here. */
  protected hand(handles: Int32Array, n: number): void { this.io.receiveBurst(handles, n); }

  /** Write handles[0..n) now, or queue them in the transmit shaper (a frame it has no room for: QUEUE_FULL). */
  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const q = this.txShaper;
    if (q === null) { this.writeBurst(handles, n, tunnels); return; }
    const pool = this.io.pool, now = systemClock.micros();
    for (let i = 0; i < n; i++) {
      const tag = tunnels === undefined ? 0 : tunnels[i];
      if (q.offer(pool, handles[i], tag, now, true)) continue;
      this.serviceTx(); // full: let out what the tokens allow, then try again
      if (!q.offer(pool, handles[i], tag, now)) this.io.sent(handles[i], QUEUE_FULL);
    }
    this.serviceTx();
  }

  /** Write what the transmit shaper may release now; frames moved (0: unshaped). */
  service(): number { return this.serviceTx(); }

  // service()'s work (not overridden: sendBurst calls it from within a subclass's service).
  private serviceTx(): number {
    const tx = this.txShaper;
    if (tx === null) return 0;
    const now = systemClock.micros();
    let moved = 0;
    for (let k; tx.queued !== 0 && (k = tx.release(now, this.out, NATIVE_BURST, this.outTunnels)) !== 0;) { this.writeBurst(this.out, k, this.outTunnels); moved += k; }
    return moved;
  }

  dueIn(nowUs: number): number { return soonest(this.rxShaper?.dueIn(nowUs) ?? -1, this.txShaper?.dueIn(nowUs) ?? -1); }

  // Write handles[0..n) to the descriptor, each reported once.
  private writeBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const io = this.io;
    for (let i = 0; i < n;) {
      if (this.holdBack()) { io.sent(handles[i++], PEER_DOWN); continue; }
      const k = n - i < NATIVE_BURST ? n - i : NATIVE_BURST;
      const r = this.write(handles, i, k, tunnels);
      if (r > 0) {
        for (let j = 0; j < r; j++) io.sent(handles[i + j], null);
        i += r;
        continue;
      }
      const name = errnoName(r);
      if (this.writeFailed(name)) { for (; i < n; i++) io.sent(handles[i], LINK_DOWN); return; }
      io.sent(handles[i++], name);
    }
  }

  /** Give the receive slots back; frames still in the shapers' queues are lost with the link (stopping), counted. */
  release(): void {
    this.stock.release(this.io.pool);
    const left: number[] = [];
    this.rxShaper?.drain(left);
    const c = this.io.counters;
    c.values[this.io.port * c.names.length + c.at.rxDropQueue] += left.length;
    for (const h of left) this.io.pool.free(h);
    left.length = 0;
    this.txShaper?.drain(left);
    for (const h of left) this.io.sent(h, QUEUE_FULL);
  }

  /** Count one more `rxErrors` on the port. */
  protected countRxError(): void { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxErrors]++; }
}

/** Thread `thread`'s shaper for one direction of a link, or null. */
function shaperOf(spec: ShapeSpec | null, maxFrame: number, thread: number): LinkShaper | null {
  if (spec === null) return null;
  return new LinkShaper({ ...spec, maxFrame, stats: spec.stats[thread % spec.stats.length], bucket: spec.bucket === null ? null : new SharedBucket(spec.bucket) });
}
