// FdWatcher: tells a thread that cannot block — the main thread, whose event loop must keep
// turning — when a native descriptor has frames waiting. N-API gives an addon no way into
// Node's event loop, so a small thread blocks in poll() for it (fd-watcher-thread.ts) and wakes
// this one through a shared word (Atomics.waitAsync); this thread then reads in bursts until
// the descriptors are empty and re-arms the watcher. Two thread wake-ups per busy period, not
// per frame: under load each one carries many frames.
//
// A thread that can block (a datapath worker) polls its descriptors itself (native.pollIn).

import { Worker } from 'node:worker_threads';
import { native, nativeMissing } from './io.js';
import { COUNT, FDS, MAX_FDS, READY, STOP } from './fd-watcher-words.js';

export class FdWatcher {
  private readonly state = new Int32Array(new SharedArrayBuffer((FDS + MAX_FDS) * 4));
  private readonly wakeFd: number;
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(fds: readonly number[]) {
    if (native === null) throw new Error(`cannot watch native descriptors: ${nativeMissing}`);
    if (fds.length + 1 > MAX_FDS) throw new Error(`one watcher polls at most ${MAX_FDS - 1} descriptors, ${fds.length} asked`);
    this.wakeFd = native.eventfdOpen();
    if (this.wakeFd < 0) throw new Error(`eventfd: ${native.strerror(this.wakeFd)}`);
    const s = this.state;
    s[COUNT] = fds.length + 1;
    s[FDS] = this.wakeFd;
    fds.forEach((fd, i) => { s[FDS + 1 + i] = fd; });
    this.worker = new Worker(new URL('./fd-watcher-thread.js', import.meta.url), { workerData: { state: s.buffer } });
    this.exited = new Promise((r) => this.worker.once('exit', () => r()));
  }

  /** Resolve once a descriptor is readable (at once if one already is). Rejects if the watcher failed. */
  async ready(): Promise<void> {
    const r = Atomics.waitAsync(this.state, READY, 0);
    if (r.async) await r.value;
    const stop = Atomics.load(this.state, STOP);
    if (stop < 0) throw new Error(`fd watcher: poll failed: ${native!.strerror(stop)}`);
  }

  /** Everything waiting was read: watch again. */
  rearm(): void {
    Atomics.store(this.state, READY, 0);
    Atomics.notify(this.state, READY);
  }

  /** End the thread (a pending ready() resolves). */
  async stop(): Promise<void> {
    Atomics.store(this.state, STOP, 1);
    Atomics.store(this.state, READY, 1);
    Atomics.notify(this.state, READY);
    native!.eventfdSignal(this.wakeFd);
    await this.exited;
    native!.closeFd(this.wakeFd);
  }
}
