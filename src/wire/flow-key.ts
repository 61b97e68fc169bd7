// Flow key extraction: parse a frame in place and fill per-handle typed arrays.
//
// Input: a frame (bytes, start, length) and the handle whose key slots to fill.
// Output: FlowKeys fields for that handle and a parse result: 0 (PARSE_OK) or the index of
// a named reason in PARSE_REASONS. It never throws and never reads past `start + length`:
// every header is length-checked once before its fields are read.
// Where it sits: the SoftNic runs it on every received frame (for steering); the switch
// pipeline reads the filled arrays and drops frames whose result is not PARSE_OK.
//
// Key layout per handle h: MACs as (hi16, lo32); up to MAX_VLAN_TAGS TCIs at h*MAX_VLAN_TAGS;
// addresses as four u32 words at h*4 (IPv4 uses word 0, the rest zero); L4 ports (for ICMP
// and ICMPv6: type and code, as Open vSwitch does); only first fragments carry ports.

import { u16, u32 } from './bytes.js';
import { ETH_HEADER_LEN, ETH_TYPE, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, isVlanTpid, MAX_VLAN_TAGS, VLAN_TAG_LEN } from './ethernet.js';
import { ARP_LEN, ARP_SPA, ARP_TPA } from './arp.js';
import { IPV4_DST, IPV4_FLAGS_FRAG, IPV4_MF, IPV4_MIN_LEN, IPV4_OFFSET_MASK, IPV4_PROTO, IPV4_SRC, IPV4_TOTAL_LEN } from './ipv4.js';
import {
  FRAG_HEADER_LEN, FRAG_OFFSET_M, IPV6_DST, IPV6_HEADER_LEN, IPV6_NEXT, IPV6_PAYLOAD_LEN, IPV6_SRC, MAX_IPV6_EXT_HEADERS,
  NH_AH, NH_DEST_OPTS, NH_FRAGMENT, NH_HIP, NH_HOP_BY_HOP, NH_MOBILITY, NH_ROUTING, NH_SHIM6,
} from './ipv6.js';
import { ICMP_MIN_LEN, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP, SCTP_MIN_LEN, TCP_DATA_OFF, TCP_FLAGS, TCP_MIN_LEN, UDP_HEADER_LEN, UDP_LEN } from './l4.js';
import { VXLAN_HEADER_LEN, VXLAN_PORT } from './vxlan.js';

/** Why a frame could not be parsed. Index 0 means it parsed. */
export const PARSE_REASONS = [
  'ok',
  'ethTruncated', 'vlanTruncated', 'vlanTooDeep',
  'arpTruncated',
  'ipv4Truncated', 'ipv4BadVersion', 'ipv4BadHeaderLength', 'ipv4BadTotalLength',
  'ipv6Truncated', 'ipv6BadVersion', 'ipv6ExtTruncated', 'ipv6ExtTooMany',
  'tcpTruncated', 'tcpBadDataOffset', 'udpTruncated', 'udpBadLength',
  'icmpTruncated', 'sctpTruncated', 'vxlanTruncated',
] as const;
export type ParseReason = (typeof PARSE_REASONS)[number];
export const PARSE_OK = 0;
const R = Object.fromEntries(PARSE_REASONS.map((n, i) => [n, i])) as { [K in ParseReason]: number };

/** Fragment state of an IP packet. */
export const FRAG_NONE = 0;
export const FRAG_FIRST = 1;
export const FRAG_LATER = 2;

export interface FlowKeysShare { slots: number; buffer: SharedArrayBuffer }

// Sum of the field widths below (75 bytes), rounded up; alignment padding is covered by the +64.
const BYTES_PER_SLOT = 80;

/** Per-handle flow key fields, in typed arrays over one SharedArrayBuffer. */
export class FlowKeys {
  readonly slots: number;
  readonly buffer: SharedArrayBuffer;
  readonly dstMacHi: Uint16Array; readonly dstMacLo: Uint32Array;
  readonly srcMacHi: Uint16Array; readonly srcMacLo: Uint32Array;
  readonly inPort: Uint16Array;
  /** TCIs outermost first, MAX_VLAN_TAGS per handle. */
  readonly vlanTci: Uint16Array;
  readonly vlanCount: Uint8Array;
  /** EtherType after the tags. */
  readonly etherType: Uint16Array;
  /** Offsets from the frame start: L3 header, L4 header (0 when absent). */
  readonly l3Off: Uint16Array; readonly l4Off: Uint16Array;
  readonly ipVersion: Uint8Array; readonly proto: Uint8Array; readonly frag: Uint8Array;
  readonly src: Uint32Array; readonly dst: Uint32Array;
  readonly srcPort: Uint16Array; readonly dstPort: Uint16Array;
  readonly tcpFlags: Uint8Array;
  /** IPv4 TOS / IPv6 traffic class byte (DSCP is the top six bits). */
  readonly tos: Uint8Array;
  /** PARSE_OK or a PARSE_REASONS index. */
  readonly reason: Uint8Array;
  /** RSS hash (filled by the NIC). */
  readonly hash: Uint32Array;

  constructor(slots: number, buffer?: SharedArrayBuffer) {
    this.slots = slots;
    this.buffer = buffer ?? new SharedArrayBuffer(slots * BYTES_PER_SLOT + 64);
    let at = 0;
    const take = <T>(ctor: { new (b: ArrayBufferLike, o: number, n: number): T; BYTES_PER_ELEMENT: number }, n: number): T => {
      at = Math.ceil(at / ctor.BYTES_PER_ELEMENT) * ctor.BYTES_PER_ELEMENT;
      const a = new ctor(this.buffer, at, n);
      at += n * ctor.BYTES_PER_ELEMENT;
      return a;
    };
    this.src = take(Uint32Array, slots * 4); this.dst = take(Uint32Array, slots * 4);
    this.dstMacLo = take(Uint32Array, slots); this.srcMacLo = take(Uint32Array, slots);
    this.hash = take(Uint32Array, slots);
    this.dstMacHi = take(Uint16Array, slots); this.srcMacHi = take(Uint16Array, slots);
    this.inPort = take(Uint16Array, slots);
    this.vlanTci = take(Uint16Array, slots * MAX_VLAN_TAGS);
    this.etherType = take(Uint16Array, slots);
    this.l3Off = take(Uint16Array, slots); this.l4Off = take(Uint16Array, slots);
    this.srcPort = take(Uint16Array, slots); this.dstPort = take(Uint16Array, slots);
    this.vlanCount = take(Uint8Array, slots);
    this.ipVersion = take(Uint8Array, slots); this.proto = take(Uint8Array, slots); this.frag = take(Uint8Array, slots);
    this.tcpFlags = take(Uint8Array, slots);
    this.tos = take(Uint8Array, slots);
    this.reason = take(Uint8Array, slots);
  }

  static attach(s: FlowKeysShare): FlowKeys { return new FlowKeys(s.slots, s.buffer); }
  shared(): FlowKeysShare { return { slots: this.slots, buffer: this.buffer }; }

  /** Parse the frame b[start..start+length) into the key of handle h; returns the reason. */
  extract(b: Uint8Array, start: number, length: number, h: number): number {
    const end = start + length;
    this.frameStart = start;
    const a4 = h * 4;
    this.src[a4] = 0; this.src[a4 + 1] = 0; this.src[a4 + 2] = 0; this.src[a4 + 3] = 0;
    this.dst[a4] = 0; this.dst[a4 + 1] = 0; this.dst[a4 + 2] = 0; this.dst[a4 + 3] = 0;
    this.vlanCount[h] = 0; this.etherType[h] = 0; this.l3Off[h] = 0; this.l4Off[h] = 0;
    this.ipVersion[h] = 0; this.proto[h] = 0; this.frag[h] = FRAG_NONE;
    this.srcPort[h] = 0; this.dstPort[h] = 0; this.tcpFlags[h] = 0; this.tos[h] = 0;
    if (length < ETH_HEADER_LEN) return this.fail(h, R.ethTruncated);
    this.dstMacHi[h] = u16(b, start); this.dstMacLo[h] = u32(b, start + 2);
    this.srcMacHi[h] = u16(b, start + 6); this.srcMacLo[h] = u32(b, start + 8);

    let type = u16(b, start + ETH_TYPE);
    let p = start + ETH_HEADER_LEN;
    let tags = 0;
    while (isVlanTpid(type)) {
      if (tags === MAX_VLAN_TAGS) return this.fail(h, R.vlanTooDeep);
      if (p + VLAN_TAG_LEN > end) return this.fail(h, R.vlanTruncated);
      this.vlanTci[h * MAX_VLAN_TAGS + tags] = u16(b, p);
      type = u16(b, p + 2);
      p += VLAN_TAG_LEN;
      tags++;
    }
    this.vlanCount[h] = tags;
    this.etherType[h] = type;
    this.l3Off[h] = p - start;

    if (type === ETHERTYPE_IPV4) return this.ipv4(b, p, end, h);
    if (type === ETHERTYPE_IPV6) return this.ipv6(b, p, end, h);
    if (type === ETHERTYPE_ARP) {
      if (p + ARP_LEN > end) return this.fail(h, R.arpTruncated);
      this.src[a4] = u32(b, p + ARP_SPA);
      this.dst[a4] = u32(b, p + ARP_TPA);
    }
    return this.ok(h);
  }

  private ipv4(b: Uint8Array, p: number, end: number, h: number): number {
    if (p + IPV4_MIN_LEN > end) return this.fail(h, R.ipv4Truncated);
    const vihl = b[p];
    if (vihl >>> 4 !== 4) return this.fail(h, R.ipv4BadVersion);
    const ihl = (vihl & 15) * 4;
    if (ihl < IPV4_MIN_LEN) return this.fail(h, R.ipv4BadHeaderLength);
    if (p + ihl > end) return this.fail(h, R.ipv4Truncated);
    const total = u16(b, p + IPV4_TOTAL_LEN);
    if (total < ihl) return this.fail(h, R.ipv4BadTotalLength);
    if (p + total > end) return this.fail(h, R.ipv4Truncated);
    this.ipVersion[h] = 4;
    const proto = b[p + IPV4_PROTO];
    this.proto[h] = proto;
    this.tos[h] = b[p + 1];
    this.src[h * 4] = u32(b, p + IPV4_SRC);
    this.dst[h * 4] = u32(b, p + IPV4_DST);
    const ff = u16(b, p + IPV4_FLAGS_FRAG);
    if ((ff & IPV4_OFFSET_MASK) !== 0) { this.frag[h] = FRAG_LATER; return this.ok(h); }
    if ((ff & IPV4_MF) !== 0) this.frag[h] = FRAG_FIRST;
    // Ethernet padding after the IP packet is not L4 data: L4 ends at the IP total length.
    return this.l4(b, p + ihl, p + total, proto, h);
  }

  private ipv6(b: Uint8Array, p: number, end: number, h: number): number {
    if (p + IPV6_HEADER_LEN > end) return this.fail(h, R.ipv6Truncated);
    if (b[p] >>> 4 !== 6) return this.fail(h, R.ipv6BadVersion);
    const payload = u16(b, p + IPV6_PAYLOAD_LEN);
    // Payload length 0 is a jumbogram (RFC 2675, BIG TCP): the frame end bounds the packet.
    let l3end = end;
    if (payload !== 0) {
      if (p + IPV6_HEADER_LEN + payload > end) return this.fail(h, R.ipv6Truncated);
      l3end = p + IPV6_HEADER_LEN + payload;
    }
    this.ipVersion[h] = 6;
    this.tos[h] = ((b[p] & 15) << 4) | (b[p + 1] >>> 4);
    const a4 = h * 4;
    for (let i = 0; i < 4; i++) {
      this.src[a4 + i] = u32(b, p + IPV6_SRC + 4 * i);
      this.dst[a4 + i] = u32(b, p + IPV6_DST + 4 * i);
    }
    let next = b[p + IPV6_NEXT];
    let q = p + IPV6_HEADER_LEN;
    for (let n = 0; ; n++) {
      if (next !== NH_HOP_BY_HOP && next !== NH_ROUTING && next !== NH_FRAGMENT && next !== NH_DEST_OPTS &&
          next !== NH_AH && next !== NH_MOBILITY && next !== NH_HIP && next !== NH_SHIM6) break;
      if (n === MAX_IPV6_EXT_HEADERS) return this.fail(h, R.ipv6ExtTooMany);
      if (q + 8 > l3end) return this.fail(h, R.ipv6ExtTruncated);
      let len: number;
      if (next === NH_FRAGMENT) {
        len = FRAG_HEADER_LEN;
        const om = u16(b, q + FRAG_OFFSET_M);
        if ((om & 0xfff8) !== 0) { this.proto[h] = b[q]; this.frag[h] = FRAG_LATER; return this.ok(h); }
        if ((om & 1) !== 0) this.frag[h] = FRAG_FIRST;
      } else if (next === NH_AH) {
        len = (b[q + 1] + 2) * 4;
      } else {
        len = (b[q + 1] + 1) * 8;
      }
      if (q + len > l3end) return this.fail(h, R.ipv6ExtTruncated);
      next = b[q];
      q += len;
    }
    this.proto[h] = next;
    return this.l4(b, q, l3end, next, h);
  }

  private l4(b: Uint8Array, q: number, end: number, proto: number, h: number): number {
    const avail = end - q;
    if (proto === PROTO_TCP) {
      if (avail < TCP_MIN_LEN) return this.fail(h, R.tcpTruncated);
      const hl = (b[q + TCP_DATA_OFF] >>> 4) * 4;
      if (hl < TCP_MIN_LEN) return this.fail(h, R.tcpBadDataOffset);
      if (hl > avail) return this.fail(h, R.tcpTruncated);
      this.tcpFlags[h] = b[q + TCP_FLAGS];
    } else if (proto === PROTO_UDP) {
      if (avail < UDP_HEADER_LEN) return this.fail(h, R.udpTruncated);
      const ul = u16(b, q + UDP_LEN);
      // A first fragment carries only part of the datagram; 0 is legal in IPv6 jumbograms.
      if (this.frag[h] === FRAG_NONE && ul !== 0) {
        if (ul < UDP_HEADER_LEN) return this.fail(h, R.udpBadLength);
        if (ul > avail) return this.fail(h, R.udpTruncated);
      }
      if (u16(b, q + 2) === VXLAN_PORT && avail < UDP_HEADER_LEN + VXLAN_HEADER_LEN) return this.fail(h, R.vxlanTruncated);
    } else if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
      if (avail < ICMP_MIN_LEN) return this.fail(h, R.icmpTruncated);
      this.srcPort[h] = b[q];
      this.dstPort[h] = b[q + 1];
      this.l4Off[h] = q - this.frameStart;
      return this.ok(h);
    } else if (proto === PROTO_SCTP) {
      if (avail < SCTP_MIN_LEN) return this.fail(h, R.sctpTruncated);
    } else {
      return this.ok(h);
    }
    this.srcPort[h] = u16(b, q);
    this.dstPort[h] = u16(b, q + 2);
    this.l4Off[h] = q - this.frameStart;
    return this.ok(h);
  }

  // Start of the frame being parsed, so offsets can be stored frame-relative.
  private frameStart = 0;

  private ok(h: number): number { this.reason[h] = PARSE_OK; return PARSE_OK; }
  private fail(h: number, r: number): number { this.reason[h] = r; return r; }
}
