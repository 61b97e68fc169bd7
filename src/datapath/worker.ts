// Datapath worker thread: serves a group of receive queues. Drains them in batches through
// its own SwitchPipeline, sleeps on its doorbell when they are empty, and exits when the
// control word says stop and its rings are empty.

import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../clock.js';
import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { FlowKeys } from '../wire/flow-key.js';
import { MacTable } from '../vswitch/mac-table.js';
import { BATCH_MAX, PIPELINE_COUNTERS, SwitchPipeline } from '../vswitch/pipeline.js';
import { PortTable } from '../vswitch/port-table.js';
import { ringsEmpty, serveQueues } from './serve.js';
import { WorkerSetup, CTL_STOP } from './worker-setup.js';

const s = workerData as WorkerSetup;
const pool = PacketPool.attach(s.pool);
const keys = FlowKeys.attach(s.keys);
const rings = s.queues.map(Ring.attach);
const bell = new Doorbell(s.bell);
const control = new Int32Array(s.control);
const pipeline = new SwitchPipeline(pool, keys, PortTable.attach(s.ports), MacTable.attach(s.macs), new Int32Array(s.txOp), {
  tx: s.tx.map(Ring.attach), ret: Ring.attach(s.ret), bell: new Doorbell(s.mainBell),
}, new CounterBlock(PIPELINE_COUNTERS, s.portCount, s.counters));
const batch = new Int32Array(BATCH_MAX);

for (;;) {
  if (serveQueues(rings, pipeline, batch, systemClock) !== 0) continue;
  if (Atomics.load(control, CTL_STOP) !== 0 && ringsEmpty(rings)) break;
  const seq = bell.prepareSleep();
  if (!ringsEmpty(rings)) { bell.wake(); continue; }
  bell.sleep(seq, 100);
}
parentPort?.postMessage('stopped');
