// The queue manager's policy rules (nic.manager in the configuration; PUT /queues/policy and
// `sluice queues policy` at run time): its schema, and the rules compiled against the ports.
//
//   { "enabled": true, "minFramesPerSecond": 10000, "holdMs": 500,
//     "always": [ { "proto": "tcp", "dst": "10.0.0.0/24", "dport": 5201 } ],
//     "ports": [ { "port": "p3", "weight": 0 }, { "port": "vm1", "weight": 50, "maxQueues": 1 } ] }
//
// `always`: flows matching any of these patterns get a queue of their own while capacity remains
// (every field optional; src and dst take an address or a prefix; `port`: the port it comes in
// on). `ports`: a port's weight (VmqWeight's scale: 1..100, default 100; 0: its flows never get
// a queue) ranks its flows against others' (load × weight), and `maxQueues` caps its queues.

import ipaddr from 'ipaddr.js';
import { ConfigError, ConfigProblem, Field, Schema, validate } from '../schema.js';
import { brief } from '../quote.js';
import { IpPrefix, parsePrefix } from '../wire/ip-prefix.js';
import { PERIOD_MS } from '../nic/flow-meter.js';

export const DEFAULT_MIN_FPS = 10_000;
export const DEFAULT_HOLD_MS = 500;
export const DEFAULT_COALESCE_FPS = 20_000;

export interface FlowPattern { proto?: 'tcp' | 'udp'; src?: string; dst?: string; sport?: number; dport?: number; port?: string }
export interface QueueRules {
  enabled: boolean;
  minFramesPerSecond: number;
  holdMs: number;
  coalesceBelowFramesPerSecond: number;
  always: FlowPattern[];
  ports: { port: string; weight?: number; maxQueues?: number }[];
}

const f = (schema: Schema, doc: string, def?: unknown, required = false): Field => ({ schema, doc, default: def, required });
const int = (min: number, max: number, doc: string): Schema => ({ type: 'integer', min, max, doc });
const prefix = (s: string) => (parsePrefix(s) === null ? `${brief(s)} is not an address or a prefix like "10.0.0.0/24"` : null);

export const QUEUE_RULES_SCHEMA: Schema = {
  type: 'object', doc: 'the queue manager\'s policy',
  fields: {
    enabled: f({ type: 'boolean' }, 'the queue manager runs: it gives heavy flows receive queues of their own (steering filters) and moves RSS entries to even out the datapath threads, every 25 ms (false: filters and RSS entries change only when asked)', true),
    minFramesPerSecond: f(int(1, 1e9, 'frames/s'), 'a flow earns a queue of its own at this rate, measured over a whole period (25 ms)', DEFAULT_MIN_FPS),
    holdMs: f(int(PERIOD_MS, 3_600_000, 'ms'), 'hysteresis: a flow under half the minimum rate (or idle) this long gives its queue back, and a moved RSS entry stays this long', DEFAULT_HOLD_MS),
    coalesceBelowFramesPerSecond: f(int(0, 1e9, 'frames/s'), 'with two datapath workers or more: while all queues together carry less, they are all served by one thread (the others sleep); at twice this they are dealt out again, and then moved between threads to even out their load (0: never coalesce)', DEFAULT_COALESCE_FPS),
    always: f({ type: 'array', maxItems: 64, items: { type: 'object', doc: 'a flow pattern', fields: {
      proto: f({ type: 'string', enum: ['tcp', 'udp'] }, 'protocol'),
      src: f({ type: 'string', check: prefix }, 'source address or prefix'),
      dst: f({ type: 'string', check: prefix }, 'destination address or prefix'),
      sport: f(int(0, 65535, 'port'), 'source port'),
      dport: f(int(0, 65535, 'port'), 'destination port'),
      port: f({ type: 'string' }, 'the switch port it comes in on'),
    } } }, 'flows matching any of these get a queue of their own as soon as they are measured, while capacity remains', []),
    ports: f({ type: 'array', maxItems: 256, items: { type: 'object', doc: 'a port\'s share', fields: {
      port: f({ type: 'string' }, 'switch port name', undefined, true),
      weight: f(int(0, 100, 'weight'), 'ranks its flows against others\' for queues (load × weight; VmqWeight\'s scale); 0: never a queue of its own', 100),
      maxQueues: f(int(0, 64, 'queues'), 'most queues its flows hold at once'),
    } } }, 'per port (VM) weights and limits', []),
  },
};


/** A flow as the manager sees it: protocol number, addresses (text, as ipaddr parses them), ports and the port index it came in on. */
export interface FlowFacts { proto: number; src: string; dst: string; sport: number; dport: number; port: number }

/** Rules checked against the switch's ports, ready to ask. */
export class CompiledRules {
  readonly rules: QueueRules;
  /** Per port index: weight (0..100) and most queues (Infinity: no limit). */
  readonly weight: Float64Array;
  readonly maxQueues: Map<number, number>;
  private readonly patterns: ((x: FlowFacts) => boolean)[];

  /** Validate `doc` (ConfigError naming `at`.field) against the port names. */
  constructor(doc: unknown, portNames: readonly string[], at = 'nic.manager') {
    const r = validate(QUEUE_RULES_SCHEMA, doc, at) as QueueRules;
    const problems: ConfigProblem[] = [], index = (name: string, path: string) => {
      const i = portNames.indexOf(name);
      if (i < 0) problems.push({ path, problem: `no port named ${brief(name)} (ports: ${portNames.join(', ')})` });
      return i;
    };
    this.rules = r;
    this.weight = new Float64Array(portNames.length).fill(100);
    this.maxQueues = new Map();
    r.ports.forEach((p, i) => {
      const x = index(p.port, `${at}.ports[${i}].port`);
      if (x < 0) return;
      this.weight[x] = p.weight ?? 100;
      if (p.maxQueues !== undefined) this.maxQueues.set(x, p.maxQueues);
    });
    this.patterns = r.always.map((p, i) => {
      const port = p.port === undefined ? -1 : index(p.port, `${at}.always[${i}].port`);
      const src = p.src === undefined ? null : parsePrefix(p.src), dst = p.dst === undefined ? null : parsePrefix(p.dst);
      const proto = p.proto === undefined ? -1 : p.proto === 'tcp' ? 6 : 17;
      const inside = (text: string, net: IpPrefix | null) => {
        if (net === null) return true;
        const a = ipaddr.parse(text);
        return a.kind() === net.addr.kind() && a.match([net.addr, net.bits] as [ipaddr.IPv4 | ipaddr.IPv6, number]);
      };
      return (x: FlowFacts) => (proto < 0 || x.proto === proto) && (port < 0 || x.port === port) && (p.sport === undefined || x.sport === p.sport)
        && (p.dport === undefined || x.dport === p.dport) && inside(x.src, src) && inside(x.dst, dst);
    });
    ConfigError.throwAll(problems);
  }

  /** Does an always pattern match the flow? */
  always(x: FlowFacts): boolean { return this.patterns.length !== 0 && this.patterns.some((m) => m(x)); }

  /** Are there always patterns at all (the caller skips building facts when not)? */
  get hasAlways(): boolean { return this.patterns.length !== 0; }
}
