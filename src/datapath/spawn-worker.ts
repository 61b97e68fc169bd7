// Starting datapath worker threads: spawn one with its setup (shared memory descriptors and
// its message ports), and wait until every one has loaded its extensions and serves its queues —
// or give up after a limit (a datapath() hook that never returns keeps its thread busy for
// good, so the switch must not wait forever).

import { MessagePort, Worker } from 'node:worker_threads';
import { WorkerSetup } from './worker-setup.js';

/** What a datapath worker posts to the main thread. */
export interface WorkerEvent { ready?: boolean; fault?: string; originate?: { ext: number; port: number; frame: Uint8Array } }

/** Spawn worker `w`; `ready` settles when it says so (rejects if it fails first); other events go to onEvent. */
export function spawnWorker(setup: WorkerSetup, ports: MessagePort[], w: number, onEvent: (m: WorkerEvent) => void): { worker: Worker; ready: Promise<void> } {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup, transferList: ports });
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: WorkerEvent) => { if (m.ready) resolve(); });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`datapath worker ${w} exited (code ${code}) before it was ready`)));
  });
  worker.on('message', (m: WorkerEvent) => { if (!m.ready) onEvent(m); });
  return { worker, ready };
}

/** Resolve when every one is ready; reject with a message naming the limit after `limitMs`. */
export async function allReady(readies: Promise<void>[], limitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([Promise.all(readies), new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`datapath workers not ready within ${limitMs} ms (extensionLimits.startTimeoutMs): does an extension's datapath() hook never return?`)), limitMs);
    })]);
  } finally {
    clearTimeout(timer);
  }
}
