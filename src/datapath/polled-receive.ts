// PolledReceive: reads the polled (native) endpoints on the thread that owns them — the main
// thread — when the FdWatcher says frames wait: every endpoint is pulled in bursts, the frames
// are pushed through (onFrames: the NIC publishes them, the inline pipeline runs, transmit
// drains), and this repeats while an endpoint still fills whole bursts, letting the event loop
// turn every few rounds so the control API and timers keep running under load. Then the
// watcher is re-armed.

import { LinkEndpoint } from '../endpoints/link-endpoint.js';
import { FdWatcher } from '../native/fd-watcher.js';
import { NATIVE_BURST } from '../native/io.js';

/** Bursts per endpoint before the event loop gets a turn. */
const ROUNDS_PER_TURN = 16;

export class PolledReceive {
  private readonly eps: readonly LinkEndpoint[];
  private readonly onFrames: () => void;
  private watcher: FdWatcher | null = null;
  private running = false;
  private done: Promise<void> = Promise.resolve();

  constructor(eps: readonly LinkEndpoint[], onFrames: () => void) {
    this.eps = eps; this.onFrames = onFrames;
  }

  start(onError: (why: string) => void): void {
    if (this.eps.length === 0) return;
    this.watcher = new FdWatcher(this.eps.flatMap((e) => e.pollFds));
    this.running = true;
    this.done = this.loop().catch((e: Error) => { if (this.running) onError(e.message); });
  }

  private async loop(): Promise<void> {
    const w = this.watcher!, eps = this.eps;
    while (this.running) {
      await w.ready();
      for (let round = 1; this.running; round++) {
        let got = 0, full = false;
        for (let i = 0; i < eps.length; i++) {
          const n = eps[i].pull(NATIVE_BURST);
          got += n;
          if (n >= NATIVE_BURST) full = true; // several queues may give more
        }
        if (got !== 0) this.onFrames();
        if (!full) break;
        if (round % ROUNDS_PER_TURN === 0) await new Promise<void>((r) => setImmediate(r));
      }
      w.rearm();
    }
  }

  /** Stop reading (before the endpoints close their descriptors). */
  async stop(): Promise<void> {
    if (!this.watcher) return;
    this.running = false;
    await this.watcher.stop();
    await this.done;
    this.watcher = null;
  }
}
