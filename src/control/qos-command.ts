// `sluice qos`: predictable bandwidth on the running switch, from its control API (GET /qos):
// ports' limits and guarantees; per tunnel uplink with guarantees, the receiving side (each VM's
// arrival rate, share and grant, congestion, notices sent) and the sending side (notices taken
// and refused by reason, the pair limiters and their rates). With --trace, every port's bytes each
// way in 1 ms bins, to a CSV file (GET /qos/trace). Exit codes: 0, 1 unreachable, 2 usage.

import { closeSync, openSync, writeSync } from 'node:fs';
import { ClientError, clientArgs, request } from './client.js';
import type { DataplaneStats } from '../datapath/dataplane-stats.js';
import { RateTrace, TRACE_RING_MS, TraceBins } from '../datapath/rate-trace.js';
import { systemClock } from '../clock.js';

export const QOS_HELP = `usage: sluice qos [options]

  Ports' maximum rates (qos.maxRxMbps, qos.maxTxMbps) with what their limiters passed and
  dropped; for each tunnel uplink with guarantees:
    receiving side: per VM its arrival rate, its share of the downlink and the grant its
      senders are told, whether its senders exceed the share, and the notices sent;
    sending side: notices taken and refused (by reason), and every (VM, remote VM) limiter
      with the rate its receiver's host granted.

  --trace FILE: every port's bytes each way in 1 ms bins, written to FILE as CSV while it
    runs: a column "ms" (Unix time, ms) and per port NAME.rxBytes (from its endpoint: what the
    VM sent) and NAME.txBytes (sent to it). Mb/s in a bin = bytes × 0.008. It starts with
    the last second before the command and reads the switch every 250 ms. Only ports the
    datapath workers run (native endpoints) are traced; the rest are named on stderr.

options:
  --trace FILE        write the 1 ms trace to FILE instead of printing the state
  --seconds S         with --trace: stop after S seconds (default 10; 0: at Ctrl-C)
  --control ADDRESS   the switch's control API: unix:PATH or loopback IP:PORT
                      (default: $SLUICE_CONTROL or the default socket, see sluice run --help-config)
  --json              print the API's JSON answer
`;

/** GET /qos's answer: the ports' QoS parts of the switch's stats. */
export function qosOf(s: DataplaneStats): { portNames: string[]; ports: Record<string, unknown>[] } {
  return {
    portNames: s.ports.map((p) => p.name),
    ports: s.ports.filter((p) => p.limits || p.tunnels?.watch || p.tunnels?.notices).map((p) => ({
      name: p.name, ...(p.limits ? { limits: p.limits } : {}),
      ...(p.tunnels?.watch ? { watch: p.tunnels.watch, notices: p.tunnels.notices, limiters: p.tunnels.limiters ?? [], limitersFull: p.tunnels.limitersFull ?? 0, link: p.tunnels.link ? { rateMbps: p.tunnels.link.rx.rateMbps } : undefined } : {}),
    })),
  };
}

/** GET /qos/trace's answer: the bins since `sinceMs` (absent: the last second). */
export function traceOf(t: RateTrace, sinceMs?: number): Record<string, unknown> {
  return t.read(systemClock.micros() / 1000, sinceMs) as unknown as Record<string, unknown>;
}

const mbps = (bps: number) => (bps / 1e6).toFixed(1);

/** The answer as text for people. */
export function qosText(q: { ports: Record<string, unknown>[] }, names: string[]): string {
  if (q.ports.length === 0) return 'no port has a rate limit, and no uplink has guarantees\n';
  const out: string[] = [];
  for (const p of q.ports as { name: string; limits?: Record<string, { rateMbps: number; passedPackets: number; droppedPackets: number; maxDepthBytes: number }>; watch?: { counters: Record<string, number>; ports: { port: number; arrivalBps: number; shareBps: number; grantBps: number; over: boolean }[] }; notices?: Record<string, number>; limiters?: { vni: number; sender: string; receiver: string; rateMbps: number }[]; limitersFull?: number }[]) {
    for (const [dir, l] of Object.entries(p.limits ?? {})) out.push(`${p.name}: limit ${dir} ${l.rateMbps} Mb/s, passed ${l.passedPackets}, dropped ${l.droppedPackets}, queue max ${l.maxDepthBytes} B`);
    if (!p.watch) continue;
    const c = p.watch.counters;
    out.push(`${p.name} (tunnel uplink with guarantees):`);
    out.push(`  receiving: ${c.intervals} intervals, ${c.intervals ? ((100 * c.congestedIntervals) / c.intervals).toFixed(1) : '0.0'}% congested; notices sent ${c.noticesSent} (${c.dataBytes ? ((100 * c.noticeBytes) / c.dataBytes).toFixed(3) : '0.000'}% of ${c.dataBytes} data bytes), ${c.pairs} sending pairs seen${c.pairsFull ? `, ${c.pairsFull} frames of untracked pairs` : ''}`);
    out.push('    VM            arrival Mb/s   share Mb/s   grant Mb/s   over share');
    for (const v of p.watch.ports) out.push(`    ${(names[v.port] ?? String(v.port)).padEnd(14)}${mbps(v.arrivalBps).padStart(12)}${mbps(v.shareBps).padStart(13)}${mbps(v.grantBps).padStart(13)}   ${v.over ? 'yes' : ''}`);
    const n = p.notices ?? {}, refused = Object.entries(n).filter(([k, v]) => k !== 'accepted' && v !== 0).map(([k, v]) => `${k} ${v}`);
    out.push(`  sending: notices taken ${n.accepted ?? 0}, refused ${refused.length ? refused.join(', ') : 'none'}; ${p.limiters?.length ?? 0} pair limiters${p.limitersFull ? `, ${p.limitersFull} frames unlimited (the table was full)` : ''}`);
    for (const l of p.limiters ?? []) out.push(`    vni ${l.vni}  ${l.sender} -> ${l.receiver}  ${l.rateMbps.toFixed(1)} Mb/s`);
  }
  return out.join('\n') + '\n';
}

export async function qosCommand(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) { process.stdout.write(QOS_HELP); return 0; }
  try {
    const { control, json, rest } = clientArgs(args);
    const file = valueOf(rest, '--trace'), seconds = valueOf(rest, '--seconds');
    if (file !== undefined) return await traceToFile(control, file, seconds === undefined ? 10 : Number(seconds));
    if (seconds !== undefined) { process.stderr.write('sluice qos: --seconds goes with --trace FILE\n'); return 2; }
    if (rest.length) { process.stderr.write(`sluice qos: unexpected ${JSON.stringify(rest[0])} (see sluice qos --help)\n`); return 2; }
    const r = await request(control, 'GET', '/qos');
    if (json) { process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n'); return r.ok ? 0 : 1; }
    if (!r.ok) { process.stderr.write(`sluice qos: ${String(r.answer.error)}\n`); return 1; }
    process.stdout.write(qosText(r.answer as { ports: Record<string, unknown>[] }, (r.answer as { portNames?: string[] }).portNames ?? []));
    return 0;
  } catch (e) {
    if (e instanceof ClientError) { process.stderr.write(`sluice qos: ${e.message}\n`); return e.code; }
    throw e;
  }
}

// Take `--name VALUE` out of `rest`; a name without a value is a usage error.
function valueOf(rest: string[], name: string): string | undefined {
  const i = rest.indexOf(name);
  if (i < 0) return undefined;
  const v = rest[i + 1];
  if (v === undefined || v.startsWith('--')) throw new ClientError(2, `${name} needs a value (see sluice qos --help)`);
  rest.splice(i, 2);
  return v;
}

async function traceToFile(control: string, file: string, seconds: number): Promise<number> {
  if (!Number.isFinite(seconds) || seconds < 0) throw new ClientError(2, `--seconds: a number of seconds >= 0, got ${JSON.stringify(String(seconds))}`);
  let fd = -1, stop = false, since: number | undefined, bins = 0, lost = 0, first = 0;
  const onInt = () => { stop = true; };
  process.once('SIGINT', onInt);
  const end = Date.now() + seconds * 1000;
  try {
    for (let last = false; !last;) {
      last = stop || (seconds > 0 && Date.now() >= end);
      const r = await request(control, 'GET', since === undefined ? '/qos/trace' : `/qos/trace?since=${since}`);
      if (!r.ok) { process.stderr.write(`sluice qos: ${String(r.answer.error)}\n`); return 1; }
      const t = r.answer as unknown as TraceBins;
      if (since === undefined && t.ports.length === 0) { process.stderr.write(`sluice qos: no port to trace: the datapath workers run none (workers 0, or no native endpoint; not traced: ${t.untraced.join(', ')})\n`); return 1; }
      if (since === undefined) {
        // Opened once the switch answers: an unreachable switch leaves no empty file behind.
        try { fd = openSync(file, 'w'); } catch (e) { throw new ClientError(2, `--trace ${file}: ${(e as Error).message}`); }
        first = t.fromMs;
        writeSync(fd, `ms,${t.ports.flatMap((p) => [`${p}.rxBytes`, `${p}.txBytes`]).join(',')}\n`);
        if (t.untraced.length) process.stderr.write(`sluice qos: not traced (not run by a datapath worker): ${t.untraced.join(', ')}\n`);
      }
      const lines: string[] = [];
      for (let i = 0; i < t.bins; i++) lines.push(`${t.fromMs + i},${t.rxBytes.flatMap((x, p) => [x[i], t.txBytes[p][i]]).join(',')}`);
      if (lines.length) writeSync(fd, lines.join('\n') + '\n');
      bins += t.bins; lost += t.lostMs; since = t.fromMs + t.bins;
      if (!last) await new Promise((res) => setTimeout(res, 250));
    }
  } finally {
    process.removeListener('SIGINT', onInt);
    if (fd >= 0) closeSync(fd);
  }
  process.stderr.write(`sluice qos: ${bins} bins of 1 ms (${first} .. ${first + bins}) written to ${file}${lost ? `; ${lost} ms lost (the switch holds ${TRACE_RING_MS / 1000} s)` : ''}\n`);
  return 0;
}
