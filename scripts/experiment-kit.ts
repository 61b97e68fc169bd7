// experiment-kit: what the guarantee experiments share (guarantee-experiments.ts) — processes in
// namespaces, tcpdump captures binned into rates on the wire, and priming the testbed (neighbours,
// ECN, learned MACs).

import { spawn, ChildProcess } from 'node:child_process';
import { inNs, Testbed, TestbedVm } from './testbed.js';
import { CaptureReader } from '../src/capture/capture-reader.js';
import { WIRE_OVERHEAD } from '../src/endpoints/vxlan-codec.js';

/** Target utilisation the hosts run with (guarantees' default). */
export const GAMMA = 0.95;
/** The window the experiments judge rates over (ms). */
export const WINDOW_MS = 10;
/** Names of the experiments' testbeds start with it. */
export const PREFIX = 'gx';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A process in namespace `ns` (its output ignored); resolves when it exits.
export function inNsBg(ns: string, args: string[]): { p: ChildProcess; done: Promise<number> } {
  const p = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: 'ignore' });
  return { p, done: new Promise((r) => p.on('exit', (c) => r(c ?? -1))) };
}

// Wire bytes (frame + `overhead`, default 74, as the downlink counts them) per `binMs` of the
// IPv4 frames from `src` (null: every frame) in capture `file`, keyed by bin (ms since the
// epoch / binMs); and the first and last frame's times (ms).
export function binsOf(file: string, src: string | null, binMs: number, overhead = WIRE_OVERHEAD): { bins: Map<number, number>; first: number; last: number } {
  const r = CaptureReader.open(file), s = src?.split('.').map(Number), bins = new Map<number, number>();
  let first = Infinity, last = 0;
  while (r.next()) {
    const d = r.data, o = r.off;
    if (s && (r.caplen < 34 || d[o + 12] !== 0x08 || d[o + 13] !== 0x00)) continue;
    if (s && (d[o + 26] !== s[0] || d[o + 27] !== s[1] || d[o + 28] !== s[2] || d[o + 29] !== s[3])) continue;
    const t = r.tsSec * 1000 + r.tsNsec / 1e6;
    first = Math.min(first, t); last = Math.max(last, t);
    const w = Math.floor(t / binMs);
    bins.set(w, (bins.get(w) ?? 0) + r.origLen + overhead);
  }
  return { bins, first, last };
}

// Per 10 ms window, the Mb/s on the wire of the TCP data from `src` in capture `file`; the first
// second (slow start) and the last half second left out.
export function windowsOf(file: string, src: string): number[] {
  const { bins, first, last } = binsOf(file, src, WINDOW_MS), out: number[] = [];
  for (let w = Math.floor((first + 1000) / WINDOW_MS); w < Math.floor((last - 500) / WINDOW_MS); w++) out.push(((bins.get(w) ?? 0) * 8) / (WINDOW_MS * 1000));
  return out;
}

// Static neighbours between all VMs, ECN for the VMs' TCP (as data-centre hosts run it: the pair
// limiters mark before they drop), and one ping each way for the pairs used (MACs learned).
export function prime(tb: Testbed, pairs: [TestbedVm, TestbedVm][]): void {
  for (const v of tb.vms) inNs(v.ns, ['sysctl', '-qw', 'net.ipv4.tcp_ecn=1']);
  for (const v of tb.vms) for (const w of tb.vms) if (v !== w && v.host !== w.host) inNs(v.ns, ['ip', 'neigh', 'replace', w.ip, 'lladdr', w.mac, 'dev', v.dev]);
  for (const [a, b] of pairs) inNs(a.ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', b.ip]);
}

