// cache decisions — file the decision of every flow that missed the cache (and complete
// partial decisions): the rule verdict, what the cacheable extensions just decided — when
// every one of them had its say (a packet dropped by a non-cacheable extension leaves the flow
// uncached: its next packet asks again) — and, unless the frame was diverted, the switch's own
// outcome (compiled-outcome.ts): a drop and its counter, or the pairs with their tag ops.

import { SW_DROP, SW_FORWARD } from '../compiled-outcome.js';
import { DROP, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const cacheDecisions: PipelineStep = {
  name: 'cache decisions',
  run(b: SwitchBatch): void {
    const flow = b.flow;
    if (flow === null || (b.slow === 0 && b.unusual === 0)) return;
    const fd = b.fd!, ext = b.ext, dec = b.dec, live = b.afterIngress, cached = b.cached, np = b.ports.count, n = b.n, fast = b.fast, diverted = b.diverted;
    for (let i = 0; i < n; i++) {
      const d0 = dec[i];
      if (d0 === -2 || fast[i] !== 0 || !b.mayInsert(i)) continue;
      if (d0 >= 0) {
        // A partial decision: complete it when this frame was switched as its flow would be.
        if (!live[i] || diverted[i] !== 0) continue;
        fd.beginFrom(d0);
      } else {
        fd.begin(flow.missRule[i]);
        if (cached) {
          if (ext!.record.pendDropBy[i] >= 0) {
            // Dropped by a cacheable extension: nothing after it matters.
            fd.setDrop(ext!.record.pendDropBy[i], ext!.record.pendDropReason[i]);
            flow.insert(i, fd.finish());
            continue;
          }
          if (!live[i] || ext!.record.incomplete[i]) continue;
          if (ext!.record.pendDest[i]) fd.setDestinations(ext!.ingressView.dest, i * np, ext!.ingressView.destCount[i]);
          fd.setExclusions(ext!.record.pendExclBy, ext!.record.pendExclReason, i * np);
        } else if (!live[i]) continue;
      }
      if (diverted[i] === 0) compileSwitch(b, i);
      flow.insert(i, fd.finish());
    }
  },
};

// The switch outcome of position i (switched step by step in this batch) into the decision being built.
function compileSwitch(b: SwitchBatch, i: number): void {
  const so = b.outcomes!;
  if (b.dest[i] === DROP) { so.set(SW_DROP, b.swDrop[i], 0, 0, b.srcSlot[i], b.dstSlot[i]); return; }
  so.set(SW_FORWARD, 0, b.swFlags[i], b.dest[i], b.srcSlot[i], b.dstSlot[i]);
  for (let q = b.pairFrom[i]; q < b.pairFrom[i + 1]; q++) so.addPair(b.pairPort[q], b.pairOp[q]);
}
