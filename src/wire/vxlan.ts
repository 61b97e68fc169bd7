// VXLAN (RFC 7348): 8-byte header after the outer UDP header on port 4789.
// flags(1: I bit 0x08) reserved(3) VNI(3) reserved(1).
import { u32 } from './bytes.js';

export const VXLAN_PORT = 4789;
export const VXLAN_FLAGS = 0;
export const VXLAN_VNI = 4;
export const VXLAN_HEADER_LEN = 8;
export const VXLAN_FLAG_I = 0x08;

/** VNI of the VXLAN header at `o`. */
export function vxlanVni(b: Uint8Array, o: number): number { return u32(b, o + VXLAN_VNI) >>> 8; }
/** True when the I flag (VNI valid) is set. */
export function vxlanValid(b: Uint8Array, o: number): boolean { return (b[o + VXLAN_FLAGS] & VXLAN_FLAG_I) !== 0; }
/** Write a VXLAN header with `vni` at `o`. */
export function writeVxlan(b: Uint8Array, o: number, vni: number): void {
  b[o] = VXLAN_FLAG_I; b[o + 1] = 0; b[o + 2] = 0; b[o + 3] = 0;
  b[o + 4] = vni >>> 16; b[o + 5] = vni >>> 8; b[o + 6] = vni; b[o + 7] = 0;
}

/** Outer headers a VXLAN uplink writes before the inner frame over IPv4: IP 20, UDP 8, VXLAN 8. */
export const VXLAN_IPV4_OVERHEAD = 20 + 8 + VXLAN_HEADER_LEN;
/** Linux's default range for flow-chosen source ports (net.ipv4.ip_local_port_range). */
export const VXLAN_SRC_PORT_MIN = 32768;
export const VXLAN_SRC_PORT_MAX = 60999;

/**
 * Write the outer IPv4 and UDP headers of a VXLAN datagram at `o` (28 bytes): from `src`
 * (4 bytes; zeros: the kernel fills it in) to the address record's IPv4 address and port
 * (native/io.ts: family, port, address at rec[at + 4]), UDP source port `sport`, for an inner
 * payload of `inner` bytes after the VXLAN header. The IP id and checksum are left zero (a raw
 * socket's kernel fills them); the UDP checksum is zero, as RFC 7348 recommends for IPv4.
 */
export function writeOuterIpv4(b: Uint8Array, o: number, src: Uint8Array, rec: Uint8Array, at: number, sport: number, inner: number): void {
  const udpLen = 8 + VXLAN_HEADER_LEN + inner, total = 20 + udpLen;
  b[o] = 0x45; b[o + 1] = 0; b[o + 2] = total >>> 8; b[o + 3] = total;
  b[o + 4] = 0; b[o + 5] = 0; b[o + 6] = 0; b[o + 7] = 0;
  b[o + 8] = 64; b[o + 9] = 17; b[o + 10] = 0; b[o + 11] = 0;
  b[o + 12] = src[0]; b[o + 13] = src[1]; b[o + 14] = src[2]; b[o + 15] = src[3];
  b[o + 16] = rec[at + 4]; b[o + 17] = rec[at + 5]; b[o + 18] = rec[at + 6]; b[o + 19] = rec[at + 7];
  b[o + 20] = sport >>> 8; b[o + 21] = sport; b[o + 22] = rec[at + 2]; b[o + 23] = rec[at + 3];
  b[o + 24] = udpLen >>> 8; b[o + 25] = udpLen; b[o + 26] = 0; b[o + 27] = 0;
}

/**
 * A hash of the inner frame's flow at `s` (length `len`): IPv4 or IPv6 addresses and, for TCP
 * and UDP, the ports (after up to one VLAN tag); the MAC addresses for anything else. Every
 * packet of a flow hashes alike, so it keeps one outer source port (no reordering) while flows
 * spread over the far side's receive queues, as Linux's udp_flow_src_port does.
 */
export function innerFlowHash(d: Uint8Array, s: number, len: number): number {
  let p = s + 12, h = 0x811c9dc5;
  let type = (d[p] << 8) | d[p + 1];
  if (type === 0x8100 && len >= 18) { p += 4; type = (d[p] << 8) | d[p + 1]; }
  p += 2;
  let from = s, to = s + 12, l4 = -1, proto = 0;
  if (type === 0x0800 && p + 20 <= s + len) {
    from = p + 12; to = p + 20; proto = d[p + 9];
    if ((d[p + 6] & 0x3f) === 0 && d[p + 7] === 0) l4 = p + (d[p] & 15) * 4; // not a fragment
  } else if (type === 0x86dd && p + 40 <= s + len) {
    from = p + 8; to = p + 40; proto = d[p + 6]; l4 = p + 40;
  }
  for (let i = from; i < to; i++) h = Math.imul(h ^ d[i], 0x01000193);
  if ((proto === 6 || proto === 17) && l4 > 0 && l4 + 4 <= s + len) for (let i = l4; i < l4 + 4; i++) h = Math.imul(h ^ d[i], 0x01000193);
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13;
  return h >>> 0;
}
