// markCe: an emulated link's ECN marking (link-shaper.ts) — set Congestion Experienced on a
// queued frame of an ECN-capable transport (RFC 3168), in place, when no other port sends the
// same slot.

import { PacketPool } from '../nic/pool.js';

/**
 * Mark h Congestion Experienced when it is an IPv4 or IPv6 packet of an ECN-capable transport
 * (ECT(0) or ECT(1)), after up to one VLAN tag, and this holder is its only one; true if marked.
 * IPv4's header checksum is updated incrementally (RFC 1624).
 */
export function markCe(pool: PacketPool, h: number): boolean {
  if (Atomics.load(pool.refs, h) > 1) return false;
  const d = pool.data, s = pool.start(h), len = pool.len[h];
  let p = s + 12, type = (d[p] << 8) | d[p + 1];
  if (type === 0x8100 && len >= 18) { p += 4; type = (d[p] << 8) | d[p + 1]; }
  p += 2;
  if (type === 0x0800 && p + 20 <= s + len) {
    const tos = d[p + 1];
    if ((tos & 3) === 0 || (tos & 3) === 3) return false;
    const old = (d[p] << 8) | tos, neu = (d[p] << 8) | (tos | 3);
    d[p + 1] = tos | 3;
    let sum = (~((d[p + 10] << 8) | d[p + 11]) & 0xffff) + (~old & 0xffff) + neu;
    sum = (sum & 0xffff) + (sum >>> 16); sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    d[p + 10] = ck >>> 8; d[p + 11] = ck & 0xff;
    return true;
  }
  if (type === 0x86dd && p + 40 <= s + len) {
    const ecn = (d[p + 1] >>> 4) & 3;
    if (ecn === 0 || ecn === 3) return false;
    d[p + 1] |= 0x30;
    return true;
  }
  return false;
}
