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
// Access link emulation (share.shape, built by VxlanNetwork): BurstLink's shapers, a receive
// one (the top-of-rack port toward this host) and a transmit one (the NIC's line rate), each
// frame charged its bytes on the wire: inner frame + WIRE_OVERHEAD (vxlan-codec.ts).
//
// Counters: a frame too large for the underlay once encapsulated (mtu) is txDropMtu; per remote VTEP
// (VtepTable, this thread's slice): datagrams and inner bytes sent and received, and datagrams
// not sent (MTU, send errors); a frame the emulated link's queues have no room for: burst-link.ts.

import { BurstLink } from './burst-link.js';
import { PortIo, QUEUE_FULL } from './endpoint.js';
import { LinkShare, soonest, SwitchView } from './link.js';
import { MAX_HEADER, VxlanCodec, WIRE_OVERHEAD } from './vxlan-codec.js';
import { ADDR_REC, NATIVE_BURST } from '../native/io.js';
import { isNotice, TunnelGuarantees } from '../qos/tunnel-guarantees.js';
import { NOTICE_LEN } from '../wire/rate-notice.js';
import { systemClock } from '../clock.js';

/** Bytes of header area per datagram. */
const STRIDE = MAX_HEADER;
const REC_WORDS = ADDR_REC >> 2;

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
  /** Predictable bandwidth's sending side (tunnel.qos), or null. */
  private readonly guarantees: TunnelGuarantees | null;
  private readonly pairOut = new Int32Array(NATIVE_BURST);
  private readonly pairTunnels = new Int32Array(NATIVE_BURST);
  private readonly noteH = new Int32Array(NATIVE_BURST);
  private readonly noteAddrs = new Uint8Array(NATIVE_BURST * ADDR_REC);

  constructor(share: LinkShare, io: PortIo, thread = 0, view: SwitchView | null = null) {
    super(share, io, thread);
    const t = share.tunnel!;
    this.codec = new VxlanCodec(t, t.rawFd >= 0);
    this.sendFd = t.rawFd >= 0 ? t.rawFd : share.fd;
    // Guarantees run in the datapath workers (the configuration requires them); the main thread's
    // own copy of the link (inline mode's, idle with workers) has no tables to ask and none.
    const vlanOf = (vni: number) => (t.vlans.length ? t.vlans[t.vnis.indexOf(vni)] ?? -1 : view!.ports.accessVlan(io.port));
    this.guarantees = t.qos === null || view === null ? null : new TunnelGuarantees(t.qos, view!, io.port, vlanOf, io.pool.maxFrame, WIRE_OVERHEAD, (notes, vteps, n) => this.sendNotices(notes, vteps, n));
  }

  // Send n rate notices (notes[i·NOTICE_LEN ..]) from the uplink's socket to VTEPs vteps[i], in pool slots (one system call).
  private sendNotices(notes: Uint8Array, vteps: Int32Array, n: number): void {
    const pool = this.io.pool, recs = this.codec.vteps.records;
    let k = 0;
    for (let i = 0; i < n && k < NATIVE_BURST; i++) {
      const h = pool.allocFrom(notes, i * NOTICE_LEN, NOTICE_LEN);
      if (h < 0) break; // pool empty: this notice waits for the pair's next budget
      this.noteH[k] = h;
      this.noteAddrs.set(recs.subarray(vteps[i] * ADDR_REC, (vteps[i] + 1) * ADDR_REC), k * ADDR_REC);
      k++;
    }
    if (k !== 0) this.nio.sendBatch(this.bind, this.share.fd, this.noteH, 0, k, this.noteAddrs, 0);
    for (let i = 0; i < k; i++) pool.free(this.noteH[i]);
  }

  /** Frames delivered to the switch: the receiving side counts them first. */
  protected override hand(handles: Int32Array, n: number): void {
    const g = this.guarantees;
    if (g !== null) {
      const pool = this.io.pool, now = systemClock.micros();
      for (let i = 0; i < n; i++) { const h = handles[i]; g.arrived(pool, h, this.codec.vniOf(pool, h), pool.tunnel[h] - 1, now); }
    }
    super.hand(handles, n);
  }

  override pull(budget: number): number {
    const n = super.pull(budget);
    this.guarantees?.tick(systemClock.micros());
    return n;
  }

  protected read(handles: Int32Array, n: number): number {
    const r = this.nio.recvBatch(this.bind, this.fd, handles, 0, n, this.rxAddrs, 0);
    if (r <= 0) return r;
    const pool = this.io.pool, codec = this.codec;
    let good = 0;
    let notices = 0;
    for (let i = 0; i < r; i++) {
      const h = handles[i];
      if (!codec.decap(pool, h, this.rxAddr32, i * REC_WORDS)) {
        const g = this.guarantees, d = pool.data, s = pool.start(h);
        if (g !== null && isNotice(d, s, pool.len[h])) { g.notice(d, s, pool.len[h], codec.vteps.find(this.rxAddr32, i * REC_WORDS), systemClock.micros()); notices++; }
        continue;
      }
      handles[i] = handles[good];
      handles[good++] = h;
    }
    if (good + notices !== r) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropEncap] += r - good - notices; }
    return good; // the dropped ones stay in the stock, free for the next read
  }

  /** First drop (and count) the frames too large for the underlay once encapsulated or of no VNI, then send (or queue: shaped) the rest. */
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
    const g = this.guarantees;
    if (g !== null && m !== 0) {
      // Frames to remote VMs wait in their pair's limiter; the rest go on.
      const now = systemClock.micros();
      let k = 0;
      for (let i = 0; i < m; i++) {
        const h = this.fit[i], r = g.offer(pool, h, codec.vniOf(pool, h), this.fitTunnels[i], now);
        if (r === 0) { this.fit[k] = h; this.fitTunnels[k++] = this.fitTunnels[i]; } else if (r < 0) this.io.sent(h, QUEUE_FULL);
      }
      m = k;
    }
    if (m !== 0) super.sendBurst(this.fit, m, this.fitTunnels);
    if (g !== null) this.service();
  }

  /** Send what the pairs' limiters let go now (through the access link's shaper when there is one), then what that shaper lets go. */
  override service(): number {
    const g = this.guarantees;
    let moved = 0;
    if (g !== null) for (let k; g.pairs.backlog && (k = g.release(systemClock.micros(), this.pairOut, this.pairTunnels, NATIVE_BURST)) !== 0;) { super.sendBurst(this.pairOut, k, this.pairTunnels); moved += k; }
    return moved + super.service();
  }

  override dueIn(nowUs: number): number { return soonest(super.dueIn(nowUs), this.guarantees?.pairs.dueIn(nowUs) ?? -1); }

  override release(): void {
    const left: number[] = [];
    this.guarantees?.pairs.drain(left);
    for (const h of left) this.io.sent(h, QUEUE_FULL);
    super.release();
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
