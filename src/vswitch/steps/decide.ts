// decide — destinations of the frames switched step by step: a forwarding extension's choice
// wins, then a rule's output ports or flood; otherwise known unicast: one port; group or
// unknown destination: flood (to every enabled port carrying the VLAN, never back out of the
// input port: list-pairs). A rule's setVlan moves the frame into that VLAN first (lookup,
// flooding and egress tagging use it; learning used the ingress VLAN).

import { SWF_UNKNOWN_UNICAST } from '../compiled-outcome.js';
import { DROP, EXPLICIT, EXTENSION, FLOOD, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const decide: PipelineStep = {
  name: 'decide',
  run(b: SwitchBatch): void {
    if (b.slow === 0) return;
    const k = b.keys, macs = b.macs, ports = b.ports, c = b.c, nc = b.nc, at = b.at, now = b.now;
    const n = b.n, batch = b.handles, dest = b.dest, vlan = b.vlan, fast = b.fast, anyFast = b.nFast !== 0;
    const verdict = b.verdict, swFlags = b.swFlags, swDrop = b.swDrop, dstSlot = b.dstSlot;
    for (let i = 0; i < n; i++) {
      if (dest[i] === DROP || (anyFast && fast[i] !== 0)) continue;
      const h = batch[i];
      const inp = k.inPort[h];
      const vd = verdict[i];
      if (vd !== null && vd.setVlan >= 0) vlan[i] = vd.setVlan;
      if (dest[i] === EXTENSION) continue;
      if (vd !== null) {
        if (vd.output.length !== 0) { dest[i] = EXPLICIT; continue; }
        if (vd.flood) { dest[i] = FLOOD; continue; }
      }
      if ((k.dstMacHi[h] & 0x100) !== 0) { dest[i] = FLOOD; continue; }
      const slot = macs.locate(vlan[i], k.dstMacHi[h], k.dstMacLo[h], now);
      if (slot < 0) { c[inp * nc + at.unknownUnicast]++; swFlags[i] |= SWF_UNKNOWN_UNICAST; dest[i] = FLOOD; continue; }
      dstSlot[i] = slot;
      const p = macs.portAt(slot);
      if (p === inp) { dest[i] = DROP; swDrop[i] = at.dropSameSegment; b.dropLater(h, inp, at.dropSameSegment); continue; }
      if (!ports.enabled(p) || !ports.carries(p, vlan[i])) { dest[i] = DROP; swDrop[i] = at.dropNoDestination; b.dropLater(h, inp, at.dropNoDestination); continue; }
      dest[i] = p;
    }
  },
};
