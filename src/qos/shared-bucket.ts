// SharedBucket: one token bucket's state (tokens and the time they were counted) in shared
// memory, so that several datapath threads shaping the same port draw from one rate
// (LinkShaper with a bucket). A VM's frames are spread over threads: its flows by RSS over the
// queues (each worker sends what its queues produced), its descriptors (a multi-queue tap) over
// the workers that read them. Each thread keeps its own queue, so a flow — which stays on one
// thread — is never reordered; only the tokens are shared.
//
// A short lock guards them: a thread takes it once per release (a burst of frames, not per
// frame), refills, takes what its queue's head frames cost, and lets go. A thread that finds it
// held does not wait long (LOCK_TRIES): it releases nothing this turn and tries on its next one
// (its loop keeps turning while frames wait), so a thread preempted while holding it delays the
// others by one turn at most, never blocks them. Measured beside a thread-local bucket in
// native-free-bench/shaper.ts.

/** Attempts at the lock before a thread gives up for this turn. */
export const LOCK_TRIES = 64;
// Layout from its byte offset: Int32 lock word at +0; Float64 tokens at +8, last refill (µs) at +16.
/** Bytes one bucket takes (a table of them packs them at multiples of this). */
export const BUCKET_BYTES = 24;
const TOKENS = 1, LAST = 2;

export class SharedBucket {
  readonly buffer: SharedArrayBuffer;
  private readonly word: Int32Array;
  private readonly f: Float64Array;

  /** Attach to the bucket at `offset` in `buffer` (from SharedBucket.create(), possibly made by another thread). */
  constructor(buffer: SharedArrayBuffer, offset = 0) {
    this.buffer = buffer;
    this.word = new Int32Array(buffer, offset, 1);
    this.f = new Float64Array(buffer, offset, 3);
  }

  /** Fresh memory for `count` buckets: no tokens counted yet (the first holder starts each full). */
  static create(count = 1): SharedArrayBuffer {
    const b = new SharedArrayBuffer(BUCKET_BYTES * count);
    for (let i = 0; i < count; i++) SharedBucket.reset(b, i * BUCKET_BYTES);
    return b;
  }

  /** Make the bucket at `offset` fresh again (a table slot given to a new pair; no thread may be using it). */
  static reset(buffer: SharedArrayBuffer, offset: number): void { new Float64Array(buffer, offset, 3).fill(-1, TOKENS); }

  /** Take the lock (true), or false after LOCK_TRIES attempts: another thread holds it. */
  lock(): boolean {
    for (let i = 0; i < LOCK_TRIES; i++) if (Atomics.compareExchange(this.word, 0, 0, 1) === 0) return true;
    return false;
  }

  /** Let go of the lock (the holder's writes are visible to the next holder). */
  unlock(): void { Atomics.store(this.word, 0, 0); }

  /** Tokens (bytes), or -1: never counted. Read and written by the lock's holder only. */
  get tokens(): number { return this.f[TOKENS]; }
  set tokens(v: number) { this.f[TOKENS] = v; }
  /** When they were counted (µs), or -1. */
  get last(): number { return this.f[LAST]; }
  set last(v: number) { this.f[LAST] = v; }
}
