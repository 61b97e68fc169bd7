// SoftNic: the emulated multi-queue NIC. Frames land here from endpoints (already copied
// into pool slots); the NIC parses each one once and picks a receive queue; flush() then
// places the staged handles on each queue's ring in one burst and rings the doorbell of the
// worker serving it once — not once per packet.
//
// Queue choice: a steering filter match (SteeringTable), else a programmed rule's `queue`
// action (the rules' flow stage, consulted only while some rule has one), else RSS (Toeplitz
// hash through the indirection table); frames that did not parse go to queue 0, where the pipeline counts
// and drops them under their reason.
// Counters per queue (QUEUE_COUNTERS): packets and bytes placed, drops by reason (ringFull),
// how the queue was chosen (byFilter, byRule, byRss, unparsed), and the order-keeping moves of
// flows by filter to this queue (flowsMovedIn) or off it (flowsMovedOut), of RSS entries to it
// (entriesMovedIn), given up (movesGivenUp), and the frames they held (framesHeld); and the
// queue's changes of serving thread (threadChanges; threadChangesGivenUp: datapath/queue-owners.ts).
// The main thread runs one instance for the frames its endpoints receive; a datapath thread
// that reads native ports runs its own (forThread), producing into rings of its own — one per
// queue, so every ring keeps one producer — with counters of its own (summed in the registry).

import { counterIndex, CounterBlock } from '../counters.js';
import { FlowKeys, PARSE_OK } from '../wire/flow-key.js';
import { FlowStage } from '../flow/flow-stage.js';
import { Doorbell } from './doorbell.js';
import { DRAIN_CODES, PacketPool } from './pool.js';
import { Ring } from './ring.js';
import { Rss } from './rss.js';
import { SteeringError, SteeringFilter, SteeringTable } from './steering.js';
import { FlowMove, MoveAsk } from './flow-move.js';
import { FlowMeter, MeterShare } from './flow-meter.js';
import { KEY_STRIDE } from '../wire/flow-key.js';

export const QUEUE_COUNTERS = ['packets', 'bytes', 'dropRingFull', 'byFilter', 'byRule', 'byRss', 'unparsed', 'dropUnserved', 'flowsMovedIn', 'flowsMovedOut', 'entriesMovedIn', 'movesGivenUp', 'framesHeld', 'threadChanges', 'threadChangesGivenUp'] as const;
export const MAX_QUEUES = 64;
const QC = counterIndex(QUEUE_COUNTERS);
/** Handles staged per queue before a flush publishes them in one burst. */
export const STAGE_MAX = 64;

export interface SoftNicOptions {
  queues: number;
  ringSize: number;
  rss?: Rss;
  filterCapacity?: number;
  /** Which producer it is for drain marks (pool.ts): 0 the main thread's, w + 1 worker w's. */
  producer?: number;
  /** Milliseconds for moves' deadlines (default: the performance clock). */
  nowMs?: () => number;
  /** Another thread's instance of the same NIC: its own ring per queue, the serving threads' bells and which serves each queue, its own counters and meter. */
  thread?: NicThread;
}

/** A thread's own instance's parts: its ring per queue, the serving threads' bells, the owner of each queue, its counters and meter. */
export interface NicThread { rings: Ring[]; bells: Doorbell[]; owner: Int32Array; counters: SharedArrayBuffer; meter: MeterShare }

/** What a datapath thread needs to run the NIC's steering itself (its rings, bells and counters apart). */
export interface NicShare { queues: number; ringSize: number; filterCapacity: number; rssKey: Uint8Array; rssIndirection: Uint8Array; filters: SteeringFilter[] }

export class SoftNic {
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  readonly queues: number;
  readonly rings: Ring[];
  /** Doorbell of the worker serving each queue (several queues may share one). */
  /** The bell of each thread serving queues, and per queue the thread serving it (shared: datapath/queue-owners.ts changes it at run time). */
  readonly bells: Doorbell[];
  private owner: Int32Array;
  readonly rss: Rss;
  readonly steering: SteeringTable;
  readonly counters: CounterBlock<typeof QUEUE_COUNTERS>;
  /** Per RSS bucket and per (sampled) flow, for the queue manager (flow-meter.ts). */
  readonly meter: FlowMeter;
  readonly meterShare: MeterShare;
  private readonly c: Float64Array;
  private readonly bk: Float64Array;
  // Handles parsed and steered, waiting for flush(): STAGE_MAX per queue.
  private readonly staged: Int32Array;
  private readonly stagedCount: Int32Array;
  private pending = 0;
  /** Rules with `queue` actions, behind this thread's own flow cache; null: none programmed. */
  ruleQueues: FlowStage | null = null;
  // Order-keeping moves (flow-move.ts): this producer's drain epoch, the frames it marked with
  // each epoch (cumulative, int32), and the move under way.
  private readonly producer: number;
  private epoch = 0;
  private readonly marked = new Int32Array(2);
  private current: FlowMove | null = null;
  private readonly asked: MoveAsk[] = [];
  private readonly nowMs: () => number;


  constructor(pool: PacketPool, keys: FlowKeys, o: SoftNicOptions) {
    if (!Number.isInteger(o.queues) || o.queues < 1 || o.queues > MAX_QUEUES) throw new RangeError(`queues must be 1..${MAX_QUEUES}, got ${o.queues}`);
    this.pool = pool;
    this.keys = keys;
    this.queues = o.queues;
    this.rings = o.thread?.rings ?? [];
    for (let q = this.rings.length; q < o.queues; q++) this.rings.push(new Ring(o.ringSize));
    this.bells = o.thread?.bells ?? [new Doorbell()];
    this.owner = o.thread?.owner ?? new Int32Array(o.queues);
    this.rss = o.rss ?? new Rss(o.queues);
    this.steering = new SteeringTable(o.queues, o.filterCapacity);
    this.counters = new CounterBlock(QUEUE_COUNTERS, o.queues, o.thread?.counters);
    this.c = this.counters.values;
    this.meterShare = o.thread?.meter ?? FlowMeter.share(this.rss.indirection.length);
    this.meter = new FlowMeter(this.meterShare);
    this.bk = this.meter.buckets;
    this.producer = o.producer ?? 0;
    this.nowMs = o.nowMs ?? (() => performance.timeOrigin + performance.now());
    if (!Number.isInteger(this.producer) || this.producer < 0 || 2 * this.producer + 2 >= DRAIN_CODES) throw new RangeError(`NIC producer must be 0..${(DRAIN_CODES >> 1) - 2}, got ${this.producer}`);
    this.staged = new Int32Array(o.queues * STAGE_MAX);
    this.stagedCount = new Int32Array(o.queues);
  }

  /** What another thread needs for its own instance (steering filters as installed now). */
  share(): NicShare {
    return { queues: this.queues, ringSize: this.rings[0].capacity, filterCapacity: this.steering.capacity, rssKey: this.rss.key, rssIndirection: this.rss.indirection, filters: this.steering.list() };
  }

  /** This NIC's instance in another thread (nic.share() there), producing into `thread.rings`. */
  static forThread(pool: PacketPool, keys: FlowKeys, s: NicShare, thread: NicThread, producer: number): SoftNic {
    const nic = new SoftNic(pool, keys, { queues: s.queues, ringSize: s.ringSize, filterCapacity: s.filterCapacity, rss: new Rss(s.queues, s.rssKey, s.rssIndirection), thread, producer });
    for (const f of s.filters) nic.steering.add(f);
    return nic;
  }

  /** The worker threads serve the queues: `bells` theirs, `owner` (shared) which serves each queue. */
  serveBy(bells: Doorbell[], owner: Int32Array): void { this.bells.splice(0, this.bells.length, ...bells); this.owner = owner; }

  /**
   * Take the frame in slot h (received on `port`): parse it and choose its queue. The handle
   * is staged, not yet visible to the queue's worker: flush() publishes every staged handle
   * with one burst per queue (a full stage flushes itself). Returns the queue chosen.
   */
  receive(h: number, port: number): number {
    const k = this.keys, pool = this.pool;
    k.inPort[h] = port;
    k.hash[h] = 0; // set below when RSS hashes the frame (0: no RSS hash)
    if (k.extract(pool.data, pool.start(h), pool.len[h], h) !== PARSE_OK) {
      this.c[QC.unparsed]++; // row 0: queue 0
      this.stage(h, 0);
      return 0;
    }
    const m = this.current;
    if (m !== null && m.matches(k, h)) {
      if (m.hold(h)) return -1;
      this.endMove(false); // full: given up, the held frames first
    }
    return this.steer(h);
  }

  // Choose the queue of a parsed frame (filter, rule, RSS), count it, and stage it.
  private steer(h: number): number {
    const k = this.keys, pool = this.pool, c = this.c, nc = QUEUE_COUNTERS.length;
    let q = this.steering.lookup(k, h), b = -1;
    const rq = this.ruleQueues;
    if (q >= 0) {
      c[q * nc + QC.byFilter]++;
    } else if (rq !== null && rq.rules.queueRules !== 0 && (q = rq.verdictOf(k, h).queue) >= 0) {
      c[q * nc + QC.byRule]++;
    } else {
      const hash = this.rss.hashKey(k, h);
      k.hash[h] = hash;
      const bk = this.bk, m = this.current;
      b = this.rss.bucketOf(hash);
      if (m !== null && m.bucket === b) {
        if (m.hold(h)) return -1;
        this.endMove(false); // full: given up, the held frames first
      }
      q = this.rss.indirection[b];
      c[q * nc + QC.byRss]++;
      bk[2 * b]++; bk[2 * b + 1] += pool.len[h];
    }
    if (--this.meter.gap === 0) this.meter.sample(k.packed, h * KEY_STRIDE, pool.len[h], q, b);
    this.stage(h, q);
    return q;
  }

  private stage(h: number, q: number): void {
    if (this.stagedCount[q] === STAGE_MAX) this.flushQueue(q);
    this.staged[q * STAGE_MAX + this.stagedCount[q]++] = h;
    this.pending++;
  }

  /**
   * Move, without reordering (flow-move.ts): the flow of 5-tuple filter `filter` to its queue
   * (`remove`: back to RSS, the filter taken away), or RSS entry `bucket` to `queue`. The change
   * happens once the frames queued so far have left the switch (see poll()); moves asked for
   * meanwhile wait their turn. Throws SteeringError for a bad filter or a full table, RangeError
   * for a bad entry or queue.
   */
  move(ask: MoveAsk): void {
    if ('filter' in ask) {
      this.steering.check(ask.filter, !ask.remove); // throws SteeringError: nothing changed
    } else {
      if (!Number.isInteger(ask.bucket) || ask.bucket < 0 || ask.bucket >= this.rss.indirection.length) throw new RangeError(`entry: ${ask.bucket} is not an RSS indirection entry (0..${this.rss.indirection.length - 1})`);
      if (!Number.isInteger(ask.queue) || ask.queue < 0 || ask.queue >= this.queues) throw new RangeError(`queue: ${ask.queue} is not a receive queue (0..${this.queues - 1})`);
    }
    this.asked.push(ask);
    if (this.current === null) this.nextMove();
  }

  // Start the next move asked for: what was staged goes out in the old epoch, then the epoch changes.
  private nextMove(): void {
    const a = this.asked.shift();
    if (a === undefined) return;
    this.flush();
    const e = this.epoch;
    this.current = new FlowMove(a, this.queues, this.code(e), this.marked[e], this.nowMs());
    this.epoch = e ^ 1;
    this.poll();
  }

  /** A move under way (null: none). */
  get moving(): FlowMove | null { return this.current; }

  /** Finish the move under way when its old epoch has drained, or give it up after MOVE_TIMEOUT_MS (flush() and the threads' loops call this). */
  poll(): void {
    const m = this.current;
    if (m === null) return;
    if (((this.pool.drainedCount(m.code) - m.marked) | 0) === 0) this.endMove(true);
    else if (this.nowMs() >= m.deadlineMs) this.endMove(false);
  }

  // Change the filter or entry (done) or not (given up), then send the held frames where it says, in order.
  private endMove(done: boolean): void {
    const m = this.current!, a = m.ask, c = this.c, row = m.queue * QUEUE_COUNTERS.length;
    this.current = null;
    try {
      if (done && !('filter' in a)) { this.rss.indirection[a.bucket] = a.queue; c[row + QC.entriesMovedIn]++; }
      if (done && 'filter' in a && a.remove) { this.steering.remove(a.filter); c[row + QC.flowsMovedOut]++; }
      if (done && 'filter' in a && !a.remove) { this.steering.add(a.filter); c[row + QC.flowsMovedIn]++; }
    } catch (e) {
      if (!(e instanceof SteeringError)) throw e;
      done = false; // the table filled while the move waited
    }
    if (!done) c[row + QC.movesGivenUp]++;
    c[row + QC.framesHeld] += m.count;
    for (let i = 0; i < m.count; i++) this.steer(m.held[i]);
    this.flush();
    this.nextMove();
  }

  private code(epoch: number): number { return 1 + 2 * this.producer + epoch; }

  /** Handles received but not yet published to their rings: staged, or held by a move (a stop waits for them). */
  get unflushed(): number { return this.pending + (this.current?.count ?? 0); }

  /** Publish every staged handle to its queue's ring and wake the workers concerned. */
  flush(): void {
    if (this.pending !== 0) for (let q = 0; q < this.queues; q++) if (this.stagedCount[q] !== 0) this.flushQueue(q);
    if (this.current !== null) this.poll();
  }

  // One burst into ring q; what does not fit is dropped (dropRingFull) and freed at once.
  private flushQueue(q: number): void {
    const n = this.stagedCount[q], base = q * STAGE_MAX, c = this.c, row = q * QUEUE_COUNTERS.length, pool = this.pool;
    // Marked before the ring: the consumer may free them at once (drops here are freed, and counted, too).
    const code = this.code(this.epoch), mark = pool.drainMark, staged = this.staged;
    let bytes = 0;
    for (let i = 0; i < n; i++) { const h = staged[base + i]; mark[h] = code; bytes += pool.len[h]; }
    this.marked[this.epoch] = (this.marked[this.epoch] + n) | 0;
    const put = this.rings[q].enqueueBurst(staged, base, n);
    for (let i = put; i < n; i++) { const h = staged[base + i]; bytes -= pool.len[h]; pool.free(h); }
    c[row + QC.packets] += put;
    c[row + QC.bytes] += bytes;
    c[row + QC.dropRingFull] += n - put;
    this.stagedCount[q] = 0;
    this.pending -= n;
    if (put !== 0) this.bells[this.owner[q]].ring();
  }
}
