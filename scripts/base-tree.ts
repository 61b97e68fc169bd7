// withBaseTree: check an older commit out into a temporary git worktree, build it with this
// checkout's node_modules — TypeScript, and the native module when this checkout has one built
// (else a socket A/B would set the base's Node dgram fallback against native I/O) — run `fn`
// with its directory, and remove it again (also on error).
// Used by the A/B scripts (ab.ts, ab-pipeline.ts).
// Overlay files come from this checkout's HEAD commit (by hash: inside the worktree HEAD is the base).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** `overlay`: files taken from this checkout's HEAD into the base tree (a benchmark harness fixed since). */
export async function withBaseTree<T>(base: string, fn: (tree: string, baseRev: string, headRev: string) => Promise<T>, overlay: string[] = []): Promise<T> {
  const here = resolve('.');
  const git = (...a: string[]) => execFileSync('git', a, { cwd: here, stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
  const baseRev = git('rev-parse', '--short', base);
  const headRev = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '+changes');
  const tree = mkdtempSync(join(tmpdir(), 'sluice-ab-'));
  try {
    git('worktree', 'add', '--detach', tree, base);
    if (overlay.length) execFileSync('git', ['checkout', git('rev-parse', 'HEAD'), '--', ...overlay], { cwd: tree, stdio: 'inherit' });
    symlinkSync(join(here, 'node_modules'), join(tree, 'node_modules'));
    execFileSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: tree, stdio: 'inherit' });
    const addon = join('src', 'native', 'build', 'Release', 'sluice_io.node');
    if (existsSync(join(here, addon))) {
      // npm's own node-gyp, as `npm install` runs it (works offline against the installed headers).
      execFileSync('npm', ['run', 'install', '--silent'], { cwd: tree, stdio: 'inherit' });
      if (!existsSync(join(tree, addon))) throw new Error(`the base ${baseRev}'s native module did not build: a socket A/B would compare it on the dgram fallback`);
    }
    return await fn(tree, baseRev, headRev);
  } finally {
    try { git('worktree', 'remove', '--force', tree); } catch { rmSync(tree, { recursive: true, force: true }); }
  }
}
