// `sluice queues`: the NIC's receive queues on the running switch, from its control API (GET
// /queues): each queue's thread, depth and how its frames were steered; the steering filters;
// the RSS table's busiest buckets; the heaviest flows (with their queues) and VMs of the last
// period; the queue manager's rules, the flows it gave queues and its last decisions.
// `sluice queues policy [JSON | @FILE]` shows or replaces the manager's rules (GET/PUT /queues/policy).
// Exit codes: 0, 1 unreachable or refused, 2 usage.

import { readFileSync } from 'node:fs';
import { ClientError, clientArgs, request } from './client.js';
import { fileProblem } from '../quote.js';
import type { QueueReport } from '../datapath/queue-report.js';

export const QUEUES_HELP = `usage: sluice queues [options]
       sluice queues policy [JSON | @FILE] [options]

  The NIC's receive queues: for each, the datapath thread that serves it, the frames waiting,
  and how many frames each way of choosing a queue sent there (a steering filter, a rule's
  queue action, RSS); the steering filters installed (and the table's capacity); the RSS
  indirection table's busiest entries over the last period; and the heaviest flows the NIC
  measured in the last period (25 ms), with their rates and the queue they went to (and the
  RSS entry, the one POST /queues/rss moves, or "filter or rule"), and the
  heaviest VMs (the frames to each destination MAC and VLAN, VMQ's unit). At low
  rates every frame is counted; at high rates a sample of about 1024 frames a period, and the
  rates are estimates; "± x" is the most a rate may be over (the flow table keeps 128 flows).
  Then the queue manager: the flows it gave queues of their own and its last decisions, each
  with its reason.

  The queue manager (on by default) decides every 25 ms: a TCP or UDP flow at or above
  minFramesPerSecond for a whole period gets a receive queue of its own (a steering filter),
  while filters and queues remain (as many queues as datapath threads, at least two, stay on
  RSS; queue 0 always does); a heavier flow (load x its port's weight) may take the queue of
  one half its weight; a flow under half the minimum for holdMs gives it back; and RSS entries
  move between queues served by different threads to even out their load; with two workers or
  more it deals the queues to the threads (all on one while they carry under
  coalesceBelowFramesPerSecond). Moves never reorder a flow. Filters you install (nic.filters, POST /queues/moves) and rules' queue actions are
  left alone.

  sluice queues policy             print the manager's rules (JSON)
  sluice queues policy JSON|@FILE  replace them, e.g.
    sluice queues policy '{"minFramesPerSecond": 20000, "always": [{"proto": "tcp", "dport": 5201}],
                           "ports": [{"port": "p3", "weight": 0}, {"port": "p1", "maxQueues": 1}]}'
    fields: enabled (false: the manager's flows go back to RSS), minFramesPerSecond, holdMs,
    coalesceBelowFramesPerSecond,
    always (flow patterns: proto, src, dst (address or prefix), sport, dport, port), ports
    (port, weight 0..100 (0: never), maxQueues). See sluice run --help-config, nic.manager.

options:
  --control ADDRESS   the switch's control API: unix:PATH or loopback IP:PORT
                      (default: $SLUICE_CONTROL or the default socket, see sluice run --help-config)
  --json              print the API's JSON answer
`;

const rate = (bps: number): string => (bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} Gb/s` : bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${(bps / 1e3).toFixed(1)} kb/s`);

/** The report as text for people. */
export function queuesText(r: QueueReport): string {
  const out = ['queue  thread              waiting     frames  by filter     by rule      by RSS  ring-full drops'];
  for (const q of r.queues) {
    const c = q.counters, n = (k: string) => String(c[k] ?? 0).padStart(10);
    out.push(`${String(q.queue).padStart(5)}  ${q.thread.padEnd(18)}${String(q.depth).padStart(8)} ${n('packets')} ${n('byFilter')}  ${n('byRule')}  ${n('byRss')}  ${n('dropRingFull')}`);
  }
  const sum = (k: string) => r.queues.reduce((a, q) => a + (q.counters[k] ?? 0), 0);
  out.push(`moves (POST /queues/moves and /queues/rss, per NIC instance): flows ${sum('flowsMovedIn')} onto a queue, ${sum('flowsMovedOut')} back to RSS; RSS entries ${sum('entriesMovedIn')}; ${sum('movesGivenUp')} given up; ${sum('framesHeld')} frames held while older ones left`);
  out.push(`steering filters: ${r.filters.installed.length} of ${r.filters.capacity}`);
  for (const f of r.filters.installed) out.push(`  ${f.kind === 'mac' ? `mac ${f.mac}${f.vlan !== undefined ? ` vlan ${f.vlan}` : ''}` : `${f.proto} ${f.src}:${f.sport} > ${f.dst}:${f.dport}`} -> queue ${f.queue}`);
  out.push(`RSS: ${r.rss.buckets} indirection entries over queues ${[...new Set(r.rss.indirection)].sort((a, b) => a - b).join(', ')}`);
  if (r.measured === null) { out.push('measured: nothing yet (the first periods are still running)'); } else {
    for (const b of r.rss.busiest) out.push(`  entry ${String(b.bucket).padStart(4)} -> queue ${b.queue}: ${rate(b.bitsPerSecond)}, ${Math.round(b.packetsPerSecond)} frames/s`);
    out.push(`heaviest flows, last ${Math.round(r.measured.periodMs)} ms (${r.measured.sampleMean === 1 ? 'every frame counted' : `sampled 1 in ${r.measured.sampleMean}`}):`);
    if (r.measured.flows.length === 0) out.push('  none');
    for (const f of r.measured.flows) out.push(`  ${f.flow.padEnd(52)} from ${f.portName}, queue ${f.queue} ${f.entry >= 0 ? `(RSS entry ${f.entry})` : '(filter or rule)'}  ${rate(f.bitsPerSecond)} ± ${rate(f.errorBitsPerSecond)}, ${Math.round(f.packetsPerSecond)} frames/s`);
    out.push('heaviest VMs (destination MAC, VLAN), same period:');
    if (r.measured.vms.length === 0) out.push('  none');
    for (const v of r.measured.vms) out.push(`  ${v.vm.padEnd(27)} ${rate(v.bitsPerSecond)} ± ${rate(v.errorBitsPerSecond)}, ${Math.round(v.packetsPerSecond)} frames/s`);
  }
  out.push(`threads: ${r.threads}`);
  const m = r.manager, c = m.counters;
  if (!m.rules.enabled) out.push('queue manager: off (filters and RSS entries change only when asked; sluice queues policy \'{"enabled": true}\' turns it on)');
  else {
    out.push(`queue manager: on, a queue for a flow at ${m.rules.minFramesPerSecond} frames/s or more; ${c.periods} periods decided, ${c.flowsGiven} flows given queues, ${c.flowsTaken} taken back, ${c.entriesMoved} RSS entries moved, ${c.movesRefused} moves refused`);
    for (const f of m.flows) out.push(`  holds queue ${f.queue}: ${f.flow}${f.installed ? '' : ' (its filter waits for older frames to leave)'}`);
  }
  if (m.decisions.length) out.push('last decisions (oldest first):');
  for (const d of m.decisions) out.push(`  ${d.kind.padEnd(6)} ${d.what} ${d.kind === 'take' ? 'off queue' : d.kind === 'thread' ? '-> thread' : '-> queue'} ${d.to}: ${d.reason}`);
  return out.join('\n') + '\n';
}

export async function queuesCommand(args: string[]): Promise<number> {
  if (args.includes('-h') || args.includes('--help')) { process.stdout.write(QUEUES_HELP); return 0; }
  try {
    const { control, json, rest } = clientArgs(args);
    if (rest[0] === 'policy' && rest.length <= 2) return await policy(control, rest[1]);
    if (rest.length) { process.stderr.write(`sluice queues: unexpected ${JSON.stringify(rest[0])} (see sluice queues --help)\n`); return 2; }
    const r = await request(control, 'GET', '/queues');
    if (json) { process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n'); return r.ok ? 0 : 1; }
    if (!r.ok) { process.stderr.write(`sluice queues: ${String(r.answer.error)}\n`); return 1; }
    process.stdout.write(queuesText(r.answer as unknown as QueueReport));
    return 0;
  } catch (e) {
    if (e instanceof ClientError) { process.stderr.write(`sluice queues: ${e.message}\n`); return e.code; }
    throw e;
  }
}

// Show the manager's rules, or replace them with a JSON document (given, or @FILE).
async function policy(control: string, arg: string | undefined): Promise<number> {
  let body: unknown;
  if (arg !== undefined) {
    let text = arg;
    if (arg.startsWith('@')) {
      try { text = readFileSync(arg.slice(1), 'utf8'); } catch (e) { process.stderr.write(`sluice queues policy: cannot read ${arg.slice(1)}: ${fileProblem(e)}\n`); return 2; }
    }
    try { body = JSON.parse(text); } catch (e) { process.stderr.write(`sluice queues policy: not JSON: ${(e as Error).message}\n`); return 2; }
  }
  const r = await request(control, body === undefined ? 'GET' : 'PUT', '/queues/policy', body);
  if (!r.ok) { process.stderr.write(`sluice queues policy: ${String(r.answer.error)}\n`); return 1; }
  process.stdout.write(JSON.stringify(r.answer.policy, null, 2) + '\n');
  return 0;
}
