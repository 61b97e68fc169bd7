// The fd watcher's thread (see fd-watcher.ts): blocks in poll() on the watched descriptors and
// its wake eventfd; when one turns readable it raises READY, wakes the main thread and waits
// until the main thread has read what was waiting (READY back to 0). Level-triggered: what the
// main thread left unread makes the next poll return at once.

import { workerData } from 'node:worker_threads';
import { native } from './io.js';
import { READY, STOP, COUNT, FDS } from './fd-watcher-words.js';

const state = new Int32Array(workerData.state as SharedArrayBuffer);
const io = native!;
const n = state[COUNT];
const fds = new Int32Array(n), ready = new Uint8Array(n);
for (let i = 0; i < n; i++) fds[i] = state[FDS + i];
const wake = fds[0];

while (Atomics.load(state, STOP) === 0) {
  const r = io.pollIn(fds, n, -1, ready);
  if (r < 0) { Atomics.store(state, STOP, r); Atomics.store(state, READY, 1); Atomics.notify(state, READY); break; }
  if (ready[0] !== 0) io.eventfdDrain(wake);
  let any = false;
  for (let i = 1; i < n; i++) if (ready[i] !== 0) any = true;
  if (!any) continue;
  Atomics.store(state, READY, 1);
  Atomics.notify(state, READY);
  while (Atomics.load(state, READY) === 1 && Atomics.load(state, STOP) === 0) Atomics.wait(state, READY, 1);
}
