// hashWords: the one hash for exact-match tables keyed by u32 words (steering filters, flow
// cache). FNV-style multiply per word with an xorshift, then a murmur-style finaliser.

/** Hash key[off..off+n) to an unsigned 32-bit number. */
export function hashWords(key: Uint32Array, off: number, n: number): number {
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i++) {
    h = Math.imul(h ^ key[off + i], 0x01000193);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
