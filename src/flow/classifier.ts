// Classifier: tuple space search over one layer's rules — one hash table per distinct mask
// (a "subtable"), probed in order of the best priority it holds, stopping as soon as no
// remaining subtable can beat the match found. A lookup costs one masked hash probe per
// subtable visited, not one test per rule.
//
// Bounding adversarial traffic: subtables come only from the rules (operators), never from
// traffic, so traffic cannot add masks; the worst case for any packet is one probe per
// distinct mask in the layer. `maxMasks` caps that number per layer (RuleSet refuses a batch
// that would exceed it, naming the cap), and the exact-match flow cache in
// front means a flow pays the miss path once.
//
// Tie-break: the higher priority wins; on equal priority the rule added first (lower seq).
// Lookup is allocation-free: a probe masks and hashes only the words its mask uses (two or
// three of the fifteen for typical ACLs) and looks the Smi hash up in a Map of buckets.

import { KEY_WORDS } from './key.js';
import { CompiledRule, pairMatches } from './rule.js';

interface Entry { rule: CompiledRule; pair: number }
interface Subtable {
  mask: Uint32Array;
  /** Indices of the words this mask uses: a probe masks and hashes only these. */
  words: Int32Array;
  maskId: string;
  buckets: Map<number, Entry[]>;
  maxPriority: number;
  entries: number;
}

/** Hash of (key & mask) over the listed words, as a Smi (30 bits) for Map keys. */
function maskedHash(key: Uint32Array, off: number, mask: Uint32Array, words: Int32Array): number {
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

export class Classifier {
  readonly maxMasks: number;
  private subtables: Subtable[] = [];
  private readonly byMask = new Map<string, Subtable>();
  /** Subtables probed by the last lookup (for tests and the adversarial benchmark). */
  probes = 0;

  constructor(maxMasks = 1024) { this.maxMasks = maxMasks; }

  get masks(): number { return this.subtables.length; }

  /** Entries (rule pairs) using the mask with this id; 0 when the layer has no such mask. */
  entriesOf(maskId: string): number { return this.byMask.get(maskId)?.entries ?? 0; }

  add(r: CompiledRule): void {
    for (let i = 0; i < r.pairs; i++) {
      const mask = r.masks.slice(i * KEY_WORDS, (i + 1) * KEY_WORDS);
      const id = mask.join(',');
      let st = this.byMask.get(id);
      if (!st) {
        const words: number[] = [];
        for (let w = 0; w < KEY_WORDS; w++) if (mask[w] !== 0) words.push(w);
        st = { mask, words: Int32Array.from(words), maskId: id, buckets: new Map(), maxPriority: -1, entries: 0 };
        this.byMask.set(id, st);
        this.subtables.push(st);
      }
      const h = maskedHash(r.values, i * KEY_WORDS, st.mask, st.words);
      let b = st.buckets.get(h);
      if (!b) { b = []; st.buckets.set(h, b); }
      b.push({ rule: r, pair: i });
      b.sort((x, y) => y.rule.priority - x.rule.priority || x.rule.seq - y.rule.seq);
      st.entries++;
      if (r.priority > st.maxPriority) st.maxPriority = r.priority;
    }
    this.order();
  }

  remove(r: CompiledRule): void {
    for (let i = 0; i < r.pairs; i++) {
      const id = r.masks.subarray(i * KEY_WORDS, (i + 1) * KEY_WORDS).join(',');
      const st = this.byMask.get(id);
      if (!st) continue;
      const h = maskedHash(r.values, i * KEY_WORDS, st.mask, st.words);
      const b = st.buckets.get(h);
      if (!b) continue;
      const at = b.findIndex((e) => e.rule === r && e.pair === i);
      if (at < 0) continue;
      b.splice(at, 1);
      if (b.length === 0) st.buckets.delete(h);
      st.entries--;
      if (st.entries === 0) { this.byMask.delete(id); this.subtables = this.subtables.filter((s) => s !== st); continue; }
      let mp = -1;
      for (const bucket of st.buckets.values()) if (bucket[0].rule.priority > mp) mp = bucket[0].rule.priority;
      st.maxPriority = mp;
    }
    this.order();
  }

  private order(): void { this.subtables.sort((a, b) => b.maxPriority - a.maxPriority); }

  /** Best rule for the packed key at key[off..], or null. */
  lookup(key: Uint32Array, off: number): CompiledRule | null {
    let best: CompiledRule | null = null;
    let probes = 0;
    for (let t = 0; t < this.subtables.length; t++) {
      const st = this.subtables[t];
      if (best !== null && st.maxPriority < best.priority) break;
      probes++;
      const b = st.buckets.get(maskedHash(key, off, st.mask, st.words));
      if (b === undefined) continue;
      for (let i = 0; i < b.length; i++) {
        const e = b[i];
        if (best !== null && (e.rule.priority < best.priority || (e.rule.priority === best.priority && e.rule.seq > best.seq))) break;
        if (pairMatches(e.rule, e.pair, key, off)) { best = e.rule; break; }
      }
    }
    this.probes = probes;
    return best;
  }
}

/** The reference: test every rule in priority order (tests and the benchmark baseline). */
export function linearLookup(rules: CompiledRule[], key: Uint32Array, off: number): CompiledRule | null {
  let best: CompiledRule | null = null;
  for (const r of rules) {
    if (best !== null && (r.priority < best.priority || (r.priority === best.priority && r.seq > best.seq))) continue;
    for (let i = 0; i < r.pairs; i++) if (pairMatches(r, i, key, off)) { best = r; break; }
  }
  return best;
}
