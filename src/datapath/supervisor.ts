// WorkerSupervisor: notices a datapath worker that exits, throws or hangs, names the
// extension whose hook it was in, and reports one failure (the switch then stops with its
// final counters: docs/extensions.md, "Worker supervision").
//
// Hang detection: a worker's loop bumps its heartbeat word every turn, and an idle worker
// still turns every 100 ms (its doorbell sleep times out), so a heartbeat that stands still
// for `watchdogMs` means the thread is stuck — an extension hook that never returns, say. The
// thread is then ended. Checked from the main thread's timer, 4 times per watchdog period.

import { Worker } from 'node:worker_threads';
import { Ring } from '../nic/ring.js';
import { thrownText } from '../quote.js';
import { beatWord, hookWord } from './worker-setup.js';

export const DEFAULT_WATCHDOG_MS = 3000;

export interface SupervisorOptions {
  control: Int32Array;
  /** Receive rings of worker w: for counting frames left waiting. */
  rings: (w: number) => Ring[];
  /** Name and kind of bound extension e, if any. */
  extension: (e: number) => { name: string; kind: string } | undefined;
  onFailure: (reason: string) => void;
}

export class WorkerSupervisor {
  private readonly o: SupervisorOptions;
  private readonly workers: Worker[] = [];
  private readonly exited: boolean[] = [];
  private readonly exitDone: Promise<void>[] = [];
  private readonly beats: number[] = [];
  private readonly lastMove: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Exits from now on are expected (the switch is stopping). */
  stopping = false;

  constructor(o: SupervisorOptions) { this.o = o; }

  /** Watch worker w from its creation: an error or an exit while running is a failure. */
  add(worker: Worker): void {
    const w = this.workers.length;
    this.workers.push(worker);
    this.exited.push(false);
    this.beats.push(0);
    this.lastMove.push(performance.now());
    worker.on('error', (e) => this.o.onFailure(`datapath worker ${w} failed: ${thrownText(e)}${this.inHook(w)}`));
    this.exitDone.push(new Promise<void>((resolve) => worker.once('exit', (code) => {
      this.exited[w] = true;
      if (!this.stopping) this.o.onFailure(`datapath worker ${w} exited (code ${code}) while the switch ran${this.inHook(w)}`);
      resolve();
    })));
  }

  /** Start the watchdog (0: none). */
  watch(watchdogMs: number): void {
    if (watchdogMs <= 0 || this.workers.length === 0) return;
    this.timer = setInterval(() => this.check(watchdogMs), Math.max(10, Math.min(250, watchdogMs / 4)));
    this.timer.unref();
  }

  /** Stop watching; wait for every worker to exit, ending one that has not after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.workers.map((wk, w) => {
      if (this.exited[w]) return undefined;
      const t = setTimeout(() => { void wk.terminate(); }, graceMs);
      return this.exitDone[w].then(() => clearTimeout(t));
    }));
  }

  /** End every worker now (a start that failed). */
  async terminate(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((wk) => wk.terminate()));
  }

  private check(limit: number): void {
    const now = performance.now(), c = this.o.control;
    for (let w = 0; w < this.workers.length; w++) {
      if (this.exited[w]) continue;
      const beat = Atomics.load(c, beatWord(w));
      if (beat !== this.beats[w]) { this.beats[w] = beat; this.lastMove[w] = now; continue; }
      if (now - this.lastMove[w] < limit) continue;
      let waiting = 0;
      for (const r of this.o.rings(w)) waiting += r.count;
      this.o.onFailure(`datapath worker ${w} made no progress for ${Math.round(now - this.lastMove[w])} ms with ${waiting} frame${waiting === 1 ? '' : 's'} waiting${this.inHook(w)}; it was ended`);
      void this.workers[w].terminate();
    }
  }

  // ", inside a hook of extension X (kind)" when worker w was running one.
  private inHook(w: number): string {
    const x = this.o.extension(Atomics.load(this.o.control, hookWord(w)) - 1);
    return x ? `, inside a hook of extension ${x.name} (${x.kind})` : '';
  }
}
