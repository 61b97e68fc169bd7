// LinkShaper: one direction of an emulated physical link — a token bucket at the link's rate in
// front of a shallow drop-tail queue, in the data path. Frames are offered as they arrive; those
// that do not fit the queue (queueBytes) are refused (the caller drops and counts them); it is
// served in order as tokens allow, each frame charged its wire bytes (frame + `overhead`). With an ECN
// threshold, an IP frame of an ECN-capable transport queued while the queue holds more than it
// is marked Congestion Experienced (a frame other ports also send is left as it is).
//
// Unlike TokenBuckets (token-bucket.ts), which decides conform-or-not (a policer), frames here
// wait: that is what a link does, and what TCP needs. Tokens accrue from the time the caller
// passes (microseconds, read once per service), up to `burst` — a few frames: no timer paces it;
// the thread's loop serves the queue, sleeping between frames no longer than dueIn() says.
// When the thread was not scheduled for a while (a gap over STALL_US) with frames waiting, the
// link was busy all that time: the tokens of up to CATCH_UP_US are kept, and spent on the queue and on what arrived
// meanwhile, until the queue runs empty (measured: capping them at the burst, or at the queue's
// bytes, lost 1-2% of a second to 13-19 ms of preemption on a 2-core host, access-link.test.ts).
// Frames sent with saved tokens are traced at the time the link would have sent them (its own
// clock advances one frame time per frame), so a second's bytes never pass the rate + a burst.
//
// As a rate limiter (catchUp false: a VM's maximum rate, a pair's granted rate) an idle stretch
// earns at most the burst, rate × burstUs, and the tokens may be shared by the threads that
// shape the same port (a SharedBucket: one rate, each thread its own queue).
//
// Counters (a Float64Array the caller may put in shared memory, so another thread can report
// them; one writer: the thread that runs the link): passed frames and wire bytes, dropped (queue
// full) frames and bytes, ECN marks; the depth now and its high mark; and a trace per whole second
// (of the caller's clock), the last WINDOWS seconds: wire bytes passed, the time the link had
// nothing to send, and the time whose tokens it lost to a stall of its thread (SecondTrace) — so
// an experiment can check the rate over 1 s windows without sampling jitter, and tell a shaper
// that fell short from a source that stopped offering or a thread that did not run (it delivers
// rate × (1 s − idle − stalled)).

import { PacketPool } from '../nic/pool.js';
import { SharedBucket } from './shared-bucket.js';
import { markCe } from './mark-ce.js';
import { FrameRing } from './frame-ring.js';
import { DEPTH, DROP_B, DROP_P, ECN, MAX_DEPTH, newShaperStats, PASS_B, PASS_P, shaperReport, WIN_B, WIN_I, WIN_L, WIN_S, WINDOWS } from './shaper-stats.js';

export { SHAPER_STATS, WINDOWS } from './shaper-stats.js';
export type { SecondTrace, ShaperReport } from './shaper-stats.js';

/** Longest stretch a busy link's tokens are kept for when its thread did not run (µs): a link that was sending keeps sending. */
export const CATCH_UP_US = 30_000;
/**
 * A gap between two services longer than this, with frames waiting, is a stall of the thread (µs).
 * Its thread sleeps until a frame is due and wakes 30-500 µs late on a busy host: with a 1 ms
 * threshold an emulated 100 Mb/s link lost the tokens of every late wake, and a TCP tenant beside
 * eight floods fell from 40.7 to 21.6 Mb/s (experiment 1).
 */
export const STALL_US = 200;
/** Default queue of an emulated link (bytes on the wire). */
export const DEFAULT_QUEUE_BYTES = 262144;
/** How a shaper is built (only the rate and queue are required). */
export interface ShaperOptions {
  rateMbps: number;
  /** Most wire bytes waiting; a frame that does not fit is refused. */
  queueBytes: number;
  /** Bytes each frame costs beyond its length (0). */
  overhead?: number;
  /** Mark ECN-capable frames Congestion Experienced above this depth (0: never). */
  ecnBytes?: number;
  /** The largest frame (the burst holds two; 1518) and the smallest (sizes the ring; 14). */
  maxFrame?: number;
  minFrame?: number;
  /** Tokens an idle shaper saves: rate × burstUs, at least two of the largest frames (100 µs). */
  burstUs?: number;
  /** Keep the tokens of a stall of the thread while frames wait (an emulated link; true), or not (a limiter). */
  catchUp?: boolean;
  /** Where the counters go (LinkShaper.newStats(), possibly shared; instances over one stats must not run at once). */
  stats?: Float64Array;
  /** Token state shared with the other threads shaping the same thing (null: this one alone). */
  bucket?: SharedBucket | null;
}

export class LinkShaper {
  /** The rate now (Mb/s; setRate changes it). */
  rateMbps: number;
  readonly queueBytes: number;
  readonly ecnBytes: number;
  readonly overhead: number;
  /** Tokens saved at most when idle (bytes). */
  burst: number;
  private perUs: number; // bytes per µs
  private readonly burstUs: number;
  private readonly minBurst: number;
  private readonly catchUp: boolean;
  private readonly bucket: SharedBucket | null;
  private tokens: number;
  private last = -1;
  /** The queue: handles, their charges and tags. */
  private readonly ring: FrameRing;
  private depth = 0;
  /** When the last frame released is out on the wire (µs): an arrival after it ends an idle stretch. */
  private busyUntil = -1;
  /** Frames were left waiting at the last release: tokens the next refill cannot keep were lost to a stall. */
  private backlogged = false;
  /** Tokens saved over a stall are being spent (until the queue runs empty). */
  private catchingUp = false;
  /** The counters (SHAPER_STATS slots). */
  readonly stats: Float64Array;

  constructor(o: ShaperOptions) {
    const { rateMbps, queueBytes } = o, overhead = o.overhead ?? 0, maxFrame = o.maxFrame ?? 1518, minFrame = o.minFrame ?? 14, burstUs = o.burstUs ?? 100;
    if (!(rateMbps > 0) || !Number.isFinite(rateMbps)) throw new RangeError(`rateMbps: ${rateMbps} is not a positive rate`);
    if (!(queueBytes >= maxFrame + overhead)) throw new RangeError(`queueBytes: ${queueBytes} does not hold one ${maxFrame + overhead}-byte frame`);
    if (!(burstUs > 0) || !Number.isFinite(burstUs)) throw new RangeError(`burstUs: ${burstUs} is not a positive time`);
    this.rateMbps = rateMbps; this.queueBytes = queueBytes; this.overhead = overhead; this.ecnBytes = o.ecnBytes ?? 0;
    this.catchUp = o.catchUp ?? true;
    this.bucket = o.bucket ?? null;
    this.perUs = rateMbps / 8;
    // Two of the largest frames (a frame always fits), or burstUs at the rate: what one turn of a
    // busy loop may owe (an emulated link: 100 µs), or the burst a limiter allows (about 1 ms).
    this.burstUs = burstUs;
    this.minBurst = 2 * (maxFrame + overhead);
    this.burst = Math.max(this.minBurst, this.perUs * burstUs);
    this.tokens = this.burst;
    this.ring = new FrameRing(queueBytes / (minFrame + overhead) + 1);
    this.stats = o.stats ?? LinkShaper.newStats();
  }

  /** Change the rate (an adaptive limiter's grant): tokens accrue at it from the next release on, and the burst follows it. */
  setRate(rateMbps: number): void {
    if (!(rateMbps > 0) || !Number.isFinite(rateMbps)) throw new RangeError(`rateMbps: ${rateMbps} is not a positive rate`);
    this.rateMbps = rateMbps;
    this.perUs = rateMbps / 8;
    this.burst = Math.max(this.minBurst, this.perUs * this.burstUs);
  }

  /** Fresh stats for a shaper: in shared memory when another thread reports them. */
  static newStats = newShaperStats;

  /** Frames waiting. */
  get queued(): number { return this.ring.length; }
  /** Wire bytes waiting. */
  get depthBytes(): number { return this.depth; }

  /**
   * Queue h (with `tag`, handed back with it) if it fits; false: the queue is full (counted as a
   * drop unless `retry`: the caller will release and offer it once more; the caller drops h).
   * `nowUs` (read once per burst; -1: not traced) ends an idle stretch.
   */
  offer(pool: PacketPool, h: number, tag = 0, nowUs = -1, retry = false): boolean {
    const c = pool.len[h] + this.overhead, st = this.stats;
    if (nowUs >= 0 && this.ring.length === 0 && this.busyUntil >= 0 && nowUs > this.busyUntil) { this.traceIdle(this.busyUntil, nowUs); this.busyUntil = nowUs; }
    if (this.depth + c > this.queueBytes || !this.ring.push(h, c, tag)) { if (!retry) { st[DROP_P]++; st[DROP_B] += c; } return false; }
    if (this.ecnBytes !== 0 && this.depth >= this.ecnBytes && markCe(pool, h)) st[ECN]++;
    this.depth += c;
    st[DEPTH] = this.depth;
    if (this.depth > st[MAX_DEPTH]) st[MAX_DEPTH] = this.depth;
    return true;
  }

  /**
   * Move up to `max` frames the tokens allow at `nowUs` into out[from..] (their tags into
   * tags[from..]); how many. With a shared bucket, 0 also when another thread holds it (try
   * again next turn).
   */
  release(nowUs: number, out: Int32Array, max: number, tags?: Int32Array, from = 0): number {
    const b = this.bucket;
    if (b === null) return this.take(nowUs, out, max, tags, from);
    if (this.ring.length === 0 || !b.lock()) return 0;
    if (b.last >= 0) { this.tokens = b.tokens; this.last = b.last; } // else: the first holder starts it full
    const n = this.take(nowUs, out, max, tags, from);
    b.tokens = this.tokens; b.last = this.last;
    b.unlock();
    return n;
  }

  /** µs from `nowUs` until the head frame's tokens are there (0: now; -1: nothing waits). A shared bucket is read unlocked: an estimate. */
  dueIn(nowUs: number): number {
    const r = this.ring;
    if (r.length === 0) return -1;
    const b = this.bucket, shared = b !== null && b.last >= 0, tokens = shared ? b.tokens : this.tokens, last = shared ? b.last : this.last;
    if (last < 0) return 0;
    const lack = r.charge[r.head & r.mask] - tokens - (nowUs - last) * this.perUs;
    return lack <= 0 ? 0 : lack / this.perUs;
  }

  // Refill at `nowUs` and move what the tokens allow (release's work, under the lock if shared).
  private take(nowUs: number, out: Int32Array, max: number, tags: Int32Array | undefined, from: number): number {
    this.refill(nowUs);
    const r = this.ring;
    if (r.length === 0) { this.backlogged = false; return 0; }
    // The link's own clock: frames go out back to back from when the tokens began to accrue, so
    // frames sent late with saved tokens are traced in the second the link would have sent them.
    let vt = nowUs - this.tokens / this.perUs;
    if (vt < this.busyUntil) vt = this.busyUntil;
    const st = this.stats;
    let n = 0, bytes = 0;
    while (n < max && r.head !== r.tail) {
      const s = r.head & r.mask, c = r.charge[s];
      if (this.tokens < c) break;
      this.tokens -= c;
      if (tags !== undefined) tags[from + n] = r.tag[s];
      out[from + n++] = r.h[s];
      r.head++;
      bytes += c;
      st[WIN_B + this.window(Math.floor(vt / 1e6))] += c;
      vt += c / this.perUs;
    }
    if (vt > this.busyUntil) this.busyUntil = vt;
    this.backlogged = r.head !== r.tail;
    if (r.head === r.tail) { this.catchingUp = false; if (this.tokens > this.burst) this.tokens = this.burst; } // the backlog is gone: so are saved tokens
    if (n === 0) return 0;
    this.depth -= bytes;
    st[DEPTH] = this.depth; st[PASS_P] += n; st[PASS_B] += bytes;
    return n;
  }

  // Tokens accrued up to `nowUs` (take's and pass's first step, under the lock if shared).
  private refill(nowUs: number): void {
    if (this.last < 0) this.last = nowUs;
    const dt = nowUs - this.last;
    if (dt <= 0) return;
    // An idle link saves at most a burst. A busy one (frames were waiting) would have kept sending
    // through a gap in which this thread did not run — its queue, and what arrived meanwhile (in
    // the socket's buffer) — so it keeps up to CATCH_UP_US of tokens, until its queue next runs empty.
    if (this.catchUp && this.depth > 0 && dt > STALL_US) this.catchingUp = true;
    const cap = this.catchingUp && this.perUs * CATCH_UP_US > this.burst ? this.perUs * CATCH_UP_US : this.burst;
    const t = this.tokens + dt * this.perUs;
    if (t > cap && this.backlogged) this.stats[WIN_L + this.window(Math.floor(nowUs / 1e6))] += (t - cap) / this.perUs; // frames waited since the last turn: a stall
    this.tokens = t < cap ? t : cap;
    this.last = nowUs;
  }

  /**
   * Let h through now, without queueing it, when nothing waits and the tokens cover it (counted
   * and traced as passed): true; false (tokens short, or another thread holds the shared bucket):
   * offer it. A limiter under its rate costs no queue this way.
   */
  pass(pool: PacketPool, h: number, nowUs: number): boolean {
    if (this.ring.length !== 0) return false;
    const b = this.bucket, c = pool.len[h] + this.overhead, st = this.stats;
    if (b !== null) { if (!b.lock()) return false; if (b.last >= 0) { this.tokens = b.tokens; this.last = b.last; } }
    this.refill(nowUs);
    const ok = this.tokens >= c;
    if (ok) {
      this.tokens -= c;
      if (this.busyUntil >= 0 && nowUs > this.busyUntil) this.traceIdle(this.busyUntil, nowUs);
      const vt = nowUs > this.busyUntil ? nowUs : this.busyUntil;
      st[WIN_B + this.window(Math.floor(vt / 1e6))] += c;
      this.busyUntil = vt + c / this.perUs;
      st[PASS_P]++; st[PASS_B] += c;
    }
    this.backlogged = false;
    if (b !== null) { b.tokens = this.tokens; b.last = this.last; b.unlock(); }
    return ok;
  }

  // The trace's slot for whole second `sec`, started afresh when it held an older second.
  private window(sec: number): number {
    const st = this.stats, w = sec % WINDOWS;
    if (st[WIN_S + w] !== sec) { st[WIN_S + w] = sec; st[WIN_B + w] = 0; st[WIN_I + w] = 0; st[WIN_L + w] = 0; }
    return w;
  }

  // The link had nothing to send from `from` to `to` (µs): add it to the seconds it spans.
  private traceIdle(from: number, to: number): void {
    for (let t = from; t < to;) {
      const sec = Math.floor(t / 1e6), end = Math.min(to, (sec + 1) * 1e6);
      this.stats[WIN_I + this.window(sec)] += end - t;
      t = end;
    }
  }

  /** Remove every frame still queued into out (handles; their tags into tags), oldest first (at stop: the caller frees them). */
  drain(out: number[], tags?: number[]): void {
    const r = this.ring;
    while (r.head !== r.tail) { const s = r.head++ & r.mask; out.push(r.h[s]); tags?.push(r.tag[s]); }
    this.depth = 0;
    this.stats[DEPTH] = 0;
  }

  /** A shaper's report from its stats (shaperReport). */
  static report = shaperReport;
}
