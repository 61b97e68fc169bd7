// What the dataplane posts to a datapath worker: shared memory descriptors only.
import { PoolShare } from '../nic/pool.js';
import { RingShare } from '../nic/ring.js';
import { FlowKeysShare } from '../wire/flow-key.js';
import { MacTableShare } from '../vswitch/mac-table.js';
import { PortTableShare } from '../vswitch/port-table.js';

export const CTL_STOP = 0;

export interface WorkerSetup {
  pool: PoolShare;
  keys: FlowKeysShare;
  ports: PortTableShare;
  macs: MacTableShare;
  portCount: number;
  txOp: SharedArrayBuffer;
  /** Receive queue rings this worker serves. */
  queues: RingShare[];
  bell: SharedArrayBuffer;
  /** One transmit ring per port, worker -> main. */
  tx: RingShare[];
  ret: RingShare;
  mainBell: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  control: SharedArrayBuffer;
}
