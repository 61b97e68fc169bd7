// serveQueues: one pass of a datapath thread over the receive queues it serves. Each ring
// gives up to BATCH_MAX handles per pass, as it would alone, but the handles of all the
// thread's rings are gathered into full batches before the switch pipeline runs: a thread
// serving several lightly loaded queues (RSS spreads a burst over all of them) runs one
// pass of the pipeline over their frames together, not one small pass per queue. Used by
// the worker threads and by the inline (single-thread) mode alike.

import { Clock } from '../clock.js';
import { Ring } from '../nic/ring.js';
import { BATCH_MAX, SwitchPipeline } from '../vswitch/pipeline.js';

export function serveQueues(rings: Ring[], pipeline: SwitchPipeline, batch: Int32Array, clock: Clock): number {
  let total = 0, filled = 0;
  const now = clock.seconds();
  for (let i = 0; i < rings.length; i++) {
    for (let share = BATCH_MAX; share > 0;) {
      const space = BATCH_MAX - filled;
      const got = rings[i].dequeueBurst(batch, share < space ? share : space, undefined, filled);
      if (got === 0) break;
      filled += got; share -= got;
      if (filled === BATCH_MAX) { pipeline.process(batch, filled, now); total += filled; filled = 0; }
    }
  }
  if (filled !== 0) { pipeline.process(batch, filled, now); total += filled; }
  return total;
}

export function ringsEmpty(rings: Ring[]): boolean {
  for (let i = 0; i < rings.length; i++) if (rings[i].count !== 0) return false;
  return true;
}
