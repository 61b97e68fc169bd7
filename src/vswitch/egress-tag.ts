// Egress tag operations: what a transmit port does to a frame's outer VLAN tag.
//
// The pipeline writes one op per (port, handle) into a shared Int32Array
// (op | vid << 4 | tunnel << TUNNEL_SHIFT); the transmitting thread applies it just before the
// endpoint sends, and hands the tunnel part — the remote VTEP (index + 1) a tunnel uplink sends
// the copy to, 0: its flood list — to the endpoint beside the handle. When the frame goes to
// one port only, the edit is in place (the slot's headroom takes a pushed tag); when it is
// flooded to several ports with different needs, the port edits a private copy. A frame from
// a vnet-header tap keeps its header in step: its csum_start and hdr_len move with the tag.
import { PacketPool, VNET_HDR } from '../nic/pool.js';
import { vnetShift } from '../nic/vnet-hdr.js';
import { put16 } from '../wire/bytes.js';
import { ETHERTYPE_VLAN } from '../wire/ethernet.js';

export const TAG_KEEP = 0;
export const TAG_STRIP = 1;
export const TAG_PUSH = 2;
export const TAG_SET_VID = 3;
/** Where an op carries the tunnel (remote VTEP index + 1; at most 15 bits: ops stay positive, a negative op marks a mirror copy). */
export const TUNNEL_SHIFT = 16;

/** The tunnel part of an op (0 for a mirror copy: it goes to the flood list). */
export function tunnelOf(op: number): number { return op < 0 ? 0 : op >>> TUNNEL_SHIFT; }

/**
 * A frame this port may edit: h itself when this port holds its only reference, else a fresh
 * copy (frame, rate class, vnet header; one reference) — the caller still owns its reference on
 * h to release — or -1 when the pool is empty.
 */
export function ownCopy(pool: PacketPool, h: number): number {
  if (Atomics.load(pool.refs, h) === 1) return h;
  const t = pool.alloc();
  if (t < 0) return -1;
  pool.data.copyWithin(pool.start(t), pool.start(h), pool.start(h) + pool.len[h]);
  pool.len[t] = pool.len[h];
  pool.rateClass[t] = pool.rateClass[h];
  pool.vnet.copyWithin(t * VNET_HDR, h * VNET_HDR, (h + 1) * VNET_HDR);
  pool.refs[t] = 1;
  return t;
}

/**
 * Apply `op` to handle h for sending. Returns the handle to send: h itself (edited in place
 * when this port holds its only reference) or a fresh copy; -1 when a copy was needed and the
 * pool is empty. When a copy is made the caller still owns one reference on h to release.
 */
export function applyTagOp(pool: PacketPool, h: number, op: number): number {
  const kind = op & 15;
  if (kind === TAG_KEEP) return h;
  const t = ownCopy(pool, h);
  if (t < 0) return -1;
  const d = pool.data;
  const s = pool.start(t);
  const vid = (op >>> 4) & 0xfff;
  if (kind === TAG_STRIP) {
    d.copyWithin(s + 4, s, s + 12);
    pool.off[t] += 4;
    pool.len[t] -= 4;
    vnetShift(pool, t, -4);
  } else if (kind === TAG_PUSH) {
    if (pool.off[t] < 4) return t; // no headroom left: send unchanged (cannot happen from HEADROOM)
    d.copyWithin(s - 4, s, s + 12);
    pool.off[t] -= 4;
    pool.len[t] += 4;
    put16(d, s + 8, ETHERTYPE_VLAN);
    put16(d, s + 10, vid);
    vnetShift(pool, t, 4);
  } else {
    put16(d, s + 14, ((d[s + 14] << 8) & 0xf000) | vid);
  }
  return t;
}
