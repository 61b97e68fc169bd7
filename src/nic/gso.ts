// Software segmentation and checksum completion, for frames from a vnet-header port (a tap or
// netdev with TSO) leaving through a port that cannot take them as they are (a UDP port, a
// tap or netdev without vnet headers): what a NIC's TSO and checksum offload would do.
//
// finishFrame(pool, h, out) turns the frame in slot h into frames a plain receiver accepts:
//  - a GSO TCP frame (TCPV4, TCPV6) becomes ceil(payload / gso_size) frames in fresh slots,
//    each with the headers copied, IPv4 total length, id and header checksum or IPv6 payload
//    length set, the TCP sequence number advanced, FIN and PSH on the last segment only, CWR
//    on the first only, and the TCP checksum computed in full;
//  - a frame whose checksum the kernel left partial (NEEDS_CSUM) gets it computed in place:
//    the ones' complement sum from csum_start to the end (the field holds the pseudo-header
//    sum), stored at csum_start + csum_offset;
//  - anything else is left alone.
// It returns how many frames out[] holds (h itself, or the segments, each with one reference:
// h is then the caller's to release), 0 when the frame cannot be finished (GSO kinds other than TCP, headers that do not
// parse) and -1 when the pool ran out of slots for the segments (those made are freed).

import { PacketPool, VNET_HDR } from './pool.js';
import { put16, put32, u16, u32 } from '../wire/bytes.js';
import { inetChecksum, IPV4_CHECKSUM, IPV4_ID, IPV4_TOTAL_LEN } from '../wire/ipv4.js';
import { GSO_ECN, GSO_NONE, GSO_TCPV4, GSO_TCPV6, VNET_CSUM_OFFSET, VNET_CSUM_START, VNET_F_NEEDS_CSUM, VNET_FLAGS, VNET_GSO_SIZE, VNET_GSO_TYPE } from './vnet-hdr.js';

/** Most segments one GSO frame is cut into (64 KiB in 536-byte segments needs 123). */
export const MAX_SEGMENTS = 128;

const TCP_SEQ = 4, TCP_FLAGS = 13, TCP_CSUM = 16;
const FIN = 0x01, PSH = 0x08, CWR = 0x80;
const IPPROTO_TCP = 6;

const le16 = (v: Uint8Array, at: number) => v[at] | (v[at + 1] << 8);

export function finishFrame(pool: PacketPool, h: number, out: Int32Array): number {
  const v = pool.vnet, b = h * VNET_HDR, type = v[b + VNET_GSO_TYPE] & ~GSO_ECN;
  if (type === GSO_NONE) {
    if ((v[b + VNET_FLAGS] & VNET_F_NEEDS_CSUM) !== 0 && !completeChecksum(pool, h)) return 0;
    out[0] = h;
    return 1;
  }
  if (type !== GSO_TCPV4 && type !== GSO_TCPV6) return 0;
  return segmentTcp(pool, h, type === GSO_TCPV4, out);
}

// Fill in a partial checksum in place: false if csum_start/offset point outside the frame.
function completeChecksum(pool: PacketPool, h: number): boolean {
  const v = pool.vnet, b = h * VNET_HDR, d = pool.data, s = pool.start(h), len = pool.len[h];
  const start = le16(v, b + VNET_CSUM_START), at = start + le16(v, b + VNET_CSUM_OFFSET);
  if (start >= len || at + 2 > len) return false;
  // The field holds the pseudo-header sum: sum over it, then store the complement.
  put16(d, s + at, inetChecksum(d, s + start, len - start));
  v.fill(0, b, b + VNET_HDR);
  return true;
}

// Where the IP header starts: after the Ethernet header and any VLAN tags.
function ipOffset(d: Uint8Array, s: number, len: number): number {
  let o = 12;
  while (o + 2 <= len && (u16(d, s + o) === 0x8100 || u16(d, s + o) === 0x88a8)) o += 4;
  return o + 2;
}

function segmentTcp(pool: PacketPool, h: number, v4: boolean, out: Int32Array): number {
  const d = pool.data, s = pool.start(h), len = pool.len[h], v = pool.vnet, b = h * VNET_HDR;
  const mss = le16(v, b + VNET_GSO_SIZE);
  const ip = ipOffset(d, s, len);
  const ipLen = v4 ? (d[s + ip] & 0x0f) << 2 : 40;
  const l4 = ip + ipLen;
  if (mss === 0 || l4 + 20 > len || (v4 ? d[s + ip + 9] : d[s + ip + 6]) !== IPPROTO_TCP) return 0;
  const hdrs = l4 + ((d[s + l4 + 12] >> 4) << 2);
  const payload = len - hdrs;
  if (hdrs > len || payload <= 0) return 0;
  const n = Math.ceil(payload / mss);
  if (n > MAX_SEGMENTS || n > out.length) return 0;
  const seq0 = u32(d, s + l4 + TCP_SEQ), id0 = v4 ? u16(d, s + ip + IPV4_ID) : 0, flags0 = d[s + l4 + TCP_FLAGS];
  for (let i = 0; i < n; i++) {
    const t = pool.alloc();
    if (t < 0) { for (let j = 0; j < i; j++) pool.free(out[j]); return -1; }
    const chunk = i === n - 1 ? payload - i * mss : mss, ts = pool.start(t);
    d.copyWithin(ts, s, s + hdrs);
    d.copyWithin(ts + hdrs, s + hdrs + i * mss, s + hdrs + i * mss + chunk);
    pool.len[t] = hdrs + chunk;
    pool.rateClass[t] = pool.rateClass[h];
    pool.refs[t] = 1;
    if (v4) {
      put16(d, ts + ip + IPV4_TOTAL_LEN, ipLen + (hdrs - l4) + chunk);
      put16(d, ts + ip + IPV4_ID, (id0 + i) & 0xffff);
      put16(d, ts + ip + IPV4_CHECKSUM, 0);
      put16(d, ts + ip + IPV4_CHECKSUM, inetChecksum(d, ts + ip, ipLen));
    } else {
      put16(d, ts + ip + 4, (hdrs - l4) + chunk);
    }
    put32(d, ts + l4 + TCP_SEQ, (seq0 + i * mss) >>> 0);
    let f = flags0;
    if (i !== n - 1) f &= ~(FIN | PSH);
    if (i !== 0) f &= ~CWR;
    d[ts + l4 + TCP_FLAGS] = f;
    put16(d, ts + l4 + TCP_CSUM, 0);
    put16(d, ts + l4 + TCP_CSUM, inetChecksum(d, ts + l4, hdrs - l4 + chunk, pseudoSum(d, ts + ip, v4, hdrs - l4 + chunk)));
    out[i] = t;
  }
  return n;
}

// The TCP pseudo-header's sum (addresses, protocol, TCP length), unfolded.
function pseudoSum(d: Uint8Array, ip: number, v4: boolean, tcpLen: number): number {
  let sum = IPPROTO_TCP + tcpLen;
  const from = v4 ? ip + 12 : ip + 8, to = v4 ? ip + 20 : ip + 40;
  for (let o = from; o < to; o += 2) sum += u16(d, o);
  return sum;
}
