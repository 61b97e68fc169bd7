// The dataplane's stats() answer: port, queue, flow-cache and MAC-table counters summed over
// threads (from the counter registry, as GET /metrics is); pool, MAC table and steering
// occupancy; rules; extensions (their host's report) and controllers. Shapes are
// DataplaneStats (the --json report and GET /stats serve them).

import { CounterRegistry } from '../counter-registry.js';
import { ControllerReport, ControlTick } from '../controllers/control-tick.js';
import { LAYERS } from '../flow/rule.js';
import { RuleSet } from '../flow/rule-set.js';
import { PacketPool } from '../nic/pool.js';
import { QUEUE_COUNTERS, SoftNic } from '../nic/soft-nic.js';
import { Endpoint } from '../endpoints/endpoint.js';
import { MacTable } from '../vswitch/mac-table.js';
import { ExtensionHost, ExtensionReport } from '../vswitch/ext/host.js';
import type { PortLimitReport, PortLimits } from '../qos/port-limits.js';

export interface DataplaneStats {
  ports: {
    name: string; endpoint: string; counters: Record<string, number>; tunnels?: ReturnType<NonNullable<Endpoint['tunnels']>>;
    /** Its maximum rates' limiters (config qos), each direction. */
    limits?: PortLimitReport;
  }[];
  queues: { queue: number; depth: number; counters: Record<(typeof QUEUE_COUNTERS)[number], number> }[];
  pool: { slots: number; free: number };
  macTable: Record<string, number>;
  steering: { filters: number; capacity: number };
  extensions: ExtensionReport[];
  flows: { rules: number; rulesByLayer: Record<string, number>; cacheEntriesPerThread: number; cache: Record<string, number>; hitRate: number };
  /** The control tick's controllers: ticks, and faults (a throwing controller is counted, not fatal). */
  controllers: ControllerReport[];
}

/** What the stats are read from. */
export interface StatsSources {
  registry: CounterRegistry;
  ports: readonly { name: string; endpoint: Endpoint }[];
  nic: SoftNic;
  pool: PacketPool;
  macs: MacTable;
  rules: RuleSet;
  flowCacheEntries: number;
  extensions: ExtensionHost;
  tick: ControlTick;
  limits: PortLimits;
}

export function dataplaneStats(s: StatsSources): DataplaneStats {
  const byPort = s.registry.totals('port'), byQueue = s.registry.totals('queue');
  const ports = s.ports.map((p, i) => {
    const limits = s.limits.report(i);
    return { name: p.name, endpoint: p.endpoint.describe(), counters: byPort.get(p.name)!, ...(p.endpoint.tunnels ? { tunnels: p.endpoint.tunnels() } : {}), ...(limits ? { limits } : {}) };
  });
  const queues = [];
  for (let q = 0; q < s.nic.queues; q++) queues.push({ queue: q, depth: s.nic.rings[q].count, counters: byQueue.get(String(q)) as Record<(typeof QUEUE_COUNTERS)[number], number> });
  const m = s.macs;
  return {
    ports, queues,
    pool: { slots: s.pool.slots, free: s.pool.available },
    macTable: { entries: m.count, ...s.registry.totals('mac_table').get('all')!, reservePerPort: m.reserve, sharedInUse: m.sharedInUse, sharedCapacity: m.sharedCapacity },
    steering: { filters: s.nic.steering.size, capacity: s.nic.steering.capacity },
    flows: flowStats(s),
    extensions: s.extensions.count ? s.extensions.report() : [],
    controllers: s.tick.report(),
  };
}

function flowStats(s: StatsSources): DataplaneStats['flows'] {
  const cache = s.registry.totals('flow_cache').get('all')!;
  const looked = cache.hits + cache.misses;
  const perLayer: Record<string, number> = {};
  LAYERS.forEach((l, i) => { perLayer[l] = s.rules.perLayer[i]; });
  return { rules: s.rules.size, rulesByLayer: perLayer, cacheEntriesPerThread: s.flowCacheEntries, cache, hitRate: looked === 0 ? 0 : cache.hits / looked };
}
