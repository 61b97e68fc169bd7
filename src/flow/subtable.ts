// Subtable: one distinct mask of a classifier layer — its buckets (a LinearHash over the
// pairs' masked hashes, chains best rule first) and what the probe order needs — and the
// masked hash probes use. See classifier.ts.

import { KEY_WORDS } from './key.js';
import { LinearHash } from './linear-hash.js';

/** One distinct mask: its buckets (a LinearHash over the pairs' masked hashes, chains best rule first) and what the probe order needs. */
export class Subtable extends LinearHash {
  /** Indices of the words the mask uses: a probe masks and hashes only these. */
  readonly words: Int32Array;
  /** Upper bound of the best priority of the entries (exact after settle()). */
  maxPriority = -1;
  /** Entries per priority. */
  readonly priorities = new Map<number, number>();
  /** maxPriority may be too high (an entry at the top priority went). */
  stale = false;
  /** Linked pairs. */
  entries = 0;
  /** Pairs the change in progress adds (+) or deletes (-). */
  pending = 0;
  /** In the probe list. */
  probed = false;
  /** Its id in the SubtableFilter while in the probe list (-1: none), and its place in the probe order (after settle()). */
  id = -1;
  rank = 0;
  readonly mask: Uint32Array;
  /** Hash of the mask (the registry's key). */
  readonly maskHash: number;

  constructor(mask: Uint32Array, maskHash: number) {
    super();
    this.mask = mask;
    this.maskHash = maskHash;
    const words: number[] = [];
    for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) words.push(w);
    this.words = Int32Array.from(words);
  }
}

/** Hash of (key & mask) over the listed words, as a Smi (30 bits) for Map keys. */
export function maskedHash(key: Uint32Array, off: number, mask: Uint32Array, words: Int32Array): number {
  let h = 0x811c9dc5 ^ words.length;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    h = Math.imul(h ^ (key[off + w] & mask[w]), 0x01000193);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}
