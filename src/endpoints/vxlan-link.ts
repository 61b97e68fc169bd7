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
// top-of-rack port toward this host) before they reach the switch, frames to send in a transmit
// one (the NIC's line rate); each is served as its tokens allow whenever the thread turns
// (service()), and the thread keeps turning while either holds frames (backlog()). A frame is
// charged its bytes on the wire: inner frame + WIRE_OVERHEAD.
//
// Counters: a frame too large for the underlay once encapsulated (mtu) is txDropMtu; one the
// emulated link's queue has no room for is rxDropQueue / txDropQueue; per remote VTEP
// (VtepTable, this thread's slice): datagrams and inner bytes sent and received, and datagrams
// not sent (MTU, send errors).

import { BurstLink } from './burst-link.js';
import { PortIo, QUEUE_FULL, TOO_BIG } from './endpoint.js';
import { LinkShare, TunnelShare } from './link.js';
import { VC_RX_BYTES, VC_RX_PACKETS, VC_TX_BYTES, VC_TX_DROPS, VC_TX_PACKETS, VtepTable } from './vtep-table.js';
import { ADDR_REC, NATIVE_BURST } from '../native/io.js';
import { LinkShaper } from '../qos/link-shaper.js';
import { systemClock } from '../clock.js';
import { innerFlowHash, VXLAN_HEADER_LEN, VXLAN_IPV4_OVERHEAD, vxlanValid, vxlanVni, writeOuterIpv4, writeVxlan } from '../wire/vxlan.js';

/** The smallest inner frame: an Ethernet header. */
const MIN_INNER = 14;
/** Bytes of header area per datagram: IPv4 20 + UDP 8 + VXLAN 8 + the MACs of a frame sent without its tag 12. */
const STRIDE = 48;
const REC_WORDS = ADDR_REC >> 2;
/** Wire bytes a frame costs beyond its length on an emulated access link: outer Ethernet, IPv4, UDP, VXLAN (50), FCS (4), preamble and inter-frame gap (20). */
export const WIRE_OVERHEAD = 74;

export class VxlanLink extends BurstLink {
  private readonly t: TunnelShare;
  private readonly vteps: VtepTable;
  private readonly slice: number;
  private readonly flood: Int32Array;
  private readonly raw: boolean;
  private readonly sendFd: number;
  private readonly local: Uint8Array;
  /** Tagged mode: VNI -> VLAN (pairs searched linearly: a handful) and VLAN -> VNI. */
  private readonly tagged: boolean;
  private readonly vnis: Int32Array;
  private readonly vlans: Int32Array;
  private readonly vniOfVlan = new Int32Array(4096).fill(-1);
  /** Largest inner frame (as sent, without a VNI's tag) the underlay takes. */
  private readonly maxInner: number;
  private readonly portRange: number;
  // Receive: the source address of each datagram.
  private readonly rxAddrs = new Uint8Array(NATIVE_BURST * ADDR_REC);
  private readonly rxAddr32 = new Int32Array(this.rxAddrs.buffer);
  // Send: per datagram its frame, VTEP address, header area, header length and bytes skipped.
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

  constructor(share: LinkShare, io: PortIo) {
    super(share, io);
    const t = share.tunnel!;
    this.t = t;
    this.vteps = VtepTable.attach(t.vteps);
    this.slice = this.vteps.claimSlice();
    this.flood = Int32Array.from(this.vteps.floodList());
    this.raw = t.rawFd >= 0;
    this.sendFd = this.raw ? t.rawFd : share.fd;
    this.local = Uint8Array.from(t.local);
    this.tagged = t.vlans.length !== 0;
    this.vnis = Int32Array.from(t.vnis);
    this.vlans = Int32Array.from(t.vlans);
    t.vlans.forEach((v, i) => { this.vniOfVlan[v] = t.vnis[i]; });
    this.maxInner = t.mtu - VXLAN_IPV4_OVERHEAD;
    this.portRange = t.srcPortMax - t.srcPortMin + 1;
    const sh = t.shape, maxFrame = io.pool.maxFrame;
    this.rxShaper = sh === null ? null : new LinkShaper(sh.rateMbps, sh.queueBytes, WIRE_OVERHEAD, sh.ecnBytes, maxFrame, MIN_INNER, sh.rxStats);
    this.txShaper = sh === null ? null : new LinkShaper(sh.rateMbps, sh.queueBytes, WIRE_OVERHEAD, sh.ecnBytes, maxFrame, MIN_INNER, sh.txStats);
  }

  /** Shaped: frames read wait in the receive queue (those it has no room for are dropped, rxDropQueue). */
  protected override deliver(handles: Int32Array, n: number): void {
    const q = this.rxShaper;
    if (q === null) { this.io.receiveBurst(handles, n); return; }
    const pool = this.io.pool;
    let refused = 0;
    for (let i = 0; i < n; i++) if (!q.offer(pool, handles[i])) { pool.free(handles[i]); refused++; }
    if (refused !== 0) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropQueue] += refused; }
  }

  override pull(budget: number): number {
    const n = super.pull(budget);
    return this.rxShaper === null ? n : n + this.service();
  }

  /** Release what the emulated link's tokens allow now, both ways; frames moved. */
  service(): number {
    const rx = this.rxShaper, tx = this.txShaper;
    if (rx === null || tx === null) return 0;
    const now = systemClock.micros();
    let moved = 0;
    for (let k; rx.queued !== 0 && (k = rx.release(now, this.out, NATIVE_BURST)) !== 0;) { this.io.receiveBurst(this.out, k); moved += k; }
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
    const pool = this.io.pool, d = pool.data, vt = this.vteps, cv = vt.values, port = this.t.dstPort;
    let good = 0;
    for (let i = 0; i < r; i++) {
      const h = handles[i], s = pool.start(h), len = pool.len[h];
      if (len < VXLAN_HEADER_LEN + MIN_INNER || len > pool.maxFrame || !vxlanValid(d, s)) continue;
      const k = this.vniIndex(vxlanVni(d, s));
      if (k < 0) continue;
      const v = vt.findOrAdd(this.rxAddr32, i * REC_WORDS, port);
      pool.tunnel[h] = v + 1;
      if (v >= 0) { const row = vt.row(this.slice, v); cv[row + VC_RX_PACKETS]++; cv[row + VC_RX_BYTES] += len - VXLAN_HEADER_LEN; }
      if (this.tagged) {
        // The frame's MACs move 4 bytes into the VXLAN header's place; the tag goes after them.
        const f = s + VXLAN_HEADER_LEN, vid = this.vlans[k];
        d.copyWithin(f - 4, f, f + 12);
        d[f + 8] = 0x81; d[f + 9] = 0x00; d[f + 10] = vid >>> 8; d[f + 11] = vid;
        pool.off[h] += VXLAN_HEADER_LEN - 4;
        pool.len[h] = len - VXLAN_HEADER_LEN + 4;
      } else {
        pool.off[h] += VXLAN_HEADER_LEN;
        pool.len[h] = len - VXLAN_HEADER_LEN;
      }
      handles[i] = handles[good];
      handles[good++] = h;
    }
    if (good !== r) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropEncap] += r - good; }
    return good; // the dropped ones stay in the stock, free for the next read
  }

  // Index of `vni` among the VNIs carried, or -1.
  private vniIndex(vni: number): number {
    const v = this.vnis;
    for (let i = 0; i < v.length; i++) if (v[i] === vni) return i;
    return -1;
  }

  /** First drop (and count) the frames too large for the underlay once encapsulated, then send the rest. */
  override sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const pool = this.io.pool, d = pool.data, cv = this.vteps.values;
    if (this.fit.length < n) { this.fit = new Int32Array(n); this.fitTunnels = new Int32Array(n); }
    let m = 0;
    for (let i = 0; i < n; i++) {
      const h = handles[i], tun = tunnels === undefined ? 0 : tunnels[i];
      let inner = pool.len[h];
      if (this.tagged) inner -= 4;
      if (inner > this.maxInner || (this.tagged && this.vniOfTagged(d, pool.start(h), pool.len[h]) < 0)) {
        if (tun > 0) cv[this.vteps.row(this.slice, tun - 1) + VC_TX_DROPS]++;
        else for (let j = 0; j < this.flood.length; j++) cv[this.vteps.row(this.slice, this.flood[j]) + VC_TX_DROPS]++;
        this.io.sent(h, TOO_BIG);
        continue;
      }
      this.fit[m] = h; this.fitTunnels[m++] = tun;
    }
    if (m === 0) return;
    const q = this.txShaper;
    if (q === null) { super.sendBurst(this.fit, m, this.fitTunnels); return; }
    for (let i = 0; i < m; i++) if (!q.offer(pool, this.fit[i], this.fitTunnels[i])) this.io.sent(this.fit[i], QUEUE_FULL);
    this.service();
  }

  // The VNI of a tagged frame (its 802.1Q VLAN's), or -1.
  private vniOfTagged(d: Uint8Array, s: number, len: number): number {
    if (len < 18 || d[s + 12] !== 0x81 || d[s + 13] !== 0x00) return -1;
    return this.vniOfVlan[((d[s + 14] & 0x0f) << 8) | d[s + 15]];
  }

  protected write(handles: Int32Array, from: number, n: number, tunnels: Int32Array | undefined): number {
    const pool = this.io.pool, d = pool.data, vt = this.vteps, recs = vt.records, rec32 = vt.rec32;
    const heads = this.heads, flood = this.flood, tagged = this.tagged, single = this.vnis[0];
    let msgs = 0, frames = 0;
    for (; frames < n; frames++) {
      const h = handles[from + frames], tun = tunnels === undefined ? 0 : tunnels[from + frames];
      const targets = tun > 0 ? 1 : flood.length;
      if (msgs + targets > NATIVE_BURST) break;
      const s = pool.start(h), len = pool.len[h];
      const vni = tagged ? this.vniOfTagged(d, s, len) : single, inner = tagged ? len - 4 : len, skip = tagged ? 16 : 0;
      const sport = this.raw ? this.t.srcPortMin + Math.floor((innerFlowHash(d, s, len) * this.portRange) / 4294967296) : 0;
      for (let j = 0; j < targets; j++) {
        const v = tun > 0 ? tun - 1 : flood[j], o = msgs * STRIDE;
        let x = o;
        if (this.raw) { writeOuterIpv4(heads, o, this.local, recs, v * ADDR_REC, sport, inner); x += 28; }
        writeVxlan(heads, x, vni); x += VXLAN_HEADER_LEN;
        if (tagged) { for (let b = 0; b < 12; b++) heads[x + b] = d[s + b]; x += 12; }
        this.headLens[msgs] = x - o;
        this.skips[msgs] = skip;
        this.msgH[msgs] = h;
        this.msgVtep[msgs] = v;
        this.msgFrame[msgs] = frames;
        const a = msgs * REC_WORDS, b = v * REC_WORDS, to = this.msgAddr32;
        to[a] = rec32[b]; to[a + 1] = rec32[b + 1]; to[a + 2] = rec32[b + 2]; to[a + 3] = rec32[b + 3]; to[a + 4] = rec32[b + 4]; to[a + 5] = rec32[b + 5];
        msgs++;
      }
    }
    const r = this.nio.sendEncap(this.bind, this.sendFd, this.msgH, 0, msgs, this.msgAddrs, heads, STRIDE, this.headLens, this.skips);
    const cv = vt.values, slice = this.slice, frame = this.msgFrame;
    if (r < 0) {
      // The first frame failed: each of its datagrams is a drop at its VTEP.
      for (let i = 0; i < msgs && frame[i] === 0; i++) cv[vt.row(slice, this.msgVtep[i]) + VC_TX_DROPS]++;
      return r;
    }
    for (let i = 0; i < r; i++) { const row = vt.row(slice, this.msgVtep[i]); cv[row + VC_TX_PACKETS]++; cv[row + VC_TX_BYTES] += pool.len[this.msgH[i]] - (tagged ? 4 : 0); }
    if (r === 0) return 0;
    // A frame that reached some of its VTEPs counts as sent; its other datagrams are drops there.
    const last = frame[r - 1];
    for (let i = r; i < msgs && frame[i] === last; i++) cv[vt.row(slice, this.msgVtep[i]) + VC_TX_DROPS]++;
    return last + 1;
  }

  protected readFailed(): void { this.countRxError(); }
  protected writeFailed(): boolean { return false; }
}
