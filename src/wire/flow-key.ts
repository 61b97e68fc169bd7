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
//
// The same key, packed: `packed[h * KEY_STRIDE ..]` holds the classification key the flow
// cache stores and the classifier masks, written here while parsing (so the flow stage never
// gathers it from the arrays above). KEY_WORDS words in one 64-byte line per handle:
//
//   w0  inPort(16) | outer VID(12) | PCP(3) | tagged(1)
//   w1  EtherType(16) | IP proto(8) | IP version(4) | fragment(2) | 0(2)
//   w2  dst MAC[0..1](16) | src MAC[0..1](16)
//   w3  dst MAC[2..5]      w4  src MAC[2..5]
//   w5..w8  source address (IPv4 in w5)     w9..w12  destination address
//   w13 L4 source port(16) | L4 destination port(16)
//   w14 TCP flags(8) | TOS/traffic class(8) | 0(16)
//   w15 unused
// `inPort[h]` must be set before extract (the NIC does); packKey (src/flow/key.ts) builds the
// same words from the fields and is what the tests hold this to.

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

/** Words of the packed classification key. */
export const KEY_WORDS = 15;
/** Words per handle in FlowKeys.packed: one 64-byte cache line. */
export const KEY_STRIDE = 16;

// The packed key (64 bytes) plus the sum of the field widths below (75 bytes), rounded up;
// alignment padding is covered by the +64.
const BYTES_PER_SLOT = 64 + 80;

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
  /** The packed classification key, KEY_STRIDE words per handle (layout above). */
  readonly packed: Uint32Array;

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
    this.packed = take(Uint32Array, slots * KEY_STRIDE); // first: each handle's key is line-aligned
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
    this.frameStart = start;
    this.sTags = 0; this.sTci = 0; this.sType = 0; this.sL3 = 0; this.sL4 = 0; this.sVer = 0; this.sProto = 0;
    this.sFrag = FRAG_NONE; this.sSport = 0; this.sDport = 0; this.sFlags = 0; this.sTos = 0; this.sAddr = false;
    const r = this.parse(b, start, start + length, h);
    this.commit(h, r);
    return r;
  }

  // Parsing fills the scratch fields below (MACs, tags and addresses go straight to their
  // arrays); commit() then writes every field and the packed key once.
  private parse(b: Uint8Array, start: number, end: number, h: number): number {
    const P = this.packed, w = h * KEY_STRIDE;
    if (end - start < ETH_HEADER_LEN) {
      this.dstMacHi[h] = 0; this.dstMacLo[h] = 0; this.srcMacHi[h] = 0; this.srcMacLo[h] = 0;
      P[w + 2] = 0; P[w + 3] = 0; P[w + 4] = 0;
      return R.ethTruncated;
    }
    const dHi = u16(b, start), dLo = u32(b, start + 2), sHi = u16(b, start + 6), sLo = u32(b, start + 8);
    this.dstMacHi[h] = dHi; this.dstMacLo[h] = dLo;
    this.srcMacHi[h] = sHi; this.srcMacLo[h] = sLo;
    P[w + 2] = ((dHi << 16) | sHi) >>> 0; P[w + 3] = dLo; P[w + 4] = sLo;

    let type = u16(b, start + ETH_TYPE);
    let p = start + ETH_HEADER_LEN;
    let tags = 0;
    while (isVlanTpid(type)) {
      if (tags === MAX_VLAN_TAGS) return R.vlanTooDeep;
      if (p + VLAN_TAG_LEN > end) return R.vlanTruncated;
      const tci = u16(b, p);
      this.vlanTci[h * MAX_VLAN_TAGS + tags] = tci;
      if (tags === 0) this.sTci = tci;
      type = u16(b, p + 2);
      p += VLAN_TAG_LEN;
      tags++;
    }
    this.sTags = tags;
    this.sType = type;
    this.sL3 = p - start;

    if (type === ETHERTYPE_IPV4) return this.ipv4(b, p, end, h);
    if (type === ETHERTYPE_IPV6) return this.ipv6(b, p, end, h);
    if (type === ETHERTYPE_ARP) {
      if (p + ARP_LEN > end) return R.arpTruncated;
      this.addr4(h, u32(b, p + ARP_SPA), u32(b, p + ARP_TPA));
    }
    return PARSE_OK;
  }

  // IPv4 (or ARP) addresses: word 0 of each address, the other three zero. Stores are what
  // parsing spends its time on, so the zero words are written only when the handle's last
  // key was IPv6 (the only writer of them; ipVersion still holds the last key's version).
  private addr4(h: number, sa: number, da: number): void {
    const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
    this.src[a4] = sa; this.dst[a4] = da;
    P[w + 5] = sa; P[w + 9] = da;
    if (this.ipVersion[h] === 6) this.zeroHighWords(h);
    this.sAddr = true;
  }

  // Zero words 1..3 of both addresses (fields and packed).
  private zeroHighWords(h: number): void {
    const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
    this.src[a4 + 1] = 0; this.src[a4 + 2] = 0; this.src[a4 + 3] = 0;
    this.dst[a4 + 1] = 0; this.dst[a4 + 2] = 0; this.dst[a4 + 3] = 0;
    P[w + 6] = 0; P[w + 7] = 0; P[w + 8] = 0; P[w + 10] = 0; P[w + 11] = 0; P[w + 12] = 0;
  }

  private ipv4(b: Uint8Array, p: number, end: number, h: number): number {
    if (p + IPV4_MIN_LEN > end) return R.ipv4Truncated;
    const vihl = b[p];
    if (vihl >>> 4 !== 4) return R.ipv4BadVersion;
    const ihl = (vihl & 15) * 4;
    if (ihl < IPV4_MIN_LEN) return R.ipv4BadHeaderLength;
    if (p + ihl > end) return R.ipv4Truncated;
    const total = u16(b, p + IPV4_TOTAL_LEN);
    if (total < ihl) return R.ipv4BadTotalLength;
    if (p + total > end) return R.ipv4Truncated;
    this.sVer = 4;
    const proto = b[p + IPV4_PROTO];
    this.sProto = proto;
    this.sTos = b[p + 1];
    this.addr4(h, u32(b, p + IPV4_SRC), u32(b, p + IPV4_DST));
    const ff = u16(b, p + IPV4_FLAGS_FRAG);
    if ((ff & IPV4_OFFSET_MASK) !== 0) { this.sFrag = FRAG_LATER; return PARSE_OK; }
    if ((ff & IPV4_MF) !== 0) this.sFrag = FRAG_FIRST;
    // Ethernet padding after the IP packet is not L4 data: L4 ends at the IP total length.
    return this.l4(b, p + ihl, p + total, proto);
  }

  private ipv6(b: Uint8Array, p: number, end: number, h: number): number {
    if (p + IPV6_HEADER_LEN > end) return R.ipv6Truncated;
    if (b[p] >>> 4 !== 6) return R.ipv6BadVersion;
    const payload = u16(b, p + IPV6_PAYLOAD_LEN);
    // Payload length 0 is a jumbogram (RFC 2675, BIG TCP): the frame end bounds the packet.
    let l3end = end;
    if (payload !== 0) {
      if (p + IPV6_HEADER_LEN + payload > end) return R.ipv6Truncated;
      l3end = p + IPV6_HEADER_LEN + payload;
    }
    this.sVer = 6;
    this.sTos = ((b[p] & 15) << 4) | (b[p + 1] >>> 4);
    const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
    for (let i = 0; i < 4; i++) {
      const sa = u32(b, p + IPV6_SRC + 4 * i), da = u32(b, p + IPV6_DST + 4 * i);
      this.src[a4 + i] = sa; this.dst[a4 + i] = da;
      P[w + 5 + i] = sa; P[w + 9 + i] = da;
    }
    this.sAddr = true;
    let next = b[p + IPV6_NEXT];
    let q = p + IPV6_HEADER_LEN;
    for (let n = 0; ; n++) {
      if (next !== NH_HOP_BY_HOP && next !== NH_ROUTING && next !== NH_FRAGMENT && next !== NH_DEST_OPTS &&
          next !== NH_AH && next !== NH_MOBILITY && next !== NH_HIP && next !== NH_SHIM6) break;
      if (n === MAX_IPV6_EXT_HEADERS) return R.ipv6ExtTooMany;
      if (q + 8 > l3end) return R.ipv6ExtTruncated;
      let len: number;
      if (next === NH_FRAGMENT) {
        len = FRAG_HEADER_LEN;
        const om = u16(b, q + FRAG_OFFSET_M);
        if ((om & 0xfff8) !== 0) { this.sProto = b[q]; this.sFrag = FRAG_LATER; return PARSE_OK; }
        if ((om & 1) !== 0) this.sFrag = FRAG_FIRST;
      } else if (next === NH_AH) {
        len = (b[q + 1] + 2) * 4;
      } else {
        len = (b[q + 1] + 1) * 8;
      }
      if (q + len > l3end) return R.ipv6ExtTruncated;
      next = b[q];
      q += len;
    }
    this.sProto = next;
    return this.l4(b, q, l3end, next);
  }

  private l4(b: Uint8Array, q: number, end: number, proto: number): number {
    const avail = end - q;
    if (proto === PROTO_TCP) {
      if (avail < TCP_MIN_LEN) return R.tcpTruncated;
      const hl = (b[q + TCP_DATA_OFF] >>> 4) * 4;
      if (hl < TCP_MIN_LEN) return R.tcpBadDataOffset;
      if (hl > avail) return R.tcpTruncated;
      this.sFlags = b[q + TCP_FLAGS];
    } else if (proto === PROTO_UDP) {
      if (avail < UDP_HEADER_LEN) return R.udpTruncated;
      const ul = u16(b, q + UDP_LEN);
      // A first fragment carries only part of the datagram; 0 is legal in IPv6 jumbograms.
      if (this.sFrag === FRAG_NONE && ul !== 0) {
        if (ul < UDP_HEADER_LEN) return R.udpBadLength;
        if (ul > avail) return R.udpTruncated;
      }
      if (u16(b, q + 2) === VXLAN_PORT && avail < UDP_HEADER_LEN + VXLAN_HEADER_LEN) return R.vxlanTruncated;
    } else if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
      if (avail < ICMP_MIN_LEN) return R.icmpTruncated;
      this.sSport = b[q];
      this.sDport = b[q + 1];
      this.sL4 = q - this.frameStart;
      return PARSE_OK;
    } else if (proto === PROTO_SCTP) {
      if (avail < SCTP_MIN_LEN) return R.sctpTruncated;
    } else {
      return PARSE_OK;
    }
    this.sSport = u16(b, q);
    this.sDport = u16(b, q + 2);
    this.sL4 = q - this.frameStart;
    return PARSE_OK;
  }

  // Write the parsed fields of handle h and the packed words not written while parsing.
  private commit(h: number, r: number): void {
    if (!this.sAddr) {
      const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
      this.src[a4] = 0; this.dst[a4] = 0; P[w + 5] = 0; P[w + 9] = 0;
      if (this.ipVersion[h] === 6) this.zeroHighWords(h);
    }
    const tags = this.sTags, tci = tags !== 0 ? this.sTci : 0, type = this.sType, ver = this.sVer, proto = this.sProto, frag = this.sFrag;
    const sport = this.sSport, dport = this.sDport, flags = this.sFlags, tos = this.sTos;
    this.vlanCount[h] = tags; this.etherType[h] = type; this.l3Off[h] = this.sL3; this.l4Off[h] = this.sL4;
    this.ipVersion[h] = ver; this.proto[h] = proto; this.frag[h] = frag;
    this.srcPort[h] = sport; this.dstPort[h] = dport; this.tcpFlags[h] = flags; this.tos[h] = tos;
    this.reason[h] = r;
    const P = this.packed, w = h * KEY_STRIDE;
    P[w] = ((this.inPort[h] << 16) | ((tci & 0xfff) << 4) | ((tci >>> 13) << 1) | (tags !== 0 ? 1 : 0)) >>> 0;
    P[w + 1] = ((type << 16) | (proto << 8) | (ver << 4) | (frag << 2)) >>> 0;
    P[w + 13] = ((sport << 16) | dport) >>> 0;
    P[w + 14] = ((flags << 24) | (tos << 16)) >>> 0;
  }

  // Scratch of the frame being parsed: its start (offsets are stored frame-relative), outer
  // tag, tag count, EtherType, L3/L4 offsets, IP version, protocol, fragment state, ports,
  // TCP flags, TOS, and whether addresses were written.
  private frameStart = 0;
  private sTags = 0; private sTci = 0; private sType = 0; private sL3 = 0; private sL4 = 0;
  private sVer = 0; private sProto = 0; private sFrag = 0;
  private sSport = 0; private sDport = 0; private sFlags = 0; private sTos = 0;
  private sAddr = false;
}
