// In-memory pipeline benchmark (issue: "ring -> parse -> RSS -> learning lookup -> forward ->
// ring", 64-byte frames): one thread, one thread with 1,000 programmed rules (every packet
// decided from the flow cache: the steady-state cost of rules), the same with every packet a
// flow-cache miss (the cost new flows pay), two worker threads, and the naive
// object-per-packet baseline. Correctness is checked before anything is timed.
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { MacTable } from '../src/vswitch/mac-table.js';
import { benchFrames, FLOWS, PipelineRig } from './pipeline-rig.js';
import { NaivePipeline } from './naive-pipeline.js';
import { figure, Figure, print, save } from './report.js';
import { RuleSpec } from '../src/flow/rule.js';

/** 1,000 ACL rules for other subnets (drop), one that admits the bench traffic, a QoS rule. */
export function benchRules(): RuleSpec[] {
  const rules: RuleSpec[] = [];
  for (let i = 0; i < 999; i++) {
    rules.push({ layer: 'acl', priority: 100 + (i % 50), match: { srcIp: `172.${16 + (i >> 8)}.${i & 255}.0/24`, proto: i & 1 ? 'tcp' : 'udp', ...(i % 3 === 0 ? { dstPort: 1000 + i } : {}) }, actions: [{ drop: true }] });
  }
  rules.push({ layer: 'acl', priority: 10, match: { srcIp: '10.0.0.0/8', proto: 'udp', dstPort: 4791 }, actions: [{ allow: true }] });
  rules.push({ layer: 'qos', priority: 1, match: { proto: 'udp', dstPort: 4791 }, actions: [{ rateClass: 3 }] });
  return rules;
}

const PER_ITER = 65536;

export async function pipelineBench(): Promise<Figure[]> {
  const frames = benchFrames(FLOWS);
  const rig = new PipelineRig(frames);
  const ruled = new PipelineRig(frames, undefined, benchRules());
  // The miss path: 4096 flows in turn through a 1024-entry cache, so no lookup ever hits (the
  // cost scans and floods of new flows pay: classification, switching, compiling the decision).
  const missFrames = benchFrames(4 * FLOWS);
  const missing = new PipelineRig(missFrames, undefined, benchRules(), undefined, FLOWS);
  const naive = new NaivePipeline();

  // Check: every packet comes out on port 1, none dropped or flooded, handles conserved.
  const out = rig.run(PER_ITER);
  if (out !== PER_ITER) throw new Error(`pipeline check: ${out} of ${PER_ITER} packets forwarded`);
  if (rig.source.count !== FLOWS) throw new Error(`pipeline check: ${rig.source.count} handles in circulation, expected ${FLOWS}`);
  if (ruled.run(PER_ITER) !== PER_ITER) throw new Error('pipeline check with rules: packets lost');
  const fc = ruled.flow.cache;
  if (fc.hits + fc.misses !== PER_ITER || fc.misses !== FLOWS) throw new Error(`pipeline check with rules: ${fc.hits} hits, ${fc.misses} misses`);
  if (ruled.flow.rules.counters[ruled.flow.rules.get('r1000')!.slot * 2] !== PER_ITER) throw new Error('pipeline check with rules: allow rule did not count every packet');
  missing.run(PER_ITER);
  const mc = missing.flow.cache, hits0 = mc.hits;
  if (missing.run(PER_ITER) !== PER_ITER || mc.hits !== hits0) throw new Error(`pipeline miss check: ${mc.hits - hits0} hits, expected none`);
  for (const f of frames) naive.receive(f, 0);
  naive.process();
  if (naive.out[1].length !== FLOWS || naive.out[0].length !== 0) throw new Error('naive check failed');

  const bench = new Bench({ time: 2000, warmupTime: 500 });
  bench.add('sluice pipeline, 1 thread', () => { rig.run(PER_ITER); });
  bench.add('sluice pipeline + 1,001 rules (flow cache hits), 1 thread', () => { ruled.run(PER_ITER); });
  bench.add('sluice pipeline + 1,001 rules, every packet a flow cache miss, 1 thread', () => { missing.run(PER_ITER); });
  bench.add('naive object-per-packet pipeline, 1 thread', () => {
    for (let i = 0; i < 4096; i++) naive.receive(frames[i & (FLOWS - 1)], 0);
    naive.process();
    naive.out[1].length = 0;
  });
  await bench.run();
  const figs: Figure[] = [];
  const per = [PER_ITER, PER_ITER, PER_ITER, 4096];
  bench.tasks.forEach((t, i) => {
    const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
    const ms = r.latency?.mean ?? r.mean!;
    figs.push(figure(t.name, per[i], ms / 1000));
  });
  figs.push(await twoWorkers());
  return figs;
}

// Two worker threads, each running the rig on its own pool and frames, learning into one
// shared MAC table, for a fixed time; the figure is their summed rate.
async function twoWorkers(): Promise<Figure> {
  const macs = new MacTable(4096, 2, 300);
  const seconds = 3;
  const results = await Promise.all([0, 1].map((w) => new Promise<{ packets: number; seconds: number }>((resolve, reject) => {
    const worker = new Worker(new URL('./pipeline-worker.js', import.meta.url), { workerData: { macs: macs.shared(), seconds, base: w * FLOWS } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  const packets = results.reduce((a, r) => a + r.packets, 0);
  const secs = Math.max(...results.map((r) => r.seconds));
  return figure('sluice pipeline, 2 worker threads (sum)', packets, secs, `${results.map((r) => (r.packets / r.seconds / 1e6).toFixed(2)).join(' + ')} Mpps`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await pipelineBench();
  print('in-memory pipeline, 64-byte frames, 1024 flows', figs);
  save('pipeline', figs);
}
