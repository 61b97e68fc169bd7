// SoftNic: the emulated multi-queue NIC. Frames land here from endpoints (already copied
// into pool slots); the NIC parses each one once, picks a receive queue and places the
// handle on that queue's ring, ringing the doorbell of the worker that serves it.
//
// Queue choice: a steering filter match (SteeringTable), else RSS (Toeplitz hash through the
// indirection table); frames that did not parse go to queue 0, where the pipeline counts
// and drops them under their reason.
// Counters per queue (QUEUE_COUNTERS): packets and bytes placed, drops by reason (ringFull),
// and how the queue was chosen (byFilter, byRss, unparsed).
// Runs on the thread that owns the pool (the main thread), so a full ring frees at once.

import { counterIndex, CounterBlock } from '../counters.js';
import { FlowKeys, PARSE_OK } from '../wire/flow-key.js';
import { Doorbell } from './doorbell.js';
import { PacketPool } from './pool.js';
import { Ring } from './ring.js';
import { Rss } from './rss.js';
import { SteeringTable } from './steering.js';

export const QUEUE_COUNTERS = ['packets', 'bytes', 'dropRingFull', 'byFilter', 'byRss', 'unparsed'] as const;
export const MAX_QUEUES = 64;
const QC = counterIndex(QUEUE_COUNTERS);

export interface SoftNicOptions {
  queues: number;
  ringSize: number;
  rss?: Rss;
  filterCapacity?: number;
}

export class SoftNic {
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  readonly queues: number;
  readonly rings: Ring[];
  /** Doorbell of the worker serving each queue (several queues may share one). */
  readonly bells: Doorbell[];
  readonly rss: Rss;
  readonly steering: SteeringTable;
  readonly counters: CounterBlock<typeof QUEUE_COUNTERS>;
  private readonly c: Float64Array;

  constructor(pool: PacketPool, keys: FlowKeys, o: SoftNicOptions) {
    if (!Number.isInteger(o.queues) || o.queues < 1 || o.queues > MAX_QUEUES) throw new RangeError(`queues must be 1..${MAX_QUEUES}, got ${o.queues}`);
    this.pool = pool;
    this.keys = keys;
    this.queues = o.queues;
    this.rings = [];
    for (let q = 0; q < o.queues; q++) this.rings.push(new Ring(o.ringSize));
    this.bells = this.rings.map(() => new Doorbell());
    this.rss = o.rss ?? new Rss(o.queues);
    this.steering = new SteeringTable(o.queues, o.filterCapacity);
    this.counters = new CounterBlock(QUEUE_COUNTERS, o.queues);
    this.c = this.counters.values;
  }

  /** Serve queue q by doorbell `bell` (workers call this when they take their queues). */
  assign(q: number, bell: Doorbell): void { this.bells[q] = bell; }

  /**
   * Take the frame in slot h (received on `port`): parse, steer, enqueue.
   * Returns the queue, or -1 when the ring was full (the handle is then freed and counted).
   */
  receive(h: number, port: number): number {
    const k = this.keys, pool = this.pool, c = this.c, nc = QUEUE_COUNTERS.length;
    k.inPort[h] = port;
    const len = pool.len[h];
    let q: number;
    if (k.extract(pool.data, pool.start(h), len, h) !== PARSE_OK) {
      q = 0;
      c[QC.unparsed]++; // row 0: queue 0
    } else {
      q = this.steering.lookup(k, h);
      if (q >= 0) {
        c[q * nc + QC.byFilter]++;
      } else {
        const hash = this.rss.hashKey(k, h);
        k.hash[h] = hash;
        q = this.rss.queueOf(hash);
        c[q * nc + QC.byRss]++;
      }
    }
    if (!this.rings[q].enqueue(h)) {
      c[q * nc + QC.dropRingFull]++;
      pool.free(h);
      return -1;
    }
    c[q * nc + QC.packets]++;
    c[q * nc + QC.bytes] += len;
    this.bells[q].ring();
    return q;
  }
}
