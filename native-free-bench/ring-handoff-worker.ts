// Consumer side of the ring handoff benchmark: echo every handle back.
import { parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../src/nic/ring.js';

if (workerData.mode === 'ring') {
  const there = Ring.attach(workerData.there), back = Ring.attach(workerData.back);
  const buf = new Int32Array(32);
  parentPort!.postMessage('ready');
  let moved = 0;
  while (moved < workerData.n) {
    const n = there.dequeueBurst(buf, 32);
    let k = 0;
    while (k < n) k += back.enqueueBurst(buf, k, n - k);
    moved += n;
  }
} else {
  parentPort!.on('message', (arr: number[]) => parentPort!.postMessage(arr));
  parentPort!.postMessage('ready');
}
