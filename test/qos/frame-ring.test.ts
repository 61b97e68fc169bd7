// FrameRing: a shaper's queue starts small and doubles when full — entries keep their order (and
// charges and tags) across growth while it wraps around, and it refuses an entry only at its max.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameRing } from '../../src/qos/frame-ring.js';

test('order, charges and tags survive growth while the ring wraps; it refuses only at its max', () => {
  const r = new FrameRing(1000); // max 1,024 entries
  assert.equal(r.max, 1024);
  assert.ok(r.mask + 1 < 1024, 'it starts small');
  let next = 0, out = 0;
  const take = (k: number) => {
    for (let i = 0; i < k && r.length > 0; i++, out++) {
      const s = r.head & r.mask;
      assert.deepEqual([r.h[s], r.charge[s], r.tag[s]], [out, out * 3, out * 7], `entry ${out} in order`);
      r.head++;
    }
  };
  // Fill and drain unevenly so the ring wraps before each growth.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 40; i++) if (r.length < 1024) { assert.ok(r.push(next, next * 3, next * 7)); next++; }
    take(17);
  }
  while (r.length < 1024) { assert.ok(r.push(next, next * 3, next * 7)); next++; }
  assert.equal(r.length, 1024, 'full');
  assert.equal(r.mask + 1, 1024);
  assert.equal(r.push(next, 0, 0), false, 'refused at its max');
  take(1024);
  assert.equal(out, next);
  assert.equal(r.length, 0);
});
