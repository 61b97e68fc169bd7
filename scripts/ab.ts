// A/B: run one benchmark of this checkout and of an older commit interleaved, and print the
// median of the paired ratios (this / base) per figure. The machine drifts 2-3x between
// states, so only side-by-side pairs mean anything: each pair runs both builds back to back,
// alternating which goes first.
//
//   node dist/scripts/ab.js --base <commit> [--pairs 5] [--overlay <path>]... <benchmark script under dist/> [args...]
//   (--overlay: take this file from this checkout's HEAD into the base tree, e.g. a benchmark
//   harness fixed since the base)
//   e.g. node dist/scripts/ab.js --base dd947fb native-free-bench/pipeline.js
//
// For in-memory pipeline figures use ab-pipeline.js (both builds in one process, timed in
// alternating slices): whole runs drift too much here for anything but socket benchmarks.
// The base is built in a temporary git worktree (base-tree.ts). A figure is any output line
// with "<number> Mpps|kpps"; lines are matched by the text before the number.

import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { withBaseTree } from './base-tree.js';
import { median } from '../native-free-bench/report.js';

function usage(msg: string): never {
  process.stderr.write(`${msg}\nusage: node dist/scripts/ab.js --base <commit> [--pairs N] [--overlay path]... <script under dist/, e.g. native-free-bench/pipeline.js> [args...]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let base = '', pairs = 5;
const overlay: string[] = [];
while (argv[0]?.startsWith('--')) {
  const flag = argv.shift()!;
  if (flag === '--base') base = argv.shift() ?? usage('--base needs a commit');
  else if (flag === '--overlay') overlay.push(argv.shift() ?? usage('--overlay needs a path'));
  else if (flag === '--pairs') { pairs = Number(argv.shift()); if (!Number.isInteger(pairs) || pairs < 1) usage('--pairs needs a whole number >= 1'); }
  else usage(`unknown option ${flag}`);
}
if (base === '' || argv.length === 0) usage('a base commit and a benchmark script are needed');
const [script, ...args] = argv;

const here = resolve('.');

/** Figures of one run: label -> value (Mpps or kpps as printed). */
function run(dir: string): Map<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', join(dir, 'dist', script), ...args], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`${dir}: ${script} exited ${r.status}\n${r.stderr}`);
  const figures = new Map<string, number>();
  for (const line of (r.stdout + r.stderr).split('\n')) {
    const m = /^\s*(.*?)\s+([\d.]+)\s+(Mpps|kpps)\b/.exec(line);
    if (m) figures.set(`${m[1]} (${m[3]})`, Number(m[2]));
  }
  return figures;
}


await withBaseTree(base, async (tree, baseRev, headRev) => {
  if (overlay.length) console.log(`base tree overlaid with this checkout's ${overlay.join(', ')}`);
  const ratios = new Map<string, number[]>();
  const values = new Map<string, { a: number[]; b: number[] }>();
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [tree, here] : [here, tree];
    const got = new Map(order.map((d) => [d, run(d)]));
    const a = got.get(tree)!, b = got.get(here)!;
    for (const [label, vb] of b) {
      const va = a.get(label);
      if (va === undefined || va === 0) continue;
      if (!ratios.has(label)) { ratios.set(label, []); values.set(label, { a: [], b: [] }); }
      ratios.get(label)!.push(vb / va);
      values.get(label)!.a.push(va); values.get(label)!.b.push(vb);
    }
    process.stderr.write(`pair ${p + 1}/${pairs} done\n`);
  }
  console.log(`A/B ${script} ${args.join(' ')}: base ${baseRev} vs ${headRev}, ${pairs} interleaved pairs, node ${process.version}`);
  for (const [label, r] of ratios) {
    const v = values.get(label)!;
    console.log(`  ${label}\n    base ${v.a.map((x) => x.toFixed(3)).join(' ')}\n    this ${v.b.map((x) => x.toFixed(3)).join(' ')}\n    ratios ${r.map((x) => x.toFixed(3)).join(' ')}  median ${median(r).toFixed(3)}`);
  }
}, overlay);
