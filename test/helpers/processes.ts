// Child-process helpers for end-to-end tests: the switch and its UDP peers each run in
// their own process and talk over real sockets on 127.0.0.1.
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));
const PEER = fileURLToPath(new URL('./udp-peer.js', import.meta.url));

export interface Proc { child: ChildProcessWithoutNullStreams; lines: string[]; waitLine(re: RegExp, ms?: number): Promise<string>; exit: Promise<number> }

export function start(args: string[], opts: { node?: string[] } = {}): Proc {
  const child = spawn(process.execPath, [...(opts.node ?? []), ...args], { stdio: 'pipe' });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onLine = (l: string) => {
    lines.push(l);
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i].re.test(l)) { waiters[i].resolve(l); waiters.splice(i, 1); }
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', (l) => onLine(`stderr: ${l}`));
  const exit = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  return {
    child, lines, exit,
    waitLine(re, ms = 10000) {
      const hit = lines.find((l) => re.test(l));
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${ms} ms; got:\n${lines.join('\n')}`)), ms);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
      });
    },
  };
}

export class Peer {
  readonly p: Proc;
  private seen = 0;
  constructor(bind: string, remote: string) { this.p = start([PEER, bind, remote]); }
  ready(): Promise<string> { return this.p.waitLine(/^ready$/); }
  send(frame: Uint8Array): void { this.p.child.stdin.write(`send ${Buffer.from(frame).toString('hex')}\n`); }
  /** Frames received since the last call. */
  take(): Uint8Array[] {
    const got = this.p.lines.slice(this.seen).filter((l) => l.startsWith('recv ')).map((l) => Uint8Array.from(Buffer.from(l.slice(5), 'hex')));
    this.seen = this.p.lines.length;
    return got;
  }
  /** Frames received and not yet taken. */
  pending(): number { return this.p.lines.slice(this.seen).filter((l) => l.startsWith('recv ')).length; }
  async close(): Promise<void> { this.p.child.stdin.write('exit\n'); await this.p.exit; }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until each peer has at least the expected number of frames (up to 10 s), then a
 * little longer so stray extra frames would show, and take them all.
 */
export async function receive(peers: Peer[], expected: number[]): Promise<Uint8Array[][]> {
  const end = Date.now() + 10000;
  while (peers.some((p, i) => p.pending() < expected[i]) && Date.now() < end) await sleep(10);
  await sleep(150);
  return peers.map((p) => p.take());
}

/**
 * `sluice run` with two UDP ports p1, p2 (local 127.0.0.1:<base>1 and <base>2, remotes
 * 127.0.0.1:<peerBase>1 and <peerBase>2), `workers` and `queues`, its control API on
 * 127.0.0.1:`control`, the queue manager's rules `manager` (nic.manager; default: its own);
 * resolves once the API answers.
 */
export async function udpSwitch(o: { workers: number; queues: number; control: number; base: number; peerBase: number; manager?: object }): Promise<Proc> {
  const cfg = join(mkdtempSync(join(tmpdir(), 'sluice-udp-switch-')), 'switch.json');
  writeFileSync(cfg, JSON.stringify({
    workers: o.workers, nic: { queues: o.queues, ...(o.manager ? { manager: o.manager } : {}) }, stats: { intervalSeconds: 0 }, control: { listen: `127.0.0.1:${o.control}` },
    ports: [1, 2].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:${o.base}${n}`, remote: `127.0.0.1:${o.peerBase}${n}` } })),
  }));
  const sw = start([CLI, 'run', '--config', cfg]);
  try { await sw.waitLine(/control API on/); } catch (e) { sw.child.kill('SIGKILL'); throw e; }
  return sw;
}
