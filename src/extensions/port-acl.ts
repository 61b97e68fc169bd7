// Built-in "port-acl" (filter): per-port extended ACLs with the Hyper-V semantics.
//
// A rule belongs to a port and a direction — "out": traffic the port's VM sends (checked as it
// enters the switch; local = source, remote = destination), "in": traffic to the VM (checked
// per destination as it leaves; local = destination, remote = source). It matches on local and
// remote IP prefix, local and remote port or range (TCP/UDP), and protocol, and has an action
// (allow or deny) and a weight: rules of a port and direction are tried by weight, highest
// first, and the first match decides; with no match the traffic is allowed. Only IP traffic is
// subject to ACLs.
// Stateful: a packet allowed by a rule with `stateful: true` opens (or refreshes) a session;
// traffic in the opposite direction that belongs to an open session is allowed whatever the
// rules of that direction say, until the session has been idle for `idleTimeoutSeconds`
// (default 60). Sessions live in shared memory, so return traffic is recognised on any
// datapath thread; the table holds `sessions` entries (default 65536) — when it is full no
// new session opens and return traffic meets the rules of its direction.
// Drop reason: aclDeny (a deny rule matched; on egress the pair to that port is excluded).
//
// Configuration: { name?: string, sessions?: number, rules: [{ port, direction: "in"|"out",
//   action: "allow"|"deny", weight, localAddress?, remoteAddress?, localPort?, remotePort?,
//   protocol?: "tcp"|"udp"|"icmp"|"icmpv6"|number|"any", stateful?, idleTimeoutSeconds? }] }.
import ipaddr from 'ipaddr.js';
import type { EgressBatch, ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import type { FlowKeys } from '../wire/flow-key.js';
import { portIndex } from './common.js';

interface RuleConfig {
  port: string; direction: 'in' | 'out'; action: 'allow' | 'deny'; weight: number;
  localAddress?: string; remoteAddress?: string; localPort?: number | string; remotePort?: number | string;
  protocol?: string | number; stateful?: boolean; idleTimeoutSeconds?: number;
}
interface Config { name?: string; sessions?: number; rules?: RuleConfig[] }

interface Prefix { version: number; value: Uint32Array; mask: Uint32Array }
interface Rule {
  allow: boolean; weight: number; seq: number; stateful: boolean; idle: number;
  local: Prefix | null; remote: Prefix | null; lport: [number, number] | null; rport: [number, number] | null; proto: number;
}

const PROTOS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, any: -1 };
const OUT = 0, IN = 1;

function prefix(s: unknown, where: string): Prefix {
  if (typeof s !== 'string') throw new Error(`${where} must be an address or CIDR prefix`);
  let addr: ipaddr.IPv4 | ipaddr.IPv6, bits: number;
  try {
    if (s.includes('/')) [addr, bits] = ipaddr.parseCIDR(s); else { addr = ipaddr.parse(s); bits = addr.kind() === 'ipv4' ? 32 : 128; }
  } catch { throw new Error(`${where}: ${JSON.stringify(s)} is not an IPv4/IPv6 address or CIDR prefix`); }
  const bytes = addr.toByteArray();
  const value = new Uint32Array(4), mask = new Uint32Array(4);
  for (let i = 0; i < bytes.length / 4; i++) {
    value[i] = ((bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3]) >>> 0;
    const have = Math.max(0, Math.min(32, bits - 32 * i));
    mask[i] = have === 0 ? 0 : have === 32 ? 0xffffffff : (0xffffffff << (32 - have)) >>> 0;
    value[i] = (value[i] & mask[i]) >>> 0;
  }
  return { version: addr.kind() === 'ipv4' ? 4 : 6, value, mask };
}

function portRange(v: unknown, where: string): [number, number] {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535) return [v, v];
  const m = typeof v === 'string' ? /^(\d{1,5})-(\d{1,5})$/.exec(v) : null;
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[2]) > 65535) throw new Error(`${where}: ${JSON.stringify(v)} is not a port 0..65535 or a range "lo-hi"`);
  return [Number(m[1]), Number(m[2])];
}

// Rules per (port, direction), sorted by weight (highest first; ties: configuration order).
function compile(config: Config, ports: readonly string[], name: string): Rule[][] {
  const table: Rule[][] = [];
  for (let i = 0; i < ports.length * 2; i++) table.push([]);
  if (!Array.isArray(config.rules)) throw new Error(`${name}: config.rules must be a list of ACL rules`);
  config.rules.forEach((r, i) => {
    const at = `${name}: config.rules[${i}]`;
    const p = portIndex(r.port, ports, name, `rules[${i}].port`);
    if (r.direction !== 'in' && r.direction !== 'out') throw new Error(`${at}.direction must be "in" or "out"`);
    if (r.action !== 'allow' && r.action !== 'deny') throw new Error(`${at}.action must be "allow" or "deny"`);
    if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > 65535) throw new Error(`${at}.weight must be 0..65535`);
    const proto = r.protocol === undefined ? -1 : typeof r.protocol === 'number' ? r.protocol : PROTOS[String(r.protocol).toLowerCase()];
    if (proto === undefined || (typeof r.protocol === 'number' && (!Number.isInteger(proto) || proto < 0 || proto > 255))) throw new Error(`${at}.protocol must be tcp, udp, icmp, icmpv6, any or 0..255`);
    if ((r.localPort !== undefined || r.remotePort !== undefined) && proto !== 6 && proto !== 17) throw new Error(`${at}: ports need protocol tcp or udp`);
    if (r.stateful && r.action !== 'allow') throw new Error(`${at}: only allow rules can be stateful`);
    const idle = r.idleTimeoutSeconds ?? 60;
    if (!Number.isInteger(idle) || idle < 1 || idle > 86400) throw new Error(`${at}.idleTimeoutSeconds must be 1..86400`);
    const local = r.localAddress !== undefined ? prefix(r.localAddress, `${at}.localAddress`) : null;
    const remote = r.remoteAddress !== undefined ? prefix(r.remoteAddress, `${at}.remoteAddress`) : null;
    if (local && remote && local.version !== remote.version) throw new Error(`${at}: localAddress and remoteAddress must be the same IP version`);
    table[p * 2 + (r.direction === 'out' ? OUT : IN)].push({
      allow: r.action === 'allow', weight: r.weight, seq: i, stateful: r.stateful === true, idle,
      local, remote, lport: r.localPort !== undefined ? portRange(r.localPort, `${at}.localPort`) : null,
      rport: r.remotePort !== undefined ? portRange(r.remotePort, `${at}.remotePort`) : null, proto,
    });
  });
  for (const list of table) list.sort((a, b) => b.weight - a.weight || a.seq - b.seq);
  return table;
}

function inPrefix(p: Prefix, k: FlowKeys, h: number, addr: Uint32Array): boolean {
  if (k.ipVersion[h] !== p.version) return false;
  const o = h * 4;
  for (let i = 0; i < 4; i++) if (((addr[o + i] & p.mask[i]) >>> 0) !== p.value[i]) return false;
  return true;
}

// Shared session table: open addressing, ENTRY words per entry:
// [0] state (0 free, 1 being written, 2 live) | [1] port | [2] proto | [3..6] local | [7..10] remote |
// [11] localPort<<16|remotePort | [12] expiry (seconds, Date.now()/1000).
const ENTRY = 13;
const PROBES = 16;

class Sessions {
  readonly w: Int32Array;
  readonly cap: number;
  full = 0;
  constructor(buffer: SharedArrayBuffer) { this.w = new Int32Array(buffer); this.cap = this.w.length / ENTRY; }
  // Hash of (port, proto, local, remote, ports) taken from the packet, oriented to the VM.
  private hash(port: number, k: FlowKeys, h: number, localSrc: boolean): number {
    const o = h * 4, a = localSrc ? k.src : k.dst, b = localSrc ? k.dst : k.src;
    let x = Math.imul(port + 1, 0x9e3779b1) ^ k.proto[h];
    for (let i = 0; i < 4; i++) { x = Math.imul(x ^ a[o + i], 0x01000193); x = Math.imul(x ^ b[o + i], 0x01000193); }
    x ^= localSrc ? (k.srcPort[h] << 16) | k.dstPort[h] : (k.dstPort[h] << 16) | k.srcPort[h];
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    return ((x ^ (x >>> 13)) >>> 0) % this.cap;
  }
  private same(e: number, port: number, k: FlowKeys, h: number, localSrc: boolean): boolean {
    const w = this.w, b = e * ENTRY, o = h * 4, a = localSrc ? k.src : k.dst, r = localSrc ? k.dst : k.src;
    if (w[b + 1] !== port || w[b + 2] !== k.proto[h]) return false;
    for (let i = 0; i < 4; i++) if (w[b + 3 + i] !== (a[o + i] | 0) || w[b + 7 + i] !== (r[o + i] | 0)) return false;
    const ports = localSrc ? (k.srcPort[h] << 16) | k.dstPort[h] : (k.dstPort[h] << 16) | k.srcPort[h];
    return w[b + 11] === ports;
  }
  /** Is there a live session for this packet (seen from the VM on `port`)? Refreshes it. */
  has(port: number, k: FlowKeys, h: number, localSrc: boolean, now: number, idle: number): boolean {
    const w = this.w;
    let e = this.hash(port, k, h, localSrc);
    for (let i = 0; i < PROBES; i++, e = (e + 1) % this.cap) {
      const st = Atomics.load(w, e * ENTRY);
      if (st === 0) return false;
      if (st === 2 && w[e * ENTRY + 12] >= now && this.same(e, port, k, h, localSrc)) { if (idle > 0) w[e * ENTRY + 12] = now + idle; return true; }
    }
    return false;
  }
  /** Open or refresh the session of this packet. */
  open(port: number, k: FlowKeys, h: number, localSrc: boolean, now: number, idle: number): void {
    if (this.has(port, k, h, localSrc, now, idle)) return;
    const w = this.w;
    let e = this.hash(port, k, h, localSrc);
    for (let i = 0; i < PROBES; i++, e = (e + 1) % this.cap) {
      const b = e * ENTRY, st = Atomics.load(w, b);
      if (st === 1 || (st === 2 && w[b + 12] >= now)) continue;
      if (Atomics.compareExchange(w, b, st, 1) !== st) continue;
      const o = h * 4, a = localSrc ? k.src : k.dst, r = localSrc ? k.dst : k.src;
      w[b + 1] = port; w[b + 2] = k.proto[h];
      for (let q = 0; q < 4; q++) { w[b + 3 + q] = a[o + q] | 0; w[b + 7 + q] = r[o + q] | 0; }
      w[b + 11] = localSrc ? (k.srcPort[h] << 16) | k.dstPort[h] : (k.dstPort[h] << 16) | k.srcPort[h];
      w[b + 12] = now + idle;
      Atomics.store(w, b, 2);
      return;
    }
    this.full++;
  }
}

export default function portAcl(config: Config = {}): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? 'port-acl';
  const sessions = config.sessions ?? 65536;
  return {
    name, kind: 'filter', dropReasons: ['aclDeny'],
    start(ctx) {
      compile(config, ctx.ports, name);
      if (!Number.isInteger(sessions) || sessions < 16 || sessions > 1 << 22) throw new Error(`${name}: config.sessions must be 16..4194304`);
      return { shared: new SharedArrayBuffer(sessions * ENTRY * 4) };
    },
    datapath(ctx) {
      const table = compile(config, ctx.ports, name);
      const sess = new Sessions(ctx.shared as SharedArrayBuffer);
      // Longest idle timeout of a port's stateful rules (a session's refresh uses it).
      const idleOf = ctx.ports.map((_, p) => Math.max(0, ...[...table[p * 2], ...table[p * 2 + 1]].filter((r) => r.stateful).map((r) => r.idle)));
      const anyRules = ctx.ports.map((_, p) => table[p * 2].length + table[p * 2 + 1].length > 0);
      // Decide one packet for the VM on `port`, direction dir; localSrc: the VM is the source.
      const decide = (port: number, dir: number, k: FlowKeys, h: number, now: number): boolean => {
        const localSrc = dir === OUT;
        if (idleOf[port] > 0 && sess.has(port, k, h, localSrc, now, idleOf[port])) return true;
        const list = table[port * 2 + dir];
        const lp = localSrc ? k.srcPort[h] : k.dstPort[h], rp = localSrc ? k.dstPort[h] : k.srcPort[h];
        for (let i = 0; i < list.length; i++) {
          const r = list[i];
          if (r.proto >= 0 && k.proto[h] !== r.proto) continue;
          if (r.local && !inPrefix(r.local, k, h, localSrc ? k.src : k.dst)) continue;
          if (r.remote && !inPrefix(r.remote, k, h, localSrc ? k.dst : k.src)) continue;
          if (r.lport && (lp < r.lport[0] || lp > r.lport[1])) continue;
          if (r.rport && (rp < r.rport[0] || rp > r.rport[1])) continue;
          if (r.allow && r.stateful) sess.open(port, k, h, localSrc, now, r.idle);
          return r.allow;
        }
        return true;
      };
      return {
        ingress(b: IngressBatch) {
          const k = b.keys, now = Math.floor(Date.now() / 1000);
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j), p = k.inPort[h];
            if (!anyRules[p] || k.ipVersion[h] === 0) continue;
            if (!decide(p, OUT, k, h, now)) b.drop(j, 'aclDeny');
          }
        },
        egress(b: EgressBatch) {
          const k = b.keys, now = Math.floor(Date.now() / 1000);
          for (let j = 0; j < b.count; j++) {
            const p = b.outPort(j), h = b.handle(j);
            if (!anyRules[p] || k.ipVersion[h] === 0) continue;
            if (!decide(p, IN, k, h, now)) b.exclude(j, 'aclDeny');
          }
        },
      };
    },
  };
}
