// `sluice bench`: the standard benchmark of the whole switch in memory — NIC (parse, RSS,
// queues), worker threads or the inline pipeline, rules, extensions, transmit — on synthetic
// traffic or on a capture loaded into memory, pushed as fast as the switch takes it.
// Two memory ports: frames enter p1 for MACs learned on p2 (or, for a capture, wherever its
// frames go). Reports Mpps, Gbps, ns/packet, the flow-cache hit rate, per-queue balance, the
// machine, the Node version and the options; --json prints one object.

import os from 'node:os';
import { dropReasons } from './report.js';
import { onStopSignals } from './stop-signals.js';
import { ConversationSplit } from '../capture/conversation-split.js';
import { CaptureError, CaptureReader, LINKTYPE_ETHERNET } from '../capture/capture-reader.js';
import { Dataplane } from '../datapath/dataplane.js';
import { MemoryEndpoint } from '../endpoints/memory.js';
import { RuleSpec } from '../flow/rule.js';
import { buildFrame } from '../wire/frame-builder.js';
import { fileProblem } from '../quote.js';

export interface BenchOptions {
  flows: number;
  sizes: number[];
  rules: number;
  extensions: number;
  cacheable: boolean;
  workers: number;
  queues: number;
  seconds: number;
  pcap?: string;
  json: boolean;
}

export interface BenchResult {
  mpps: number; gbps: number; nsPerPacket: number; packets: number; seconds: number;
  flowCacheHitRate: number; flowCacheLookups: number; queueShare: number[]; machine: string; node: string; options: Omit<BenchOptions, 'json'>;
  /** Frames the switch sent, and dropped (by counter) while measuring. */
  forwarded: number; drops: number; dropsByReason: Record<string, number>;
  /** Ctrl-C ended the measurement early. */
  interrupted: boolean;
}

const SRC = '02:00:00:00:00:01', DST = '02:00:00:00:00:02';

function synthetic(flows: number, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < flows; i++) {
    out.push(buildFrame({ dst: DST, src: SRC, ipv4: { src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '10.200.0.1' }, udp: { sport: 1024 + (i % 50000), dport: 4791 }, padTo: sizes[i % sizes.length] }));
  }
  return out;
}

function loadCapture(file: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let r: CaptureReader;
  try { r = CaptureReader.open(file); } catch (e) { throw new Error(`${file}: ${e instanceof CaptureError ? e.message : fileProblem(e)}`); }
  try { while (r.next()) if (r.linkType === LINKTYPE_ETHERNET && r.caplen >= 14 && r.caplen <= 2048 - 128) out.push(r.data.slice(r.off, r.off + r.caplen)); } finally { r.close(); }
  if (out.length === 0) throw new Error(`${file}: no Ethernet records of at most 1920 bytes to replay`);
  return out;
}

/** Rules that do not match the benchmark traffic, plus one that allows it: every packet is classified. */
function benchRules(n: number): RuleSpec[] {
  const rules: RuleSpec[] = [];
  for (let i = 0; i < n - 1; i++) rules.push({ layer: 'acl', priority: 100 + (i % 50), match: { srcIp: `172.${16 + ((i >> 8) & 15)}.${i & 255}.0/24`, proto: i & 1 ? 'tcp' : 'udp' }, actions: [{ drop: true }] });
  if (n > 0) rules.push({ layer: 'acl', priority: 1, match: { proto: 'udp' }, actions: [{ allow: true }] });
  return rules;
}

export async function bench(o: BenchOptions): Promise<BenchResult> {
  const frames = o.pcap ? loadCapture(o.pcap) : synthetic(o.flows, o.sizes);
  // Capture frames enter the port the conversation split gives them (as replay does), so the
  // two sides of each conversation are on different ports; synthetic ones all enter p1.
  const split = new ConversationSplit(2);
  const inPort = Uint8Array.from(frames, (f) => (o.pcap ? split.portFor(f, 0, f.length) : 0));
  const eps = [new MemoryEndpoint(0), new MemoryEndpoint(0)];
  const ringSize = 1024;
  const dp = new Dataplane({
    poolSlots: 16384, slotSize: 2048, queues: o.queues, ringSize, txRingSize: ringSize, workers: o.workers,
    filterCapacity: 64, macTableSize: 65536, macAgingSeconds: 300,
    ports: eps.map((e, i) => ({ name: `p${i + 1}`, endpoint: e, vlan: { mode: 'access' as const, vlan: 1 } })),
    rules: { add: benchRules(o.rules) },
    extensions: Array.from({ length: o.extensions }, (_, e) => ({ module: 'noop', enabled: true, failMode: 'open' as const, config: { name: `noop${e}`, kind: 'filter', cacheable: o.cacheable } })),
  });
  await dp.start();
  let signalsOff = () => undefined as void;
  try {
    // Teach the switch where DST lives.
    eps[1].inject(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: DST, etherType: 0x88b5, payload: 46 }));
    const maxInFlight = ringSize - 64;
    const yieldLoop = () => new Promise((r) => setImmediate(r));
    // Ctrl-C ends the measurement early; the figures so far are still printed.
    let stopped = false;
    signalsOff = onStopSignals(() => { stopped = true; });
    const push = async (until: number) => {
      let n = 0, bytes = 0, i = 0;
      for (;;) {
        for (let k = 0; k < 256; k++) {
          while (dp.poolFree < 16384 - maxInFlight) await yieldLoop();
          const f = frames[i];
          if (dp.inject(inPort[i], f, 0, f.length)) { n++; bytes += f.length; }
          if (++i === frames.length) i = 0;
        }
        await yieldLoop();
        if (performance.now() >= until || stopped) return { n, bytes };
      }
    };
    await push(performance.now() + 300); // warm up
    const s0 = dp.stats();
    const t0 = performance.now();
    const { n, bytes } = await push(t0 + o.seconds * 1000);
    while (dp.poolFree < 16384) { dp.poll(); await yieldLoop(); }
    const seconds = (performance.now() - t0) / 1000;
    const s1 = dp.stats();
    const d0 = dropReasons(s0), d1 = dropReasons(s1);
    const dropsByReason: Record<string, number> = {};
    for (const [k, v] of Object.entries(d1)) if (v - (d0[k] ?? 0) > 0) dropsByReason[k] = v - (d0[k] ?? 0);
    const sent = (st: typeof s0) => st.ports.reduce((a, p) => a + p.counters.txPackets, 0);
    const perQueue = s1.queues.map((q, i) => q.counters.packets - s0.queues[i].counters.packets);
    const total = perQueue.reduce((a, b) => a + b, 0) || 1;
    const hits = s1.flows.cache.hits - s0.flows.cache.hits, misses = s1.flows.cache.misses - s0.flows.cache.misses;
    const { json: _json, ...options } = o;
    void _json;
    return {
      mpps: n / seconds / 1e6, gbps: (bytes * 8) / seconds / 1e9, nsPerPacket: (seconds * 1e9) / n, packets: n, seconds,
      flowCacheHitRate: hits + misses === 0 ? 0 : hits / (hits + misses), flowCacheLookups: hits + misses,
      queueShare: perQueue.map((q) => q / total),
      machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${os.platform()} ${os.release()}`,
      node: process.version, options,
      forwarded: sent(s1) - sent(s0), drops: Object.values(dropsByReason).reduce((a, b) => a + b, 0), dropsByReason, interrupted: stopped,
    };
  } finally {
    signalsOff();
    await dp.stop();
  }
}

export function benchText(r: BenchResult): string {
  const o = r.options;
  return [
    `sluice bench — ${r.machine}, node ${r.node}`,
    `  traffic: ${o.pcap ? `capture ${o.pcap}` : `${o.flows} flows, frame sizes ${o.sizes.join('/')} B`}; ${o.rules} rules; ${o.extensions} no-op extension(s)${o.extensions ? (o.cacheable ? ', cacheable' : ', not cacheable') : ''}; ${o.workers === 0 ? 'pipeline on the main thread' : `${o.workers} worker thread(s)`}, ${o.queues} queues`,
    `  ${r.mpps.toFixed(3)} Mpps, ${r.gbps.toFixed(3)} Gbps, ${r.nsPerPacket.toFixed(1)} ns/packet (${r.packets} packets in ${r.seconds.toFixed(2)} s)`,
    `  forwarded ${r.forwarded}, dropped ${r.drops}${r.drops ? ` (${Object.entries(r.dropsByReason).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}${r.interrupted ? '; stopped early by Ctrl-C' : ''}`,
    `  ${r.flowCacheLookups === 0 ? 'flow cache not in the path (nothing to classify: no rules, no cacheable extension)' : `flow cache hit rate ${(r.flowCacheHitRate * 100).toFixed(1)}%`}; queue balance ${r.queueShare.map((q, i) => `q${i} ${(q * 100).toFixed(1)}%`).join('  ')}`,
  ].join('\n');
}
