// Pool magazines: threads other than the pool's creator allocate and free through their own
// magazines over the shared depot. While three threads churn at once no slot is ever held by
// two of them, and once they flush every slot is back exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { MAGAZINE, PacketPool } from '../../src/nic/pool.js';

test('a magazine refills from and spills to the depot, low handles first', () => {
  const pool = new PacketPool(3 * MAGAZINE, 256);
  assert.equal(pool.alloc(), 0, 'handle 0 first');
  const other = PacketPool.attach(pool.shared());
  assert.equal(other.available, 3 * MAGAZINE - 1, 'every free slot counts, the first thread\'s magazine too');
  const taken: number[] = [];
  for (let h; (h = other.alloc()) >= 0;) taken.push(h);
  assert.equal(taken.length, 2 * MAGAZINE, 'the other thread takes everything left in the depot');
  assert.equal(other.allocFailures, 1);
  assert.equal(pool.available, MAGAZINE - 1, 'the depot is empty: only the first magazine is left');
  for (const h of taken) other.free(h);
  assert.equal(pool.available, 3 * MAGAZINE - 1, 'slots another thread holds free count before it flushes');
  other.flush();
  pool.free(0);
  assert.equal(pool.available, 3 * MAGAZINE);
  assert.deepEqual(pool.freeHandles().sort((a, b) => a - b), Array.from({ length: 3 * MAGAZINE }, (_, i) => i));
});

test('three threads churn one pool at once: no slot held twice, every slot back once', async () => {
  const slots = 1024;
  const pool = new PacketPool(slots, 256);
  const run = (id: number) => new Promise<{ clashes: number; failures: number }>((resolve, reject) => {
    const w = new Worker(new URL('../helpers/pool-churn-worker.js', import.meta.url), { workerData: { share: pool.shared(), id, rounds: 200_000 } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const results = await Promise.all([run(1), run(2), run(3)]);
  for (const r of results) assert.equal(r.clashes, 0, 'no slot a thread held was given to another');
  const free = pool.freeHandles().sort((a, b) => a - b);
  assert.equal(free.length, slots);
  assert.deepEqual(free, Array.from({ length: slots }, (_, i) => i), 'every slot back, each once');
});
