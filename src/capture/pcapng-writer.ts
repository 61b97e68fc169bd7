// pcapng blocks for writing captures (little-endian): a section header, an interface
// description (Ethernet, nanosecond timestamps), and enhanced packet blocks with an optional
// direction flag. Readable by Wireshark/tshark and by CaptureReader.
import { Buffer } from 'node:buffer';

const pad4 = (n: number) => (n + 3) & ~3;

/** Section header block with an shb_userappl option naming the writer. */
export function sectionHeader(app = 'sluice'): Buffer {
  const appBytes = Buffer.from(app, 'utf8');
  const optLen = 4 + pad4(appBytes.length) + 4;
  const len = 28 + optLen;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(0x0a0d0d0a, 0); b.writeUInt32LE(len, 4); b.writeUInt32LE(0x1a2b3c4d, 8);
  b.writeUInt16LE(1, 12); b.writeUInt16LE(0, 14); b.writeBigInt64LE(-1n, 16);
  b.writeUInt16LE(4, 24); b.writeUInt16LE(appBytes.length, 26); appBytes.copy(b, 28); // shb_userappl
  b.writeUInt32LE(len, len - 4);
  return b;
}

/** Interface description block: link type, snap length, if_name, if_tsresol = 9 (ns). */
export function interfaceDescription(name: string, linkType = 1, snaplen = 0): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const optLen = 4 + pad4(nameBytes.length) + 4 + 4 + 4;
  const len = 20 + optLen;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(1, 0); b.writeUInt32LE(len, 4); b.writeUInt16LE(linkType, 8); b.writeUInt32LE(snaplen, 12);
  let o = 16;
  b.writeUInt16LE(2, o); b.writeUInt16LE(nameBytes.length, o + 2); nameBytes.copy(b, o + 4); o += 4 + pad4(nameBytes.length); // if_name
  b.writeUInt16LE(9, o); b.writeUInt16LE(1, o + 2); b[o + 4] = 9; o += 8; // if_tsresol: 10^-9
  b.writeUInt32LE(len, len - 4);
  return b;
}

export const DIRECTION_INBOUND = 1;
export const DIRECTION_OUTBOUND = 2;

/**
 * Enhanced packet block for interface `iface`: timestamp as seconds + nanoseconds, the
 * captured bytes data[off..off+caplen), the original length, and an epb_flags direction
 * (0: none) — written into `out` at `at`; returns the block length (epbLength()).
 */
export function writePacket(out: Uint8Array, at: number, iface: number, sec: number, nsec: number, data: Uint8Array, off: number, caplen: number, origLen: number, direction = 0): number {
  const len = epbLength(caplen, direction);
  const v = new DataView(out.buffer, out.byteOffset + at, len);
  const units = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
  v.setUint32(0, 6, true); v.setUint32(4, len, true); v.setUint32(8, iface, true);
  v.setUint32(12, Number(units >> 32n), true); v.setUint32(16, Number(units & 0xffffffffn), true);
  v.setUint32(20, caplen, true); v.setUint32(24, origLen, true);
  out.set(data.subarray(off, off + caplen), at + 28);
  let o = 28 + pad4(caplen);
  for (let i = 28 + caplen; i < o; i++) out[at + i] = 0;
  if (direction !== 0) { v.setUint16(o, 2, true); v.setUint16(o + 2, 4, true); v.setUint32(o + 4, direction, true); v.setUint32(o + 8, 0, true); o += 12; }
  v.setUint32(o, len, true);
  return len;
}

export function epbLength(caplen: number, direction = 0): number { return 32 + pad4(caplen) + (direction !== 0 ? 12 : 0); }
