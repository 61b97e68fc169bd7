// VxlanCodec: what a VXLAN uplink does to each frame, whichever I/O carries it (the native
// link, vxlan-link.ts, or Node dgram, vxlan-dgram.ts), in the thread that runs it.
//
// decap(): a received datagram in a slot — dropped (false) without the I flag, of a VNI the
// uplink does not carry, or too short for a frame; otherwise the VXLAN header is skipped, the
// frame gets its VNI's VLAN tag when the uplink maps several VNIs to VLANs (pushed into the
// headroom the header leaves), and pool.tunnel says which remote VTEP sent it (VtepTable index
// + 1; a new address is added), counted at that VTEP.
//
// For sending: vniOf() the frame's VNI (with a VNI map, its 802.1Q tag's; the tag is left out
// of the datagram: headers carry the MAC addresses and the frame is sent from after the tag),
// fits() against the underlay's MTU, and header() writes one datagram's outer headers for a
// VTEP into a header area — IPv4 + UDP + VXLAN for a raw socket (the UDP source port from the
// inner flow's hash, in Linux's range), or the VXLAN header alone for a UDP socket.

import { PacketPool } from '../nic/pool.js';
import { TunnelShare } from './link.js';
import { TOO_BIG } from './endpoint.js';
import { VC_RX_BYTES, VC_RX_PACKETS, VC_TX_BYTES, VC_TX_DROPS, VC_TX_PACKETS, VtepTable } from './vtep-table.js';
import { ADDR_REC } from '../native/io.js';
import { innerFlowHash, VXLAN_HEADER_LEN, VXLAN_IPV4_OVERHEAD, vxlanValid, vxlanVni, writeOuterIpv4, writeVxlan } from '../wire/vxlan.js';

/** The smallest inner frame: an Ethernet header. */
export const MIN_INNER = 14;
/** Wire bytes a frame costs beyond its length on an emulated access link: outer Ethernet, IPv4, UDP, VXLAN (50), FCS (4), preamble and inter-frame gap (20). */
export const WIRE_OVERHEAD = 74;
/** Most bytes of outer header one datagram takes: IPv4 20 + UDP 8 + VXLAN 8 + the MACs of a frame sent without its tag 12. */
export const MAX_HEADER = 48;
/** No VNI for the frame (tagged mode: untagged, or a VLAN not mapped). */
export const NO_VNI = -1;
/** The `err` of a frame with no VNI to go out in (the port's VLANs make it rare): counted as txErrors. */
export const NO_VNI_SEND = 'noVni';

export class VxlanCodec {
  readonly vteps: VtepTable;
  /** This thread's counter slice. */
  readonly slice: number;
  /** The flood list's VTEP indices. */
  readonly flood: Int32Array;
  /** Outer IP and UDP headers are written here (a raw socket sends). */
  readonly raw: boolean;
  /** A VNI map: frames carry their VLAN's tag inside the switch. */
  readonly tagged: boolean;
  private readonly vnis: Int32Array;
  private readonly vlans: Int32Array;
  private readonly vniOfVlan = new Int32Array(4096).fill(NO_VNI);
  private readonly local: Uint8Array;
  /** Largest inner frame (as sent, without a VNI's tag) the underlay takes. */
  private readonly maxInner: number;
  private readonly srcPortMin: number;
  private readonly portRange: number;
  private readonly dstPort: number;

  constructor(t: TunnelShare, raw: boolean) {
    this.vteps = VtepTable.attach(t.vteps);
    this.slice = this.vteps.claimSlice();
    this.flood = Int32Array.from(this.vteps.floodList());
    this.raw = raw;
    this.tagged = t.vlans.length !== 0;
    this.vnis = Int32Array.from(t.vnis);
    this.vlans = Int32Array.from(t.vlans);
    t.vlans.forEach((v, i) => { this.vniOfVlan[v] = t.vnis[i]; });
    this.local = Uint8Array.from(t.local);
    this.maxInner = t.mtu - VXLAN_IPV4_OVERHEAD;
    this.srcPortMin = t.srcPortMin;
    this.portRange = t.srcPortMax - t.srcPortMin + 1;
    this.dstPort = t.dstPort;
  }

  // Index of `vni` among the VNIs carried, or -1.
  private vniIndex(vni: number): number {
    const v = this.vnis;
    for (let i = 0; i < v.length; i++) if (v[i] === vni) return i;
    return -1;
  }

  /**
   * Decapsulate the datagram in slot h (off/len: the whole datagram after UDP), from the VTEP
   * whose address record is recs[at .. at + 6) (int32 words): true when it is a frame of ours,
   * now at off/len with pool.tunnel set; false when it is not (the caller drops and counts it).
   */
  decap(pool: PacketPool, h: number, recs: Int32Array, at: number): boolean {
    const d = pool.data, s = pool.start(h), len = pool.len[h];
    if (len < VXLAN_HEADER_LEN + MIN_INNER || len > pool.maxFrame || !vxlanValid(d, s)) return false;
    const k = this.vniIndex(vxlanVni(d, s));
    if (k < 0) return false;
    const vt = this.vteps, v = vt.findOrAdd(recs, at, this.dstPort);
    pool.tunnel[h] = v + 1;
    if (v >= 0) { const row = vt.row(this.slice, v), cv = vt.values; cv[row + VC_RX_PACKETS]++; cv[row + VC_RX_BYTES] += len - VXLAN_HEADER_LEN; }
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
    return true;
  }

  /** The VNI frame h goes out in, or NO_VNI. */
  vniOf(pool: PacketPool, h: number): number {
    if (!this.tagged) return this.vnis[0];
    const d = pool.data, s = pool.start(h);
    if (pool.len[h] < 18 || d[s + 12] !== 0x81 || d[s + 13] !== 0x00) return NO_VNI;
    return this.vniOfVlan[((d[s + 14] & 0x0f) << 8) | d[s + 15]];
  }

  /** The inner frame's bytes in the datagram (without a VNI's tag). */
  innerLen(pool: PacketPool, h: number): number { return this.tagged ? pool.len[h] - 4 : pool.len[h]; }
  /** Does frame h fit the underlay once encapsulated? */
  fits(pool: PacketPool, h: number): boolean { return this.innerLen(pool, h) <= this.maxInner; }
  /** Bytes of frame h not sent after the header (its MACs and tag, with a VNI map). */
  get skip(): number { return this.tagged ? 16 : 0; }

  /** Why frame h cannot be sent at all (TOO_BIG for the underlay, NO_VNI_SEND), or null. */
  unsendable(pool: PacketPool, h: number): string | null {
    return !this.fits(pool, h) ? TOO_BIG : this.vniOf(pool, h) === NO_VNI ? NO_VNI_SEND : null;
  }

  /** A frame for `tunnel` (VTEP + 1; 0: the flood list) was not sent: a drop at each VTEP it was for. */
  dropAt(tunnel: number): void {
    if (tunnel > 0) this.dropTo(tunnel - 1);
    else for (let j = 0; j < this.flood.length; j++) this.dropTo(this.flood[j]);
  }

  /** A datagram of frame h went to VTEP v (this thread's counters). */
  sentTo(v: number, pool: PacketPool, h: number): void {
    const vt = this.vteps, row = vt.row(this.slice, v);
    vt.values[row + VC_TX_PACKETS]++; vt.values[row + VC_TX_BYTES] += this.innerLen(pool, h);
  }

  /** A datagram for VTEP v was not sent. */
  dropTo(v: number): void { this.vteps.values[this.vteps.row(this.slice, v) + VC_TX_DROPS]++; }

  /** The UDP source port of frame h's datagrams (raw sending; its inner flow's hash in Linux's range). */
  sourcePort(pool: PacketPool, h: number): number {
    return this.srcPortMin + Math.floor((innerFlowHash(pool.data, pool.start(h), pool.len[h]) * this.portRange) / 4294967296);
  }

  /** Write frame h's datagram header for VTEP v at heads[o ..): the header's length. */
  header(heads: Uint8Array, o: number, pool: PacketPool, h: number, vni: number, v: number, sport: number): number {
    let x = o;
    if (this.raw) { writeOuterIpv4(heads, o, this.local, this.vteps.records, v * ADDR_REC, sport, this.innerLen(pool, h)); x += 28; }
    writeVxlan(heads, x, vni); x += VXLAN_HEADER_LEN;
    if (this.tagged) { const d = pool.data, s = pool.start(h); for (let b = 0; b < 12; b++) heads[x + b] = d[s + b]; x += 12; }
    return x - o;
  }
}
