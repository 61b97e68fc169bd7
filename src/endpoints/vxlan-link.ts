// VxlanLink: a VXLAN uplink's sockets (RFC 7348) in the thread that runs it (link.ts).
//
// Receive: datagrams arrive on the uplink's UDP socket with their source addresses. A datagram
// without the I flag, of a VNI the uplink does not carry, or too short for a frame is dropped
// (rxDropEncap) — its slot simply stays in the receive stock. For the others the VXLAN header
// is skipped (the kernel took the outer IP and UDP headers), the frame gets its VNI's VLAN tag
// when the uplink maps several VNIs to VLANs (pushed into the headroom the header leaves), and
// pool.tunnel says which remote VTEP sent it (VtepTable index + 1; a new address is added to
// the table), so learning puts its source MAC behind that VTEP.
//
// Send: each frame's tunnel (from its transmit op: the remote VTEP its destination MAC was
// learned behind, 0: unknown) picks one VTEP, or every VTEP of the flood list (head-end
// replication, as Linux does with `bridge fdb append 00:00:00:00:00:00 dst …`). Each datagram's
// outer headers are written into a header area of its own and gathered with the frame by the
// kernel (native sendEncap), so the slot — which other ports may be sending too — is never
// touched and nothing is copied: over a raw IPv4 socket the headers are IPv4 + UDP + VXLAN with
// the UDP source port from the inner flow's hash (as Linux: the far side's RSS spreads flows);
// without one (not root, IPv6), the VXLAN header alone from the UDP socket's bound port. With a
// VNI map the frame's 802.1Q tag gives its VNI and is left out (its MAC addresses go in the
// header area, the frame is sent from after the tag).
//
// Access link emulation (tunnel.shape): received frames wait in a receive LinkShaper (the
// top-of-rack port toward this host) before they reach the switch — released in pull(), whose
// count tells the thread to publish them — and frames to send in a transmit one (the NIC's line
// rate) — released in service(), after each transmit. Both are served as their tokens allow
// whenever the thread turns, and it keeps turning while either holds frames (backlog()). A frame is
// charged its bytes on the wire: inner frame + WIRE_OVERHEAD.
//
// Counters: a frame too large for the underlay once encapsulated (mtu) is txDropMtu; one the
// emulated link's queue has no room for is rxDropQueue / txDropQueue; per remote VTEP
// (VtepTable, this thread's slice): datagrams and inner bytes sent and received, and datagrams
// not sent (MTU, send errors).

import { BurstLink } from './burst-link.js';
import { PortIo, QUEUE_FULL } from './endpoint.js';
import { LinkShare } from './link.js';
import { MAX_HEADER, MIN_INNER, VxlanCodec } from './vxlan-codec.js';
import { ADDR_REC, NATIVE_BURST } from '../native/io.js';
import { LinkShaper } from '../qos/link-shaper.js';
import { systemClock } from '../clock.js';

/** Bytes of header area per datagram. */
const STRIDE = MAX_HEADER;
const REC_WORDS = ADDR_REC >> 2;
/** Wire bytes a frame costs beyond its length on an emulated access link: outer Ethernet, IPv4, UDP, VXLAN (50), FCS (4), preamble and inter-frame gap (20). */
export const WIRE_OVERHEAD = 74;

export class VxlanLink extends BurstLink {
  private readonly codec: VxlanCodec;
  private readonly sendFd: number;
  // Receive: the source address of each datagram.
  private readonly rxAddrs = new Uint8Array(NATIVE_BURST * ADDR_REC);
  private readonly rxAddr32 = new Int32Array(this.rxAddrs.buffer);
  // Send: per datagram its frame, VTEP, frame number, address, header area, header length and bytes skipped.
  private readonly msgH = new Int32Array(NATIVE_BURST);
  private readonly msgVtep = new Int32Array(NATIVE_BURST);
  private readonly msgFrame = new Int32Array(NATIVE_BURST);
  private readonly msgAddrs = new Uint8Array(NATIVE_BURST * ADDR_REC);
  private readonly msgAddr32 = new Int32Array(this.msgAddrs.buffer);
  private readonly heads = new Uint8Array(NATIVE_BURST * STRIDE);
  private readonly headLens = new Uint8Array(NATIVE_BURST);
  private readonly skips = new Uint8Array(NATIVE_BURST);
  /** Frames that fit, and their tunnels (sendBurst's first pass). */
  private fit = new Int32Array(NATIVE_BURST);
  private fitTunnels = new Int32Array(NATIVE_BURST);
  /** The emulated access link's two directions, or null. */
  private readonly rxShaper: LinkShaper | null;
  private readonly txShaper: LinkShaper | null;
  private readonly out = new Int32Array(NATIVE_BURST);
  private readonly outTunnels = new Int32Array(NATIVE_BURST);
  /** Frames the receive queue released during this pull's reads. */
  private rxMoved = 0;

  constructor(share: LinkShare, io: PortIo) {
    super(share, io);
    const t = share.tunnel!;
    this.codec = new VxlanCodec(t, t.rawFd >= 0);
    this.sendFd = t.rawFd >= 0 ? t.rawFd : share.fd;
    const sh = t.shape, maxFrame = io.pool.maxFrame;
    this.rxShaper = sh === null ? null : new LinkShaper(sh.rateMbps, sh.queueBytes, WIRE_OVERHEAD, sh.ecnBytes, maxFrame, MIN_INNER, sh.rxStats);
    this.txShaper = sh === null ? null : new LinkShaper(sh.rateMbps, sh.queueBytes, WIRE_OVERHEAD, sh.ecnBytes, maxFrame, MIN_INNER, sh.txStats);
  }

  /** Shaped: frames read wait in the receive queue (those it has no room for are dropped, rxDropQueue). */
  protected override deliver(handles: Int32Array, n: number): void {
    const q = this.rxShaper;
    if (q === null) { this.io.receiveBurst(handles, n); return; }
    const pool = this.io.pool, now = systemClock.micros();
    let refused = 0;
    for (let i = 0; i < n; i++) {
      if (q.offer(pool, handles[i], 0, now, true)) continue;
      // Full: let out what the tokens allow (after a stall there may be many), then try again.
      this.rxMoved += this.releaseRx(now);
      if (!q.offer(pool, handles[i], 0, now)) { pool.free(handles[i]); refused++; }
    }
    if (refused !== 0) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropQueue] += refused; }
  }

  override pull(budget: number): number {
    this.rxMoved = 0;
    const n = super.pull(budget);
    if (this.rxShaper === null) return n;
    // Released here, not in service(): what pull returns is what the thread's NIC then publishes.
    return n + this.rxMoved + this.releaseRx(systemClock.micros());
  }

  // Hand the switch what the receive queue's tokens allow at `now`; how many.
  private releaseRx(now: number): number {
    const rx = this.rxShaper!;
    let moved = 0;
    for (let k; rx.queued !== 0 && (k = rx.release(now, this.out, NATIVE_BURST)) !== 0;) { this.io.receiveBurst(this.out, k); moved += k; }
    return moved;
  }

  /** Send what the emulated link's transmit queue may release now; frames moved. */
  service(): number {
    const tx = this.txShaper;
    if (tx === null) return 0;
    const now = systemClock.micros();
    let moved = 0;
    for (let k; tx.queued !== 0 && (k = tx.release(now, this.out, NATIVE_BURST, this.outTunnels)) !== 0;) { super.sendBurst(this.out, k, this.outTunnels); moved += k; }
    return moved;
  }

  /** Frames wait in the emulated link's queues. */
  backlog(): boolean { return this.rxShaper !== null && (this.rxShaper.queued !== 0 || this.txShaper!.queued !== 0); }

  override release(): void {
    super.release();
    if (this.rxShaper === null) return;
    // Stopping: frames still queued are lost with the link.
    const left: number[] = [];
    this.rxShaper.drain(left);
    const c = this.io.counters;
    c.values[this.io.port * c.names.length + c.at.rxDropQueue] += left.length;
    for (const h of left) this.io.pool.free(h);
    left.length = 0;
    this.txShaper!.drain(left);
    for (const h of left) this.io.sent(h, QUEUE_FULL);
  }

  protected read(handles: Int32Array, n: number): number {
    const r = this.nio.recvBatch(this.bind, this.fd, handles, 0, n, this.rxAddrs, 0);
    if (r <= 0) return r;
    const pool = this.io.pool, codec = this.codec;
    let good = 0;
    for (let i = 0; i < r; i++) {
      const h = handles[i];
      if (!codec.decap(pool, h, this.rxAddr32, i * REC_WORDS)) continue;
      handles[i] = handles[good];
      handles[good++] = h;
    }
    if (good !== r) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropEncap] += r - good; }
    return good; // the dropped ones stay in the stock, free for the next read
  }

  /** First drop (and count) the frames too large for the underlay once encapsulated or of no VNI, then send or queue the rest. */
  override sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const pool = this.io.pool, codec = this.codec;
    if (this.fit.length < n) { this.fit = new Int32Array(n); this.fitTunnels = new Int32Array(n); }
    let m = 0;
    for (let i = 0; i < n; i++) {
      const h = handles[i], tun = tunnels === undefined ? 0 : tunnels[i];
      const bad = codec.unsendable(pool, h);
      if (bad !== null) { codec.dropAt(tun); this.io.sent(h, bad); continue; }
      this.fit[m] = h; this.fitTunnels[m++] = tun;
    }
    if (m === 0) return;
    const q = this.txShaper;
    if (q === null) { super.sendBurst(this.fit, m, this.fitTunnels); return; }
    const now = systemClock.micros();
    for (let i = 0; i < m; i++) {
      if (q.offer(pool, this.fit[i], this.fitTunnels[i], now, true)) continue;
      this.service(); // full: let out what the tokens allow, then try again
      if (!q.offer(pool, this.fit[i], this.fitTunnels[i], now)) this.io.sent(this.fit[i], QUEUE_FULL);
    }
    this.service();
  }

  protected write(handles: Int32Array, from: number, n: number, tunnels: Int32Array | undefined): number {
    const pool = this.io.pool, codec = this.codec, rec32 = codec.vteps.rec32, flood = codec.flood, skip = codec.skip;
    let msgs = 0, frames = 0;
    for (; frames < n; frames++) {
      const h = handles[from + frames], tun = tunnels === undefined ? 0 : tunnels[from + frames];
      const targets = tun > 0 ? 1 : flood.length;
      if (msgs + targets > NATIVE_BURST) break;
      const vni = codec.vniOf(pool, h), sport = codec.raw ? codec.sourcePort(pool, h) : 0;
      for (let j = 0; j < targets; j++) {
        const v = tun > 0 ? tun - 1 : flood[j];
        this.headLens[msgs] = codec.header(this.heads, msgs * STRIDE, pool, h, vni, v, sport);
        this.skips[msgs] = skip;
        this.msgH[msgs] = h;
        this.msgVtep[msgs] = v;
        this.msgFrame[msgs] = frames;
        const a = msgs * REC_WORDS, b = v * REC_WORDS, to = this.msgAddr32;
        to[a] = rec32[b]; to[a + 1] = rec32[b + 1]; to[a + 2] = rec32[b + 2]; to[a + 3] = rec32[b + 3]; to[a + 4] = rec32[b + 4]; to[a + 5] = rec32[b + 5];
        msgs++;
      }
    }
    const r = this.nio.sendEncap(this.bind, this.sendFd, this.msgH, 0, msgs, this.msgAddrs, this.heads, STRIDE, this.headLens, this.skips);
    const frame = this.msgFrame;
    if (r < 0) {
      // The first frame failed: each of its datagrams is a drop at its VTEP.
      for (let i = 0; i < msgs && frame[i] === 0; i++) codec.dropTo(this.msgVtep[i]);
      return r;
    }
    for (let i = 0; i < r; i++) codec.sentTo(this.msgVtep[i], pool, this.msgH[i]);
    if (r === 0) return 0;
    // A frame that reached some of its VTEPs counts as sent; its other datagrams are drops there.
    const last = frame[r - 1];
    for (let i = r; i < msgs && frame[i] === last; i++) codec.dropTo(this.msgVtep[i]);
    return last + 1;
  }

  protected readFailed(): void { this.countRxError(); }
  protected writeFailed(): boolean { return false; }
}
