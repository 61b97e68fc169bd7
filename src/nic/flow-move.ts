// FlowMove: one flow changing queue (a 5-tuple steering filter added or removed), or one RSS
// indirection entry pointed at another queue (the flows hashing to it), without reordering
// them. The queue manager moves flows while they send; the old queue may still hold frames of
// them, and another thread (or the same one, serving its queues in turn) could send the new
// queue's frames first. So a move waits until the old frames have left:
//
// 1. The NIC publishes what it staged, and switches its drain epoch (pool.ts: every frame it
//    queues carries its producer's current epoch; free() counts marked frames per epoch).
// 2. Frames of the moving flow (or entry) that arrive now are held here, in order (at most
//    HOLD_MAX).
// 3. Once every frame the NIC queued in the old epoch has been freed — sent or dropped, by
//    whichever thread — none of the older frames is anywhere in the switch: the filter or the
//    entry changes and the held frames go, in order, where it says.
// A move that does not drain within MOVE_TIMEOUT_MS, or whose flow sends more than HOLD_MAX
// frames meanwhile, is given up: the held frames go where they would have gone without it
// (after everything older on that path), and the filter or entry stays as it was.
// It waits for all of the epoch's frames, not only the flow's: no per-flow bookkeeping per
// frame; a move costs the time the switch takes to empty its queues once (well under 1 ms
// when it keeps up).

import { FlowKeys } from '../wire/flow-key.js';
import { SteeringTable, TupleFilter } from './steering.js';

/** Frames of the moving flow held at most. */
export const HOLD_MAX = 512;
/** A move not drained after this long is given up. */
export const MOVE_TIMEOUT_MS = 50;

/** A move asked for: a flow's filter added (or, `remove`, taken away), or RSS entry `bucket` pointed at `queue`. */
export type MoveAsk = { filter: TupleFilter; remove: boolean } | { bucket: number; queue: number };

export class FlowMove {
  readonly ask: MoveAsk;
  /** The RSS entry moving (-1: a flow's filter), and the queue whose counters the move counts on. */
  readonly bucket: number;
  readonly queue: number;
  /** Drain code of the old epoch and how many frames the NIC had marked with it. */
  readonly code: number;
  readonly marked: number;
  readonly deadlineMs: number;
  readonly held = new Int32Array(HOLD_MAX);
  count = 0;
  private readonly match: SteeringTable | null;

  constructor(ask: MoveAsk, queues: number, code: number, marked: number, nowMs: number) {
    this.ask = ask; this.code = code; this.marked = marked;
    this.deadlineMs = nowMs + MOVE_TIMEOUT_MS;
    if ('filter' in ask) {
      this.match = new SteeringTable(queues, 1);
      this.match.add(ask.filter); // checked by the NIC when the move was asked for
      this.bucket = -1; this.queue = ask.filter.queue;
    } else {
      this.match = null; this.bucket = ask.bucket; this.queue = ask.queue;
    }
  }

  /** The parsed frame of handle h belongs to the moving flow (an entry's frames are matched by the NIC's RSS step). */
  matches(k: FlowKeys, h: number): boolean { return this.match !== null && this.match.lookup(k, h) >= 0; }

  /** Hold it (in arrival order); false when full. */
  hold(h: number): boolean {
    if (this.count === HOLD_MAX) return false;
    this.held[this.count++] = h;
    return true;
  }
}
