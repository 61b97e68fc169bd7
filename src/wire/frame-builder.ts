// FrameSpec: a small value description of a frame, and buildFrame() that emits its bytes.
// For control code, tests and benchmarks — it allocates, so it never runs per packet.

import { parseIpv4, parseIpv6, parseMac, put16, put32 } from './bytes.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from './ethernet.js';
import { inetChecksum } from './ipv4.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from './l4.js';

export interface VlanTagSpec { vid: number; pcp?: number; tpid?: number }
export interface FrameSpec {
  dst: string;
  src: string;
  vlans?: VlanTagSpec[];
  /** Raw EtherType when no IP header is built. */
  etherType?: number;
  ipv4?: { src: string; dst: string; proto?: number; ttl?: number; mf?: boolean; fragOffset?: number; tos?: number };
  ipv6?: { src: string; dst: string; next?: number; trafficClass?: number };
  arp?: { op: number; spa: string; tpa: string };
  tcp?: { sport: number; dport: number; flags?: number };
  udp?: { sport: number; dport: number };
  icmp?: { type: number; code: number };
  payload?: Uint8Array | number; // bytes, or a length of zero bytes
  /** Pad the whole frame up to this size (minimum Ethernet frame is 60 without FCS). */
  padTo?: number;
}

function mac(s: string): Uint8Array {
  const m = parseMac(s);
  if (!m) throw new Error(`bad MAC ${s}`);
  return m;
}

/** Emit the bytes of a frame described by `spec`. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const payload = typeof spec.payload === 'number' ? new Uint8Array(spec.payload) : spec.payload ?? new Uint8Array(0);
  const l4len = spec.tcp ? 20 : spec.udp ? 8 : spec.icmp ? 8 : 0;
  const l3len = spec.ipv4 ? 20 : spec.ipv6 ? 40 : spec.arp ? 28 : 0;
  const tags = spec.vlans ?? [];
  const hdr = 14 + 4 * tags.length;
  let size = hdr + l3len + l4len + payload.length;
  const padTo = spec.padTo ?? 0;
  if (size < padTo) size = padTo;
  const b = new Uint8Array(size);
  b.set(mac(spec.dst), 0);
  b.set(mac(spec.src), 6);
  let p = 12;
  for (const t of tags) {
    put16(b, p, t.tpid ?? ETHERTYPE_VLAN);
    put16(b, p + 2, ((t.pcp ?? 0) << 13) | (t.vid & 0xfff));
    p += 4;
  }
  const proto = spec.tcp ? PROTO_TCP : spec.udp ? PROTO_UDP : spec.icmp ? (spec.ipv6 ? PROTO_ICMPV6 : PROTO_ICMP) : 0;
  const et = spec.ipv4 ? ETHERTYPE_IPV4 : spec.ipv6 ? ETHERTYPE_IPV6 : spec.arp ? ETHERTYPE_ARP : spec.etherType ?? 0x88b5;
  put16(b, p, et);
  p += 2;
  const l3 = p;
  if (spec.ipv4) {
    const s = parseIpv4(spec.ipv4.src), d = parseIpv4(spec.ipv4.dst);
    if (s === null || d === null) throw new Error('bad IPv4 address');
    b[l3] = 0x45;
    b[l3 + 1] = spec.ipv4.tos ?? 0;
    put16(b, l3 + 2, 20 + l4len + payload.length);
    put16(b, l3 + 6, (spec.ipv4.mf ? 0x2000 : 0) | ((spec.ipv4.fragOffset ?? 0) & 0x1fff));
    b[l3 + 8] = spec.ipv4.ttl ?? 64;
    b[l3 + 9] = spec.ipv4.proto ?? proto;
    put32(b, l3 + 12, s);
    put32(b, l3 + 16, d);
    put16(b, l3 + 10, inetChecksum(b, l3, 20));
  } else if (spec.ipv6) {
    const s = parseIpv6(spec.ipv6.src), d = parseIpv6(spec.ipv6.dst);
    if (!s || !d) throw new Error('bad IPv6 address');
    const tc = spec.ipv6.trafficClass ?? 0;
    b[l3] = 0x60 | (tc >>> 4);
    b[l3 + 1] = (tc & 0x0f) << 4;
    put16(b, l3 + 4, l4len + payload.length);
    b[l3 + 6] = spec.ipv6.next ?? proto;
    b[l3 + 7] = 64;
    for (let i = 0; i < 4; i++) { put32(b, l3 + 8 + 4 * i, s[i]); put32(b, l3 + 24 + 4 * i, d[i]); }
  } else if (spec.arp) {
    const s = parseIpv4(spec.arp.spa), d = parseIpv4(spec.arp.tpa);
    if (s === null || d === null) throw new Error('bad ARP address');
    put16(b, l3, 1); put16(b, l3 + 2, ETHERTYPE_IPV4); b[l3 + 4] = 6; b[l3 + 5] = 4; put16(b, l3 + 6, spec.arp.op);
    b.set(mac(spec.src), l3 + 8); put32(b, l3 + 14, s); put32(b, l3 + 24, d);
  }
  const l4 = l3 + l3len;
  if (spec.tcp) {
    put16(b, l4, spec.tcp.sport); put16(b, l4 + 2, spec.tcp.dport);
    b[l4 + 12] = 5 << 4; b[l4 + 13] = spec.tcp.flags ?? 0x02; put16(b, l4 + 14, 65535);
  } else if (spec.udp) {
    put16(b, l4, spec.udp.sport); put16(b, l4 + 2, spec.udp.dport); put16(b, l4 + 4, 8 + payload.length);
  } else if (spec.icmp) {
    b[l4] = spec.icmp.type; b[l4 + 1] = spec.icmp.code;
  }
  b.set(payload, l4 + l4len);
  return b;
}
