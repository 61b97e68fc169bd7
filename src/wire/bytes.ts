// Big-endian byte accessors over a Uint8Array, plus MAC and IP address text helpers for control
// code (addresses are parsed by ipaddr.js).
// Hot-path callers check lengths once up front (see flow-key.ts); these do no bounds checks.

import ipaddr from 'ipaddr.js';

/** Read a big-endian u16 at `o`. */
export function u16(b: Uint8Array, o: number): number { return (b[o] << 8) | b[o + 1]; }
/** Read a big-endian u32 at `o` (as an unsigned number). */
export function u32(b: Uint8Array, o: number): number { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }
/** The low 32 bits of the MAC address at b[o .. o+6) (u16(b, o) is the high 16), signed as an Int32Array keeps them. */
export function macLo(b: Uint8Array, o: number): number { return (b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]; }
/** Write a big-endian u16 at `o`. */
export function put16(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 8; b[o + 1] = v; }
/** Write a big-endian u32 at `o`. */
export function put32(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v; }

/** Parse "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes; null if malformed. */
export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) return null;
  return Uint8Array.from(m.slice(1).map((x) => parseInt(x, 16)));
}

/** Format 6 bytes at `o` as "aa:bb:cc:dd:ee:ff". */
export function formatMac(b: Uint8Array, o = 0): string {
  const p: string[] = [];
  for (let i = 0; i < 6; i++) p.push(b[o + i].toString(16).padStart(2, '0'));
  return p.join(':');
}

/** Parse dotted-quad IPv4 into a u32; null if malformed. */
export function parseIpv4(s: string): number | null {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return null;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

/** Parse an IPv6 address into four u32 words (network order); null if malformed. */
export function parseIpv6(s: string): Uint32Array | null {
  if (!ipaddr.IPv6.isValid(s)) return null;
  const p = ipaddr.IPv6.parse(s).parts;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((p[2 * i] << 16) | p[2 * i + 1]) >>> 0;
  return w;
}
