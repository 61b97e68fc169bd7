// Ring handoff between two threads, burst 32: the main thread produces handles into an SPSC
// ring, a worker consumes them and returns them on a second ring (the pool round trip).
// Baseline: the same bursts sent as arrays with MessagePort.postMessage.
// Checks: every handle arrives, in order, before the timing is reported.
import { Worker } from 'node:worker_threads';
import { Ring } from '../src/nic/ring.js';
import { figure, Figure, print, save } from './report.js';

const N = 20_000_000;
const BURST = 32;

async function ringHandoff(): Promise<Figure> {
  const there = new Ring(1024), back = new Ring(1024);
  const w = new Worker(new URL('./ring-handoff-worker.js', import.meta.url), { workerData: { mode: 'ring', there: there.shared(), back: back.shared(), n: N } });
  await new Promise((r) => w.once('message', r)); // worker ready
  const src = new Int32Array(BURST), dst = new Int32Array(BURST);
  let sent = 0, got = 0, bad = 0;
  const t0 = performance.now();
  while (got < N) {
    if (sent < N) {
      for (let i = 0; i < BURST; i++) src[i] = (sent + i) & 0xfffff;
      sent += there.enqueueBurst(src, 0, Math.min(BURST, N - sent));
    }
    const n = back.dequeueBurst(dst, BURST);
    for (let i = 0; i < n; i++) if (dst[i] !== ((got + i) & 0xfffff)) bad++;
    got += n;
  }
  const s = (performance.now() - t0) / 1000;
  await w.terminate();
  if (bad) throw new Error(`ring handoff check: ${bad} handles out of order`);
  return figure('SPSC ring round trip, burst 32', N, s);
}

async function postMessageHandoff(): Promise<Figure> {
  const n = 2_000_000;
  const w = new Worker(new URL('./ring-handoff-worker.js', import.meta.url), { workerData: { mode: 'post', n } });
  await new Promise((r) => w.once('message', r));
  let got = 0, bad = 0, sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    w.on('message', (arr: number[]) => {
      for (let i = 0; i < arr.length; i++) if (arr[i] !== got + i) bad++;
      got += arr.length;
      if (got >= n) resolve();
      else if (sent < n) pump();
    });
    const pump = () => {
      // Keep up to 64 bursts in flight.
      while (sent < n && sent - got < 64 * BURST) {
        const b: number[] = [];
        for (let i = 0; i < BURST; i++) b.push(sent + i);
        w.postMessage(b);
        sent += BURST;
      }
    };
    pump();
  });
  const s = (performance.now() - t0) / 1000;
  await w.terminate();
  if (bad) throw new Error('postMessage check failed');
  return figure('baseline: postMessage round trip, burst 32', n, s);
}

export async function ringBench(): Promise<Figure[]> { return [await ringHandoff(), await postMessageHandoff()]; }

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await ringBench();
  print('ring handoff between two threads', figs);
  save('ring-handoff', figs);
}
