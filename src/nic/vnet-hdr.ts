// The virtio-net header a tap with IFF_VNET_HDR puts before each frame (struct
// virtio_net_hdr_mrg_rxbuf, 12 bytes, little-endian on the hosts sluice runs on): how the
// kernel left the frame's checksum (NEEDS_CSUM: to be computed from csum_start, stored at
// csum_start + csum_offset) and whether it is a GSO frame (gso_type, gso_size: the segment
// payload, hdr_len: the headers each segment repeats). Kept per pool slot (pool.vnet), zero
// for a frame that came without one.

import { PacketPool, VNET_HDR } from './pool.js';

export const VNET_FLAGS = 0;
export const VNET_GSO_TYPE = 1;
export const VNET_HDR_LEN = 2;
export const VNET_GSO_SIZE = 4;
export const VNET_CSUM_START = 6;
export const VNET_CSUM_OFFSET = 8;

export const VNET_F_NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_ECN = 0x80;

/** TUNSETOFFLOAD flags. */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

const u16 = (v: Uint8Array, at: number) => v[at] | (v[at + 1] << 8);
const put = (v: Uint8Array, at: number, x: number) => { v[at] = x & 0xff; v[at + 1] = (x >>> 8) & 0xff; };

/** Does the frame in slot h carry a checksum or GSO job for whoever takes it? */
export function vnetPending(pool: PacketPool, h: number): boolean {
  const b = h * VNET_HDR, v = pool.vnet;
  return (v[b + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0 || (v[b + VNET_GSO_TYPE] & ~GSO_ECN) !== GSO_NONE;
}

/** Is the frame in slot h a GSO frame (several segments' worth, to be cut by whoever cannot take it)? */
export function isGso(pool: PacketPool, h: number): boolean {
  return (pool.vnet[h * VNET_HDR + VNET_GSO_TYPE] & ~GSO_ECN) !== GSO_NONE;
}

/** The frame's headers grew (a pushed VLAN tag: +4) or shrank (-4): move csum_start and hdr_len with them. */
export function vnetShift(pool: PacketPool, h: number, delta: number): void {
  const b = h * VNET_HDR, v = pool.vnet;
  if ((v[b + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0) put(v, b + VNET_CSUM_START, u16(v, b + VNET_CSUM_START) + delta);
  if ((v[b + VNET_GSO_TYPE] & ~GSO_ECN) !== GSO_NONE && u16(v, b + VNET_HDR_LEN) !== 0) put(v, b + VNET_HDR_LEN, u16(v, b + VNET_HDR_LEN) + delta);
}

/**
 * Segments a GSO frame in slot h carries: its payload in gso_size pieces (1 when not GSO).
 * The headers end after the transport header at csum_start (the kernel's hdr_len is only a
 * hint: the bytes it put in the skb's linear part).
 */
export function gsoSegments(pool: PacketPool, h: number): number {
  const b = h * VNET_HDR, v = pool.vnet, size = u16(v, b + VNET_GSO_SIZE), type = v[b + VNET_GSO_TYPE] & ~GSO_ECN;
  if (type === GSO_NONE || size === 0) return 1;
  const l4 = u16(v, b + VNET_CSUM_START), s = pool.start(h);
  const hdr = type === GSO_UDP ? l4 + 8 : l4 + ((pool.data[s + l4 + 12] >> 4) << 2);
  const payload = pool.len[h] - hdr;
  return payload <= 0 ? 1 : Math.ceil(payload / size);
}

/** The header of slot h as numbers (tests, reports). */
export function vnetHeader(pool: PacketPool, h: number): { flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number } {
  const b = h * VNET_HDR, v = pool.vnet;
  return { flags: v[b], gsoType: v[b + 1], hdrLen: u16(v, b + 2), gsoSize: u16(v, b + 4), csumStart: u16(v, b + 6), csumOffset: u16(v, b + 8) };
}
