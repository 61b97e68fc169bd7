// emit — per frame: apply the verdict's edits (DSCP, rate class), set the handle's reference
// count to its surviving pairs plus the copies extensions asked for (mirror), stage each copy
// with its egress tag op, then one burst enqueue per destination port; the op travels beside
// the handle on the transmit ring. A full transmit ring drops (txRingFull, on the output
// port) and releases. Deferred drops are released last, and the transmitting thread is woken.

import { setDscp } from '../../wire/dscp.js';
import { BATCH_MAX } from '../../batch.js';
import { TAG_KEEP } from '../egress-tag.js';
import { MIRRORS } from '../ext/stack.js';
import { DROP, EXPLICIT, FLOOD, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const emit: PipelineStep = {
  name: 'emit',
  run(b: SwitchBatch): void {
    const k = b.keys, pool = b.pool, ports = b.ports, ext = b.ext, c = b.c, nc = b.nc, at = b.at, list = b.portList;
    const pairFrom = b.pairFrom, pairGone = b.pairGone, pairOp = b.pairOp, pairPort = b.pairPort, np = ports.count;
    const n = b.n, dest = b.dest, batch = b.handles, verdict = b.verdict, stagedH = b.stage, stagedOp = b.stageOp, staged = b.staged;
    staged.fill(0);
    for (let i = 0; i < n; i++) {
      const d = dest[i];
      if (d === DROP) continue;
      const h = batch[i];
      const inp = k.inPort[h];
      let m = 0, fwd = 0;
      for (let q = pairFrom[i]; q < pairFrom[i + 1]; q++) if (!pairGone[q]) { m++; if (pairOp[q] >= 0) fwd++; }
      if (m === 0) {
        if (pairFrom[i + 1] !== pairFrom[i]) c[inp * nc + at.dropExcluded]++;
        pool.refs[h] = 1; b.release(h);
        continue;
      }
      const vd = verdict[i];
      if (vd !== null) {
        if (vd.setDscp >= 0) setDscp(pool.data, pool.start(h) + k.l3Off[h], k.ipVersion[h], vd.setDscp);
        if (vd.rateClass >= 0) pool.rateClass[h] = vd.rateClass;
      }
      // Copies extensions asked for (mirror), unless the port already gets the frame.
      let extra = 0;
      const mc = ext !== null ? ext.mirrorCount[i] : 0;
      for (let j = 0; j < mc; j++) {
        const mp = ext!.mirrorPorts[i * MIRRORS + j];
        if (mp === inp || !ports.enabled(mp) || pairTo(b, i, mp)) continue;
        list[extra++] = mp;
      }
      pool.refs[h] = m + extra; // set before the first copy is visible to the sender
      for (let q = pairFrom[i]; q < pairFrom[i + 1]; q++) {
        if (pairGone[q]) continue;
        const op = pairOp[q];
        const p = pairPort[q], at2 = p * BATCH_MAX + staged[p]++;
        stagedH[at2] = h; stagedOp[at2] = op >= 0 ? op : -1 - op;
        if (op < 0) c[inp * nc + at.mirrored]++;
      }
      for (let j = 0; j < extra; j++) { const p = list[j], at2 = p * BATCH_MAX + staged[p]++; stagedH[at2] = h; stagedOp[at2] = TAG_KEEP; c[inp * nc + at.mirrored]++; }
      if (fwd !== 0) c[inp * nc + (d >= 0 ? at.forwarded : d === FLOOD ? at.flooded : d === EXPLICIT ? at.ruleOutput : at.extensionOutput)]++;
    }
    let ring = 0;
    for (let p = 0; p < np; p++) {
      const m = staged[p];
      if (m === 0) continue;
      ring |= b.bellPorts[p];
      const base = p * BATCH_MAX;
      const sent = b.out.tx[p].enqueueBurst(stagedH, base, m, stagedOp);
      for (let j = sent; j < m; j++) { c[p * nc + at.txRingFull]++; b.release(stagedH[base + j]); }
    }
    for (let j = 0; j < b.nDeferred; j++) { const h = b.deferred[j]; pool.refs[h] = 1; b.release(h); }
    if (ring !== 0) b.out.bell.ring();
  },
};

// Does position i have a surviving pair to port p?
function pairTo(b: SwitchBatch, i: number, p: number): boolean {
  for (let q = b.pairFrom[i]; q < b.pairFrom[i + 1]; q++) if (!b.pairGone[q] && b.pairPort[q] === p) return true;
  return false;
}
