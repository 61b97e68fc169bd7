// list pairs — every (frame, destination port) pair with its egress tag operation: the
// cached outcome's pairs for a frame on the fast path; otherwise the port, the flood list,
// the rule's outputs or the extension's choice, plus the rule's mirror port (which gets the
// frame with its tag as received: a negative op marks the copy). A known unicast destination
// behind a tunnel uplink carries its remote VTEP in the op (egress-tag.ts), so the cached
// decision holds it too: a flow to a remote VM costs a cache hit, not a MAC lookup.

import { MAX_VLAN_TAGS } from '../../wire/ethernet.js';
import { SWF_NO_DESTINATION, SWF_UNKNOWN_UNICAST } from '../compiled-outcome.js';
import { TAG_KEEP, TAG_PUSH, TAG_SET_VID, TAG_STRIP, TUNNEL_SHIFT } from '../egress-tag.js';
import { MODE_ACCESS } from '../port-table.js';
import { DROP, EXPLICIT, FLOOD, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const listPairs: PipelineStep = {
  name: 'list pairs',
  run(b: SwitchBatch): void {
    const k = b.keys, ports = b.ports, c = b.c, nc = b.nc, at = b.at, n = b.n, batch = b.handles, np = ports.count, list = b.portList;
    const pairPos = b.pairPos, pairPort = b.pairPort, pairOp = b.pairOp, pairGone = b.pairGone, pairFrom = b.pairFrom;
    const anyFast = b.nFast !== 0, fast = b.fast, so = b.outcomes, dest = b.dest, dec = b.dec, vlan = b.vlan, verdict = b.verdict, swFlags = b.swFlags;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      pairFrom[i] = pairs;
      const d = dest[i];
      if (d === DROP) continue;
      const h = batch[i];
      const inp = k.inPort[h];
      if (anyFast && fast[i] !== 0) {
        // The cached outcome's pairs, as listed when the flow was first switched.
        const e = dec[i], from = so!.pairAt[e], m = so!.pairN[e], pp = so!.pairs, flags = so!.flags[e];
        if (flags !== 0) {
          if ((flags & SWF_UNKNOWN_UNICAST) !== 0) c[inp * nc + at.unknownUnicast]++;
          if ((flags & SWF_NO_DESTINATION) !== 0) c[inp * nc + at.dropNoDestination]++;
        }
        for (let j = 0; j < m; j++) { pairPos[pairs] = i; pairPort[pairs] = pp[from + 2 * j]; pairOp[pairs] = pp[from + 2 * j + 1]; pairGone[pairs] = 0; pairs++; }
        continue;
      }
      const v = vlan[i];
      const vd = verdict[i];
      let m = 0;
      if (d >= 0) list[m++] = d;
      else if (d === FLOOD) { for (let p = 0; p < np; p++) if (p !== inp && ports.enabled(p) && ports.carries(p, v)) list[m++] = p; }
      else if (d === EXPLICIT) {
        const out = vd!.output;
        for (let j = 0; j < out.length; j++) if (out[j] !== inp && ports.enabled(out[j])) list[m++] = out[j];
      } else {
        const iv = b.ext!.ingressView, base = i * np;
        for (let j = 0; j < iv.destCount[i]; j++) { const p = iv.dest[base + j]; if (p !== inp && ports.enabled(p) && !listed(list, m, p)) list[m++] = p; }
      }
      const forwards = m;
      if (vd !== null && vd.mirror >= 0 && vd.mirror !== inp && ports.enabled(vd.mirror) && !listed(list, m, vd.mirror)) list[m++] = vd.mirror;
      if (forwards === 0) { c[inp * nc + at.dropNoDestination]++; swFlags[i] |= SWF_NO_DESTINATION; }
      const tagged = k.vlanCount[h] !== 0;
      const strip = vd !== null && vd.stripVlan;
      const tunnel = d >= 0 && b.tunnels ? b.macs.tunnelAt(b.dstSlot[i]) << TUNNEL_SHIFT : 0;
      for (let j = 0; j < m; j++) {
        pairPos[pairs] = i; pairPort[pairs] = list[j]; pairGone[pairs] = 0;
        pairOp[pairs] = j < forwards ? tagOp(b, list[j], h, v, tagged, strip) | tunnel : -1 - TAG_KEEP;
        pairs++;
      }
    }
    pairFrom[n] = pairs;
    b.pairs = pairs;
  },
};

// The tag operation that makes h right for port p's VLAN mode (or, for a stripVlan verdict,
// untagged whatever the mode).
function tagOp(b: SwitchBatch, p: number, h: number, v: number, tagged: boolean, strip: boolean): number {
  const ports = b.ports;
  const wantTag = !strip && ports.mode(p) !== MODE_ACCESS && ports.nativeVlan(p) !== v;
  if (wantTag) return tagged ? (b.keys.vlanTci[h * MAX_VLAN_TAGS] & 0xfff) === v ? TAG_KEEP : TAG_SET_VID | (v << 4) : TAG_PUSH | (v << 4);
  return tagged ? TAG_STRIP : TAG_KEEP;
}

function listed(list: Int32Array, m: number, p: number): boolean {
  for (let j = 0; j < m; j++) if (list[j] === p) return true;
  return false;
}
