// RSS: the Toeplitz hash over (src addr, dst addr[, src port, dst port]) and the indirection
// table that maps a hash to a receive queue, as Microsoft's RSS specification defines them.
//
// Speed: the hash is linear over GF(2), so the contribution of input byte i with value v is
// precomputed into table[i*256 + v] (36 input positions x 256 values); a hash is then one XOR
// per input byte. Checked bit-for-bit against the specification's verification table
// (test/nic/rss.test.ts); a naive bit-serial version stays here as the reference.

import { FlowKeys, FRAG_NONE } from '../wire/flow-key.js';
import { PROTO_TCP, PROTO_UDP } from '../wire/l4.js';

/** The default 40-byte key from the RSS specification. */
export const MICROSOFT_RSS_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);
export const DEFAULT_INDIRECTION_SIZE = 128;
const MAX_INPUT = 36; // IPv6 with ports

/** Reference Toeplitz: bit by bit, exactly as the specification describes it. */
export function toeplitzNaive(key: Uint8Array, input: Uint8Array): number {
  let result = 0;
  // The leftmost 32 bits of the key, shifted left one bit per input bit.
  let window = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
  let next = 32; // index of the next key bit to shift in
  for (let i = 0; i < input.length; i++) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((input[i] >> bit) & 1) result = (result ^ window) >>> 0;
      const kb = next < key.length * 8 ? (key[next >> 3] >> (7 - (next & 7))) & 1 : 0;
      window = ((window << 1) | kb) >>> 0;
      next++;
    }
  }
  return result >>> 0;
}

export class Rss {
  readonly key: Uint8Array;
  /** Queue number per indirection entry. */
  readonly indirection: Uint8Array;
  private readonly mask: number;
  private readonly table: Uint32Array;

  constructor(queues: number, key: Uint8Array = MICROSOFT_RSS_KEY, indirection?: ArrayLike<number>) {
    if (key.length < MAX_INPUT + 4) throw new RangeError(`RSS key must be at least ${MAX_INPUT + 4} bytes, got ${key.length}`);
    this.key = Uint8Array.from(key);
    const size = indirection ? indirection.length : DEFAULT_INDIRECTION_SIZE;
    if (size < 1 || (size & (size - 1)) !== 0) throw new RangeError(`RSS indirection table size must be a power of two, got ${size}`);
    this.indirection = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const q = indirection ? indirection[i] : i % queues;
      if (!Number.isInteger(q) || q < 0 || q >= queues) throw new RangeError(`RSS indirection[${i}] = ${q} is not a queue (0..${queues - 1})`);
      this.indirection[i] = q;
    }
    this.mask = size - 1;
    this.table = new Uint32Array(MAX_INPUT * 256);
    const one = new Uint8Array(MAX_INPUT);
    for (let i = 0; i < MAX_INPUT; i++) {
      for (let bit = 0; bit < 8; bit++) {
        one.fill(0);
        one[i] = 1 << bit;
        const c = toeplitzNaive(this.key, one.subarray(0, i + 1));
        for (let v = 0; v < 256; v++) if (v & (1 << bit)) this.table[i * 256 + v] ^= c;
      }
    }
  }

  /** Hash input bytes input[0..n) with the table method. */
  hashBytes(input: Uint8Array, n: number): number {
    let h = 0;
    const t = this.table;
    for (let i = 0; i < n; i++) h ^= t[(i << 8) | input[i]];
    return h >>> 0;
  }

  // XOR in the four bytes of word w at input position pos.
  private word(h: number, pos: number, w: number): number {
    const t = this.table;
    return h ^ t[(pos << 8) | (w >>> 24)] ^ t[((pos + 1) << 8) | ((w >>> 16) & 255)] ^
      t[((pos + 2) << 8) | ((w >>> 8) & 255)] ^ t[((pos + 3) << 8) | (w & 255)];
  }

  /**
   * Hash the flow key of handle h: IPv4/IPv6 addresses, plus ports for TCP and UDP
   * (not for fragments, whose later pieces have none). Non-IP frames hash to 0.
   */
  hashKey(k: FlowKeys, h: number): number {
    const v = k.ipVersion[h];
    if (v === 0) return 0;
    const a = h * 4;
    let x = 0;
    let pos: number;
    if (v === 4) {
      x = this.word(x, 0, k.src[a]);
      x = this.word(x, 4, k.dst[a]);
      pos = 8;
    } else {
      for (let i = 0; i < 4; i++) x = this.word(x, 4 * i, k.src[a + i]);
      for (let i = 0; i < 4; i++) x = this.word(x, 16 + 4 * i, k.dst[a + i]);
      pos = 32;
    }
    const p = k.proto[h];
    if ((p === PROTO_TCP || p === PROTO_UDP) && k.frag[h] === FRAG_NONE) {
      x = this.word(x, pos, ((k.srcPort[h] << 16) | k.dstPort[h]) >>> 0);
    }
    return x >>> 0;
  }

  /** Queue for a hash. */
  queueOf(hash: number): number { return this.indirection[hash & this.mask]; }

  /** The indirection entry (bucket) a hash falls in. */
  bucketOf(hash: number): number { return hash & this.mask; }
}
