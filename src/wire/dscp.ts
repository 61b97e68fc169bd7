// DSCP rewrite in place: the six high bits of the IPv4 TOS byte or the IPv6 traffic class,
// keeping the two ECN bits. IPv4's header checksum is updated incrementally (RFC 1624,
// eqn. 3: HC' = ~(~HC + ~m + m')) over the 16-bit word holding version/IHL and TOS.
import { IPV4_CHECKSUM, IPV4_TOS, IPV4_VER_IHL } from './ipv4.js';

/** Set the DSCP of the IP header at d[l3..]; ipVersion 4 or 6 (anything else: no change). */
export function setDscp(d: Uint8Array, l3: number, ipVersion: number, dscp: number): void {
  if (ipVersion === 4) {
    const tos = d[l3 + IPV4_TOS];
    const next = (dscp << 2) | (tos & 3);
    if (next === tos) return;
    const oldWord = (d[l3 + IPV4_VER_IHL] << 8) | tos;
    const newWord = (d[l3 + IPV4_VER_IHL] << 8) | next;
    const hc = (d[l3 + IPV4_CHECKSUM] << 8) | d[l3 + IPV4_CHECKSUM + 1];
    let s = (~hc & 0xffff) + (~oldWord & 0xffff) + newWord;
    s = (s & 0xffff) + (s >>> 16);
    s = (s & 0xffff) + (s >>> 16);
    const sum = ~s & 0xffff;
    d[l3 + IPV4_TOS] = next;
    d[l3 + IPV4_CHECKSUM] = sum >>> 8;
    d[l3 + IPV4_CHECKSUM + 1] = sum & 0xff;
  } else if (ipVersion === 6) {
    // version(4) | traffic class(8) | flow label(20): the class straddles bytes 0 and 1.
    const tc = ((d[l3] & 0x0f) << 4) | (d[l3 + 1] >>> 4);
    const next = (dscp << 2) | (tc & 3);
    d[l3] = (d[l3] & 0xf0) | (next >>> 4);
    d[l3 + 1] = (d[l3 + 1] & 0x0f) | ((next & 0x0f) << 4);
  }
}
