// RuleRows: compiled rules as flat Int32Array records — how a rule change reaches datapath
// threads. The thread that validates a change (the main thread) compiles each rule once; the
// replicas copy its rows instead of parsing and compiling JSON again (which doubled the CPU a
// change took on a two-core host and allocated per rule on every thread). A replica puts each
// rule at the slot the main thread gave it, so counters line up by construction.
//
// Record: slot, layer, priority, seq (high, low 32 bits), action flags, setVlan, setDscp,
// queue, rateClass, mirror, output count, outputs..., pair count, then every pair's mask
// (KEY_WORDS words) and every pair's value.

import { KEY_WORDS } from './key.js';
import { Actions, CompiledRule } from './rule.js';
import type { Classifier } from './classifier.js';
import { ALLOW, COUNT, DROP, FLOOD, RuleStore, STRIP_VLAN } from './rule-store.js';

const HEAD = 12;

/** Encode the rules at `slots` of a rule set's store and layers (installed or staged there). */
export function encodeRows(rs: { store: RuleStore; layers: readonly Classifier[] }, slots: ArrayLike<number>): Int32Array {
  const st = rs.store;
  let n = 0;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i], out = st.output[s];
    n += HEAD + (out >= 0 ? st.outputs[out].length : 0) + 1 + 2 * KEY_WORDS * rs.layers[st.layer[s]].pairsOf(s);
  }
  const rows = new Int32Array(n);
  let at = 0;
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i], out = st.output[s], ports = out >= 0 ? st.outputs[out] : [];
    const seq = st.seq[s];
    rows[at++] = s; rows[at++] = st.layer[s]; rows[at++] = st.priority[s];
    rows[at++] = Math.floor(seq / 0x100000000); rows[at++] = seq >>> 0;
    rows[at++] = st.flags[s]; rows[at++] = st.setVlan[s]; rows[at++] = st.setDscp[s];
    rows[at++] = st.queue[s]; rows[at++] = st.rateClass[s]; rows[at++] = st.mirror[s];
    rows[at++] = ports.length;
    for (const p of ports) rows[at++] = p;
    const pairs = rs.layers[st.layer[s]].pairsOf(s);
    rows[at++] = pairs;
    const u = new Uint32Array(rows.buffer, at * 4, 2 * pairs * KEY_WORDS);
    rs.layers[st.layer[s]].copyPairs(s, u.subarray(0, pairs * KEY_WORDS), u.subarray(pairs * KEY_WORDS));
    at += 2 * pairs * KEY_WORDS;
  }
  return rows;
}

/** One decoded record: where it goes, and the rule as compileRule would have given it. */
export interface Row { slot: number; seq: number; rule: CompiledRule }

/** Decode records one by one (the compiled rule's arrays are views into rows). */
export function* decodeRows(rows: Int32Array): Generator<Row> {
  for (let h = 0; h < rows.length;) {
    const f = rows[h + 5], nOut = rows[h + 11];
    const actions: Actions = {
      drop: (f & DROP) !== 0, allow: (f & ALLOW) !== 0, flood: (f & FLOOD) !== 0, stripVlan: (f & STRIP_VLAN) !== 0, count: (f & COUNT) !== 0,
      setVlan: rows[h + 6], setDscp: rows[h + 7], queue: rows[h + 8], rateClass: rows[h + 9], mirror: rows[h + 10],
      output: Array.from(rows.subarray(h + HEAD, h + HEAD + nOut)),
    };
    const pairs = rows[h + HEAD + nOut], at = h + HEAD + nOut + 1;
    const u = new Uint32Array(rows.buffer, rows.byteOffset + at * 4, 2 * pairs * KEY_WORDS);
    yield {
      slot: rows[h], seq: rows[h + 3] * 0x100000000 + (rows[h + 4] >>> 0),
      rule: { id: undefined, layer: rows[h + 1], priority: rows[h + 2], masks: u.subarray(0, pairs * KEY_WORDS), values: u.subarray(pairs * KEY_WORDS), pairs, actions },
    };
    h = at + 2 * pairs * KEY_WORDS;
  }
}
