// A thread that allocates and frees slots of a shared pool through its own magazine for a
// given number of rounds, checking that no slot it holds is handed to anyone else meanwhile
// (it stamps each slot it holds with its id and looks again before freeing), then flushes.
import { parentPort, workerData } from 'node:worker_threads';
import { PacketPool, PoolShare } from '../../src/nic/pool.js';

const { share, id, rounds } = workerData as { share: PoolShare; id: number; rounds: number };
const pool = PacketPool.attach(share);
const held: number[] = [];
let clashes = 0, failures = 0, x = id * 7919 + 1;
for (let r = 0; r < rounds; r++) {
  x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  if (held.length < 200 && (x & 3) !== 0) {
    const h = pool.alloc();
    if (h < 0) { failures++; continue; }
    pool.data[pool.start(h)] = id;
    held.push(h);
  } else if (held.length !== 0) {
    const h = held.splice(x % held.length, 1)[0];
    if (pool.data[pool.start(h)] !== id) clashes++;
    pool.free(h);
  }
}
for (const h of held) { if (pool.data[pool.start(h)] !== id) clashes++; pool.free(h); }
pool.flush();
parentPort!.postMessage({ clashes, failures });
