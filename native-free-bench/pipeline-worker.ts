// One thread of the 2-worker pipeline benchmark.
import { parentPort, workerData } from 'node:worker_threads';
import { benchFrames, FLOWS, PipelineRig } from './pipeline-rig.js';

const rig = new PipelineRig(benchFrames(FLOWS, 64, workerData.base), workerData.macs);
rig.run(200_000); // warm up
let packets = 0;
const t0 = performance.now();
const end = t0 + workerData.seconds * 1000;
while (performance.now() < end) { if (rig.run(65536) !== 65536) throw new Error('packets lost'); packets += 65536; }
parentPort!.postMessage({ packets, seconds: (performance.now() - t0) / 1000 });
