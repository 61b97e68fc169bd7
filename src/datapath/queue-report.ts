// The queues report (GET /queues, `sluice queues`): each receive queue with the thread serving
// it, its depth and how its frames were chosen; the steering filters; the RSS indirection table
// with the busiest buckets; the heavy flows (with their queues and ports) and VMs the NIC
// measured (QueueWatch); and the queue manager's rules, the flows it gave queues and its last
// decisions with their reasons (QueueManager).

import type { CounterRegistry } from '../counter-registry.js';
import type { QueueView } from '../controllers/queue-watch.js';
import type { QueueManager } from '../controllers/queue-manager.js';
import type { SoftNic } from '../nic/soft-nic.js';
import type { SteeringFilter } from '../nic/steering.js';
import type { QueueOwners } from './queue-owners.js';

/** Buckets the report lists (busiest first). */
const REPORT_BUCKETS = 8;

export interface QueueReport {
  queues: { queue: number; thread: string; depth: number; counters: Record<string, number> }[];
  filters: { capacity: number; installed: SteeringFilter[] };
  rss: { buckets: number; indirection: number[]; busiest: { bucket: number; queue: number; packetsPerSecond: number; bitsPerSecond: number }[] };
  /** The NIC's measurements of the last period (null: not two periods yet); sampleMean 1: every frame counted. */
  measured: { periodMs: number; sampleMean: number; flows: (QueueView['flows'][number] & { portName: string })[]; vms: QueueView['vms'] } | null;
  /** The queue manager: its rules, the flows it holds queues for, its last decisions (oldest first) and counters. */
  manager: ReturnType<QueueManager['report']>;
  /** How queues are dealt to threads. */
  threads: string;
}

export function queueReport(nic: SoftNic, registry: CounterRegistry, workers: number, view: QueueView | null, ringDepth: (q: number) => number, manager: QueueReport['manager'], portNames: readonly string[], owners: QueueOwners): QueueReport {
  const thread = (q: number) => {
    if (workers === 0) return 'main (inline)';
    const now = Atomics.load(owners.owner, q), want = owners.want(q);
    return `datapath ${now}${want !== now ? ` (to ${want})` : ''}`;
  };
  const byQueue = registry.totals('queue'), ind = Array.from(nic.rss.indirection);
  const busiest = (view?.buckets ?? []).filter((b) => b.packetsPerSecond > 0).sort((a, b) => b.bitsPerSecond - a.bitsPerSecond).slice(0, REPORT_BUCKETS)
    .map((b) => ({ bucket: b.bucket, queue: ind[b.bucket], packetsPerSecond: b.packetsPerSecond, bitsPerSecond: b.bitsPerSecond }));
  return {
    queues: Array.from({ length: nic.queues }, (_, q) => ({ queue: q, thread: thread(q), depth: ringDepth(q), counters: byQueue.get(String(q)) ?? {} })),
    filters: { capacity: nic.steering.capacity, installed: nic.steering.list() },
    rss: { buckets: ind.length, indirection: ind, busiest },
    measured: view ? { periodMs: view.periodMs, sampleMean: view.sampleMean, flows: view.flows.map((f) => ({ ...f, portName: portNames[f.port] ?? `port ${f.port}` })), vms: view.vms } : null,
    manager,
    threads: workers === 0 ? 'every queue on the main thread (workers = 0)' : workers === 1 ? 'every queue on datapath thread 0 (workers = 1)' : `dealt by the queue manager, or POST /queues/threads (queue q on thread q mod ${workers} at start)`,
  };
}
