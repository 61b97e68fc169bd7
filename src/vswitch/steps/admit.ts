// admit — drop frames that did not parse (counted per parse reason) and classify the VLAN
// each frame belongs to from its input port's access/trunk config; then look up the frame's
// flow in the FlowStage (flow cache; rules classified on a miss): a rule drop ends here
// (dropRule). A GSO frame counts on its rules as the segments it carries. Each of dest/dec/verdict is written once per frame (stores are what this loop
// costs).

import { MAX_VLAN_TAGS } from '../../wire/ethernet.js';
import { gsoSegments } from '../../nic/vnet-hdr.js';
import { Verdict } from '../../flow/rule-set.js';
import { MALFORMED_BASE } from '../pipeline-counters.js';
import { MODE_ACCESS } from '../port-table.js';
import { DROP, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const admit: PipelineStep = {
  name: 'admit',
  run(b: SwitchBatch): void {
    const k = b.keys, ports = b.ports, c = b.c, nc = b.nc, at = b.at, batch = b.handles, n = b.n;
    const vlan = b.vlan, dest = b.dest, verdict = b.verdict, dec = b.dec, flow = b.flow, fd = b.fd;
    let unusual = 0;
    for (let i = 0; i < n; i++) {
      const h = batch[i];
      const inp = k.inPort[h];
      c[inp * nc + at.processed]++;
      const r = k.reason[h];
      if (r !== 0) { b.dropAt(i, h, inp, MALFORMED_BASE + r); continue; }
      if (!ports.enabled(inp)) { b.dropAt(i, h, inp, at.dropPortDisabled); continue; }
      const tagged = k.vlanCount[h] !== 0;
      const vid = tagged ? k.vlanTci[h * MAX_VLAN_TAGS] & 0xfff : 0;
      let v: number;
      if (ports.mode(inp) === MODE_ACCESS) {
        if (vid !== 0) { b.dropAt(i, h, inp, at.dropTaggedOnAccess); continue; }
        v = ports.accessVlan(inp);
      } else if (vid === 0) {
        v = ports.nativeVlan(inp);
        if (v < 0) { b.dropAt(i, h, inp, at.dropUntaggedOnTrunk); continue; }
      } else {
        if (!ports.carries(inp, vid)) { b.dropAt(i, h, inp, at.dropVlanNotAllowed); continue; }
        v = vid;
      }
      vlan[i] = v;
      if (flow === null) { dest[i] = 0; dec[i] = -2; verdict[i] = null; continue; }
      let d = flow.lookup(k, h, i);
      let vd: Verdict;
      if (d >= 0) vd = flow.verdict(d);
      else {
        vd = flow.rules.verdicts[flow.missRule[i]];
        // A rule drop is the flow's whole decision: cache it now.
        if (vd.drop) { d = fd!.forRule(flow.missRule[i]); flow.insert(i, d); }
      }
      dec[i] = d;
      if (d < 0 || fd!.plain[d] === 0) unusual++;
      if (vd.slots.length !== 0) flow.rules.count(vd, b.pool.len[h], gsoSegments(b.pool, h));
      if (vd.drop) { dest[i] = DROP; b.drop(h, inp, at.dropRule); continue; }
      dest[i] = 0;
      verdict[i] = vd;
    }
    b.unusual = unusual;
  },
};
