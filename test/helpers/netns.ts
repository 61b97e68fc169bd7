// Network namespaces for tests that attach real hosts to sluice: made with iproute2, removed
// in `finally` (and before use, in case an earlier run was killed), so no namespace is left.

import { execFileSync, spawn, spawnSync } from 'node:child_process';

/** Run a command; its standard output. Throws with its standard error on failure. */
export function sh(cmd: string, args: string[], timeoutMs = 20000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Run a command in namespace `ns`. */
export function inNs(ns: string, cmd: string[], timeoutMs = 20000): string {
  return sh('ip', ['netns', 'exec', ns, ...cmd], timeoutMs);
}

/** Run a command in `ns` without waiting; resolves with its standard output when it exits. */
export function inNsAsync(ns: string, cmd: string[]): { done: Promise<string>; kill: () => void } {
  const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  return { done: new Promise((r) => child.on('exit', () => r(out))), kill: () => child.kill('SIGKILL') };
}

export function delNs(ns: string): void {
  try { sh('ip', ['netns', 'del', ns]); } catch { /* not there */ }
}

export function addNs(ns: string): void {
  delNs(ns);
  sh('ip', ['netns', 'add', ns]);
  inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
}

/** Move interface `dev` into `ns`, give it `cidr` and bring it up. */
export function plug(ns: string, dev: string, cidr: string): void {
  sh('ip', ['link', 'set', dev, 'netns', ns]);
  inNs(ns, ['ip', 'addr', 'add', cidr, 'dev', dev]);
  inNs(ns, ['ip', 'link', 'set', dev, 'up']);
}

/** Is `cmd` on the PATH? */
export function have(cmd: string): boolean {
  try { sh('sh', ['-c', `command -v ${cmd}`]); return true; } catch { return false; }
}

/** ping statistics: packets sent and received, and the round-trip times in microseconds. */
export function ping(ns: string, ip: string, count: number, intervalS = 0.2): { sent: number; received: number; rttUs: number[] } {
  const out = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-c', String(count), '-i', String(intervalS), '-W', '2', ip], { encoding: 'utf8', timeout: 60000 }).stdout;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((x) => Math.round(Number(x[1]) * 1000));
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), rttUs: rtts };
}
