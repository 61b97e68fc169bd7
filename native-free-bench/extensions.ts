// Extension overhead: the in-memory pipeline (as in pipeline.ts, 64-byte frames, 1024
// flows) with 0, 1, 4 and 8 built-in no-op filter extensions, flow-cacheable and not. A
// cacheable extension is called once per flow and replayed from the flow cache after that;
// a non-cacheable one is called for every batch. A second series installs one rule, so the
// flow cache is in the path of the 0-extension case too. The rig takes 256 frames per round
// (full 64-frame batches per queue, as under load; $SLUICE_BENCH_BURST changes it).
// Checked before timing: every packet comes out, and every extension saw every packet
// (calls or cache hits).
import { Bench } from 'tinybench';
import { benchFrames, FLOWS, PipelineRig } from './pipeline-rig.js';
import { figure, Figure, print, save } from './report.js';

const PER_ITER = 65536;

export async function extensionsBench(): Promise<Figure[]> {
  const frames = benchFrames(FLOWS);
  const cases: [string, PipelineRig][] = [['0 extensions', new PipelineRig(frames)]];
  for (const cacheable of [false, true]) {
    for (const count of [1, 4, 8]) cases.push([`${count} no-op extension${count > 1 ? 's' : ''}, ${cacheable ? 'cacheable' : 'not cacheable'}`, new PipelineRig(frames, undefined, undefined, { count, cacheable })]);
  }
  // The same with one rule installed, so the flow cache is in the path of every case.
  const rule = [{ layer: 'qos' as const, priority: 1, match: { proto: 'udp' as const }, actions: [{ count: true as const }] }];
  cases.push(['0 extensions, flow cache in path (1 rule)', new PipelineRig(frames, undefined, rule)]);
  for (const count of [1, 4, 8]) cases.push([`${count} cacheable, flow cache in path (1 rule)`, new PipelineRig(frames, undefined, rule, { count, cacheable: true })]);
  const burst = Number(process.env.SLUICE_BENCH_BURST ?? 256);
  for (const [name, rig] of cases) {
    rig.inputBurst = burst;
    if (rig.run(PER_ITER) !== PER_ITER) throw new Error(`${name}: packets lost`);
    if (rig.ext) {
      const c = rig.ext.counters;
      for (let e = 0; e < rig.ext.exts.length; e++) {
        const seen = c.get('entries', e) + c.get('cacheHits', e);
        if (seen < PER_ITER) throw new Error(`${name}: extension ${e} saw ${seen} of ${PER_ITER} packets`);
      }
    }
  }
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  for (const [name, rig] of cases) bench.add(name, () => { rig.run(PER_ITER); });
  await bench.run();
  const figs = bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(t.name, PER_ITER, (r.latency?.mean ?? r.mean!) / 1000);
  });
  const base = figs[0].mpps, withCache = figs[7].mpps;
  figs.forEach((f, i) => {
    if (i === 0) return;
    f.note = `${((f.mpps / base) * 100).toFixed(0)}% of 0 extensions` + (i >= 7 ? `, ${((f.mpps / withCache) * 100).toFixed(0)}% of 0 extensions with the flow cache` : '');
  });
  return figs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await extensionsBench();
  print('pipeline with no-op extensions, 64-byte frames, 1024 flows, 1 thread', figs);
  save('extensions', figs);
}
