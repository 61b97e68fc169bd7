// CongestionDetector: the receiving host's half of predictable bandwidth. It watches the bytes
// arriving for each local VM on the host's downlink (after the access link's queue), and every
// control interval computes, per VM, the explicit rate its senders may use — a grant — which
// notifications carry back to them (sender-limiter.ts takes it).
//
// Per interval (default 200 µs), with C the downlink's rate and γ the target utilisation:
//   - arrival rate y_i of each VM (bytes in the interval / its length); a VM is active while it
//     received anything in the last ACTIVE_INTERVALS intervals;
//   - share C_i: weighted max-min fair division of γC among the active VMs by their demand
//     (demand: y_i, plus head-room to grow) — a VM using less than its weighted share keeps what
//     it uses and the rest goes to the others (work conservation), never below its guarantee
//     share γC·w_i/Σw;
//   - congestion: the total arrival rate is at or above `onset`·γC (default 0.9: before the link
//     is full), and for `holdIntervals` more intervals after it was (default 25, 5 ms: one quiet
//     interval — a sender that paused — must not release every flood at line rate). While congested, each VM's grant follows RCP: R_i ← R_i·(1 − α·(y_i − C_i)/C_i),
//     clamped to [minRate, C_i]; a VM whose senders exceed their share is named (over[i] = 1). While
//     not congested, grants are the line rate C: nobody is held back.
// One grant per VM is enough: every sender to VM i gets R_i, so n senders together send n·R_i,
// y_i exceeds C_i and R_i falls until n·R_i ≈ C_i (RCP's fixed point).
//
// Time is the caller's (microseconds, any monotonic origin): the control law runs the same in
// virtual time (tests) as in the datapath thread's loop. No allocation after construction.

export interface DetectorConfig {
  /** The downlink's rate, bits per second. */
  linkBps: number;
  /** Each VM's weight (guarantees: a VM's share of γC is w_i / Σw over the active VMs). */
  weights: number[];
  /** Target utilisation γ (default 0.95). */
  gamma?: number;
  /** Control interval, µs (default 200). */
  intervalUs?: number;
  /** RCP gain α (default 0.5). */
  alpha?: number;
  /** Lowest grant, bits per second (default 10 Mb/s). */
  minBps?: number;
  /** Congestion onset: total arrivals at this fraction of γC (default 0.9). */
  onset?: number;
  /** Intervals congestion is held after arrivals fell below the onset (default 25). */
  holdIntervals?: number;
}

/**
 * The control interval for a downlink of `mbps`: 200 µs, or the time 20 full-size frames (1,538
 * bytes on the wire) take at that rate if longer — an arrival rate measured over a frame or two
 * swings between 0 and twice the truth, and RCP's grant drifts down on such noise.
 */
export function controlInterval(mbps: number): number { return Math.max(200, Math.ceil((20 * 1538 * 8) / mbps)); }

/** Intervals without arrivals after which a VM no longer counts as active. */
export const ACTIVE_INTERVALS = 8;
/** Head-room a VM's demand gets over its arrival rate when shares are divided (it may be held back by its grant). */
const DEMAND_HEADROOM = 1.1;

export class CongestionDetector {
  readonly vms: number;
  readonly linkBps: number;
  readonly gamma: number;
  readonly intervalUs: number;
  readonly alpha: number;
  readonly minBps: number;
  readonly onset: number;
  readonly holdIntervals: number;
  private calm = Infinity;
  private readonly w: Float64Array;
  private readonly bytes: Float64Array;
  /** Per VM: arrival rate over the last interval (bits/s), share C_i, grant R_i (bits/s). */
  readonly arrival: Float64Array;
  readonly share: Float64Array;
  readonly grant: Float64Array;
  /** Per VM: 1 when its senders sent more than its share in the last congested interval. */
  readonly over: Uint8Array;
  private readonly idle: Int32Array;
  private readonly demand: Float64Array;
  /** Water-filling state per VM (divide()). */
  private readonly fixed: Uint8Array;
  private last = -1;
  /** Congested in the last interval. */
  congested = false;
  /** Intervals computed, and how many of them congested. */
  intervals = 0;
  congestedIntervals = 0;

  constructor(c: DetectorConfig) {
    if (!(c.linkBps > 0)) throw new RangeError(`linkBps: ${c.linkBps} is not a positive rate`);
    if (c.weights.length === 0 || c.weights.some((x) => !(x > 0))) throw new RangeError('weights: every VM needs a positive weight');
    this.vms = c.weights.length;
    this.linkBps = c.linkBps;
    this.gamma = c.gamma ?? 0.95;
    this.intervalUs = c.intervalUs ?? 200;
    this.alpha = c.alpha ?? 0.5;
    this.minBps = c.minBps ?? 10e6;
    this.onset = c.onset ?? 0.9;
    this.holdIntervals = c.holdIntervals ?? 25;
    const n = this.vms;
    this.w = Float64Array.from(c.weights);
    this.bytes = new Float64Array(n);
    this.arrival = new Float64Array(n);
    this.share = new Float64Array(n);
    this.grant = new Float64Array(n).fill(c.linkBps);
    this.over = new Uint8Array(n);
    this.idle = new Int32Array(n).fill(ACTIVE_INTERVALS);
    this.demand = new Float64Array(n);
    this.fixed = new Uint8Array(n);
  }

  /** `len` bytes arrived for VM `vm`. */
  arrive(vm: number, len: number): void { this.bytes[vm] += len; }

  /** Is VM i active (received something in the last ACTIVE_INTERVALS intervals)? */
  active(i: number): boolean { return this.idle[i] < ACTIVE_INTERVALS; }

  /** Run the control law if an interval has passed at `nowUs`; true when it ran (grants may have changed). */
  tick(nowUs: number): boolean {
    if (this.last < 0) { this.last = nowUs; return false; }
    const dt = nowUs - this.last;
    if (dt < this.intervalUs) return false;
    this.last = nowUs;
    const n = this.vms, target = this.gamma * this.linkBps;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const y = (this.bytes[i] * 8 * 1e6) / dt;
      this.arrival[i] = y;
      this.bytes[i] = 0;
      this.idle[i] = y > 0 ? 0 : this.idle[i] + 1;
      total += y;
    }
    this.divide(target);
    this.intervals++;
    this.calm = total >= this.onset * target ? 0 : this.calm + 1;
    this.congested = this.calm <= this.holdIntervals;
    if (!this.congested) {
      for (let i = 0; i < n; i++) { this.grant[i] = this.linkBps; this.over[i] = 0; }
      return true;
    }
    this.congestedIntervals++;
    for (let i = 0; i < n; i++) {
      const ci = this.share[i];
      if (!this.active(i) || ci <= 0) { this.grant[i] = this.linkBps; this.over[i] = 0; continue; }
      // A grant still at line rate (the link was not congested) starts from the share.
      let r = this.grant[i] > ci ? ci : this.grant[i];
      r *= 1 - (this.alpha * (this.arrival[i] - ci)) / ci;
      this.grant[i] = r < this.minBps ? this.minBps : r > ci ? ci : r;
      this.over[i] = this.arrival[i] > ci ? 1 : 0;
    }
    return true;
  }

  // Weighted max-min division of `capacity` among the active VMs by demand (arrival + head-room),
  // water-filling: VMs whose demand is below their weighted part keep their demand, the rest is
  // divided again among the others. Then no active VM's share is below its guarantee part
  // γC·w_i/Σw: a VM sending little may still grow to its guarantee at once (the others' grants
  // fall at the next interval if it does).
  private divide(capacity: number): void {
    const n = this.vms, w = this.w, share = this.share, demand = this.demand, state = this.fixed;
    const OPEN = 0, KEEPS_DEMAND = 1, INACTIVE = 2;
    let weights = 0;
    for (let i = 0; i < n; i++) {
      share[i] = 0;
      state[i] = this.active(i) ? OPEN : INACTIVE;
      if (state[i] === OPEN) { weights += w[i]; demand[i] = this.arrival[i] * DEMAND_HEADROOM; }
    }
    if (weights === 0) return;
    let left = capacity, open = weights;
    for (let changed = true; changed && open > 0;) {
      changed = false;
      const unit = left / open;
      for (let i = 0; i < n; i++) {
        if (state[i] !== OPEN || demand[i] >= unit * w[i]) continue;
        share[i] = demand[i]; state[i] = KEEPS_DEMAND; left -= demand[i]; open -= w[i]; changed = true;
      }
    }
    const unit = open > 0 ? left / open : 0, guarantee = capacity / weights;
    for (let i = 0; i < n; i++) {
      if (state[i] === INACTIVE) continue;
      if (state[i] === OPEN) share[i] = unit * w[i];
      if (share[i] < guarantee * w[i]) share[i] = guarantee * w[i];
    }
  }
}
