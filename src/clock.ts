// Clocks. The datapath reads time once per batch, in whole seconds, from a clock that every
// thread agrees on; tests inject their own.

export interface Clock { seconds(): number }

/** Wall-clock-aligned monotonic seconds, comparable across worker threads. */
export const systemClock: Clock = {
  seconds: () => Math.floor((performance.timeOrigin + performance.now()) / 1000),
};

/** A clock that moves only when told to (tests). */
export class ManualClock implements Clock {
  now: number;
  constructor(start = 1000) { this.now = start; }
  seconds(): number { return this.now; }
  advance(s: number): void { this.now += s; }
}
