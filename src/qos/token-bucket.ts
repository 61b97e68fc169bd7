// TokenBuckets: the edge throttle of predictable bandwidth — a set of token buckets, one per
// (source VM, destination) pair in the QoS design, whose rates the congestion controller
// retunes. Each bucket has a rate (bytes per second) and a burst (bytes): tokens accrue at the
// rate up to the burst; a packet of n bytes conforms when n tokens are there and takes them.
//
// Layout: typed arrays indexed by bucket — rate, burst, tokens, last refill time — and per
// bucket counters (TOKEN_BUCKET_COUNTERS: passed and dropped packets and bytes). Refill is lazy:
// a bucket is brought up to date when used, from the time the caller passes in (read once per
// batch, microseconds, any monotonic origin). conform() decides a whole batch into a verdict
// array without allocating. Not yet in the data path: the QoS stage will call it per batch.
// Errors: a rate or burst that is not a positive finite number, or a burst below the largest
// frame, is refused with the field named (a bucket that can never pass a full frame would
// silently black-hole it).

import { counterIndex, CounterBlock } from '../counters.js';

export const TOKEN_BUCKET_COUNTERS = ['passedPackets', 'passedBytes', 'droppedPackets', 'droppedBytes'] as const;
const TB = counterIndex(TOKEN_BUCKET_COUNTERS);
const NC = TOKEN_BUCKET_COUNTERS.length;

export class TokenBucketError extends Error {}

export class TokenBuckets {
  readonly count: number;
  /** Largest frame a bucket must be able to pass (bytes). */
  readonly maxFrame: number;
  private readonly rate: Float64Array;      // bytes per microsecond
  private readonly burst: Float64Array;     // bytes
  private readonly tokens: Float64Array;    // bytes
  private readonly last: Float64Array;      // microseconds
  readonly counters: CounterBlock<typeof TOKEN_BUCKET_COUNTERS>;
  private readonly c: Float64Array;

  constructor(count: number, maxFrame = 1518) {
    if (!Number.isInteger(count) || count < 1 || count > 1 << 20) throw new TokenBucketError(`bucket count must be 1..1048576, got ${count}`);
    this.count = count;
    this.maxFrame = maxFrame;
    this.rate = new Float64Array(count);
    this.burst = new Float64Array(count);
    this.tokens = new Float64Array(count);
    this.last = new Float64Array(count);
    this.counters = new CounterBlock(TOKEN_BUCKET_COUNTERS, count);
    this.c = this.counters.values;
  }

  /**
   * Set bucket b's rate (bits per second) and burst (bytes) at time `nowUs`. Tokens earned so
   * far at the old rate are kept (capped at the new burst); a new bucket starts full.
   */
  configure(b: number, rateBitsPerSecond: number, burstBytes: number, nowUs: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.count) throw new TokenBucketError(`bucket: ${b} is not 0..${this.count - 1}`);
    if (!(rateBitsPerSecond > 0) || !Number.isFinite(rateBitsPerSecond)) throw new TokenBucketError(`rate: ${rateBitsPerSecond} is not a positive number of bits per second`);
    if (!(burstBytes > 0) || !Number.isFinite(burstBytes)) throw new TokenBucketError(`burst: ${burstBytes} is not a positive number of bytes`);
    if (burstBytes < this.maxFrame) throw new TokenBucketError(`burst: ${burstBytes} bytes is less than one ${this.maxFrame}-byte frame: such frames could never pass`);
    const fresh = this.burst[b] === 0;
    if (!fresh) this.refill(b, nowUs);
    this.rate[b] = rateBitsPerSecond / 8 / 1e6;
    this.burst[b] = burstBytes;
    this.tokens[b] = fresh ? burstBytes : Math.min(this.tokens[b], burstBytes);
    this.last[b] = nowUs;
  }

  /** Rate of bucket b in bits per second (0: not configured). */
  rateOf(b: number): number { return this.rate[b] * 8e6; }

  /** Tokens (bytes) bucket b holds at `nowUs`. */
  tokensAt(b: number, nowUs: number): number { this.refill(b, nowUs); return this.tokens[b]; }

  // Bring bucket b's tokens up to `nowUs` (time never runs backwards here: an older time adds nothing).
  private refill(b: number, nowUs: number): void {
    const dt = nowUs - this.last[b];
    if (dt <= 0) return;
    const t = this.tokens[b] + dt * this.rate[b], cap = this.burst[b];
    this.tokens[b] = t < cap ? t : cap;
    this.last[b] = nowUs;
  }

  /**
   * Decide packets [0, n): packet j of bytes[j] against bucket buckets[j] at time `nowUs`
   * (one time for the batch). pass[j] = 1 when it conforms (its tokens are taken), 0 when
   * not (counted as dropped; the caller drops or queues it). Returns how many passed. A packet
   * for a bucket that is not configured does not pass.
   */
  conform(buckets: Int32Array, bytes: Uint16Array | Int32Array, n: number, nowUs: number, pass: Uint8Array): number {
    const tokens = this.tokens, last = this.last, rate = this.rate, burst = this.burst, c = this.c;
    let passed = 0;
    for (let j = 0; j < n; j++) {
      const b = buckets[j], len = bytes[j];
      const dt = nowUs - last[b];
      let t = tokens[b];
      if (dt > 0) { t += dt * rate[b]; const cap = burst[b]; if (t > cap) t = cap; last[b] = nowUs; }
      const row = b * NC;
      if (t >= len && burst[b] !== 0) {
        tokens[b] = t - len;
        c[row + TB.passedPackets]++; c[row + TB.passedBytes] += len;
        pass[j] = 1; passed++;
      } else {
        tokens[b] = t;
        c[row + TB.droppedPackets]++; c[row + TB.droppedBytes] += len;
        pass[j] = 0;
      }
    }
    return passed;
  }
}
