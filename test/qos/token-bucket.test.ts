// Token buckets with an injected time: long-run rate conformance, the burst, retuning the
// rate, per-bucket isolation, counters, and refused configurations naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucketError, TokenBuckets } from '../../src/qos/token-bucket.js';

// Offer `pps` packets of `size` bytes per second to bucket b for `seconds`, in batches of n
// at evenly spaced times; returns the bytes that passed. (A batch arrives at one instant, so
// a bucket passes the rate only when its burst holds what accrues between two batches.)
function offer(tb: TokenBuckets, b: number, pps: number, size: number, seconds: number, startUs = 0, n = 1): number {
  const buckets = new Int32Array(n).fill(b), bytes = new Int32Array(n).fill(size), pass = new Uint8Array(n);
  const batches = Math.round((pps * seconds) / n);
  let passedBytes = 0;
  for (let k = 0; k < batches; k++) {
    const now = startUs + ((k + 1) * n * 1e6) / pps;
    tb.conform(buckets, bytes, n, now, pass);
    for (let j = 0; j < n; j++) if (pass[j]) passedBytes += size;
  }
  return passedBytes;
}

test('long-run rate: what passes is the rate plus the initial burst, within one frame', () => {
  const tb = new TokenBuckets(4);
  tb.configure(0, 100e6, 15000, 0); // 100 Mbit/s, 10 frames of burst
  const passed = offer(tb, 0, 20000, 1500, 10, 0, 4); // 240 Mbit/s offered for 10 s, batches of 4
  const want = (100e6 / 8) * 10 + 15000;
  assert.ok(Math.abs(passed - want) <= 1500 * 4, `passed ${passed} bytes, want ${want}`);
  const row = tb.counters.row(0);
  assert.equal(row.passedBytes, passed);
  assert.equal(row.passedPackets + row.droppedPackets, 20000 * 10);
  assert.ok(row.droppedPackets > 100000, 'over-rate packets were refused and counted');
});

test('below the rate everything passes; a burst passes only up to the bucket depth', () => {
  const tb = new TokenBuckets(2);
  tb.configure(1, 10e6, 10 * 1518, 0);
  assert.equal(offer(tb, 1, 500, 1000, 4, 0, 8), 500 * 4 * 1000, '4 Mbit/s into 10 Mbit/s in batches of 8: no drop');
  // An instant burst of 40 full frames after the bucket refilled: only the depth goes.
  const n = 40, pass = new Uint8Array(n);
  const got = tb.conform(new Int32Array(n).fill(1), new Int32Array(n).fill(1518), n, 10e6, pass);
  assert.equal(got, 10);
  assert.deepEqual([...pass.subarray(0, 11)], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
});

test('retuning a rate takes effect from then on; buckets are independent', () => {
  const tb = new TokenBuckets(2);
  tb.configure(0, 8e6, 3000, 0); // 1 MB/s
  tb.configure(1, 8e6, 3000, 0);
  const first = offer(tb, 0, 2000, 1000, 1);
  tb.configure(0, 80e6, 3000, 1e6); // ten times the rate from t = 1 s
  const second = offer(tb, 0, 20000, 1000, 1, 1e6);
  assert.ok(Math.abs(first - 1e6) < 40000, `first second: ${first}`);
  assert.ok(Math.abs(second - 10e6) < 400000, `second second at the new rate: ${second}`);
  assert.equal(tb.rateOf(0), 80e6);
  // Bucket 1 was never used: it still holds its burst.
  assert.equal(tb.tokensAt(1, 2e6), 3000);
  assert.equal(tb.counters.row(1).passedPackets, 0);
});

test('a bucket that is not configured passes nothing; time going backwards adds no tokens', () => {
  const tb = new TokenBuckets(2);
  const pass = new Uint8Array(1);
  assert.equal(tb.conform(Int32Array.of(1), Int32Array.of(64), 1, 1e6, pass), 0);
  tb.configure(0, 8e6, 2000, 5e6);
  tb.conform(Int32Array.of(0), Int32Array.of(2000), 1, 5e6, pass);
  assert.equal(pass[0], 1);
  assert.equal(tb.tokensAt(0, 4e6), 0, 'an earlier time refills nothing');
  assert.equal(tb.tokensAt(0, 5e6 + 1000), 1000, '1 ms at 1 MB/s');
});

test('bad configurations are refused, naming the field', () => {
  const tb = new TokenBuckets(1);
  assert.throws(() => tb.configure(0, 0, 3000, 0), (e: Error) => e instanceof TokenBucketError && /^rate:/.test(e.message));
  assert.throws(() => tb.configure(0, NaN, 3000, 0), { message: /^rate:/ });
  assert.throws(() => tb.configure(0, 1e6, -1, 0), { message: /^burst:/ });
  assert.throws(() => tb.configure(0, 1e6, 1000, 0), { message: /^burst: 1000 bytes is less than one 1518-byte frame/ });
  assert.throws(() => tb.configure(1, 1e6, 3000, 0), { message: /^bucket: 1 is not 0\.\.0/ });
  assert.throws(() => new TokenBuckets(0), { message: /^bucket count/ });
});
