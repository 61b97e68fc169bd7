// A/B of the in-memory pipeline: this checkout against an older commit, both loaded into this
// one process (each build's own modules) and timed in alternating slices, so both see the
// same machine state. Whole runs in separate processes drift too much on this kind of VM for
// a 3% question (the naive baseline alone moved 0.90-1.27x between paired runs).
//
//   node dist/scripts/ab-pipeline.js --base <commit> [--rounds 60] [--slice-ms 40]
//
// Cases (pipeline-rig.ts of each build, 64-byte frames, 1024 flows, one thread): the plain
// learning switch, 1,001 rules with flow-cache hits, the same with every packet a miss, and
// the extension ratio — 8 no-op extensions (cacheable, and not) against 0 at the same input
// burst as native-free-bench/extensions.ts. Every case is checked (every packet forwarded)
// before timing. Per round, each case runs once per build (order alternating); a ratio is
// the median over rounds of this build's throughput over the base's in the same round.

import { join, resolve } from 'node:path';
import { withBaseTree } from './base-tree.js';
import { median } from '../native-free-bench/report.js';

type Rig = { run(n: number): number; inputBurst: number };
interface Build {
  PipelineRig: new (frames: Uint8Array[], macs?: unknown, rules?: unknown[], ext?: { count: number; cacheable: boolean }, cache?: number) => Rig;
  benchFrames: (n: number) => Uint8Array[];
  FLOWS: number;
  benchRules: () => unknown[];
}

const argv = process.argv.slice(2);
let base = '', rounds = 60, sliceMs = 40;
while (argv.length) {
  const flag = argv.shift();
  if (flag === '--base') base = argv.shift() ?? '';
  else if (flag === '--rounds') rounds = Number(argv.shift());
  else if (flag === '--slice-ms') sliceMs = Number(argv.shift());
  else { process.stderr.write(`unknown argument ${flag}\nusage: node dist/scripts/ab-pipeline.js --base <commit> [--rounds N] [--slice-ms MS]\n`); process.exit(2); }
}
if (base === '' || !Number.isInteger(rounds) || rounds < 1 || !(sliceMs > 0)) { process.stderr.write('usage: node dist/scripts/ab-pipeline.js --base <commit> [--rounds N] [--slice-ms MS]\n'); process.exit(2); }

const PER = 65536;

async function load(dir: string): Promise<Build> {
  const rig = await import(join(dir, 'dist', 'native-free-bench', 'pipeline-rig.js')) as Omit<Build, 'benchRules'>;
  const pipe = await import(join(dir, 'dist', 'native-free-bench', 'pipeline.js')) as Pick<Build, 'benchRules'>;
  return { ...rig, benchRules: pipe.benchRules };
}

function cases(b: Build): [string, Rig][] {
  const frames = b.benchFrames(b.FLOWS);
  const withBurst = (r: Rig) => { r.inputBurst = 256; return r; };
  return [
    ['pipeline, learning switch', new b.PipelineRig(frames)],
    ['pipeline + 1,001 rules, flow-cache hits', new b.PipelineRig(frames, undefined, b.benchRules())],
    ['pipeline + 1,001 rules, every packet a miss', new b.PipelineRig(b.benchFrames(4 * b.FLOWS), undefined, b.benchRules(), undefined, b.FLOWS)],
    ['0 extensions (burst 256)', withBurst(new b.PipelineRig(frames))],
    ['8 no-op extensions, cacheable (burst 256)', withBurst(new b.PipelineRig(frames, undefined, undefined, { count: 8, cacheable: true }))],
    ['8 no-op extensions, not cacheable (burst 256)', withBurst(new b.PipelineRig(frames, undefined, undefined, { count: 8, cacheable: false }))],
  ];
}

// ns per packet of one slice of rig.run.
function slice(rig: Rig): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < sliceMs) { rig.run(PER); n += PER; t = performance.now(); }
  return ((t - t0) * 1e6) / n;
}


await withBaseTree(base, async (tree, baseRev, headRev) => {
  const builds = [await load(tree), await load(resolve('.'))];
  const rigs = builds.map(cases);
  for (const set of rigs) for (const [name, rig] of set) if (rig.run(PER) !== PER) throw new Error(`${name}: not every packet was forwarded`);
  const ns = rigs.map((set) => set.map(() => [] as number[]));
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < rigs[0].length; c++) {
      const order = (r + c) % 2 === 0 ? [0, 1] : [1, 0];
      for (const b of order) ns[b][c].push(slice(rigs[b][c][1]));
    }
    if ((r + 1) % 10 === 0) process.stderr.write(`round ${r + 1}/${rounds}\n`);
  }
  console.log(`A/B in-memory pipeline: base ${baseRev} vs ${headRev}, ${rounds} rounds of ${sliceMs} ms slices, node ${process.version}`);
  rigs[0].forEach(([name], c) => {
    const ratios = ns[0][c].map((a, r) => a / ns[1][c][r]);
    const mpps = (x: number[]) => (1e3 / median(x)).toFixed(3);
    console.log(`  ${name.padEnd(48)} base ${mpps(ns[0][c])} Mpps  this ${mpps(ns[1][c])} Mpps  ratio ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`);
  });
  // The extension ratio: 8 extensions over 0 within each build and round, then this over base.
  for (const c of [4, 5]) {
    const share = (b: number) => ns[b][3].map((zero, r) => zero / ns[b][c][r]);
    const a = share(0), b = share(1);
    console.log(`  ${rigs[0][c][0]} / 0 extensions: base ${(median(a) * 100).toFixed(1)}%  this ${(median(b) * 100).toFixed(1)}%  ratio ${median(b.map((x, r) => x / a[r])).toFixed(3)}`);
  }
});
