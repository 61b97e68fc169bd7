// pcapng interface timing: each interface's timestamp resolution (if_tsresol: a power of 10
// or of 2) and offset (if_tsoffset), and the exact conversion of a packet's 64-bit timestamp
// to seconds and nanoseconds.

import { CaptureError } from './capture-error.js';

export interface Iface { linkType: number; snaplen: number; div: number; binary: boolean; bits: number; offsetSec: number }

/** An interface with the default resolution (microseconds) and no offset. */
export function newIface(linkType: number, snaplen: number): Iface {
  return { linkType, snaplen, div: 1e6, binary: false, bits: 6, offsetSec: 0 };
}

/** Apply an if_tsresol byte (the block at file offset `at`, for the error). */
export function setTsresol(f: Iface, r: number, at: number): void {
  f.binary = (r & 0x80) !== 0;
  f.bits = r & 0x7f;
  if ((!f.binary && f.bits > 15) || (f.binary && f.bits > 50)) throw new CaptureError(at, `if_tsresol 0x${r.toString(16)} is finer than this reader supports`);
  f.div = f.binary ? 2 ** f.bits : 10 ** f.bits;
}

const LIMBS = new Float64Array(4);

// 64-bit timestamp (hi, lo) in the interface's units -> seconds and nanoseconds, exactly:
// long division by the unit count per second on 16-bit limbs (every step below 2^53).
export function stampOf(f: Iface, hi: number, lo: number, out: { tsSec: number; tsNsec: number }): void {
  const d = f.div;
  let q = 0, r = 0;
  const limbs = LIMBS;
  limbs[0] = hi >>> 16; limbs[1] = hi & 0xffff; limbs[2] = lo >>> 16; limbs[3] = lo & 0xffff;
  if (d < 2 ** 36) {
    for (let i = 0; i < 4; i++) {
      const cur = r * 65536 + limbs[i];
      const ql = Math.floor(cur / d);
      r = cur - ql * d;
      q = q * 65536 + ql;
    }
  } else {
    const units = (BigInt(hi) << 32n) | BigInt(lo);
    q = Number(units / BigInt(d));
    r = Number(units % BigInt(d));
  }
  out.tsSec = q + f.offsetSec;
  out.tsNsec = !f.binary && f.bits <= 9 ? r * 10 ** (9 - f.bits) : Math.floor((r / d) * 1e9);
}
