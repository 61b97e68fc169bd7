// The queues report (GET /queues, `sluice queues`): each receive queue with the thread serving
// it, its depth and how its frames were chosen; the steering filters; the RSS indirection table
// with the busiest buckets; and the heavy flows (with their queues) and VMs the NIC measured (QueueWatch).
// No queue manager decides yet: `policy` says so; moves are asked for (queue-routes.ts).

import type { CounterRegistry } from '../counter-registry.js';
import type { QueueView } from '../controllers/queue-watch.js';
import type { SoftNic } from '../nic/soft-nic.js';
import type { SteeringFilter } from '../nic/steering.js';

/** Buckets the report lists (busiest first). */
const REPORT_BUCKETS = 8;

export interface QueueReport {
  queues: { queue: number; thread: string; depth: number; counters: Record<string, number> }[];
  filters: { capacity: number; installed: SteeringFilter[] };
  rss: { buckets: number; indirection: number[]; busiest: { bucket: number; queue: number; packetsPerSecond: number; bitsPerSecond: number }[] };
  /** The NIC's measurements of the last period (null: not two periods yet); sampleMean 1: every frame counted. */
  measured: { periodMs: number; sampleMean: number; flows: QueueView['flows']; vms: QueueView['vms'] } | null;
  policy: string;
}

export function queueReport(nic: SoftNic, registry: CounterRegistry, workers: number, view: QueueView | null, ringDepth: (q: number) => number): QueueReport {
  const byQueue = registry.totals('queue'), ind = Array.from(nic.rss.indirection);
  const busiest = (view?.buckets ?? []).filter((b) => b.packetsPerSecond > 0).sort((a, b) => b.bitsPerSecond - a.bitsPerSecond).slice(0, REPORT_BUCKETS)
    .map((b) => ({ bucket: b.bucket, queue: ind[b.bucket], packetsPerSecond: b.packetsPerSecond, bitsPerSecond: b.bitsPerSecond }));
  return {
    queues: Array.from({ length: nic.queues }, (_, q) => ({ queue: q, thread: workers === 0 ? 'main (inline)' : `datapath ${q % workers}`, depth: ringDepth(q), counters: byQueue.get(String(q)) ?? {} })),
    filters: { capacity: nic.steering.capacity, installed: nic.steering.list() },
    rss: { buckets: ind.length, indirection: ind, busiest },
    measured: view ? { periodMs: view.periodMs, sampleMean: view.sampleMean, flows: view.flows, vms: view.vms } : null,
    policy: 'none: filters and RSS entries change only when asked (POST /queues/moves, /queues/rss), queue threads stay as configured (the queue manager runs in simulation only: native-free-bench/queue-policy.ts)',
  };
}
