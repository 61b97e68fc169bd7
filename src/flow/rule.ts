// Rules: what operators program. A rule has a layer, a priority, a match and actions.
//
// Input: RuleSpec (JSON from the configuration or the control interface).
// Output: a CompiledRule — the match as one or more (value, mask) pairs over the packed
// classification key (src/flow/key.ts), so the classifier can hash masked keys. Port ranges
// and "is fragment" are expanded into several pairs (a range becomes the fewest prefixes
// that cover it, as a TCAM would store it).
// Errors: RuleError naming the field (`match.srcIp`, `actions[1].output`, ...); a rule that
// fails anywhere is refused whole.

import { parseMac } from '../wire/bytes.js';
import { parsePrefix } from '../wire/ip-prefix.js';
import { KEY_WORDS } from './key.js';
import { brief } from '../quote.js';

export class RuleError extends Error {
  readonly field: string;
  readonly problem: string;
  constructor(field: string, problem: string) { super(`${field}: ${problem}`); this.field = field; this.problem = problem; }
}

export const LAYERS = ['acl', 'forward', 'qos'] as const;
/** Rate classes are 0..MAX_RATE_CLASS (carried per packet in the pool's rateClass array). */
export const MAX_RATE_CLASS = 4095;
export type Layer = (typeof LAYERS)[number];

export interface MatchSpec {
  inPort?: string;
  srcMac?: string; dstMac?: string;
  vlan?: number; pcp?: number;
  etherType?: number | 'ipv4' | 'ipv6' | 'arp';
  srcIp?: string; dstIp?: string;
  proto?: number | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp';
  dscp?: number;
  srcPort?: number | string; dstPort?: number | string;
  tcpFlags?: string;
  fragment?: boolean;
}

export type ActionSpec =
  | { allow: true } | { drop: true } | { output: string[] } | { flood: true }
  | { setVlan: number } | { stripVlan: true } | { setDscp: number } | { queue: number }
  | { rateClass: number } | { mirror: string } | { count: true };

export interface RuleSpec { id?: string; layer: Layer; priority: number; match: MatchSpec; actions: ActionSpec[] }

/** One atomic change: ids to delete, then rules to add. */
export interface RuleBatch { add?: RuleSpec[]; del?: string[] }

/** Resolved actions, as the datapath applies them. -1 / false: not set by this rule. */
export interface Actions {
  drop: boolean; allow: boolean; output: number[]; flood: boolean;
  setVlan: number; stripVlan: boolean; setDscp: number; queue: number; rateClass: number; mirror: number; count: boolean;
}

/**
 * A compiled rule, as compileRule() returns it. It lives only until the RuleSet copies it into
 * its columns (rule-store.ts) and its pairs into the classifier's pair store, so installed
 * rules are rows of typed arrays rather than objects the garbage collector must trace.
 */
export interface CompiledRule {
  /** The spec's id, or undefined (the RuleSet names the rule r<seq>). */
  id: string | undefined;
  /** Index in LAYERS. */
  layer: number;
  priority: number;
  /** (value, mask) pairs; value is already masked. Pair i at [i*KEY_WORDS ..). */
  values: Uint32Array;
  masks: Uint32Array;
  pairs: number;
  actions: Actions;
}

/** delGen of a rule nobody has deleted. */
export const NEVER = 0x7fffffff;

export interface RuleContext { ports: string[]; queues: number }

const PROTOS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, sctp: 132 };
const ETHERTYPES: Record<string, number> = { ipv4: 0x0800, ipv6: 0x86dd, arp: 0x0806 };
const TCP_FLAG_BITS: Record<string, number> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ece: 64, cwr: 128 };

/** Cover [lo, hi] of a 16-bit field with the fewest (value, mask) prefixes. */
export function rangeToPrefixes(lo: number, hi: number): [number, number][] {
  const out: [number, number][] = [];
  let x = lo;
  while (x <= hi) {
    let size = 1;
    while ((x & (size * 2 - 1)) === 0 && x + size * 2 - 1 <= hi && size < 65536) size *= 2;
    out.push([x, 0xffff & ~(size - 1)]);
    x += size;
  }
  return out;
}

function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new RuleError(field, `${brief(v)} is not an integer in ${min}..${max}`);
  return v;
}

function portRange(field: string, v: number | string): [number, number] {
  if (typeof v === 'number') { int(field, v, 0, 65535); return [v, v]; }
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
  if (!m) throw new RuleError(field, `${brief(v)} is not a port (0..65535) or a range "lo-hi"`);
  const lo = Number(m[1]), hi = Number(m[2]);
  if (lo > 65535 || hi > 65535) throw new RuleError(field, `${v}: port out of range 0..65535`);
  if (lo > hi) throw new RuleError(field, `${v}: range start is above its end`);
  return [lo, hi];
}

function macMatch(field: string, s: string): [number[], number[]] {
  const [addr, maskText] = s.split('/');
  const a = parseMac(addr);
  if (!a) throw new RuleError(field, `${brief(addr)} is not a MAC address`);
  const m = maskText === undefined ? Uint8Array.from([255, 255, 255, 255, 255, 255]) : parseMac(maskText);
  if (!m) throw new RuleError(field, `${brief(maskText)} is not a MAC mask`);
  return [[...a].map((x, i) => x & m[i]), [...m]];
}

/** Validate a rule and compile its match; throws RuleError naming the first bad field. */
export function compileRule(spec: RuleSpec, ctx: RuleContext): CompiledRule {
  if (typeof spec !== 'object' || spec === null) throw new RuleError('rule', 'expected an object');
  if (!LAYERS.includes(spec.layer)) throw new RuleError('layer', `${brief(spec.layer)} is not one of ${LAYERS.join(', ')}`);
  const priority = int('priority', spec.priority, 0, 65535);
  const m = spec.match ?? {};
  if (typeof m !== 'object') throw new RuleError('match', 'expected an object');
  const known = ['inPort', 'srcMac', 'dstMac', 'vlan', 'pcp', 'etherType', 'srcIp', 'dstIp', 'proto', 'dscp', 'srcPort', 'dstPort', 'tcpFlags', 'fragment'];
  for (const k of Object.keys(m)) if (!known.includes(k)) throw new RuleError(`match.${k}`, `unknown match field (known: ${known.join(', ')})`);

  const value = new Uint32Array(KEY_WORDS), mask = new Uint32Array(KEY_WORDS);
  const set = (w: number, v: number, msk: number) => { mask[w] = (mask[w] | msk) >>> 0; value[w] = ((value[w] & ~msk) | (v & msk)) >>> 0; };

  if (m.inPort !== undefined) {
    const p = ctx.ports.indexOf(m.inPort);
    if (p < 0) throw new RuleError('match.inPort', `unknown port ${brief(m.inPort)} (ports: ${ctx.ports.join(', ')})`);
    set(0, p << 16, 0xffff0000);
  }
  if (m.vlan !== undefined) set(0, (int('match.vlan', m.vlan, 0, 4095) << 4) | 1, 0xfff1);
  if (m.pcp !== undefined) set(0, (int('match.pcp', m.pcp, 0, 7) << 1) | 1, 0xf);
  for (const [field, hiShift, loWord] of [['dstMac', 16, 3], ['srcMac', 0, 4]] as const) {
    const s = m[field];
    if (s === undefined) continue;
    if (typeof s !== 'string') throw new RuleError(`match.${field}`, 'expected "aa:bb:cc:dd:ee:ff" or "addr/mask"');
    const [a, k] = macMatch(`match.${field}`, s);
    set(2, ((a[0] << 8) | a[1]) << hiShift, (((k[0] << 8) | k[1]) << hiShift) >>> 0);
    set(loWord, ((a[2] << 24) | (a[3] << 16) | (a[4] << 8) | a[5]) >>> 0, ((k[2] << 24) | (k[3] << 16) | (k[4] << 8) | k[5]) >>> 0);
  }
  let ipVersion = 0;
  for (const [field, word] of [['srcIp', 5], ['dstIp', 9]] as const) {
    const s = m[field];
    if (s === undefined) continue;
    if (typeof s !== 'string') throw new RuleError(`match.${field}`, 'expected an address or CIDR prefix');
    const p = parsePrefix(s);
    if (p === null) throw new RuleError(`match.${field}`, `${brief(s)} is not an IPv4/IPv6 address or CIDR prefix`);
    const { addr, bits } = p;
    const v = addr.kind() === 'ipv4' ? 4 : 6;
    if (ipVersion !== 0 && ipVersion !== v) throw new RuleError(`match.${field}`, 'srcIp and dstIp must be the same IP version');
    ipVersion = v;
    const bytes = addr.toByteArray();
    for (let i = 0; i < bytes.length / 4; i++) {
      const wv = ((bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3]) >>> 0;
      const have = Math.max(0, Math.min(32, bits - 32 * i));
      const wm = have === 0 ? 0 : have === 32 ? 0xffffffff : (0xffffffff << (32 - have)) >>> 0;
      if ((wv & ~wm) >>> 0 !== 0) throw new RuleError(`match.${field}`, `${s} has host bits set beyond /${bits}`);
      set(word + i, wv, wm);
    }
  }
  let etherType = -1;
  if (m.etherType !== undefined) {
    etherType = typeof m.etherType === 'string' ? ETHERTYPES[m.etherType] ?? -1 : int('match.etherType', m.etherType, 0x600, 0xffff);
    if (etherType < 0) throw new RuleError('match.etherType', `${brief(m.etherType)} is not ipv4, ipv6, arp or a number 0x600..0xffff`);
  }
  if (ipVersion !== 0) {
    const et = ipVersion === 4 ? 0x0800 : 0x86dd;
    if (etherType >= 0 && etherType !== et) throw new RuleError('match.etherType', `conflicts with an IPv${ipVersion} address match`);
    etherType = et;
  }
  let proto = -1;
  if (m.proto !== undefined) {
    proto = typeof m.proto === 'string' ? PROTOS[m.proto] ?? -1 : int('match.proto', m.proto, 0, 255);
    if (proto < 0) throw new RuleError('match.proto', `${brief(m.proto)} is not tcp, udp, icmp, icmpv6, sctp or 0..255`);
    if (etherType >= 0 && etherType !== 0x0800 && etherType !== 0x86dd) throw new RuleError('match.proto', 'needs an IP EtherType (ipv4, ipv6) or none');
  }
  // IP-only fields without an EtherType or address match IPv4 and IPv6 alike: the rule
  // expands into one entry per IP version (below).
  const anyIp = etherType < 0 && (proto >= 0 || m.dscp !== undefined || m.fragment !== undefined);
  if (anyIp) etherType = 0x0800;
  if (etherType >= 0) set(1, etherType << 16, 0xffff0000);
  if (proto >= 0) set(1, proto << 8, 0xff00);
  if (m.dscp !== undefined) {
    if (etherType !== 0x0800 && etherType !== 0x86dd) throw new RuleError('match.dscp', 'needs an IP EtherType (ipv4, ipv6), an address match or no EtherType');
    set(14, int('match.dscp', m.dscp, 0, 63) << 18, 0xfc0000);
  }
  if (m.tcpFlags !== undefined) {
    if (proto !== 6) throw new RuleError('match.tcpFlags', 'needs match.proto "tcp"');
    // "syn,!ack": flags listed must be set, flags with "!" must be clear, others ignored.
    let v = 0, k = 0;
    for (const part of String(m.tcpFlags).split(',').map((x) => x.trim().toLowerCase()).filter(Boolean)) {
      const neg = part.startsWith('!');
      const bit = TCP_FLAG_BITS[neg ? part.slice(1) : part];
      if (bit === undefined) throw new RuleError('match.tcpFlags', `unknown flag ${brief(part)} (use fin,syn,rst,psh,ack,urg,ece,cwr, "!" to require clear)`);
      k |= bit; if (!neg) v |= bit;
    }
    set(14, v << 24, (k << 24) >>> 0);
  }
  const hasPorts = m.srcPort !== undefined || m.dstPort !== undefined;
  if (hasPorts && proto !== 6 && proto !== 17 && proto !== 132) throw new RuleError(m.srcPort !== undefined ? 'match.srcPort' : 'match.dstPort', 'needs match.proto tcp, udp or sctp');
  const sr = m.srcPort !== undefined ? rangeToPrefixes(...portRange('match.srcPort', m.srcPort)) : [[0, 0] as [number, number]];
  const dr = m.dstPort !== undefined ? rangeToPrefixes(...portRange('match.dstPort', m.dstPort)) : [[0, 0] as [number, number]];
  // Fragment state (w1 bits 2-3): false = not a fragment (00); true = first (01) or later (10).
  let frags: [number, number][] = [[0, 0]];
  if (m.fragment !== undefined) {
    if (typeof m.fragment !== 'boolean') throw new RuleError('match.fragment', 'expected true or false');
    if (etherType !== 0x0800 && etherType !== 0x86dd) throw new RuleError('match.fragment', 'needs an IP EtherType (ipv4, ipv6), an address match or no EtherType');
    frags = m.fragment ? [[1 << 2, 0xc], [2 << 2, 0xc]] : [[0, 0xc]];
  }
  if (m.fragment === true && hasPorts) throw new RuleError('match.fragment', 'later fragments carry no ports: do not combine fragment:true with port matches');

  const ets: number[] = anyIp ? [0x0800, 0x86dd] : [etherType];
  const pairs = sr.length * dr.length * frags.length * ets.length;
  if (pairs > 4096) throw new RuleError('match', `port ranges expand to ${pairs} entries (limit 4096): narrow a range`);
  const values = new Uint32Array(pairs * KEY_WORDS), masks = new Uint32Array(pairs * KEY_WORDS);
  let i = 0;
  for (const [sv, sm] of sr) for (const [dv, dm] of dr) for (const [fv, fm] of frags) for (const et of ets) {
    const o = i * KEY_WORDS;
    masks.set(mask, o); values.set(value, o);
    if (anyIp) values[o + 1] = ((values[o + 1] & 0xffff) | (et << 16)) >>> 0;
    masks[o + 13] = ((sm << 16) | dm) >>> 0; values[o + 13] = ((sv << 16) | dv) >>> 0;
    masks[o + 1] = (masks[o + 1] | fm) >>> 0; values[o + 1] = (values[o + 1] | fv) >>> 0;
    i++;
  }
  if (spec.id !== undefined && (typeof spec.id !== 'string' || !/^[A-Za-z0-9_.:-]{1,64}$/.test(spec.id))) throw new RuleError('id', `${brief(spec.id)} is not 1..64 letters, digits or _ . : -`);
  return { id: spec.id, layer: LAYERS.indexOf(spec.layer), priority, values, masks, pairs, actions: compileActions(spec.actions, ctx) };
}

function compileActions(list: ActionSpec[], ctx: RuleContext): Actions {
  const a: Actions = { drop: false, allow: false, output: [], flood: false, setVlan: -1, stripVlan: false, setDscp: -1, queue: -1, rateClass: -1, mirror: -1, count: false };
  if (!Array.isArray(list) || list.length === 0) throw new RuleError('actions', 'needs at least one action');
  const port = (f: string, name: unknown) => {
    const p = ctx.ports.indexOf(String(name));
    if (p < 0) throw new RuleError(f, `unknown port ${brief(name)} (ports: ${ctx.ports.join(', ')})`);
    return p;
  };
  list.forEach((act, i) => {
    const f = `actions[${i}]`;
    const keys = Object.keys(act ?? {});
    if (keys.length !== 1) throw new RuleError(f, 'each action is an object with exactly one key');
    const k = keys[0];
    const v = (act as Record<string, unknown>)[k];
    switch (k) {
      case 'allow': a.allow = true; break;
      case 'drop': a.drop = true; break;
      case 'flood': a.flood = true; break;
      case 'stripVlan': a.stripVlan = true; break;
      case 'count': a.count = true; break;
      case 'output':
        if (!Array.isArray(v) || v.length === 0) throw new RuleError(`${f}.output`, 'expected a non-empty list of port names');
        a.output = v.map((n) => port(`${f}.output`, n));
        break;
      case 'mirror': a.mirror = port(`${f}.mirror`, v); break;
      case 'setVlan': a.setVlan = int(`${f}.setVlan`, v, 1, 4094); break;
      case 'setDscp': a.setDscp = int(`${f}.setDscp`, v, 0, 63); break;
      case 'queue': a.queue = int(`${f}.queue`, v, 0, ctx.queues - 1); break;
      case 'rateClass': a.rateClass = int(`${f}.rateClass`, v, 0, MAX_RATE_CLASS); break;
      default: throw new RuleError(`${f}.${k}`, 'unknown action (allow, drop, output, flood, setVlan, stripVlan, setDscp, queue, rateClass, mirror, count)');
    }
  });
  const conflict = (why: string) => { throw new RuleError('actions', `conflicting actions: ${why}`); };
  const forwards = a.output.length > 0 || a.flood || a.setVlan >= 0 || a.stripVlan || a.setDscp >= 0 || a.queue >= 0 || a.rateClass >= 0 || a.mirror >= 0;
  if (a.drop && (a.allow || forwards)) conflict('drop with an action that forwards or edits');
  if (a.output.length > 0 && a.flood) conflict('output and flood');
  if (a.setVlan >= 0 && a.stripVlan) conflict('setVlan and stripVlan');
  return a;
}

/** Does the packed key at key[off..] satisfy pair `i` of compiled rule r? */
export function pairMatches(r: CompiledRule, i: number, key: Uint32Array, off: number): boolean {
  const o = i * KEY_WORDS;
  for (let w = 0; w < KEY_WORDS; w++) if (((key[off + w] & r.masks[o + w]) >>> 0) !== r.values[o + w]) return false;
  return true;
}
