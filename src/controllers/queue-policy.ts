// QueuePolicy: which flows get a NIC queue of their own, which queue each datapath thread
// serves, and where the RSS indirection table sends the rest — decided from measured rates, on
// the control tick. Pure: rates and capacities in, an assignment and the decisions (with their
// reasons) out; the queue manager (queue-manager.ts) applies them to the running switch, the
// simulation (native-free-bench/queue-policy.ts) to modelled threads.
//
// Each period:
// 1. Dedicated queues. Candidates are flows on RSS at or above `minRate` whose weight is not 0
//    (weight 0: never); `always` flows first, then by load × weight. A flow earns a queue after
//    `heavyPeriods` periods in a row at or above the minimum rate (an `always` flow at once), and
//    gives it back after `holdPeriods` in a row under half of it, or idle (hysteresis), or when
//    its weight becomes 0. A new one takes a free queue while filters and queues remain (as many
//    queues as threads, at least two, stay shared: every thread can take RSS buckets; queue 0
//    always stays shared) and its port is under its queue limit, or else the queue of the
//    lightest holder (by load × weight, not an `always` one) when it weighs twice as much.
// 2. Threads (when `placeThreads`). Queues are dealt to threads largest load first, each to the
//    least loaded thread (LPT); the plan is taken only if it cuts the imbalance by `hysteresis`.
//    At low load (all queues under `coalesceBelow`) every queue goes to the busiest thread, so
//    the others can sleep (as dynamic VMQ coalesces); they are dealt out again at twice that.
// Steps 2 and 3 go by moving averages of the loads (the latest period weighs SMOOTH), so a load
// that flaps is seen near its mean.
// 3. RSS buckets of the shared queues: while the busiest thread is above the mean by more than
//    `hysteresis`, the bucket that best fills the gap moves from one of its shared queues to
//    one of the least loaded thread's; MOVES_PER_PERIOD at most. A bucket that moved waits
//    `holdPeriods` before moving again.
//
// Imbalance, as RSS++ defines it: (max − min) / min packets per thread.

/** RSS buckets moved per period at most: bursts come and go faster than moves pay off. */
const MOVES_PER_PERIOD = 2;
/** Weight of the latest period in the moving averages the balancing uses. */
const SMOOTH = 0.5;
/** A flow's weight when none is given (VmqWeight's scale: 0 never, 1..100). */
export const DEFAULT_WEIGHT = 100;

export interface QueuePolicyOptions {
  queues: number;
  threads: number;
  /** Steering filters the policy may use (a dedicated queue costs one); the caller may lower it between periods. */
  filterCapacity: number;
  buckets: number;
  /** Rate (per period, in the unit the loads are given) below which no flow earns a queue. */
  minRate: number;
  /** Relative improvement a move must bring (default 0.05). */
  hysteresis?: number;
  /** Periods a moved bucket or queue waits before it may move again, and a light flow keeps its queue (default 5). */
  holdPeriods?: number;
  /** Periods in a row a flow must be at or above minRate before it earns a queue (default 2). */
  heavyPeriods?: number;
  /** Deal queues to threads (default true; false: queue q stays on thread q mod threads). */
  placeThreads?: boolean;
  /** Total load under which all queues go to one thread (default 0: never). */
  coalesceBelow?: number;
  /** Dedicated queues a port's flows may hold at most (ports not listed: no limit). */
  portQueues?: ReadonlyMap<number, number>;
}

/**
 * One flow's load over the period. `bucket`: its RSS bucket (-1 when not on RSS: then `queue`,
 * if given, is the queue a filter or rule of someone else pins it to, and it is no candidate).
 * `weight` 0..100 (default 100; 0: never a queue of its own); `always`: a queue while capacity exists.
 */
export interface FlowLoad { id: number; port: number; bucket: number; load: number; queue?: number; weight?: number; always?: boolean }

/** One thing decided, and why. */
export interface QueueDecision {
  kind: 'give' | 'take' | 'entry' | 'thread';
  /** give/take: the flow; entry: the RSS bucket; thread: the queue. */
  id: number;
  /** give/take/entry: the queue given, taken or pointed at; thread: the thread. */
  to: number;
  reason: string;
}

export interface QueueAssignment {
  /** flow id -> dedicated queue. */
  dedicated: Map<number, number>;
  /** RSS bucket -> queue (shared queues only). */
  indirection: Int32Array;
  /** queue -> thread. */
  thread: Int32Array;
}

export class QueuePolicy {
  readonly o: Required<QueuePolicyOptions>;
  readonly a: QueueAssignment;
  /** Moves so far: flows given or taken a queue, queues moved thread, buckets moved queue. */
  moves = 0;
  /** What the last period decided, with reasons. */
  decisions: QueueDecision[] = [];
  private period = 0;
  private readonly bucketMoved: Int32Array;
  private readonly queueMoved: Int32Array;
  /** Loads the threads and buckets are balanced on: moving averages over periods (SMOOTH), so a load that flaps is seen as its mean. */
  private readonly bucketAvg: Float64Array;
  private readonly ownAvg: Float64Array;
  /** Periods in a row each flow has been heavy, and light (for giving and taking back queues). */
  private heavyFor = new Map<number, number>();
  private lightFor = new Map<number, number>();

  constructor(o: QueuePolicyOptions) {
    if (o.queues < 1 || o.threads < 1 || o.buckets < o.queues) throw new RangeError('queue policy: at least one queue and thread, and a bucket per queue');
    this.o = { hysteresis: 0.05, holdPeriods: 5, heavyPeriods: 2, placeThreads: true, coalesceBelow: 0, portQueues: new Map(), ...o };
    const ind = new Int32Array(o.buckets), thr = new Int32Array(o.queues);
    for (let b = 0; b < o.buckets; b++) ind[b] = b % o.queues;
    for (let q = 0; q < o.queues; q++) thr[q] = q % o.threads;
    this.a = { dedicated: new Map(), indirection: ind, thread: thr };
    this.bucketMoved = new Int32Array(o.buckets).fill(-1 << 20);
    this.bucketAvg = new Float64Array(o.buckets); this.ownAvg = new Float64Array(o.queues);
    this.queueMoved = new Int32Array(o.queues).fill(-1 << 20);
  }

  /** Queues the RSS table may use: those no flow holds. */
  sharedQueues(): number[] {
    const held = new Set(this.a.dedicated.values());
    return Array.from({ length: this.o.queues }, (_, q) => q).filter((q) => !held.has(q));
  }

  /** Dedicated queues the policy may hold now: filters, and the queues beyond those that stay shared. */
  get room(): number { return Math.max(0, Math.min(this.o.filterCapacity, this.o.queues - Math.max(2, this.o.threads))); }

  /**
   * One period: the listed flows' loads over it, and per RSS bucket the load of the flows not
   * listed (`unlisted`, optional). Returns the assignment (changed in place); `decisions` says what changed and why.
   */
  decide(flows: FlowLoad[], unlisted?: ArrayLike<number>): QueueAssignment {
    this.period++;
    this.decisions = [];
    this.dedicate(flows);
    const bucketLoad = new Float64Array(this.o.buckets), own = new Float64Array(this.o.queues);
    if (unlisted) for (let b = 0; b < bucketLoad.length; b++) bucketLoad[b] = unlisted[b];
    for (const f of flows) {
      const q = this.a.dedicated.get(f.id);
      if (q !== undefined) own[q] += f.load;
      else if (f.bucket >= 0) bucketLoad[f.bucket] += f.load;
      else if (f.queue !== undefined && f.queue >= 0 && f.queue < this.o.queues) own[f.queue] += f.load;
    }
    for (let b = 0; b < bucketLoad.length; b++) this.bucketAvg[b] += SMOOTH * (bucketLoad[b] - this.bucketAvg[b]);
    // A queue's flow just given (or gone): its load as it is; else the moving average.
    for (let q = 0; q < own.length; q++) this.ownAvg[q] = own[q] === 0 || this.ownAvg[q] === 0 ? own[q] : this.ownAvg[q] + SMOOTH * (own[q] - this.ownAvg[q]);
    const byQueue = Float64Array.from(this.ownAvg);
    for (let b = 0; b < bucketLoad.length; b++) byQueue[this.a.indirection[b]] += this.bucketAvg[b];
    if (this.o.placeThreads) this.placeQueues(byQueue);
    this.balanceBuckets(this.bucketAvg, this.ownAvg);
    return this.a;
  }

  private take(id: number, reason: string): void {
    const q = this.a.dedicated.get(id)!;
    this.a.dedicated.delete(id);
    this.moves++;
    this.decisions.push({ kind: 'take', id, to: q, reason });
  }

  // Periods in a row each flow has been heavy (at or above minRate) or light (under half; a held flow not seen is idle).
  private countPeriods(flows: FlowLoad[], seen: Map<number, FlowLoad>): void {
    const heavy = new Map<number, number>(), light = new Map<number, number>(), min = this.o.minRate;
    for (const f of flows) {
      if (f.load >= min) heavy.set(f.id, (this.heavyFor.get(f.id) ?? 0) + 1);
      else if (f.load < min / 2) light.set(f.id, (this.lightFor.get(f.id) ?? 0) + 1);
    }
    for (const [id] of this.a.dedicated) if (!seen.has(id)) light.set(id, (this.lightFor.get(id) ?? 0) + 1);
    this.heavyFor = heavy; this.lightFor = light;
  }

  private dedicate(flows: FlowLoad[]): void {
    const o = this.o, d = this.a.dedicated, seen = new Map(flows.map((f) => [f.id, f]));
    const weighs = (f: FlowLoad | undefined) => (f ? f.load * (f.weight ?? DEFAULT_WEIGHT) : 0);
    this.countPeriods(flows, seen);
    const perPort = new Map<number, number>();
    for (const [id] of d) {
      const f = seen.get(id), light = this.lightFor.get(id) ?? 0;
      if (f && f.weight === 0) this.take(id, 'its weight is 0 (never a queue of its own)');
      else if (!f?.always && light >= o.holdPeriods) this.take(id, f ? `under half the minimum rate for ${periods(light)}` : `idle for ${periods(light)}`);
      else if (f && (perPort.get(f.port) ?? 0) >= (o.portQueues.get(f.port) ?? Infinity)) this.take(id, `its port holds its limit of ${o.portQueues.get(f.port)} queues`);
      else if (f) perPort.set(f.port, (perPort.get(f.port) ?? 0) + 1);
    }
    // Fewer filters than held queues (the caller lowered the capacity): the lightest go.
    while (d.size > this.room) {
      let lightest = -1;
      for (const [id] of d) if (lightest < 0 || weighs(seen.get(id)) < weighs(seen.get(lightest))) lightest = id;
      this.take(lightest, `room for ${this.room} dedicated queues only`);
    }
    const keep = Math.max(2, o.threads);
    const want = flows.filter((f) => f.bucket >= 0 && !d.has(f.id) && f.weight !== 0 && (f.always || (this.heavyFor.get(f.id) ?? 0) >= o.heavyPeriods))
      .sort((x, y) => Number(y.always === true) - Number(x.always === true) || weighs(y) - weighs(x));
    for (const f of want) {
      if ((perPort.get(f.port) ?? 0) >= (o.portQueues.get(f.port) ?? Infinity)) continue;
      const why = f.always ? 'an always rule matches it' : `at or above the minimum rate for ${periods(this.heavyFor.get(f.id) ?? 0)}`;
      if (d.size >= this.room || this.sharedQueues().length <= keep) {
        // Full: a flow weighing twice the lightest holder (not an `always` one) takes its queue.
        let lightest = -1;
        for (const [id] of d) if (!seen.get(id)?.always && (lightest < 0 || weighs(seen.get(id)) < weighs(seen.get(lightest)))) lightest = id;
        if (lightest < 0 || (weighs(f) < 2 * weighs(seen.get(lightest)) && !f.always)) break;
        const q = d.get(lightest)!;
        this.take(lightest, `a flow weighing ${weighs(seen.get(lightest)) > 0 ? `${(weighs(f) / weighs(seen.get(lightest))).toFixed(1)}×` : 'more than'} it took its queue`);
        d.set(f.id, q); this.moves++;
        this.decisions.push({ kind: 'give', id: f.id, to: q, reason: `${why}; queue ${q} taken from a lighter flow` });
        perPort.set(f.port, (perPort.get(f.port) ?? 0) + 1);
        continue;
      }
      const free = this.sharedQueues().filter((q) => q !== 0);
      if (free.length === 0) break;
      // Take the last free shared queue away from the RSS table; its buckets go to the others.
      const q = free[free.length - 1];
      d.set(f.id, q);
      this.moves++;
      perPort.set(f.port, (perPort.get(f.port) ?? 0) + 1);
      const rest = this.sharedQueues();
      let entries = 0;
      for (let b = 0; b < o.buckets; b++) if (this.a.indirection[b] === q) { this.a.indirection[b] = rest[b % rest.length]; this.moves++; entries++; }
      this.decisions.push({ kind: 'give', id: f.id, to: q, reason: `${why}; queue ${q} left the RSS table (${entries} entries to queues ${rest.join(', ')})` });
    }
  }

  private threadLoads(queueLoad: Float64Array): Float64Array {
    const t = new Float64Array(this.o.threads);
    for (let q = 0; q < this.o.queues; q++) t[this.a.thread[q]] += queueLoad[q];
    return t;
  }

  // LPT: largest queue first to the least loaded thread; a queue moves only when that helps enough.
  // At low load, all on the busiest thread (coalesced) until the load doubles.
  private placeQueues(queueLoad: Float64Array): void {
    const o = this.o, plan = new Int32Array(o.queues), t = new Float64Array(o.threads), cur = this.threadLoads(queueLoad);
    const total = queueLoad.reduce((a, x) => a + x, 0), coalesced = this.a.thread.every((x) => x === this.a.thread[0]);
    let why: string;
    if (total < o.coalesceBelow || (coalesced && total < 2 * o.coalesceBelow)) {
      if (coalesced) return;
      const busiest = cur.indexOf(Math.max(...cur));
      plan.fill(busiest); t[busiest] = total;
      why = `all queues carry ${Math.round(total)} frames/s, under ${o.coalesceBelow}: coalesced on thread ${busiest}`;
    } else {
      const order = Array.from({ length: o.queues }, (_, q) => q).sort((x, y) => queueLoad[y] - queueLoad[x]);
      for (const q of order) { let best = 0; for (let i = 1; i < o.threads; i++) if (t[i] < t[best]) best = i; plan[q] = best; t[best] += queueLoad[q]; }
      const now = imbalance(cur), planned = imbalance(t);
      const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : 'a thread idle');
      why = coalesced && o.coalesceBelow > 0 ? `load ${Math.round(total)} frames/s: spread over the threads` : `threads' imbalance ${pct(now)} -> ${pct(planned)}`;
      if (!coalesced && now - planned <= o.hysteresis * Math.max(1, now)) return;
    }
    // The plan is taken whole or not at all: half of it can leave a thread with nothing.
    for (let q = 0; q < o.queues; q++) if (plan[q] !== this.a.thread[q] && this.period - this.queueMoved[q] < o.holdPeriods) return;
    for (let q = 0; q < o.queues; q++) {
      if (plan[q] === this.a.thread[q]) continue;
      this.a.thread[q] = plan[q]; this.queueMoved[q] = this.period; this.moves++;
      this.decisions.push({ kind: 'thread', id: q, to: plan[q], reason: why });
    }
  }

  // `own`: each dedicated queue's load (its flow's).
  private balanceBuckets(bucketLoad: Float64Array, own: Float64Array): void {
    const o = this.o, shared = this.sharedQueues();
    for (let step = 0; step < MOVES_PER_PERIOD; step++) {
      const ql = Float64Array.from(own);
      for (let b = 0; b < o.buckets; b++) ql[this.a.indirection[b]] += bucketLoad[b];
      const tl = this.threadLoads(ql);
      // From the busiest thread to the least busy one that serves a shared queue.
      let hi = 0, lo = -1;
      for (let i = 1; i < o.threads; i++) if (tl[i] > tl[hi]) hi = i;
      for (const q of shared) { const i = this.a.thread[q]; if (lo < 0 || tl[i] < tl[lo]) lo = i; }
      const mean = tl.reduce((a, x) => a + x, 0) / o.threads;
      if (lo < 0 || hi === lo || tl[hi] - mean <= o.hysteresis * mean) return;
      const from = shared.filter((q) => this.a.thread[q] === hi), to = shared.filter((q) => this.a.thread[q] === lo);
      if (from.length === 0 || to.length === 0) return;
      // The bucket whose load best fills half the gap, not yet held.
      const gap = (tl[hi] - tl[lo]) / 2;
      let pick = -1;
      for (let b = 0; b < o.buckets; b++) {
        if (!from.includes(this.a.indirection[b]) || bucketLoad[b] === 0 || bucketLoad[b] >= 2 * gap || this.period - this.bucketMoved[b] < o.holdPeriods) continue;
        if (pick < 0 || Math.abs(bucketLoad[b] - gap) < Math.abs(bucketLoad[pick] - gap)) pick = b;
      }
      if (pick < 0) return;
      this.a.indirection[pick] = to[0];
      this.bucketMoved[pick] = this.period;
      this.moves++;
      this.decisions.push({ kind: 'entry', id: pick, to: to[0], reason: `thread ${hi} at ${(100 * (tl[hi] / mean - 1)).toFixed(0)}% over the mean, thread ${lo} the least loaded` });
    }
  }
}

const periods = (n: number) => `${n} period${n === 1 ? '' : 's'}`;

/** (max − min) / min of per-thread loads (Infinity when a thread has none and another has some). */
export function imbalance(loads: ArrayLike<number>): number {
  let mx = -Infinity, mn = Infinity;
  for (let i = 0; i < loads.length; i++) { mx = Math.max(mx, loads[i]); mn = Math.min(mn, loads[i]); }
  if (mx <= 0) return 0;
  return mn <= 0 ? Infinity : (mx - mn) / mn;
}
