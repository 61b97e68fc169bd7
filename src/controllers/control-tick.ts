// ControlTick: the control thread's one timer. Controllers — MAC aging today; the queue-offload
// manager and the congestion controller next — register here and are ticked in order with the
// clock's microseconds, instead of each keeping a timer of its own. A controller decides for
// itself how often to act (it gets every tick). One that throws is counted and keeps its place:
// a fault in one never stops the others.

import { Clock } from '../clock.js';
import { thrownText } from '../quote.js';

export interface Controller {
  readonly name: string;
  /** Act if it is time; `nowUs` is the clock's monotonic microseconds. */
  tick(nowUs: number): void;
}

/** A controller's ticks, faults (and the last one's error), and the time its ticks took (µs, all told). */
export interface ControllerReport { name: string; ticks: number; faults: number; lastFault: string | null; busyMicros: number }

/** Default period of the control tick (ms). */
export const CONTROL_TICK_MS = 10;

export class ControlTick {
  private readonly clock: Clock;
  private readonly periodMs: number;
  private readonly entries: { c: Controller; ticks: number; faults: number; lastFault: string | null; busyMicros: number }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(clock: Clock, periodMs = CONTROL_TICK_MS) { this.clock = clock; this.periodMs = periodMs; }

  add(c: Controller): void {
    if (this.entries.some((e) => e.c.name === c.name)) throw new Error(`controller ${c.name} is registered already`);
    this.entries.push({ c, ticks: 0, faults: 0, lastFault: null, busyMicros: 0 });
  }

  remove(c: Controller): void {
    const i = this.entries.findIndex((e) => e.c === c);
    if (i >= 0) this.entries.splice(i, 1);
  }

  /** Tick every controller once, at the clock's time (the timer calls this; tests call it directly). */
  run(): void {
    const now = this.clock.micros();
    for (const e of this.entries) {
      e.ticks++;
      const t0 = performance.now();
      try { e.c.tick(now); } catch (err) { e.faults++; e.lastFault = thrownText(err); }
      e.busyMicros += Math.round((performance.now() - t0) * 1000);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.run(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  report(): ControllerReport[] { return this.entries.map((e) => ({ name: e.c.name, ticks: e.ticks, faults: e.faults, lastFault: e.lastFault, busyMicros: e.busyMicros })); }
}
