// The rate trace: every port's bytes each way in 1 ms bins (`sluice qos --trace`, GET /qos/trace).
//
// Nothing is added per frame. Each datapath worker, at its first loop turn in a millisecond,
// copies its ports' cumulative byte counters (rxBytes: from the port's endpoint; txBytes: sent
// to it) into a slot of its own ring in shared memory, stamped with that millisecond. Before it
// sleeps it stamps the next millisecond with the same counters (nothing moves while it sleeps)
// and raises its asleep word; on waking it lowers the word and stamps the present millisecond
// (unless a turn in it has). A millisecond with no stamp (the thread slept,
// or one turn took longer) takes the next stamp after it, so the bytes of a turn land in the
// millisecond it began in. Bin k of a thread is stamp(k + 1) − stamp(k); the reader sums the
// threads, and takes a bin only when it is complete: every awake thread has stamped a later
// millisecond.
//
// Only frames the datapath workers count are traced: native endpoints (taps, AF_PACKET, UDP and
// VXLAN on the native path). The ports on the main thread's I/O are named in `untraced`.

import { counterIndex } from '../counters.js';
import { PORT_COUNTERS } from '../endpoints/endpoint.js';

/** Milliseconds each thread's ring holds: a reader may fall this far behind before bins are lost. */
export const TRACE_RING_MS = 2048;
/** Slots next to the writer the reader leaves alone (it may be overwriting them). */
const GUARD_MS = 64;
const LAST = 0, ASLEEP = 1;
const ROW = PORT_COUNTERS.length, { rxBytes: RX, txBytes: TX } = counterIndex(PORT_COUNTERS);

/** One worker's part: its ring (slot: [ms, rx0, tx0, rx1, tx1, …]) and its words [last stamped ms mod 2^31, asleep]. */
export interface TraceShare { ring: SharedArrayBuffer; words: SharedArrayBuffer; ports: number }

export function traceShare(ports: number): TraceShare {
  const ring = new Float64Array(new SharedArrayBuffer(TRACE_RING_MS * (1 + 2 * ports) * 8)).fill(-1);
  const words = new Int32Array(new SharedArrayBuffer(8));
  words[LAST] = Math.floor(performance.timeOrigin + performance.now()) | 0; // until the worker's first stamp
  return { ring: ring.buffer as SharedArrayBuffer, words: words.buffer as SharedArrayBuffer, ports };
}

/** A worker's side: turn() once per loop turn, asleep()/awake() around its sleeps. Allocates nothing. */
export class TraceWriter {
  private readonly ring: Float64Array;
  private readonly words: Int32Array;
  private readonly counters: Float64Array;
  private readonly width: number;
  /** The last stamp's millisecond, and the last one taken in its own millisecond (not ahead, before a sleep). */
  private ms = -1;
  private real = -1;

  /** `counters`: the thread's port counters (PORT_COUNTERS rows); `nowMs`: its start, the first stamp. */
  constructor(s: TraceShare, counters: Float64Array, nowMs: number) {
    this.ring = new Float64Array(s.ring); this.words = new Int32Array(s.words); this.counters = counters;
    this.width = 1 + 2 * s.ports;
    this.stamp(Math.floor(nowMs));
    this.real = this.ms;
  }

  /** A loop turn begins at `nowMs` (ms on the shared time line, before the turn's frames). */
  turn(nowMs: number): void {
    const ms = Math.floor(nowMs);
    if (ms > this.ms) { this.stamp(ms); this.real = ms; }
  }

  /** The thread is about to sleep; `nowMs` as for turn(). */
  asleep(nowMs: number): void {
    this.stamp(Math.floor(nowMs) + 1);
    Atomics.store(this.words, ASLEEP, 1);
  }

  /** The thread woke; `clockMs` is read after the asleep word is lowered. */
  awake(clockMs: () => number): void {
    Atomics.store(this.words, ASLEEP, 0);
    const ms = Math.floor(clockMs());
    // Nothing was counted since the sleep: the present millisecond starts with these counters,
    // unless a turn in it stamped already. A stamp ahead of the present no longer holds.
    if (this.real !== ms) { this.stamp(ms); this.real = ms; return; }
    this.ring[((ms + 1) % TRACE_RING_MS) * this.width] = -1; // no reader has taken it: it held no later bin than `ms`
    this.ms = ms;
    Atomics.store(this.words, LAST, ms | 0);
  }

  private stamp(ms: number): void {
    const r = this.ring, c = this.counters, w = this.width, at = (ms % TRACE_RING_MS) * w, ports = (w - 1) >> 1;
    r[at] = -1; // torn until the values are in
    for (let p = 0, k = at + 1; p < ports; p++, k += 2) { r[k] = c[p * ROW + RX]; r[k + 1] = c[p * ROW + TX]; }
    r[at] = ms;
    this.ms = ms;
    Atomics.store(this.words, LAST, ms | 0);
  }
}

export interface TraceBins {
  /** First bin's millisecond (Unix time line, ms); bins are 1 ms each, the next `fromMs` to ask for is fromMs + bins. */
  fromMs: number;
  bins: number;
  /** Names of the traced ports, and per port its bytes per bin each way (rx: from the endpoint, tx: to it). */
  ports: string[];
  rxBytes: number[][];
  txBytes: number[][];
  /** Ms asked for that were no longer held (the reader fell behind by more than the rings hold). */
  lostMs: number;
  /** Ports whose frames no worker counts (main-thread I/O): not in the trace. */
  untraced: string[];
}

/** The main thread's side: complete bins since a millisecond, summed over the workers. */
export class RateTrace {
  private readonly rings: Float64Array[];
  private readonly words: Int32Array[];
  private readonly width: number;

  constructor(shares: TraceShare[], private readonly names: string[], private readonly traced: boolean[]) {
    this.rings = shares.map((s) => new Float64Array(s.ring)); this.words = shares.map((s) => new Int32Array(s.words));
    this.width = 1 + 2 * names.length;
  }

  /** Bins from `sinceMs` (default: the last second) up to the last complete one, at `nowMs`. */
  read(nowMs: number, sinceMs?: number): TraceBins {
    const now = Math.floor(nowMs);
    let end = now; // bins before `end` are complete
    for (const w of this.words) {
      if (Atomics.load(w, ASLEEP) === 1) continue; // read after `now`: it wakes at `now` or later
      const last = now - ((now - Atomics.load(w, LAST)) | 0);
      end = Math.min(end, last);
    }
    const oldest = now - TRACE_RING_MS + GUARD_MS;
    const want = sinceMs === undefined ? end - 1000 : Math.floor(sinceMs);
    const from = Math.min(end, Math.max(want, oldest));
    const ports = this.names.map((_, p) => p).filter((p) => this.traced[p]);
    const bins = Math.max(0, end - from);
    const rx = ports.map(() => new Array<number>(bins).fill(0)), tx = ports.map(() => new Array<number>(bins).fill(0));
    const next = new Float64Array(this.width), cur = new Float64Array(this.width);
    for (const ring of this.rings) {
      // From the end back: a millisecond without a stamp takes the next one's.
      this.stampAtOrAfter(ring, end, next);
      for (let k = end - 1; k >= from; k--) {
        if (!this.copyIf(ring, k, cur)) cur.set(next);
        for (let i = 0; i < ports.length; i++) {
          const o = 1 + 2 * ports[i];
          rx[i][k - from] += next[o] - cur[o]; tx[i][k - from] += next[o + 1] - cur[o + 1];
        }
        next.set(cur);
      }
    }
    return { fromMs: from, bins, ports: ports.map((p) => this.names[p]), rxBytes: rx, txBytes: tx, lostMs: Math.max(0, from - want), untraced: this.names.filter((_, p) => !this.traced[p]) };
  }

  // Slot k's values into `out` if it holds stamp k.
  private copyIf(ring: Float64Array, k: number, out: Float64Array): boolean {
    const at = (k % TRACE_RING_MS) * this.width;
    if (ring[at] !== k) return false;
    for (let i = 1; i < this.width; i++) out[i] = ring[at + i];
    out[0] = k;
    return ring[at] === k; // not overwritten meanwhile
  }

  // The counters at the start of millisecond k: its stamp, or the first after it; none yet (the
  // thread sleeps since its last stamp): that last one; none at all (not started): zeros.
  private stampAtOrAfter(ring: Float64Array, k: number, out: Float64Array): void {
    out.fill(0);
    let after = Infinity, before = -1;
    for (let at = 0; at < ring.length; at += this.width) {
      const m = ring[at];
      if (m >= k && m < after) after = m; else if (m < k && m > before) before = m;
    }
    const best = after !== Infinity ? after : before;
    if (best >= 0 && !this.copyIf(ring, best, out)) out.fill(0);
  }
}
