// `sluice rules add|del|list|stats`: a client of the running switch's control API
// (src/control/control-api.ts). Exit codes: 0 done, 1 refused or unreachable, 2 bad usage.

import { readFileSync } from 'node:fs';
import { ActionSpec, LAYERS, MatchSpec, RuleSpec } from '../flow/rule.js';
import { RuleBatch } from '../flow/rule-set.js';
import { DEFAULT_CONTROL } from './config.js';
import { ClientError, clientArgs, request } from './client.js';
import { fileProblem } from '../quote.js';

export const RULES_HELP = `usage: sluice rules <add|del|list|stats> [options]

Change or show the rules of a running \`sluice run\` through its control API. A change
returns once every datapath thread applies it: the next packet follows the new rules. A
batch is all or nothing; a refused rule names the field at fault.

  sluice rules add --layer L --priority N [--id ID] [--match F=V,...] --action A [--action A...]
  sluice rules add RULE_JSON...          each a rule object, or an array of them
  sluice rules add --file FILE           JSON: an array of rules, or {"add": [...], "del": [...]}
  sluice rules del ID...
  sluice rules list                      installed rules in evaluation order
  sluice rules stats                     packets and bytes per rule, flow cache hit rate

A rule: {"id": "no-dns", "layer": "acl", "priority": 10,
         "match": {"proto": "udp", "dstPort": 53}, "actions": [{"drop": true}]}
layers (every packet passes each, in order): ${LAYERS.join(', ')}; in a layer the highest
priority match wins (ties: the rule added first); a drop in any layer drops.
match fields: inPort srcMac dstMac (addr or addr/mask) vlan pcp etherType (ipv4 ipv6 arp or
  number) srcIp dstIp (address or CIDR) proto (tcp udp icmp icmpv6 sctp or number) dscp
  srcPort dstPort (N or LO-HI) tcpFlags ("syn,!ack") fragment (true/false)
actions: allow drop flood stripVlan count output=P1+P2 setVlan=VID setDscp=N queue=N
  rateClass=N mirror=PORT

examples:
  sluice rules add --id no-dns --layer acl --priority 10 --match proto=udp,dstPort=53 --action drop
  sluice rules add --layer forward --priority 5 --match dstIp=10.0.0.0/8 --action output=p2
  sluice rules del no-dns

options:
  --control ADDRESS     the switch's control API: unix:PATH or loopback IP:PORT
                        (default: $SLUICE_CONTROL or ${DEFAULT_CONTROL})
  --json                print the API's JSON answer
  -h, --help            this text
`;

class UsageError extends Error {}

const NUMERIC = /^-?\d+$/;
function scalar(v: string): string | number | boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (NUMERIC.test(v)) return Number(v);
  if (/^0x[0-9a-f]+$/i.test(v)) return parseInt(v, 16);
  return v;
}

/** "proto=udp,dstPort=53" -> { proto: 'udp', dstPort: 53 }. */
export function parseMatch(text: string): MatchSpec {
  const m: Record<string, unknown> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--match: ${JSON.stringify(part)} is not FIELD=VALUE`);
    const k = part.slice(0, eq), v = part.slice(eq + 1);
    // Port ranges stay text ("1000-2000"); tcpFlags may hold commas only via the JSON form.
    m[k] = k === 'tcpFlags' || /^\d+-\d+$/.test(v) ? v : scalar(v);
  }
  return m as MatchSpec;
}

/** "drop" -> {drop: true}; "output=p2+p3" -> {output: ['p2','p3']}; "setVlan=20" -> {setVlan: 20}. */
export function parseAction(text: string): ActionSpec {
  const eq = text.indexOf('=');
  if (eq < 0) return { [text]: true } as ActionSpec;
  const k = text.slice(0, eq), v = text.slice(eq + 1);
  if (k === 'output') return { output: v.split('+').filter(Boolean) };
  return { [k]: scalar(v) } as ActionSpec;
}

function parseJson(text: string, what: string): unknown {
  try { return JSON.parse(text); } catch (e) { throw new UsageError(`${what} is not JSON: ${(e as Error).message}`); }
}

function batchFromArgs(args: string[]): RuleBatch {
  const add: RuleSpec[] = [];
  let file: string | undefined;
  const flag: { id?: string; layer?: string; priority?: number; match?: MatchSpec; actions: ActionSpec[] } = { actions: [] };
  let flagged = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = () => { const v = args[++i]; if (v === undefined) throw new UsageError(`${a} needs a value`); return v; };
    switch (a) {
      case '--file': file = val(); break;
      case '--id': flag.id = val(); flagged = true; break;
      case '--layer': flag.layer = val(); flagged = true; break;
      case '--priority': { const v = val(); if (!NUMERIC.test(v)) throw new UsageError(`--priority expects a whole number, got ${JSON.stringify(v)}`); flag.priority = Number(v); flagged = true; break; }
      case '--match': flag.match = parseMatch(val()); flagged = true; break;
      case '--action': flag.actions.push(parseAction(val())); flagged = true; break;
      default: {
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (see sluice rules --help)`);
        const doc = parseJson(a, 'rule argument');
        add.push(...(Array.isArray(doc) ? doc : [doc]) as RuleSpec[]);
      }
    }
  }
  if (flagged) {
    if (flag.layer === undefined || flag.priority === undefined || flag.actions.length === 0) throw new UsageError('a rule given by flags needs --layer, --priority and at least one --action');
    add.push({ ...(flag.id ? { id: flag.id } : {}), layer: flag.layer as RuleSpec['layer'], priority: flag.priority, match: flag.match ?? {}, actions: flag.actions });
  }
  if (file !== undefined) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (e) { throw new UsageError(`cannot read ${file}: ${fileProblem(e)}`); }
    const doc = parseJson(text, file);
    if (Array.isArray(doc)) add.push(...doc as RuleSpec[]);
    else if (typeof doc === 'object' && doc !== null) return { add: [...add, ...((doc as RuleBatch).add ?? [])], del: (doc as RuleBatch).del ?? [] };
    else throw new UsageError(`${file}: expected an array of rules or {"add": [...], "del": [...]}`);
  }
  if (add.length === 0) throw new UsageError('nothing to add (see sluice rules --help)');
  return { add };
}

interface RuleRow extends RuleSpec { id: string; packets: number; bytes: number }
interface RulesAnswer { rules: RuleRow[]; flows: { rules: number; cache: Record<string, number>; hitRate: number; cacheEntriesPerThread: number } }

const compact = (v: unknown) => JSON.stringify(v).replace(/"([A-Za-z]+)":/g, '$1:');

function listText(a: RulesAnswer, counters: boolean): string {
  if (a.rules.length === 0) return 'no rules installed\n';
  const rows = a.rules.map((r) => [r.id, r.layer, String(r.priority), compact(r.match), compact(r.actions), ...(counters ? [String(r.packets), String(r.bytes)] : [])]);
  const head = ['id', 'layer', 'priority', 'match', 'actions', ...(counters ? ['packets', 'bytes'] : [])];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  let out = [line(head), ...rows.map(line)].join('\n') + '\n';
  if (counters) {
    const c = a.flows.cache;
    out += `flow cache: ${c.hits} hits, ${c.misses} misses (${(a.flows.hitRate * 100).toFixed(1)}% hit rate), ${c.evictions} evictions, ${c.stale} stale; ${a.flows.cacheEntriesPerThread} entries per thread\n`;
  }
  return out;
}

export async function rulesCommand(args: string[]): Promise<number> {
  const fail = (code: number, msg: string) => { process.stderr.write(`sluice rules: ${msg}\n`); return code; };
  if (args.includes('-h') || args.includes('--help')) { process.stdout.write(RULES_HELP); return 0; }
  let control: string, json: boolean, rest: string[];
  try { ({ control, json, rest } = clientArgs(args)); } catch (e) { if (e instanceof ClientError) return fail(e.code, e.message); throw e; }
  const [sub, ...subArgs] = rest;
  let method = 'GET', path = '/rules', body: string | undefined;
  try {
    switch (sub) {
      case 'add': method = 'POST'; body = JSON.stringify(batchFromArgs(subArgs)); break;
      case 'del':
        if (subArgs.length === 0) throw new UsageError('del needs at least one rule id');
        method = 'POST'; body = JSON.stringify({ del: subArgs }); break;
      case 'list': case 'stats':
        if (subArgs.length) throw new UsageError(`${sub} takes no arguments`);
        break;
      case undefined: process.stdout.write(RULES_HELP); return 2;
      default: throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (add, del, list, stats)`);
    }
  } catch (e) {
    if (e instanceof UsageError) return fail(2, e.message);
    throw e;
  }
  let r: Awaited<ReturnType<typeof request>>;
  try {
    r = await request(control, method, path, body === undefined ? undefined : JSON.parse(body));
    // A listing comes a page at a time, in the order rules were added: gather every page,
    // then sort into evaluation order here rather than in the switch.
    if (method === 'GET' && r.ok) {
      const a = r.answer as unknown as RulesAnswer & { total: number };
      while (a.rules.length < a.total) {
        const next = await request(control, 'GET', `/rules?offset=${a.rules.length}&limit=10000`);
        const page = (next.answer as unknown as RulesAnswer).rules ?? [];
        if (!next.ok || page.length === 0) break;
        a.rules.push(...page);
      }
      a.rules.sort((x, y) => LAYERS.indexOf(x.layer) - LAYERS.indexOf(y.layer) || y.priority - x.priority);
      r = { ...r, text: JSON.stringify(a) };
    }
  } catch (e) { if (e instanceof ClientError) return fail(e.code, e.message); throw e; }
  if (json) process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
  const answer = r.answer;
  if (!r.ok) {
    if (!json) process.stderr.write(`sluice rules: refused: ${String(answer.error)}\n`);
    return 1;
  }
  if (json) return 0;
  if (sub === 'add' || sub === 'del') {
    const a = answer as { added: string[]; deleted: string[]; addedCount: number; deletedCount: number };
    const ids = (list: string[], n: number) => (n > 20 ? `${n} rules (${list.slice(0, 5).join(', ')}, ...)` : list.join(', '));
    const parts = [a.addedCount ? `added ${ids(a.added, a.addedCount)}` : '', a.deletedCount ? `deleted ${ids(a.deleted, a.deletedCount)}` : ''].filter(Boolean);
    process.stdout.write(`${parts.join('; ')} (applied on every datapath thread)\n`);
  } else {
    process.stdout.write(listText(answer as unknown as RulesAnswer, sub === 'stats'));
  }
  return 0;
}
