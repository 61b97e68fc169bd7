// Classification key: the flow key of one packet packed into KEY_WORDS u32 words, the form
// the flow cache stores and the classifier masks. The layout is documented where the NIC
// writes it while parsing (FlowKeys.packed, src/wire/flow-key.ts); packKey below builds the
// same words from the parsed fields — the definition the tests hold the parser to, and the
// way to key fields set by hand.

import { MAX_VLAN_TAGS } from '../wire/ethernet.js';
import { FlowKeys, KEY_STRIDE, KEY_WORDS } from '../wire/flow-key.js';

export { KEY_STRIDE, KEY_WORDS };

/** Pack the flow key of handle h into out[off..off+KEY_WORDS) from its fields. */
export function packKey(k: FlowKeys, h: number, out: Uint32Array, off: number): void {
  const tagged = k.vlanCount[h] !== 0;
  const tci = tagged ? k.vlanTci[h * MAX_VLAN_TAGS] : 0;
  out[off] = ((k.inPort[h] << 16) | ((tci & 0xfff) << 4) | ((tci >>> 13) << 1) | (tagged ? 1 : 0)) >>> 0;
  out[off + 1] = ((k.etherType[h] << 16) | (k.proto[h] << 8) | (k.ipVersion[h] << 4) | (k.frag[h] << 2)) >>> 0;
  out[off + 2] = ((k.dstMacHi[h] << 16) | k.srcMacHi[h]) >>> 0;
  out[off + 3] = k.dstMacLo[h];
  out[off + 4] = k.srcMacLo[h];
  const a = h * 4;
  out[off + 5] = k.src[a]; out[off + 6] = k.src[a + 1]; out[off + 7] = k.src[a + 2]; out[off + 8] = k.src[a + 3];
  out[off + 9] = k.dst[a]; out[off + 10] = k.dst[a + 1]; out[off + 11] = k.dst[a + 2]; out[off + 12] = k.dst[a + 3];
  out[off + 13] = ((k.srcPort[h] << 16) | k.dstPort[h]) >>> 0;
  out[off + 14] = ((k.tcpFlags[h] << 24) | (k.tos[h] << 16)) >>> 0;
}

/**
 * Hash of the packed key at key[off..off+KEY_WORDS): three independent multiply chains over
 * five words each (the CPU runs them in parallel; one 15-step chain was the flow cache's
 * largest cost), folded and finalised like hashWords. Word 14 (TCP flags, TOS) is taken under
 * `mask14`: the flow cache keys only the bits of it some rule or extension needs.
 */
export function hashKey(key: Uint32Array, off: number, mask14 = 0xffffffff): number {
  let a = 0x811c9dc5, b = 0x9e3779b9, c = 0x7f4a7c15;
  for (let i = 0; i < 5; i++) {
    a = Math.imul(a ^ key[off + i], 0x01000193); a ^= a >>> 15;
    b = Math.imul(b ^ key[off + 5 + i], 0x01000193); b ^= b >>> 15;
    c = Math.imul(c ^ (i === 4 ? key[off + 14] & mask14 : key[off + 10 + i]), 0x01000193); c ^= c >>> 15;
  }
  let h = Math.imul(a, 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35) ^ c;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16); // int32: a uint32 above 2^31 would travel as a double
}
