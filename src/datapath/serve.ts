// serveQueues: one pass of a datapath thread over the receive queues it serves — take up to
// BATCH_MAX handles from each ring and run the switch pipeline on them. Used by the worker
// threads and by the inline (single-thread) mode alike.

import { Clock } from '../clock.js';
import { Ring } from '../nic/ring.js';
import { BATCH_MAX, SwitchPipeline } from '../vswitch/pipeline.js';

export function serveQueues(rings: Ring[], pipeline: SwitchPipeline, batch: Int32Array, clock: Clock): number {
  let total = 0;
  const now = clock.seconds();
  for (let i = 0; i < rings.length; i++) {
    const n = rings[i].dequeueBurst(batch, BATCH_MAX);
    if (n === 0) continue;
    pipeline.process(batch, n, now);
    total += n;
  }
  return total;
}

export function ringsEmpty(rings: Ring[]): boolean {
  for (let i = 0; i < rings.length; i++) if (rings[i].count !== 0) return false;
  return true;
}
