// What the dataplane posts to a datapath worker: shared memory descriptors only.
import type { TraceShare } from './rate-trace.js';
import { PoolShare } from '../nic/pool.js';
import { RingShare } from '../nic/ring.js';
import { NicShare } from '../nic/soft-nic.js';
import type { MeterShare } from '../nic/flow-meter.js';
import type { MoveAsk } from '../nic/flow-move.js';
import type { LinkShare } from '../endpoints/link.js';
import { FlowKeysShare } from '../wire/flow-key.js';
import { MacTableShare } from '../vswitch/mac-table.js';
import { PortTableShare } from '../vswitch/port-table.js';

import { MessagePort } from 'node:worker_threads';
import { BoundSpec, ExtensionLimits } from '../vswitch/ext/host.js';

// Control words (Int32Array over `control`): stop flag, newest rule version posted, quiesce flag, then per
// worker: its acknowledged rule version, its heartbeat (bumped every loop turn; the main
// thread's watchdog reads it) and the extension whose hook it is in (index + 1; 0 = none).
export const CTL_STOP = 0;
export const CTL_RULES = 1;
/** Non-zero: the switch is stopping; workers read no more frames from their native ports. */
export const CTL_QUIESCE = 2;
/** Flow moves posted to every worker's NIC so far (each worker takes that many from its NIC port). */
export const CTL_NIC_MOVES = 3;
const CTL_WORKER = 4;
const PER_WORKER = 3;
export const ackWord = (w: number) => CTL_WORKER + w * PER_WORKER;
export const beatWord = (w: number) => CTL_WORKER + w * PER_WORKER + 1;
export const hookWord = (w: number) => CTL_WORKER + w * PER_WORKER + 2;
export const controlWords = (workers: number) => CTL_WORKER + Math.max(1, workers) * PER_WORKER;

/**
 * A piece of rule change `version` posted to the workers (see RuleSync): ids to delete, or a
 * JSON array text of rules to add with the counter slots the main thread gave them (so a
 * worker can check its replica agrees), or the end mark.
 */
/** A piece of rule change `version` for a worker: deleted slots, added rules as rows (rule-rows.ts), or the end with the counts. */
export interface RuleMessage { version: number; del?: Int32Array; add?: Int32Array; end?: { added: number; deleted: number } }

/** A move for a worker's NIC (SoftNic.move). */
export type NicMove = MoveAsk;

export interface WorkerSetup {
  pool: PoolShare;
  keys: FlowKeysShare;
  ports: PortTableShare;
  macs: MacTableShare;
  portCount: number;
  /** Every receive queue's rings (one per producing thread): the worker serves those of the queues it owns. */
  queueRings: RingShare[][];
  /** Which worker serves each queue (queue-owners.ts). */
  owners: SharedArrayBuffer;
  /** Every worker's bell (its own at `index`). */
  bells: SharedArrayBuffer[];
  /** One transmit ring per port (withTags: the egress tag op beside each handle), worker -> main. */
  tx: RingShare[];
  mainBell: SharedArrayBuffer;
  /** Ports whose transmit ring the main thread drains (1): staging frames for one rings mainBell. */
  bellPorts: Uint8Array;
  /** The NIC's steering as this worker runs it on what its links read: its own ring into each queue, its queue counters and meter. */
  nic: NicShare & { rings: RingShare[]; counters: SharedArrayBuffer; meter: MeterShare };
  /** Port counters of this worker's native I/O (PORT_COUNTERS rows). */
  portCounters: SharedArrayBuffer;
  /** This worker's ring of 1 ms stamps of those counters (rate-trace.ts). */
  trace: TraceShare;
  /** Every native port's link (this worker writes to all of them) ... */
  links: LinkShare[];
  /** ... and the indexes of those it reads. */
  readLinks: number[];
  /** Spin this long after the last work before sleeping (µs). */
  idleSpinMicros: number;
  /** Poll, not sleep, for a shaped frame due within this many µs. */
  shapedSpinMicros: number;
  /** The eventfd its bell signals (it polls it with its read links), or -1: it waits on the bell. Made and closed by the main thread. */
  wakeFd: number;
  counters: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** This worker's index (its words are ackWord(index), beatWord(index), hookWord(index)). */
  index: number;
  /** Rule replica: port names and queues, installed rules, limits, counter memory. */
  /** `rows`: the rules installed when the worker starts (rule-rows.ts). */
  rules: { ports: string[]; queues: number; rows: Int32Array; maxRules: number; counters: SharedArrayBuffer };
  flowCache: { entries: number; counters: SharedArrayBuffer };
  /** Rule changes arrive here (read with receiveMessageOnPort between batches). */
  rulePort: MessagePort;
  /** Flow moves for its NIC (NicMove) arrive here, counted in CTL_NIC_MOVES. */
  nicPort: MessagePort;
  /** Extensions to import and bind in this thread, their shared state and this thread's counters. */
  extensions: { bound: BoundSpec[]; state: SharedArrayBuffer; counters: SharedArrayBuffer; ports: string[]; limits: ExtensionLimits };
}
