// IPv4 (RFC 791): named offsets from the start of the IP header.
export const IPV4_VER_IHL = 0;
export const IPV4_TOS = 1;
export const IPV4_TOTAL_LEN = 2;
export const IPV4_ID = 4;
export const IPV4_FLAGS_FRAG = 6; // flags(3) fragment offset(13)
export const IPV4_TTL = 8;
export const IPV4_PROTO = 9;
export const IPV4_CHECKSUM = 10;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV4_MIN_LEN = 20;
export const IPV4_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;

/** Internet checksum (RFC 1071) over b[o..o+n). */
export function inetChecksum(b: Uint8Array, o: number, n: number, seed = 0): number {
  let s = seed;
  let i = 0;
  for (; i + 1 < n; i += 2) s += (b[o + i] << 8) | b[o + i + 1];
  if (i < n) s += b[o + i] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}
