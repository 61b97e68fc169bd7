// QueuePolicy: which flows get a NIC queue of their own, which queue each datapath thread
// serves, and where the RSS indirection table sends the rest — decided from measured rates, on
// the control tick. Pure: rates and capacities in, an assignment out (the NIC and the threads
// apply it). First version, exercised in simulation (native-free-bench/queue-policy.ts); the
// switch does not run it yet.
//
// Each period:
// 1. Dedicated queues. Candidates are flows at or above `minRateBps` whose port is not in
//    `never`; `always` flows first, then by rate. A flow earns a queue after HEAVY_PERIODS periods
//    in a row at or above the minimum rate, and gives it back after `holdPeriods` in a row under
//    half of it (hysteresis); a new one takes a free queue while filters and queues
//    remain (as many queues as threads, at least two, stay shared: every thread can take RSS
//    buckets), or the
//    queue of the lightest holder when it carries twice that one's load.
// 2. Threads. Queues are dealt to threads largest load first, each to the least loaded thread
//    (LPT); a queue moves thread only if that cuts the imbalance by `hysteresis` or more.
// Steps 2 and 3 go by moving averages of the loads (the latest period weighs SMOOTH), so a load
// that flaps is seen near its mean.
// 3. RSS buckets of the shared queues: while the busiest thread is above the mean by more than
//    `hysteresis`, the bucket that best fills the gap moves from one of its shared queues to
//    one of the least loaded thread's; MOVES_PER_PERIOD at most. A bucket that moved waits
//    `holdPeriods` before moving again.
//
// Imbalance, as RSS++ defines it: (max − min) / min packets per thread.

/** Periods in a row a flow must be at or above minRate before it earns a queue. */
const HEAVY_PERIODS = 2;
/** RSS buckets moved per period at most: bursts come and go faster than moves pay off. */
const MOVES_PER_PERIOD = 2;
/** Weight of the latest period in the moving averages the balancing uses. */
const SMOOTH = 0.5;

export interface QueuePolicyOptions {
  queues: number;
  threads: number;
  /** Steering filters the NIC has (a dedicated queue costs one). */
  filterCapacity: number;
  buckets: number;
  /** Rate (per period, in the unit the loads are given) below which no flow earns a queue. */
  minRate: number;
  /** Relative improvement a move must bring (default 0.05). */
  hysteresis?: number;
  /** Periods a moved bucket or queue waits before it may move again (default 5). */
  holdPeriods?: number;
  /** Ports whose flows never get a queue, and flow ids that always do (while capacity remains). */
  never?: ReadonlySet<number>;
  always?: ReadonlySet<number>;
}

export interface FlowLoad { id: number; port: number; bucket: number; load: number }

export interface QueueAssignment {
  /** flow id -> dedicated queue. */
  dedicated: Map<number, number>;
  /** RSS bucket -> queue (shared queues only). */
  indirection: Int32Array;
  /** queue -> thread. */
  thread: Int32Array;
}

export class QueuePolicy {
  readonly o: Required<Omit<QueuePolicyOptions, 'never' | 'always'>> & { never: ReadonlySet<number>; always: ReadonlySet<number> };
  readonly a: QueueAssignment;
  /** Moves so far: flows given or taken a queue, queues moved thread, buckets moved queue. */
  moves = 0;
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
    this.o = { hysteresis: 0.05, holdPeriods: 5, never: new Set(), always: new Set(), ...o };
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

  /** One period: the flows' loads measured over it. Returns the assignment (changed in place). */
  decide(flows: FlowLoad[]): QueueAssignment {
    this.period++;
    this.dedicate(flows);
    const bucketLoad = new Float64Array(this.o.buckets), own = new Float64Array(this.o.queues);
    for (const f of flows) { const q = this.a.dedicated.get(f.id); if (q === undefined) bucketLoad[f.bucket] += f.load; else own[q] += f.load; }
    for (let b = 0; b < bucketLoad.length; b++) this.bucketAvg[b] += SMOOTH * (bucketLoad[b] - this.bucketAvg[b]);
    // A queue's flow just given (or gone): its load as it is; else the moving average.
    for (let q = 0; q < own.length; q++) this.ownAvg[q] = own[q] === 0 || this.ownAvg[q] === 0 ? own[q] : this.ownAvg[q] + SMOOTH * (own[q] - this.ownAvg[q]);
    const byQueue = Float64Array.from(this.ownAvg);
    for (let b = 0; b < bucketLoad.length; b++) byQueue[this.a.indirection[b]] += this.bucketAvg[b];
    this.placeQueues(byQueue);
    this.balanceBuckets(this.bucketAvg, this.ownAvg);
    return this.a;
  }

  private dedicate(flows: FlowLoad[]): void {
    const o = this.o, d = this.a.dedicated, seen = new Map(flows.map((f) => [f.id, f]));
    // How many periods in a row each flow has been heavy (at or above minRate) or light (under half).
    const heavy = new Map<number, number>(), light = new Map<number, number>();
    for (const f of flows) {
      if (f.load >= o.minRate) heavy.set(f.id, (this.heavyFor.get(f.id) ?? 0) + 1);
      else if (f.load < o.minRate / 2) light.set(f.id, (this.lightFor.get(f.id) ?? 0) + 1);
    }
    for (const [id] of d) if (!seen.has(id)) light.set(id, (this.lightFor.get(id) ?? 0) + 1); // idle this period
    this.heavyFor = heavy; this.lightFor = light;
    for (const [id] of d) {
      const f = seen.get(id);
      if ((f && o.never.has(f.port)) || ((light.get(id) ?? 0) >= o.holdPeriods && !o.always.has(id))) { d.delete(id); this.moves++; }
    }
    const keep = Math.max(2, o.threads), limit = Math.min(o.filterCapacity, o.queues - keep);
    const want = flows.filter((f) => !d.has(f.id) && !o.never.has(f.port) && (o.always.has(f.id) || (heavy.get(f.id) ?? 0) >= HEAVY_PERIODS))
      .sort((x, y) => Number(o.always.has(y.id)) - Number(o.always.has(x.id)) || y.load - x.load);
    for (const f of want) {
      if (d.size >= limit || this.sharedQueues().length <= keep) {
        // Full: a flow twice the load of the lightest holder (not an `always` one) takes its queue.
        let lightest = -1, lightLoad = Infinity;
        for (const [id] of d) { const g = seen.get(id)?.load ?? 0; if (!o.always.has(id) && g < lightLoad) { lightest = id; lightLoad = g; } }
        if (lightest < 0 || (f.load < 2 * lightLoad && !o.always.has(f.id))) break;
        d.set(f.id, d.get(lightest)!); d.delete(lightest); this.moves += 2;
        continue;
      }
      const free = this.sharedQueues().filter((q) => q !== 0);
      if (free.length === 0) break;
      // Take the last free shared queue away from the RSS table; its buckets go to the others.
      const q = free[free.length - 1];
      d.set(f.id, q);
      this.moves++;
      const rest = this.sharedQueues();
      for (let b = 0; b < o.buckets; b++) if (this.a.indirection[b] === q) { this.a.indirection[b] = rest[b % rest.length]; this.moves++; }
    }
  }

  private threadLoads(queueLoad: Float64Array): Float64Array {
    const t = new Float64Array(this.o.threads);
    for (let q = 0; q < this.o.queues; q++) t[this.a.thread[q]] += queueLoad[q];
    return t;
  }

  // LPT: largest queue first to the least loaded thread; a queue moves only when that helps enough.
  private placeQueues(queueLoad: Float64Array): void {
    const o = this.o, plan = new Int32Array(o.queues), t = new Float64Array(o.threads);
    const order = Array.from({ length: o.queues }, (_, q) => q).sort((x, y) => queueLoad[y] - queueLoad[x]);
    for (const q of order) { let best = 0; for (let i = 1; i < o.threads; i++) if (t[i] < t[best]) best = i; plan[q] = best; t[best] += queueLoad[q]; }
    const now = imbalance(this.threadLoads(queueLoad)), planned = imbalance(t);
    if (now - planned <= o.hysteresis * Math.max(1, now)) return;
    // The plan is taken whole or not at all: half of it can leave a thread with nothing.
    for (let q = 0; q < o.queues; q++) if (plan[q] !== this.a.thread[q] && this.period - this.queueMoved[q] < o.holdPeriods) return;
    for (let q = 0; q < o.queues; q++) if (plan[q] !== this.a.thread[q]) { this.a.thread[q] = plan[q]; this.queueMoved[q] = this.period; this.moves++; }
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
    }
  }
}

/** (max − min) / min of per-thread loads (Infinity when a thread has none and another has some). */
export function imbalance(loads: ArrayLike<number>): number {
  let mx = -Infinity, mn = Infinity;
  for (let i = 0; i < loads.length; i++) { mx = Math.max(mx, loads[i]); mn = Math.min(mn, loads[i]); }
  if (mx <= 0) return 0;
  return mn <= 0 ? Infinity : (mx - mn) / mn;
}
