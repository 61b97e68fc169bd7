// Clocks. The datapath reads time once per batch, in whole seconds; controllers (control-tick.ts)
// read microseconds. Every thread agrees on the clock; tests inject their own.

export interface Clock {
  seconds(): number;
  /** Monotonic microseconds on the same time line as seconds(). */
  micros(): number;
}

/** Wall-clock-aligned monotonic time, comparable across worker threads. */
export const systemClock: Clock = {
  seconds: () => Math.floor((performance.timeOrigin + performance.now()) / 1000),
  micros: () => Math.floor((performance.timeOrigin + performance.now()) * 1000),
};

/** A clock that moves only when told to (tests). `now` is in seconds. */
export class ManualClock implements Clock {
  now: number;
  constructor(start = 1000) { this.now = start; }
  seconds(): number { return this.now; }
  micros(): number { return Math.round(this.now * 1e6); }
  advance(s: number): void { this.now += s; }
}
