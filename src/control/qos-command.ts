// `sluice qos`: predictable bandwidth on the running switch, from its control API (GET /qos):
// ports' limits and guarantees; per tunnel uplink with guarantees, the receiving side (each VM's
// arrival rate, share and grant, congestion, notices sent) and the sending side (notices taken
// and refused by reason, the pair limiters and their rates). Exit codes: 0, 1 unreachable, 2 usage.

import { ClientError, clientArgs, request } from './client.js';
import type { DataplaneStats } from '../datapath/dataplane-stats.js';

export const QOS_HELP = `usage: sluice qos [options]

  Ports' maximum rates (qos.maxRxMbps, qos.maxTxMbps) with what their limiters passed and
  dropped; for each tunnel uplink with guarantees:
    receiving side: per VM its arrival rate, its share of the downlink and the grant its
      senders are told, whether its senders exceed the share, and the notices sent;
    sending side: notices taken and refused (by reason), and every (VM, remote VM) limiter
      with the rate its receiver's host granted.

options:
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
