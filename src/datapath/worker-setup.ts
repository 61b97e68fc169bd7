// What the dataplane posts to a datapath worker: shared memory descriptors only.
import { PoolShare } from '../nic/pool.js';
import { RingShare } from '../nic/ring.js';
import { FlowKeysShare } from '../wire/flow-key.js';
import { MacTableShare } from '../vswitch/mac-table.js';
import { PortTableShare } from '../vswitch/port-table.js';

import { MessagePort } from 'node:worker_threads';
import { RuleBatch } from '../flow/rule-set.js';
import { BoundSpec, ExtensionLimits } from '../vswitch/ext/host.js';

// Control words (Int32Array over `control`): stop flag, newest rule version posted, then one
// acknowledged rule version per worker.
export const CTL_STOP = 0;
export const CTL_RULES = 1;
export const CTL_ACK = 2;

/** A rule change posted to the workers; `slots` lets a worker check its replica agrees. */
export interface RuleMessage { version: number; batch: RuleBatch; slots: number[] }

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
  /** This worker's index (its acknowledgement word is CTL_ACK + index). */
  index: number;
  /** Rule replica: port names and queues, installed rules, limits, counter memory. */
  rules: { ports: string[]; queues: number; initial: RuleBatch; maxRules: number; counters: SharedArrayBuffer };
  flowCache: { entries: number; counters: SharedArrayBuffer };
  /** Rule changes arrive here (read with receiveMessageOnPort between batches). */
  rulePort: MessagePort;
  /** Extensions to import and bind in this thread, their shared state and this thread's counters. */
  extensions: { bound: BoundSpec[]; state: SharedArrayBuffer; counters: SharedArrayBuffer; ports: string[]; limits: ExtensionLimits };
}
