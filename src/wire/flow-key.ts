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

  /**
   * Parse the frame b[start..start+length) into the key of handle h; returns the reason.
   * One function over locals: each field and packed word is stored once, at the end (stores
   * are what parsing spends its time on); `break parse` ends parsing with the reason in r.
   */
  extract(b: Uint8Array, start: number, length: number, h: number): number {
    const end = start + length, a4 = h * 4, w = h * KEY_STRIDE, P = this.packed;
    let r = PARSE_OK, tags = 0, tci = 0, type = 0, l3 = 0, l4 = 0, ver = 0, proto = 0, frag = FRAG_NONE;
    let sport = 0, dport = 0, flags = 0, tos = 0, addr = false;
    parse: {
      if (length < ETH_HEADER_LEN) {
        this.dstMacHi[h] = 0; this.dstMacLo[h] = 0; this.srcMacHi[h] = 0; this.srcMacLo[h] = 0;
        P[w + 2] = 0; P[w + 3] = 0; P[w + 4] = 0;
        r = R.ethTruncated; break parse;
      }
      const dHi = u16(b, start), dLo = u32(b, start + 2), sHi = u16(b, start + 6), sLo = u32(b, start + 8);
      this.dstMacHi[h] = dHi; this.dstMacLo[h] = dLo; this.srcMacHi[h] = sHi; this.srcMacLo[h] = sLo;
      P[w + 2] = ((dHi << 16) | sHi) >>> 0; P[w + 3] = dLo; P[w + 4] = sLo;

      let t = u16(b, start + ETH_TYPE);
      let p = start + ETH_HEADER_LEN;
      let n = 0;
      while (isVlanTpid(t)) {
        if (n === MAX_VLAN_TAGS) { r = R.vlanTooDeep; break parse; }
        if (p + VLAN_TAG_LEN > end) { r = R.vlanTruncated; break parse; }
        const c = u16(b, p);
        this.vlanTci[h * MAX_VLAN_TAGS + n] = c;
        if (n === 0) tci = c;
        t = u16(b, p + 2);
        p += VLAN_TAG_LEN;
        n++;
      }
      tags = n; type = t; l3 = p - start;

      // L3: where L4 starts and ends, or done.
      let q: number, l4end: number;
      if (t === ETHERTYPE_IPV4) {
        if (p + IPV4_MIN_LEN > end) { r = R.ipv4Truncated; break parse; }
        const vihl = b[p];
        if (vihl >>> 4 !== 4) { r = R.ipv4BadVersion; break parse; }
        const ihl = (vihl & 15) * 4;
        if (ihl < IPV4_MIN_LEN) { r = R.ipv4BadHeaderLength; break parse; }
        if (p + ihl > end) { r = R.ipv4Truncated; break parse; }
        const total = u16(b, p + IPV4_TOTAL_LEN);
        if (total < ihl) { r = R.ipv4BadTotalLength; break parse; }
        if (p + total > end) { r = R.ipv4Truncated; break parse; }
        ver = 4;
        proto = b[p + IPV4_PROTO];
        tos = b[p + 1];
        this.addr4(h, u32(b, p + IPV4_SRC), u32(b, p + IPV4_DST));
        addr = true;
        const ff = u16(b, p + IPV4_FLAGS_FRAG);
        if ((ff & IPV4_OFFSET_MASK) !== 0) { frag = FRAG_LATER; break parse; }
        if ((ff & IPV4_MF) !== 0) frag = FRAG_FIRST;
        // Ethernet padding after the IP packet is not L4 data: L4 ends at the IP total length.
        q = p + ihl; l4end = p + total;
      } else if (t === ETHERTYPE_IPV6) {
        if (p + IPV6_HEADER_LEN > end) { r = R.ipv6Truncated; break parse; }
        if (b[p] >>> 4 !== 6) { r = R.ipv6BadVersion; break parse; }
        const payload = u16(b, p + IPV6_PAYLOAD_LEN);
        // Payload length 0 is a jumbogram (RFC 2675, BIG TCP): the frame end bounds the packet.
        l4end = end;
        if (payload !== 0) {
          if (p + IPV6_HEADER_LEN + payload > end) { r = R.ipv6Truncated; break parse; }
          l4end = p + IPV6_HEADER_LEN + payload;
        }
        ver = 6;
        tos = ((b[p] & 15) << 4) | (b[p + 1] >>> 4);
        for (let i = 0; i < 4; i++) {
          const sa = u32(b, p + IPV6_SRC + 4 * i), da = u32(b, p + IPV6_DST + 4 * i);
          this.src[a4 + i] = sa; this.dst[a4 + i] = da;
          P[w + 5 + i] = sa; P[w + 9 + i] = da;
        }
        addr = true;
        let next = b[p + IPV6_NEXT];
        q = p + IPV6_HEADER_LEN;
        for (let k = 0; ; k++) {
          if (next !== NH_HOP_BY_HOP && next !== NH_ROUTING && next !== NH_FRAGMENT && next !== NH_DEST_OPTS &&
              next !== NH_AH && next !== NH_MOBILITY && next !== NH_HIP && next !== NH_SHIM6) break;
          if (k === MAX_IPV6_EXT_HEADERS) { r = R.ipv6ExtTooMany; break parse; }
          if (q + 8 > l4end) { r = R.ipv6ExtTruncated; break parse; }
          let len: number;
          if (next === NH_FRAGMENT) {
            len = FRAG_HEADER_LEN;
            const om = u16(b, q + FRAG_OFFSET_M);
            if ((om & 0xfff8) !== 0) { proto = b[q]; frag = FRAG_LATER; break parse; }
            if ((om & 1) !== 0) frag = FRAG_FIRST;
          } else if (next === NH_AH) {
            len = (b[q + 1] + 2) * 4;
          } else {
            len = (b[q + 1] + 1) * 8;
          }
          if (q + len > l4end) { r = R.ipv6ExtTruncated; break parse; }
          next = b[q];
          q += len;
        }
        proto = next;
      } else {
        if (t === ETHERTYPE_ARP) {
          if (p + ARP_LEN > end) { r = R.arpTruncated; break parse; }
          this.addr4(h, u32(b, p + ARP_SPA), u32(b, p + ARP_TPA));
          addr = true;
        }
        break parse;
      }

      // L4: [q, l4end).
      const avail = l4end - q;
      if (proto === PROTO_TCP) {
        if (avail < TCP_MIN_LEN) { r = R.tcpTruncated; break parse; }
        const hl = (b[q + TCP_DATA_OFF] >>> 4) * 4;
        if (hl < TCP_MIN_LEN) { r = R.tcpBadDataOffset; break parse; }
        if (hl > avail) { r = R.tcpTruncated; break parse; }
        flags = b[q + TCP_FLAGS];
      } else if (proto === PROTO_UDP) {
        if (avail < UDP_HEADER_LEN) { r = R.udpTruncated; break parse; }
        const ul = u16(b, q + UDP_LEN);
        // A first fragment carries only part of the datagram; 0 is legal in IPv6 jumbograms.
        if (frag === FRAG_NONE && ul !== 0) {
          if (ul < UDP_HEADER_LEN) { r = R.udpBadLength; break parse; }
          if (ul > avail) { r = R.udpTruncated; break parse; }
        }
        if (u16(b, q + 2) === VXLAN_PORT && avail < UDP_HEADER_LEN + VXLAN_HEADER_LEN) { r = R.vxlanTruncated; break parse; }
      } else if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
        if (avail < ICMP_MIN_LEN) { r = R.icmpTruncated; break parse; }
        sport = b[q]; dport = b[q + 1]; l4 = q - start;
        break parse;
      } else if (proto === PROTO_SCTP) {
        if (avail < SCTP_MIN_LEN) { r = R.sctpTruncated; break parse; }
      } else {
        break parse;
      }
      sport = u16(b, q); dport = u16(b, q + 2); l4 = q - start;
    }

    // Every field once, then the packed words not written above.
    if (!addr) {
      this.src[a4] = 0; this.dst[a4] = 0; P[w + 5] = 0; P[w + 9] = 0;
      if (this.ipVersion[h] === 6) this.zeroHighWords(h);
    }
    this.vlanCount[h] = tags; this.etherType[h] = type; this.l3Off[h] = l3; this.l4Off[h] = l4;
    this.ipVersion[h] = ver; this.proto[h] = proto; this.frag[h] = frag;
    this.srcPort[h] = sport; this.dstPort[h] = dport; this.tcpFlags[h] = flags; this.tos[h] = tos;
    this.reason[h] = r;
    if (tags === 0) tci = 0;
    P[w] = ((this.inPort[h] << 16) | ((tci & 0xfff) << 4) | ((tci >>> 13) << 1) | (tags !== 0 ? 1 : 0)) >>> 0;
    P[w + 1] = ((type << 16) | (proto << 8) | (ver << 4) | (frag << 2)) >>> 0;
    P[w + 13] = ((sport << 16) | dport) >>> 0;
    P[w + 14] = ((flags << 24) | (tos << 16)) >>> 0;
    return r;
  }

  // IPv4 (or ARP) addresses: word 0 of each address, the other three zero. Stores are what
  // parsing spends its time on, so the zero words are written only when the handle's last
  // key was IPv6 (the only writer of them; ipVersion still holds the last key's version).
  private addr4(h: number, sa: number, da: number): void {
    const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
    this.src[a4] = sa; this.dst[a4] = da;
    P[w + 5] = sa; P[w + 9] = da;
    if (this.ipVersion[h] === 6) this.zeroHighWords(h);
  }

  // Zero words 1..3 of both addresses (fields and packed).
  private zeroHighWords(h: number): void {
    const a4 = h * 4, P = this.packed, w = h * KEY_STRIDE;
    this.src[a4 + 1] = 0; this.src[a4 + 2] = 0; this.src[a4 + 3] = 0;
    this.dst[a4 + 1] = 0; this.dst[a4 + 2] = 0; this.dst[a4 + 3] = 0;
    P[w + 6] = 0; P[w + 7] = 0; P[w + 8] = 0; P[w + 10] = 0; P[w + 11] = 0; P[w + 12] = 0;
  }
}
