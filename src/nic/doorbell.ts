// Doorbell: how a producer wakes a sleeping consumer thread without a syscall per packet.
//
// The consumer drains its rings; when they are empty it raises `sleeping`, looks at its rings
// once more (a producer may have added a handle meanwhile) and only then waits on `seq`.
// A producer that finds `sleeping` raised bumps `seq` and notifies. Because the consumer
// raises the flag before its last look and the producer stores the handle before it reads
// the flag (all sequentially consistent Atomics), no wake-up is ever lost.
//
// A consumer that sleeps in poll() on its descriptors (a datapath thread with native ports)
// cannot wait on `seq` as well: it gives the bell an eventfd (useEventfd), which every wake
// also signals; it polls that eventfd with its descriptors.

import { native } from '../native/io.js';

const SEQ = 0;
const SLEEPING = 1;
/** The consumer's eventfd, or -1. */
const EFD = 2;

export class Doorbell {
  readonly cell: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.cell = new Int32Array(buffer ?? new SharedArrayBuffer(12));
    if (buffer === undefined) this.cell[EFD] = -1;
  }

  /** Consumer: wakes also signal eventfd `fd` (the consumer polls it); -1: none. */
  useEventfd(fd: number): void { Atomics.store(this.cell, EFD, fd); }

  // Signal the consumer's eventfd, if it has one.
  private signal(): void {
    const fd = Atomics.load(this.cell, EFD);
    if (fd >= 0) native!.eventfdSignal(fd);
  }

  get buffer(): SharedArrayBuffer { return this.cell.buffer as SharedArrayBuffer; }

  /** Producer: wake the consumer if it sleeps (cheap when it is awake). */
  ring(): void {
    if (Atomics.load(this.cell, SLEEPING) !== 0) {
      Atomics.add(this.cell, SEQ, 1);
      Atomics.notify(this.cell, SEQ);
      this.signal();
    }
  }

  /** Wake the consumer whether or not it announced sleep (shutdown). */
  wakeAlways(): void {
    Atomics.add(this.cell, SEQ, 1);
    Atomics.notify(this.cell, SEQ);
    this.signal();
  }

  /** Consumer: announce sleep; returns the sequence to wait on. Check rings after this. */
  prepareSleep(): number {
    Atomics.store(this.cell, SLEEPING, 1);
    return Atomics.load(this.cell, SEQ);
  }

  /** Consumer: block (worker threads only) until rung or `timeoutMs` passes. */
  sleep(seq: number, timeoutMs: number): void {
    Atomics.wait(this.cell, SEQ, seq, timeoutMs);
    Atomics.store(this.cell, SLEEPING, 0);
  }

  /** Consumer on the main thread: wait without blocking the event loop. */
  async sleepAsync(seq: number, timeoutMs: number): Promise<void> {
    const r = Atomics.waitAsync(this.cell, SEQ, seq, timeoutMs);
    if (r.async) await r.value;
    Atomics.store(this.cell, SLEEPING, 0);
  }

  /** Consumer: cancel a prepared sleep (work turned up). */
  wake(): void { Atomics.store(this.cell, SLEEPING, 0); }
}
