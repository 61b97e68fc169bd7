// egress extensions — in reverse order, may exclude pairs (a frame left with none is counted
// dropExcluded when emitted). Misses dropped by the switch itself after the extensions (their
// handles are released at the end of the batch) are still asked about every port, so their
// flows get cached.

import { PipelineStep, SwitchBatch } from '../switch-batch.js';

export const egressExtensions: PipelineStep = {
  name: 'egress extensions',
  run(b: SwitchBatch): void {
    const ext = b.ext;
    if (ext === null) return;
    if (b.plain) { ext.plainBatch(b.plainFrames, b.pairs); return; }
    if (!ext.hasEgress && !b.cached) return;
    ext.egress(b.handles, b.pairPos, b.pairPort, b.pairGone, b.pairs, b.n, b.afterIngress, b.cached ? b.dec : null, b.cached ? b.fd : null);
  },
};
