// QueueWatch: the NIC's measurements, gathered on the control tick once a period (PERIOD_MS,
// just after the threads' aligned periods end) —
// what the queue manager will decide from, and what `sluice queues` and /metrics show.
//
// Each producing thread's FlowMeter (the main thread's NIC and each worker's) publishes its
// period's heavy flows; RSS bucket counters only grow. Every period this controller ticks the
// main thread's meter, reads every thread's last period (a thread idle for two periods has
// nothing current: its table is left out), merges flows by 5-tuple and VMs by destination MAC
// and VLAN, and turns the bucket counters' growth since the last look into rates.

import ipaddr from 'ipaddr.js';
import { Controller } from './control-tick.js';
import { MeterPeriod, MeterShare, MeteredFlow, PERIOD_MS, periodStart, readMeter } from '../nic/flow-meter.js';

/** The view is taken this long after the threads' periods end (they publish on their next loop turn). */
const SETTLE_MS = 3;
import type { SoftNic } from '../nic/soft-nic.js';

/** Flows the view keeps (most bytes first). */
export const VIEW_FLOWS = 16;

/** A flow's rates, its queue, the RSS entry it hashes to (-1: a filter or rule chose its queue) and the port it comes in on. */
export interface FlowRate { flow: string; queue: number; entry: number; port: number; bitsPerSecond: number; packetsPerSecond: number; errorBitsPerSecond: number }
/** A VM (destination MAC and VLAN id: "02:00:00:00:00:02 vlan 10"; untagged is vlan 0) and what its frames' rates were, like a flow's. */
export type VmRate = Omit<FlowRate, 'flow' | 'entry' | 'port'> & { vm: string };
export interface BucketRate { bucket: number; packetsPerSecond: number; bitsPerSecond: number }

/** The last period's view. */
export interface QueueView {
  /** When it was taken (ms, the clock's time line) and over how long (ms). */
  atMs: number;
  periodMs: number;
  /** Heavy flows and VMs, most bytes first (estimates from sampled frames, with Space-Saving's error bound): VIEW_FLOWS at most. */
  flows: FlowRate[];
  /** Every flow the threads' tables held (the queue manager's candidates), with their keys. */
  all: (FlowRate & { key: Uint32Array })[];
  vms: VmRate[];
  /** The largest mean gap between samples of any thread at the end of its period (1: every frame counted). */
  sampleMean: number;
  /** Each RSS bucket's rates. */
  buckets: BucketRate[];
}

export class QueueWatch implements Controller {
  readonly name = 'queue-watch';
  private readonly main: SoftNic;
  /** Every producing thread's meter (the main thread's first), and the RSS table's size. */
  readonly shares: MeterShare[];
  readonly bucketCount: number;
  private last: Float64Array | null = null;
  private lastMs = 0;
  private next = -1;
  /** The latest view (null until two periods have passed). */
  view: QueueView | null = null;

  /** `main`: the main thread's NIC (this controller ticks its meter and its moves); `shares`: every producing thread's meter, the main one's included. */
  constructor(main: SoftNic, shares: MeterShare[], buckets: number) {
    this.main = main; this.shares = shares; this.bucketCount = buckets;
  }

  tick(nowUs: number): void {
    const nowMs = nowUs / 1000;
    this.main.meter.tick(nowMs);
    this.main.poll();
    if (this.next >= 0 && nowMs < this.next) return;
    this.next = periodStart(nowMs) + PERIOD_MS + SETTLE_MS;
    const sum = this.bucketTotals();
    if (this.last !== null) {
      const secs = (nowMs - this.lastMs) / 1000, buckets: BucketRate[] = [];
      for (let b = 0; b < this.bucketCount; b++) {
        buckets.push({ bucket: b, packetsPerSecond: (sum[2 * b] - this.last[2 * b]) / secs, bitsPerSecond: (8 * (sum[2 * b + 1] - this.last[2 * b + 1])) / secs });
      }
      const periods = this.shares.map(readMeter).filter((p): p is MeterPeriod => p !== null && nowMs - (p.startMs + p.periodMs) <= 2 * PERIOD_MS);
      const all = merge(periods, (p) => p.flows, flowText).map(({ name, ...r }) => ({ flow: name, ...r }));
      const flows = all.slice(0, VIEW_FLOWS).map(({ key, ...r }) => r);
      const vms = merge(periods, (p) => p.vms, vmText).slice(0, VIEW_FLOWS).map(({ name, entry, port, key, ...r }) => ({ vm: name, ...r }));
      const sampleMean = periods.reduce((m, p) => Math.max(m, p.mean), 1);
      this.view = { atMs: nowMs, periodMs: nowMs - this.lastMs, flows, all, vms, sampleMean, buckets };
    }
    this.last = sum; this.lastMs = nowMs;
  }

  private bucketTotals(): Float64Array {
    const sum = new Float64Array(2 * this.bucketCount);
    for (const s of this.shares) { const b = new Float64Array(s.buckets); for (let i = 0; i < sum.length; i++) sum[i] += b[i]; }
    return sum;
  }
}

// The threads' current periods merged by key (flows of one VM may come through several threads),
// as rates, heaviest first; a thread idle for two periods has nothing current and is left out.
function merge(periods: MeterPeriod[], pick: (p: MeterPeriod) => MeteredFlow[], name: (k: Uint32Array) => string): (Omit<FlowRate, 'flow'> & { name: string; key: Uint32Array })[] {
  const merged = new Map<string, { key: Uint32Array; queue: number; entry: number; port: number; bps: number; pps: number; err: number }>();
  for (const p of periods) {
    const secs = p.periodMs / 1000; // threads' periods differ in length: rates per thread, then summed
    for (const f of pick(p)) {
      const id = name(f.key), m = merged.get(id) ?? { key: f.key, queue: f.queue, entry: f.entry, port: f.port, bps: 0, pps: 0, err: 0 };
      m.bps += (8 * f.bytes) / secs; m.pps += f.packets / secs; m.err += (8 * f.error) / secs;
      merged.set(id, m);
    }
  }
  return [...merged].map(([n, m]) => ({ name: n, key: m.key, queue: m.queue, entry: m.entry, port: m.port, bitsPerSecond: m.bps, packetsPerSecond: m.pps, errorBitsPerSecond: m.err }))
    .sort((a, b) => b.bitsPerSecond - a.bitsPerSecond);
}

/** A VM entry's key (flow-meter.ts, VM_MARK) as text: "02:00:00:00:00:02 vlan 10". */
export function vmText(k: Uint32Array): string {
  const b = [(k[5] >>> 8) & 255, k[5] & 255, k[6] >>> 24, (k[6] >>> 16) & 255, (k[6] >>> 8) & 255, k[6] & 255];
  return `${b.map((x) => x.toString(16).padStart(2, '0')).join(':')} vlan ${k[5] >>> 16}`;
}

const PROTOS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };

/** An IP flow's fields from its key words (key layout of src/flow/key.ts); null when the key is not IPv4 or IPv6. */
export function keyFields(k: Uint32Array): { version: 4 | 6; proto: number; src: string; dst: string; sport: number; dport: number } | null {
  const proto = (k[1] >>> 8) & 0xff, version = (k[1] >>> 4) & 0xf;
  if (version !== 4 && version !== 6) return null;
  const addr = (w: number): string => {
    if (version === 4) return ipaddr.fromByteArray([k[w] >>> 24, (k[w] >>> 16) & 255, (k[w] >>> 8) & 255, k[w] & 255]).toString();
    const b: number[] = [];
    for (let i = 0; i < 4; i++) b.push(k[w + i] >>> 24, (k[w + i] >>> 16) & 255, (k[w + i] >>> 8) & 255, k[w + i] & 255);
    return ipaddr.fromByteArray(b).toString();
  };
  return { version, proto, src: addr(5), dst: addr(9), sport: k[13] >>> 16, dport: k[13] & 0xffff };
}

/** A flow's 5-tuple words as text: "tcp 10.0.0.1:5000 > 10.0.0.2:80". */
export function flowText(k: Uint32Array): string {
  const f = keyFields(k);
  if (f === null) return `ethertype 0x${(k[1] >>> 16).toString(16).padStart(4, '0')}`;
  const name = PROTOS[f.proto] ?? `proto ${f.proto}`, ports = f.proto === 6 || f.proto === 17 || f.proto === 132;
  const a = (x: string) => (f.version === 6 ? `[${x}]` : x);
  return ports ? `${name} ${a(f.src)}:${f.sport} > ${a(f.dst)}:${f.dport}` : `${name} ${a(f.src)} > ${a(f.dst)}`;
}
