// A shaper's counters (LinkShaper): their layout in a Float64Array the caller may put in shared
// memory, so another thread can report them (one writer: the thread that runs the shaper), and the
// report made from one or several threads' stats (one rate shared between them).

/** Seconds of the per-second trace kept. */
export const WINDOWS = 64;
// Stats slots: depth, high mark, passed, dropped (frames, bytes), ECN marks; the trace per second.
export const DEPTH = 0, MAX_DEPTH = 1, PASS_P = 2, PASS_B = 3, DROP_P = 4, DROP_B = 5, ECN = 6, WIN_S = 8, WIN_B = WIN_S + WINDOWS, WIN_I = WIN_B + WINDOWS, WIN_L = WIN_I + WINDOWS;
/** Float64 slots a shaper's stats take. */
export const SHAPER_STATS = WIN_L + WINDOWS;

/**
 * One whole second of a shaper: wire bytes passed; µs it had nothing to send (its queue empty
 * and its last frame out); µs of tokens it lost because no thread served it for longer than its
 * burst lasts while frames waited (a limiter, which keeps no tokens through a stall of its
 * thread: catchUp false). So bytes ≈ rate × (1 s − idle − stalled) is the shaper's own accuracy.
 */
export interface SecondTrace { second: number; bytes: number; idleUs: number; stalledUs: number }

export interface ShaperReport {
  rateMbps: number; queueBytes: number; depthBytes: number; maxDepthBytes: number;
  passedPackets: number; passedBytes: number; droppedPackets: number; droppedBytes: number; ecnMarked: number;
  /**
   * Each of the last whole seconds (oldest first; the current second last): wire bytes passed,
   * and the microseconds the link had nothing to send (its queue empty and its last frame
   * out) — so bytes ≈ rate × (1 s − idle) is the link's accuracy whatever its offered load did.
   */
  perSecond: SecondTrace[];
}

/** Fresh stats for a shaper: in shared memory when another thread reports them. */
export function newShaperStats(shared = false): Float64Array {
  const st = new Float64Array(shared ? new SharedArrayBuffer(SHAPER_STATS * 8) : new ArrayBuffer(SHAPER_STATS * 8));
  st.fill(-1, WIN_S, WIN_S + WINDOWS);
  return st;
}

/**
 * A shaper's report from its stats (any thread), or the sum of several threads' (one rate
 * shared): counters and bytes per second added up, the depth high mark the largest of one
 * thread's queue, a second's idle time the least any thread had.
 */
export function shaperReport(rateMbps: number, queueBytes: number, stats: Float64Array | Float64Array[]): ShaperReport {
  const all = Array.isArray(stats) ? stats : [stats];
  const sum = (k: number) => all.reduce((a, st) => a + st[k], 0);
  const seconds = new Map<number, SecondTrace>();
  for (const st of all) {
    for (let i = 0; i < WINDOWS; i++) {
      const sec = st[WIN_S + i];
      if (sec < 0) continue;
      const w = seconds.get(sec), idle = Math.round(st[WIN_I + i]), stalled = Math.round(st[WIN_L + i]);
      if (w === undefined) seconds.set(sec, { second: sec, bytes: st[WIN_B + i], idleUs: idle, stalledUs: stalled });
      else { w.bytes += st[WIN_B + i]; w.idleUs = Math.min(w.idleUs, idle); w.stalledUs += stalled; }
    }
  }
  const perSecond = [...seconds.values()].sort((a, b) => a.second - b.second);
  return {
    rateMbps, queueBytes, depthBytes: sum(DEPTH), maxDepthBytes: Math.max(...all.map((st) => st[MAX_DEPTH])), passedPackets: sum(PASS_P), passedBytes: sum(PASS_B),
    droppedPackets: sum(DROP_P), droppedBytes: sum(DROP_B), ecnMarked: sum(ECN), perSecond,
  };
}
