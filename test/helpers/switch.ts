// Build a Dataplane of memory ports for tests (inline pipeline, manual clock).
import { ManualClock } from '../../src/clock.js';
import { Dataplane, DataplaneOptions } from '../../src/datapath/dataplane.js';
import { MemoryEndpoint } from '../../src/endpoints/memory.js';
import { PortVlanConfig } from '../../src/vswitch/port-table.js';

export interface TestPort { vlan?: PortVlanConfig; macLimit?: number }

export async function memorySwitch(ports: TestPort[], over: Partial<DataplaneOptions> = {}) {
  const clock = new ManualClock();
  const eps = ports.map(() => new MemoryEndpoint());
  const dp = new Dataplane({
    poolSlots: 1024, slotSize: 2048, queues: 4, ringSize: 256, txRingSize: 256, workers: 0,
    filterCapacity: 64, macTableSize: 1024, macAgingSeconds: 300, clock,
    ports: ports.map((p, i) => ({ name: `p${i + 1}`, endpoint: eps[i], vlan: p.vlan ?? { mode: 'access', vlan: 1 }, macLimit: p.macLimit })),
    ...over,
  });
  await dp.start();
  const send = (port: number, frame: Uint8Array) => { eps[port].inject(frame); dp.poll(); };
  const got = () => eps.map((e) => e.take());
  return { dp, eps, clock, send, got };
}

export const MAC = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;
export const BCAST = 'ff:ff:ff:ff:ff:ff';

/** Resolve when cond() holds (polling every 2 ms); reject after `ms`. */
export async function waitFor(cond: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 2));
  }
}
