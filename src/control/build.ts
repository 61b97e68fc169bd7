// Build a Dataplane from a checked Config: endpoints, RSS key/table, steering filters.
import { Dataplane } from '../datapath/dataplane.js';
import { endpointKind } from '../endpoints/kinds.js';
import { MICROSOFT_RSS_KEY, Rss } from '../nic/rss.js';
import { SteeringFilter } from '../nic/steering.js';
import { Config } from './config.js';

export interface BuildOptions {
  /** Directory extension module paths are relative to (the configuration file's). */
  baseDir?: string;
  onLog?: (message: string) => void;
  /** A datapath worker failed (exited, threw or hung). */
  onFailure?: (reason: string) => void;
}

export function buildDataplane(c: Config, b: BuildOptions = {}): Dataplane {
  const key = c.nic.rss.key ? Uint8Array.from(c.nic.rss.key.replace(/:/g, '').match(/../g)!.map((x) => parseInt(x, 16))) : MICROSOFT_RSS_KEY;
  const dp = new Dataplane({
    poolSlots: c.pool.slots, slotSize: c.pool.slotSize, queues: c.nic.queues, ringSize: c.nic.ringSize,
    txRingSize: c.switch.txRingSize, workers: c.workers, idleSpinMicros: c.idleSpinMicros, shapedSpinMicros: c.shapedSpinMicros, filterCapacity: c.nic.filterCapacity, queueManager: c.nic.manager,
    macTableSize: c.switch.macTableSize, macAgingSeconds: c.switch.macAgingSeconds, macReservedPercent: c.switch.macReservedPercent,
    rss: new Rss(c.nic.queues, key, c.nic.rss.indirection),
    ports: c.ports.map((p) => {
      const endpoint = endpointKind(p.endpoint.type).create(p.endpoint);
      // A tunnel uplink carrying several VNIs is a trunk of their VLANs.
      const vlan = endpoint.trunkVlans ? { mode: 'trunk' as const, allowed: endpoint.trunkVlans } : p.vlan;
      return { name: p.name, endpoint, vlan, macLimit: p.macLimit, qos: p.qos };
    }),
    rules: { add: c.rules }, flowCacheEntries: c.flow.cacheEntries, maxRules: c.flow.maxRules,
    extensions: c.extensions, extensionLimits: c.extensionLimits, extensionBaseDir: b.baseDir, onLog: b.onLog,
    watchdogMs: c.watchdogMs, onFailure: b.onFailure,
  });
  for (const fl of c.nic.filters) dp.nic.steering.add(fl as SteeringFilter);
  return dp;
}
