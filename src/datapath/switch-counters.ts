// The switch's counter blocks, registered with a CounterRegistry: ports (the main thread's
// port counters, every datapath thread's pipeline counters, the kernel's drops on sockets that
// report them), NIC queues, flow caches, extensions, the MAC table and the controllers.

import { blockSet, CounterRegistry } from '../counter-registry.js';
import { CounterBlock } from '../counters.js';
import { ControlTick } from '../controllers/control-tick.js';
import { Endpoint } from '../endpoints/endpoint.js';
import { MAC_COUNTERS, MacTable } from '../vswitch/mac-table.js';
import { VTEP_COUNTERS } from '../endpoints/vtep-table.js';
import type { PortLimits } from '../qos/port-limits.js';
import { INTAKE_COUNTERS } from '../qos/notice-intake.js';
import type { FlowRate, QueueWatch, VmRate } from '../controllers/queue-watch.js';
import { MANAGER_COUNTERS } from '../controllers/queue-manager.js';
import type { QueueControl } from './queue-control.js';
import { TARGET_SAMPLES } from '../nic/flow-meter.js';

export interface SwitchCounterParts {
  ports: { name: string; endpoint: Endpoint }[];
  portCounters: CounterBlock<readonly string[]>;
  /** Per datapath thread (one when the pipeline runs on the main thread). */
  threads: { pipeline: CounterBlock<readonly string[]>; cache: CounterBlock<readonly string[]>; ext: CounterBlock<readonly string[]>;
    /** Worker threads: port and queue counters of the native I/O they do. */
    ports: CounterBlock<readonly string[]> | null; queues: CounterBlock<readonly string[]> | null }[];
  queues: CounterBlock<readonly string[]>;
  extensionNames: () => readonly string[];
  extensionControl: CounterBlock<readonly string[]>;
  macs: MacTable;
  tick: ControlTick;
  limits: PortLimits;
  queueControl: QueueControl;
}

export function switchCounters(p: SwitchCounterParts): CounterRegistry {
  const reg = new CounterRegistry();
  const portNames = () => p.ports.map((x) => x.name);
  const PORT = 'frames and bytes through a switch port, and its drops by reason';
  reg.add(blockSet('port', 'port', portNames, p.portCounters, 'main', PORT));
  p.threads.forEach((t, i) => reg.add(blockSet('port', 'port', portNames, t.pipeline, `datapath ${i}`, PORT)));
  p.threads.forEach((t, i) => { if (t.ports) reg.add(blockSet('port', 'port', portNames, t.ports, `datapath ${i} I/O`, PORT)); });
  // The kernel's drops, on ports whose socket reports them (read once per collection).
  const kernel = p.ports.filter((x) => x.endpoint.kernelDrops !== undefined);
  let drops: { name: string; n: number }[] = [];
  reg.add({
    subsystem: 'port', label: 'port', names: ['rxKernelDrops'], thread: 'kernel', help: PORT,
    rows: () => (drops = kernel.map((x) => ({ name: x.name, n: x.endpoint.kernelDrops!() })).filter((d) => d.n >= 0)).map((d) => d.name),
    read: (_n, r) => drops[r].n,
  });
  const QUEUE = 'frames a NIC receive queue took, how they were steered, and its drops';
  const queueRows = () => Array.from({ length: p.queues.rows }, (_, q) => String(q));
  reg.add(blockSet('queue', 'queue', queueRows, p.queues, 'main', QUEUE));
  p.threads.forEach((t, i) => { if (t.queues) reg.add(blockSet('queue', 'queue', queueRows, t.queues, `datapath ${i} I/O`, QUEUE)); });
  p.threads.forEach((t, i) => reg.add(blockSet('flow_cache', null, () => ['all'], t.cache, `datapath ${i}`, 'flow cache lookups of the datapath threads')));
  meterSets(reg, p.queueControl.watch);
  const m = p.queueControl.manager;
  reg.add({ subsystem: 'queue_manager', label: null, names: MANAGER_COUNTERS, rows: () => ['all'], read: (n) => m.counters[n as (typeof MANAGER_COUNTERS)[number]], thread: 'main', help: 'the queue manager\'s periods and the moves it asked the NIC for' });
  const EXT = 'what an extension saw and did, and its faults';
  const extRows = p.extensionNames;
  reg.add(blockSet('extension', 'extension', extRows, p.extensionControl, 'main', EXT));
  p.threads.forEach((t, i) => reg.add(blockSet('extension', 'extension', extRows, t.ext, `datapath ${i}`, EXT)));
  // Tunnel uplinks: per remote VTEP (rows "port/address"), summed over the threads that ran the link.
  const uplinks = p.ports.filter((x) => x.endpoint.tunnels !== undefined);
  if (uplinks.length) {
    let vteps: { row: string; counters: Record<string, number> }[] = [];
    reg.add({
      subsystem: 'vtep', label: 'vtep', names: VTEP_COUNTERS, thread: 'datapath (a slice each)', help: 'datagrams and inner bytes a tunnel uplink sent to and received from a remote VTEP, and datagrams not sent (MTU, errors)',
      rows: () => (vteps = uplinks.flatMap((u) => u.endpoint.tunnels!().vteps.map((v) => ({ row: `${u.name}/${v.address}`, counters: v.counters })))).map((v) => v.row),
      read: (n, r) => vteps[r].counters[n],
    });
    reg.add({ subsystem: 'uplink', label: 'port', names: ['vtepTableFull', 'limiterTableFull'], thread: 'datapath (atomic)', help: 'datagrams from remote VTEPs a tunnel uplink\'s table had no room for; frames sent unlimited because their pair found the limiter table (guarantees.maxPairs) full',
      rows: () => uplinks.map((u) => u.name), read: (n, r) => { const t = uplinks[r].endpoint.tunnels!(); return n === 'vtepTableFull' ? t.tableFull : t.limitersFull ?? 0; } });
    // Rate notices a sending host took and refused, by reason (uplinks with guarantees).
    let noticed: { name: string; n: Record<string, number> }[] = [];
    const withNotices = () => (noticed = uplinks.flatMap((u) => { const n = u.endpoint.tunnels!().notices; return n ? [{ name: u.name, n }] : []; })).map((x) => x.name);
    reg.add({ subsystem: 'notices', label: 'port', names: INTAKE_COUNTERS, thread: 'datapath (the uplink\'s reader)', help: 'rate notices a tunnel uplink took (accepted) and refused, by reason',
      rows: withNotices, read: (n, r) => noticed[r].n[n] ?? 0 });
    // Emulated access links: what passed each way, ECN marks, and the queues' depth (gauges).
    let links: { name: string; link: NonNullable<ReturnType<NonNullable<Endpoint['tunnels']>>['link']> }[] = [];
    const linkRows = () => (links = uplinks.flatMap((u) => { const l = u.endpoint.tunnels!().link; return l ? [{ name: u.name, link: l }] : []; })).map((l) => l.name);
    const dir = (n: string) => (n.startsWith('rx') ? 'rx' : 'tx');
    reg.add({ subsystem: 'access_link', label: 'port', names: ['rxPackets', 'rxWireBytes', 'rxEcnMarked', 'txPackets', 'txWireBytes', 'txEcnMarked'], thread: 'datapath', help: 'frames an emulated access link let through each way (rx: toward this host), their bytes on the wire, and the ones it marked ECN CE',
      rows: linkRows, read: (n, r) => { const s = links[r].link[dir(n)]; return n.endsWith('Packets') ? s.passedPackets : n.endsWith('WireBytes') ? s.passedBytes : s.ecnMarked; } });
    reg.add({ subsystem: 'access_link', label: 'port', names: ['rxQueueBytes', 'rxQueueMaxBytes', 'txQueueBytes', 'txQueueMaxBytes'], thread: 'datapath', gauge: true, help: 'bytes (on the wire) waiting in an emulated access link\'s queue each way, now and at most since start',
      rows: linkRows, read: (n, r) => { const s = links[r].link[dir(n)]; return n.includes('Max') ? s.maxDepthBytes : s.depthBytes; } });
  }
  // Ports' maximum rates: what each direction's limiter let through and dropped, and its queues.
  const limited = p.ports.map((x, i) => ({ name: x.name, i })).filter((x) => p.limits.shapes[x.i] !== null);
  if (limited.length) {
    let lim: { name: string; r: NonNullable<ReturnType<PortLimits['report']>> }[] = [];
    const rows = () => (lim = limited.map((x) => ({ name: x.name, r: p.limits.report(x.i)! }))).map((x) => x.name);
    const side = (n: string, r: number) => lim[r].r[n.startsWith('rx') ? 'rx' : 'tx'];
    reg.add({ subsystem: 'port_limit', label: 'port', names: ['rxPackets', 'rxBytes', 'rxDropPackets', 'txPackets', 'txBytes', 'txDropPackets'], thread: 'datapath', help: 'frames a port\'s maximum-rate limiter let through each way (rx: from the port\'s endpoint), their bytes, and the ones its full queue dropped',
      rows, read: (n, r) => { const s = side(n, r); return s === undefined ? 0 : n.endsWith('DropPackets') ? s.droppedPackets : n.endsWith('Packets') ? s.passedPackets : s.passedBytes; } });
    reg.add({ subsystem: 'port_limit', label: 'port', names: ['rxRateMbps', 'rxQueueBytes', 'rxQueueMaxBytes', 'txRateMbps', 'txQueueBytes', 'txQueueMaxBytes'], thread: 'datapath', gauge: true, help: 'a port limiter\'s rate (0: that way is not limited) and the bytes waiting in its queues, now and at most (one thread\'s) since start',
      rows, read: (n, r) => { const s = side(n, r); return s === undefined ? 0 : n.endsWith('RateMbps') ? s.rateMbps : n.includes('Max') ? s.maxDepthBytes : s.depthBytes; } });
  }
  reg.add({ subsystem: 'mac_table', label: null, names: MAC_COUNTERS, rows: () => ['all'], read: (n) => p.macs.counter(n as (typeof MAC_COUNTERS)[number]), thread: 'datapath (atomic)', help: 'MAC learning and its refusals' });
  let reports: ReturnType<ControlTick['report']> = [];
  reg.add({
    subsystem: 'controller', label: 'controller', names: ['ticks', 'faults', 'busyMicros'], thread: 'main', help: 'control tick runs and faults of a controller, and the time its runs took (µs)',
    rows: () => (reports = p.tick.report()).map((c) => c.name), // read once per collection
    read: (n, r) => reports[r][n as 'ticks' | 'faults' | 'busyMicros'],
  });
  return reg;
}

// What the NIC measures for the queue manager: per RSS indirection entry, frames and bytes
// (counters, summed over the threads that steer); the heaviest flows and VMs of the last period
// (gauges: estimated bytes and frames, the most the bytes may be over, and a flow's queue).
function meterSets(reg: CounterRegistry, w: QueueWatch): void {
  const bucketRows = () => Array.from({ length: w.bucketCount }, (_, b) => String(b));
  w.shares.forEach((s, i) => {
    const b = new Float64Array(s.buckets);
    reg.add({ subsystem: 'rss_bucket', label: 'bucket', names: ['packets', 'bytes'], rows: bucketRows, read: (n, r) => b[2 * r + (n === 'bytes' ? 1 : 0)], thread: i === 0 ? 'main' : `datapath ${i - 1} I/O`, help: 'frames and bytes RSS sent through an indirection table entry' });
  });
  const HELP = `(every frame counted at low rates; at high rates estimated from about ${TARGET_SAMPLES} frames a period)`;
  const period = (subsystem: string, label: string, help: string, list: () => (FlowRate | VmRate)[], row: (x: FlowRate | VmRate) => string, withQueue: boolean) => {
    let rows: (FlowRate | VmRate)[] = [], secs = 0;
    const read: Record<string, (f: FlowRate | VmRate) => number> = {
      periodBytes: (f) => (f.bitsPerSecond / 8) * secs, periodFrames: (f) => f.packetsPerSecond * secs, periodErrorBytes: (f) => (f.errorBitsPerSecond / 8) * secs,
      ...(withQueue ? { queue: (f: FlowRate | VmRate) => f.queue } : {}),
    };
    reg.add({
      subsystem, label, names: Object.keys(read), gauge: true, thread: 'main', help: `${help} ${HELP}`,
      rows: () => { rows = list(); secs = (w.view?.periodMs ?? 0) / 1000; return rows.map(row); },
      read: (n, r) => read[n](rows[r]),
    });
  };
  period('heavy_flow', 'flow', 'the heaviest flows the NIC measured in the last period', () => w.view?.flows ?? [], (f) => (f as FlowRate).flow, true);
  period('heavy_vm', 'vm', 'the VMs (destination MAC, VLAN) the NIC measured the most bytes to in the last period', () => w.view?.vms ?? [], (v) => (v as VmRate).vm, false);
}
