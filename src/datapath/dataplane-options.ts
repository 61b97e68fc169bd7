// What a Dataplane is built from: its ports with their endpoints and VLAN modes, and the
// sizes and limits of pool, NIC, MAC table, rules, flow cache, extensions and workers
// (control/build.ts fills it from a checked configuration).

import { Clock } from '../clock.js';
import { RuleBatch } from '../flow/rule-set.js';
import { Rss } from '../nic/rss.js';
import { Endpoint } from '../endpoints/endpoint.js';
import { PortVlanConfig } from '../vswitch/port-table.js';
import type { PortQos } from '../qos/port-limits.js';
import { ExtensionLimits, ExtensionSpec } from '../vswitch/ext/host.js';

export interface PortSpec {
  name: string;
  endpoint: Endpoint;
  vlan: PortVlanConfig;
  /** Most MACs learned on this port; frames from further new MACs are dropped (dropMacLimit). */
  macLimit?: number;
  /** Its maximum rates (qos/port-limits.ts); native endpoints with worker threads only. */
  qos?: PortQos;
}

export interface DataplaneOptions {
  poolSlots: number;
  slotSize: number;
  queues: number;
  ringSize: number;
  txRingSize: number;
  workers: number;
  filterCapacity: number;
  macTableSize: number;
  macAgingSeconds: number;
  /** Share of the MAC table reserved for the ports, split evenly (default 50). */
  macReservedPercent?: number;
  rss?: Rss;
  ports: PortSpec[];
  clock?: Clock;
  /** Rules installed at start (one atomic batch). */
  rules?: RuleBatch;
  /** Flow cache entries per datapath thread. */
  flowCacheEntries?: number;
  maxRules?: number;
  /** Extensions bound to this switch, in configuration order. */
  extensions?: ExtensionSpec[];
  extensionLimits?: Partial<ExtensionLimits>;
  /** Directory extension module paths are relative to (the configuration file's). */
  extensionBaseDir?: string;
  /** Extension events (faults, ignored vetoes, log lines). */
  onLog?: (message: string) => void;
  /**
   * A datapath worker whose loop shows no progress for this long is declared hung (0: no
   * watchdog). Default DEFAULT_WATCHDOG_MS.
   */
  watchdogMs?: number;
  /** Called once when a datapath worker fails (exits, throws or hangs); `failure` says why. */
  onFailure?: (reason: string) => void;
  /**
   * How long a worker thread keeps looking for work after its last before it sleeps (µs;
   * 0: sleeps at once). Default DEFAULT_IDLE_SPIN_MICROS.
   */
  idleSpinMicros?: number;
  /**
   * A frame a shaper holds that is due within this many µs is waited for by polling, not by
   * sleeping. Default DEFAULT_SHAPED_SPIN_MICROS.
   */
  shapedSpinMicros?: number;
  /** The queue manager's policy rules (controllers/queue-rules.ts; default: its defaults, on). */
  queueManager?: unknown;
}

/**
 * Spin after traffic before sleeping: a thread wake-up costs 30-50 µs on the VMs measured
 * (issue 12), so a request/response exchange within this window is answered without one.
 */
export const DEFAULT_IDLE_SPIN_MICROS = 50;

/**
 * Poll rather than sleep for a shaped frame due this soon: a wake-up costs 30-50 µs. Higher
 * holds a limiter's rate closer on a loaded host (a wake can be a millisecond late there) at
 * the price of CPU while shapers hold frames (docs/qos.md: limiter accuracy).
 */
export const DEFAULT_SHAPED_SPIN_MICROS = 40;
