// Which datapath thread serves each receive queue, changed at run time without reordering.
//
// Shared memory (QueueOwners.share): per queue the thread serving it (`owner`: the NICs ring
// that thread's bell when they fill the queue) and the thread asked for (`want`), and a
// generation word. A queue changes thread in three steps:
// 1. The main thread asks (want[q] = B) and wakes the owner A.
// 2. A stops taking frames from q (they wait in q's rings) and notes how far each of its
//    transmit rings has been written. Once every frame it took from q before stopping has left
//    its hands — each of its transmit rings read past the note (by the main thread, or by A's
//    own writes to native ports), and no frame waits in a shaper of its own — A sets
//    owner[q] = B, bumps the generation and wakes B. An older frame of a flow in q can no longer
//    be sent after a newer one B takes.
// 3. B sees the generation change and serves q from where A stopped.
// Asking and handing over bump the generation; a worker looks at the words only when it
// changed, or while it drains. A drain that does not finish within HANDOFF_TIMEOUT_MS (A's transmit rings stuck behind a
// peer that does not read) is given up: A serves q again and want[q] goes back to A.

import { Doorbell } from '../nic/doorbell.js';
import { Ring } from '../nic/ring.js';

export const HANDOFF_TIMEOUT_MS = 50;

/** The words: owner[q] at q, want[q] at queues + q, the generation at 2 * queues. */
export class QueueOwners {
  readonly queues: number;
  readonly buffer: SharedArrayBuffer;
  /** owner[q]: the thread serving q (what the NICs read). */
  readonly owner: Int32Array;
  private readonly words: Int32Array;

  constructor(queues: number, threads: number, buffer?: SharedArrayBuffer) {
    this.queues = queues;
    this.buffer = buffer ?? new SharedArrayBuffer(4 * (2 * queues + 1));
    this.words = new Int32Array(this.buffer);
    this.owner = new Int32Array(this.buffer, 0, queues);
    if (buffer === undefined) for (let q = 0; q < queues; q++) { this.owner[q] = q % threads; this.words[queues + q] = q % threads; }
  }

  want(q: number): number { return Atomics.load(this.words, this.queues + q); }
  get generation(): number { return Atomics.load(this.words, 2 * this.queues); }

  /** Main thread: ask for q to be served by `thread`; `bells[t]` is thread t's bell. */
  ask(q: number, thread: number, bells: Doorbell[]): void {
    Atomics.store(this.words, this.queues + q, thread);
    Atomics.add(this.words, 2 * this.queues, 1);
    bells[Atomics.load(this.owner, q)].wakeAlways();
  }

  /** Queues asked to change thread and not yet changed. */
  pending(): number {
    let n = 0;
    for (let q = 0; q < this.queues; q++) if (this.want(q) !== Atomics.load(this.owner, q)) n++;
    return n;
  }

  /** The owner hands q over to `to` (after its drain), or keeps it (a drain given up: want goes back). */
  handOver(q: number, to: number, bells: Doorbell[]): void {
    Atomics.store(this.owner, q, to);
    Atomics.add(this.words, 2 * this.queues, 1);
    bells[to].wakeAlways();
  }

  keep(q: number, self: number): void {
    Atomics.compareExchange(this.words, this.queues + q, this.want(q), self);
    Atomics.add(this.words, 2 * this.queues, 1);
  }
}

/** A worker's side: the rings of the queues it serves now, and its drains under way. */
export class ServedQueues {
  private readonly owners: QueueOwners;
  private readonly self: number;
  /** Per queue, its rings (one per producing thread). */
  private readonly byQueue: Ring[][];
  private readonly tx: Ring[];
  private readonly bells: Doorbell[];
  /** The rings served now (rebuilt when the queues change). */
  rings: Ring[] = [];
  private gen = -1;
  // Queues being handed over: each one's deadline and its transmit rings' written marks.
  private readonly draining = new Map<number, { deadline: number; marks: Int32Array }>();
  /** Called for each queue handed over (true) or drain given up (false). */
  private readonly counted: (q: number, handed: boolean) => void;

  constructor(owners: QueueOwners, self: number, byQueue: Ring[][], tx: Ring[], bells: Doorbell[], counted: (q: number, handed: boolean) => void = () => {}) {
    this.owners = owners; this.self = self; this.byQueue = byQueue; this.tx = tx; this.bells = bells; this.counted = counted;
    this.rebuild();
  }

  /** Once a loop turn: start, finish or give up hand-overs; take queues handed to this thread. `shaped`: frames wait in its own shapers. */
  turn(nowMs: number, shaped: boolean, stopping: boolean): void {
    const o = this.owners;
    if (this.draining.size === 0 && o.generation === this.gen) return; // nothing asked or handed over since the last look
    let changed = o.generation !== this.gen;
    for (let q = 0; q < o.queues; q++) {
      if (Atomics.load(o.owner, q) !== this.self) continue;
      const want = o.want(q), d = this.draining.get(q);
      if (d === undefined) {
        if (want === this.self || stopping) continue;
        this.draining.set(q, { deadline: nowMs + HANDOFF_TIMEOUT_MS, marks: Int32Array.from(this.tx, (r) => r.written) });
        changed = true;
      } else if (want === this.self || stopping || nowMs >= d.deadline) {
        if (want !== this.self) { o.keep(q, this.self); this.counted(q, false); }
        this.draining.delete(q);
        changed = true;
      } else if (!shaped && this.tx.every((r, i) => r.readPast(d.marks[i]))) {
        this.draining.delete(q);
        o.handOver(q, want, this.bells);
        this.counted(q, true);
        changed = true;
      }
    }
    if (changed) this.rebuild();
  }

  /** A hand-over under way (the worker looks again soon rather than sleeping long). */
  get busy(): boolean { return this.draining.size !== 0; }

  /** The queues served are as the shared words say (nothing asked or handed over since the last turn). */
  get current(): boolean { return this.owners.generation === this.gen; }

  private rebuild(): void {
    this.gen = this.owners.generation;
    this.rings = [];
    for (let q = 0; q < this.owners.queues; q++) if (Atomics.load(this.owners.owner, q) === this.self && !this.draining.has(q)) this.rings.push(...this.byQueue[q]);
  }
}
