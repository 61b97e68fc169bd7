// The configuration document: its schema, the embedded default, loading and cross-field checks.
// One validated document describes the pool, the NIC (queues, RSS, steering filters), the
// switch (MAC table), the workers and the ports with their endpoints and VLAN modes.

import { readFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { totalmem } from 'node:os';
import { ENDPOINT_SCHEMA, endpointKind, keepKindFields } from '../endpoints/kinds.js';
import { EndpointConfig } from '../endpoints/registry.js';
import { parseIpv4, parseIpv6, parseMac } from '../wire/bytes.js';
import { DEFAULT_FLOW_CACHE_ENTRIES } from '../flow/flow-stage.js';
import { DEFAULT_IDLE_SPIN_MICROS, DEFAULT_SHAPED_SPIN_MICROS } from '../datapath/dataplane-options.js';
import { DEFAULT_WATCHDOG_MS } from '../datapath/supervisor.js';
import { DEFAULT_MAC_RESERVED_PERCENT } from '../vswitch/mac-table.js';
import { RuleError, RuleSpec } from '../flow/rule.js';
import { DEFAULT_MAX_RULES, ruleCounterBytes, RuleSet } from '../flow/rule-set.js';
import { slotsFor } from '../flow/rule-store.js';
import { BUILTINS, DEFAULT_LIMITS, ExtensionLimits, ExtensionSpec } from '../vswitch/ext/host.js';
import { ConfigError, ConfigProblem, Field, Schema, validate } from '../schema.js';
import { DEFAULT_MAX_BODY, defaultControl, parseControl } from './control-address.js';
import { brief, fileProblem } from '../quote.js';
import { DEFAULT_BURST_US, PortQos } from '../qos/port-limits.js';
import { DEFAULT_QUEUE_BYTES } from '../qos/link-shaper.js';
import { DEFAULT_PAIR_QUEUE_BYTES } from '../qos/pair-limiters.js';
import { CompiledRules, QUEUE_RULES_SCHEMA, QueueRules } from '../controllers/queue-rules.js';

export interface PortConfig {
  name: string;
  /** The endpoint kind's configuration (endpoints/registry.ts). */
  endpoint: EndpointConfig;
  vlan: { mode: 'access' | 'trunk'; vlan?: number; allowed?: number[]; native?: number };
  macLimit: number;
  qos?: PortQos;
}
export interface FilterConfig { kind: 'mac' | 'tuple'; queue: number; mac?: string; vlan?: number; proto?: string; src?: string; dst?: string; sport?: number; dport?: number }
export interface Config {
  workers: number;
  watchdogMs: number;
  idleSpinMicros: number;
  shapedSpinMicros: number;
  pool: { slots: number; slotSize: number };
  nic: { queues: number; ringSize: number; filterCapacity: number; rss: { key?: string; indirection?: number[] }; filters: FilterConfig[]; manager: QueueRules };
  switch: { macTableSize: number; macAgingSeconds: number; macReservedPercent: number; txRingSize: number };
  ports: PortConfig[];
  stats: { intervalSeconds: number };
  rules: RuleSpec[];
  flow: { cacheEntries: number; maxRules: number };
  control: { listen: string; maxBodyBytes: number };
  extensions: ExtensionSpec[];
  extensionLimits: ExtensionLimits;
}

/** Where `sluice run` serves its control API and `sluice rules` looks for it. */
export const DEFAULT_CONTROL = defaultControl();

const mac = (s: string) => (parseMac(s) ? null : `${brief(s)} is not a MAC address like "02:00:00:00:00:01"`);
const ip = (s: string) => (parseIpv4(s) !== null || parseIpv6(s) ? null : `${brief(s)} is not an IPv4 or IPv6 address`);
const hexKey = (s: string) => (/^([0-9a-f]{2}:?){40,}$/i.test(s) && s.replace(/:/g, '').length % 2 === 0 ? null : 'must be at least 40 hex bytes, e.g. "6d:5a:56:da:..."');
const int = (min: number, max: number, doc: string, powerOfTwo = false): Schema => ({ type: 'integer', min, max, doc, powerOfTwo });
const f = (schema: Schema, doc: string, def?: unknown, required = false): Field => ({ schema, doc, default: def, required });
const vlanId = (doc: string) => int(1, 4094, doc);

const portSchema: Schema = {
  type: 'object', doc: 'a switch port',
  fields: {
    name: f({ type: 'string', check: (s) => (/^[A-Za-z0-9_.-]{1,32}$/.test(s) ? null : 'use 1-32 letters, digits, "_", "-" or "."') }, 'port name, used in reports and commands', undefined, true),
    endpoint: f(ENDPOINT_SCHEMA, 'where the port\'s frames come from and go to (the fields of its kind)', undefined, true),
    vlan: f({
      type: 'object', fields: {
        mode: f({ type: 'string', enum: ['access', 'trunk'] }, 'access: untagged frames in one VLAN; trunk: 802.1Q-tagged frames of the allowed VLANs', 'access'),
        vlan: f(vlanId('VLAN id'), 'access: the port\'s VLAN (default 1)'),
        allowed: f({ type: 'array', items: vlanId('VLAN id'), maxItems: 4094 }, 'trunk: VLANs carried tagged'),
        native: f(vlanId('VLAN id'), 'trunk: VLAN carried untagged (none: untagged frames are dropped)'),
      },
    }, 'VLAN mode of the port', { mode: 'access', vlan: 1 }),
    macLimit: f(int(1, 1 << 22, 'MACs'), 'most MAC addresses learned on this port; frames from further new MACs are dropped (dropMacLimit)', 1024),
    qos: f({
      type: 'object', fields: {
        maxRxMbps: f(int(1, 400000, 'Mb/s'), 'most the port takes from its endpoint: what the VM sends (Hyper-V\'s MaximumBandwidth). Frames wait in a queue and enter the switch as a token bucket allows; a full queue drops (rxDropQueue)'),
        maxTxMbps: f(int(1, 400000, 'Mb/s'), 'most the port sends to its endpoint: what the VM receives. Frames wait in a queue before they are written (a full one: txDropQueue)'),
        burstUs: f(int(1, 1_000_000, 'µs'), 'tokens an idle limiter saves: this long at its rate (at least two of the largest frames)', DEFAULT_BURST_US),
        queueBytes: f(int(1024, 1 << 30, 'bytes'), 'each direction\'s queue, per datapath thread (at least one pool slot)', DEFAULT_QUEUE_BYTES),
        weight: f(int(1, 1000, 'weight'), 'its guarantee on a tunnel uplink\'s downlink (guarantees): active VMs share γC in proportion to their weights (default 1)'),
        minMbps: f(int(1, 400000, 'Mb/s'), 'its guarantee as a rate: its weight on a tunnel\'s downlink (give every VM minMbps, summing to at most γC, or every VM a weight), and the floor its pairs fall back to when notices are lost'),
      },
    }, 'the port\'s maximum rates, each way (needs workers >= 1 and a native endpoint), and its guarantee on a tunnel\'s downlink (docs/qos.md)'),
  },
};

const filterSchema: Schema = {
  type: 'object', doc: 'a steering filter',
  fields: {
    kind: f({ type: 'string', enum: ['mac', 'tuple'] }, '"mac": destination MAC (+ VLAN); "tuple": exact 5-tuple', undefined, true),
    queue: f(int(0, 63, 'queue'), 'receive queue the matching frames go to', undefined, true),
    mac: f({ type: 'string', check: mac }, 'mac: destination MAC'),
    vlan: f(int(0, 4095, 'VLAN id'), 'mac: VLAN id (omit: any VLAN)'),
    proto: f({ type: 'string', enum: ['tcp', 'udp'] }, 'tuple: protocol'),
    src: f({ type: 'string', check: ip }, 'tuple: source address'),
    dst: f({ type: 'string', check: ip }, 'tuple: destination address'),
    sport: f(int(0, 65535, 'port'), 'tuple: source port'),
    dport: f(int(0, 65535, 'port'), 'tuple: destination port'),
  },
};

export const CONFIG_SCHEMA: Schema = {
  type: 'object',
  fields: {
    workers: f(int(0, 64, 'threads'), 'datapath worker threads; queue q is served by worker q % workers, and native ports\' descriptors are dealt out over them; 0 runs the pipeline on the main thread. One by default: on a 2-core host the other core does the kernel\'s share of every packet (docs/io.md: scaling)', 1),
    idleSpinMicros: f(int(0, 100000, 'µs'), 'after its last frame a worker keeps polling this long before it sleeps: a thread wake-up costs 30-50 µs, so a reply within this window is forwarded without one (CPU spent while idle; 0: sleep at once)', DEFAULT_IDLE_SPIN_MICROS),
    shapedSpinMicros: f(int(0, 10000, 'µs'), 'a frame a shaper holds (a port\'s maximum rate, a pair\'s grant, an emulated link) that is due within this long is waited for by polling, not sleeping. Higher holds rates closer on a loaded host, where a sleeping thread can wake a millisecond late, and costs CPU while shapers hold frames (docs/qos.md: limiter accuracy)', DEFAULT_SHAPED_SPIN_MICROS),
    watchdogMs: f(int(0, 600000, 'ms'), 'a datapath worker whose loop stands still this long is declared hung and the switch stops with its final counters (exit 1); 0 turns the watchdog off', DEFAULT_WATCHDOG_MS),
    pool: f({ type: 'object', fields: {
      slots: f(int(256, 1 << 20, 'slots'), 'packet buffers in the shared pool', 16384),
      slotSize: f(int(256, 262272, 'bytes'), 'bytes per buffer: 128 headroom + largest frame (2048 fits 1518 + 4 tags; 9216 jumbo frames; 65663 GSO frames; up to 262272 for BIG TCP)', 2048),
    } }, 'packet buffer pool', {}),
    nic: f({ type: 'object', fields: {
      queues: f(int(1, 64, 'queues'), 'receive queues of the software NIC', 4),
      ringSize: f(int(16, 1 << 20, 'descriptors', true), 'descriptors per receive queue ring', 1024),
      filterCapacity: f(int(0, 65536, 'filters'), 'steering filter table size, as a NIC has a fixed number', 64),
      rss: f({ type: 'object', fields: {
        key: f({ type: 'string', check: hexKey }, 'Toeplitz key as hex bytes (default: the Microsoft RSS key)'),
        indirection: f({ type: 'array', items: int(0, 63, 'queue'), minItems: 1, maxItems: 4096 }, 'queue per indirection entry, power-of-two length (default: 128 entries, round-robin)'),
      } }, 'receive side scaling', {}),
      filters: f({ type: 'array', items: filterSchema }, 'steering filters installed at start', []),
      manager: f(QUEUE_RULES_SCHEMA, 'the queue manager: which flows get receive queues of their own, and the RSS table (docs/queues.md)', {}),
    } }, 'the software NIC', {}),
    switch: f({ type: 'object', fields: {
      macTableSize: f(int(16, 1 << 22, 'entries'), 'MAC learning table entries', 8192),
      macAgingSeconds: f(int(1, 1000000, 'seconds'), 'a MAC not seen for this long is forgotten', 300),
      macReservedPercent: f(int(0, 100, 'percent'), 'share of the MAC table reserved for the ports, split evenly; the rest is shared first come first served, so one port (a MAC flood) cannot starve the others (sharedFull counts refusals)', DEFAULT_MAC_RESERVED_PERCENT),
      txRingSize: f(int(16, 1 << 20, 'descriptors', true), 'transmit ring per worker and port', 1024),
    } }, 'learning switch', {}),
    ports: f({ type: 'array', items: portSchema, minItems: 1, maxItems: 256 }, 'switch ports', undefined, true),
    stats: f({ type: 'object', fields: {
      intervalSeconds: f(int(0, 3600, 'seconds'), 'live rate report period; 0 turns it off', 1),
    } }, 'live statistics', {}),
    rules: f({ type: 'array', items: { type: 'json', doc: 'a rule: {id?, layer, priority, match, actions} (docs/rules.md)' }, maxItems: 1 << 20 }, 'rules installed at start, as one atomic batch', []),
    flow: f({ type: 'object', fields: {
      cacheEntries: f(int(16, 1 << 24, 'entries'), 'flow cache entries per datapath thread (LRU of classified flows)', DEFAULT_FLOW_CACHE_ENTRIES),
      maxRules: f(int(1, 1 << 20, 'rules'), 'most rules installed at once', DEFAULT_MAX_RULES),
    } }, 'rule classification', {}),
    extensions: f({ type: 'array', maxItems: 64, items: { type: 'object', doc: 'an extension bound to the switch', fields: {
      module: f({ type: 'string' }, `a built-in (${Object.keys(BUILTINS).join(', ')}) or the path of an ES module (relative to the configuration file) whose default export is an extension definition`, undefined, true),
      enabled: f({ type: 'boolean' }, 'enabled at start (at most one forwarding extension may be)', true),
      failMode: f({ type: 'string', enum: ['open', 'closed'] }, 'when it throws or keeps overrunning its budget it is disabled: "open" lets traffic pass without it, "closed" drops what it would have seen', 'open'),
      config: f({ type: 'json' }, 'the extension\'s own configuration (see its documentation)', {}),
    } } }, 'extensions bound to the switch, in stack order within each kind (docs/extensions.md)', []),
    extensionLimits: f({ type: 'object', fields: {
      batchBudgetMs: f(int(1, 10000, 'ms'), 'time one extension hook may take per batch', DEFAULT_LIMITS.batchBudgetMs),
      overrunLimit: f(int(1, 1000, 'batches'), 'consecutive over-budget batches that disable an extension', DEFAULT_LIMITS.overrunLimit),
      startTimeoutMs: f(int(1, 600000, 'ms'), 'time a start or stop hook may take', DEFAULT_LIMITS.startTimeoutMs),
      timeEvery: f(int(1, 1024, 'calls'), 'time every n-th hook call (clock reads cost as much as a small hook)', DEFAULT_LIMITS.timeEvery),
    } }, 'fault isolation limits for extensions', {}),
    control: f({ type: 'object', fields: {
      listen: f({ type: 'string', check: controlAddress }, 'where the HTTP control API used by `sluice rules | ext | prop | port` listens: "unix:PATH" (a socket only its owner may use; default $XDG_RUNTIME_DIR/sluice.sock, /run/sluice.sock as root), "IP:PORT" on a loopback address, or "off"', DEFAULT_CONTROL),
      maxBodyBytes: f(int(1024, 1 << 28, 'bytes'), 'largest request body the control API takes (larger: 413); raise it to send very large rule batches in one request', DEFAULT_MAX_BODY),
    } }, 'control API of the running switch', {}),
  },
};

function controlAddress(s: string): string | null {
  if (s === 'off') return null;
  const a = parseControl(s);
  return typeof a === 'string' ? a : null;
}

/** The embedded default: three UDP ports; pN listens on 127.0.0.1:4000N, sends to 127.0.0.1:5000N. */
export const DEFAULT_CONFIG_DOC = {
  workers: 1,
  nic: { queues: 4 },
  ports: [1, 2, 3].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4000${n}`, remote: `127.0.0.1:5000${n}` } })),
};

/**
 * Shared memory a configuration asks for, in bytes: the pool (frames, metadata, flow keys,
 * egress tag table), rings, MAC table, and per datapath thread its flow cache and rule
 * counters. An estimate within a few percent; checked against the host's memory at load.
 */
export function memoryEstimate(c: Config): { pool: number; total: number } {
  const slots = c.pool.slots, threads = Math.max(1, c.workers) + 1;
  const pool = slots * c.pool.slotSize;
  const perSlot = 64 + 32 + 4 * c.ports.length; // flow key line, metadata, egress tag per port
  const rings = 4 * (c.nic.queues * c.nic.ringSize + threads * c.ports.length * c.switch.txRingSize + threads * slots * 2);
  // Rule counters and the rule store's columns (about 64 bytes a slot; see rule-store.ts).
  const perThread = c.flow.cacheEntries * 192 + ruleCounterBytes(c.flow.maxRules) + slotsFor(c.flow.maxRules) * 64;
  return { pool, total: pool + slots * perSlot + rings + c.switch.macTableSize * 32 + threads * perThread };
}

/** Largest pool one typed array can address here (4 GiB on 64-bit Node). */
const MAX_POOL_BYTES = bufferConstants.MAX_LENGTH;
/** Share of the host's memory a switch may ask for before the configuration is refused. */
const MAX_MEMORY_SHARE = 0.75;
const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;

/**
 * `sluice replay`'s default switch: two memory ports trunking every VLAN (native VLAN 1), a
 * MAC table and per-port limits large enough for busy captures.
 */
export const REPLAY_DEFAULT_DOC = {
  workers: 2,
  nic: { queues: 4 },
  switch: { macTableSize: 1 << 16 },
  // Captures hold jumbo, GSO and BIG TCP frames: slots for 128 KiB frames. Only the slots in
  // use are ever touched, so the 512 MiB asked for costs what the traffic needs.
  pool: { slots: 4096, slotSize: (128 << 10) + 128 },
  stats: { intervalSeconds: 0 },
  control: { listen: 'off' },
  ports: [1, 2].map((n) => ({ name: `p${n}`, endpoint: { type: 'memory' }, vlan: { mode: 'trunk', allowed: Array.from({ length: 4094 }, (_, i) => i + 1), native: 1 }, macLimit: 1 << 16 })),
};

/** Validate a parsed document, fill defaults, and check what spans fields; every problem at once. */
export function checkConfig(doc: unknown): Config {
  const c = validate(CONFIG_SCHEMA, doc) as Config;
  const problems: ConfigProblem[] = [];
  const bad = (path: string, problem: string) => { problems.push({ path, problem }); };
  const names = new Set<string>();
  const taken = new Set<string>(); // what endpoints claimed (e.g. local addresses)
  c.ports.forEach((p, i) => {
    const at = `ports[${i}]`;
    if (names.has(p.name)) bad(`${at}.name`, `duplicate port name "${p.name}"`);
    names.add(p.name);
    const given = Object.keys((doc as { ports: { endpoint: object }[] }).ports[i].endpoint);
    keepKindFields(p.endpoint, given, (field, problem) => bad(`${at}.endpoint.${field}`, problem));
    endpointKind(p.endpoint.type).check?.(p.endpoint, (field, problem) => bad(`${at}.endpoint.${field}`, problem), taken);
    const v = p.vlan;
    if (v.mode === 'trunk' && !v.allowed?.length && v.native === undefined) bad(`${at}.vlan.allowed`, 'a trunk needs allowed VLANs or a native VLAN');
    if (v.mode === 'access' && (v.allowed !== undefined || v.native !== undefined)) bad(`${at}.vlan`, '"allowed" and "native" apply to trunk ports only');
    if (v.mode === 'trunk' && v.vlan !== undefined) bad(`${at}.vlan.vlan`, 'applies to access ports only (a trunk has "allowed" and "native")');
    if (v.mode === 'access') v.vlan ??= 1;
    const q = p.qos, e = p.endpoint as { type: string; io?: string; rateMbps?: number };
    if (q?.weight !== undefined && q.minMbps !== undefined) bad(`${at}.qos.minMbps`, 'give a weight or minMbps, not both');
    if (q !== undefined && (q.maxRxMbps !== undefined || q.maxTxMbps !== undefined)) {
      if (c.workers === 0) bad(`${at}.qos`, 'maximum rates are paced by a datapath worker thread: set workers >= 1');
      if (e.type === 'memory' || e.io === 'dgram') bad(`${at}.qos`, `maximum rates need a native endpoint: a ${e.type} port${e.io === 'dgram' ? ' on the dgram I/O path' : ''} is not run by a datapath thread`);
      if (e.rateMbps !== undefined) bad(`${at}.qos`, 'this uplink already has an emulated access link (endpoint.rateMbps): shape it there');
      if ((q.queueBytes ?? DEFAULT_QUEUE_BYTES) < c.pool.slotSize) bad(`${at}.qos.queueBytes`, `${q.queueBytes} bytes do not hold one ${c.pool.slotSize}-byte pool slot`);
    }
  });
  c.nic.filters.forEach((fl, i) => {
    const at = `nic.filters[${i}]`;
    if (fl.queue >= c.nic.queues) bad(`${at}.queue`, `${fl.queue} is not a queue (0..${c.nic.queues - 1})`);
    const need = fl.kind === 'mac' ? ['mac'] : ['proto', 'src', 'dst', 'sport', 'dport'];
    let complete = true;
    for (const k of need) if ((fl as unknown as Record<string, unknown>)[k] === undefined) { bad(`${at}.${k}`, `is required for a ${fl.kind} filter`); complete = false; }
    if (complete && fl.kind === 'tuple' && (parseIpv4(fl.src!) === null) !== (parseIpv4(fl.dst!) === null)) bad(`${at}.dst`, 'src and dst must be the same IP version');
  });
  if (c.nic.filters.length > c.nic.filterCapacity) bad('nic.filters', `${c.nic.filters.length} filters exceed nic.filterCapacity (${c.nic.filterCapacity})`);
  try { new CompiledRules(c.nic.manager, c.ports.map((p) => p.name)); } catch (e) { if (e instanceof ConfigError) problems.push(...e.problems); else throw e; }
  const ind = c.nic.rss.indirection;
  if (ind) {
    if ((ind.length & (ind.length - 1)) !== 0) bad('nic.rss.indirection', `length ${ind.length} is not a power of two`);
    ind.forEach((q, i) => { if (q >= c.nic.queues) bad(`nic.rss.indirection[${i}]`, `${q} is not a queue (0..${c.nic.queues - 1})`); });
  }
  if (c.workers > c.nic.queues) bad('workers', `${c.workers} workers for ${c.nic.queues} queues: each worker needs a queue`);
  c.ports.forEach((p, i) => {
    // An emulated access link is served by the one thread that runs its port: pacing needs a
    // thread that turns (not the main thread's event loop), and one thread for one rate.
    if ((p.endpoint as { rateMbps?: number }).rateMbps !== undefined && c.workers !== 1) bad(`ports[${i}].endpoint.rateMbps`, `an emulated access link needs workers = 1 (this configuration has ${c.workers}): one datapath thread paces both directions`);
    const gq = (p.endpoint as { guarantees?: { queueBytes?: number } }).guarantees;
    if (gq !== undefined && (gq.queueBytes ?? DEFAULT_PAIR_QUEUE_BYTES) < c.pool.slotSize) bad(`ports[${i}].endpoint.guarantees.queueBytes`, `${gq.queueBytes ?? DEFAULT_PAIR_QUEUE_BYTES} bytes do not hold one ${c.pool.slotSize}-byte pool slot`);
    if ((p.endpoint as { guarantees?: object }).guarantees !== undefined && c.workers === 0) bad(`ports[${i}].endpoint.guarantees`, 'the pair limiters are paced by datapath worker threads: set workers >= 1');
  });
  if (c.pool.slots < c.nic.ringSize) bad('pool.slots', `${c.pool.slots} slots cannot fill one ${c.nic.ringSize}-descriptor ring`);
  const mem = memoryEstimate(c);
  if (mem.pool > MAX_POOL_BYTES) {
    bad('pool', `slots x slotSize = ${c.pool.slots} x ${c.pool.slotSize} = ${gib(mem.pool)}, over the ${gib(MAX_POOL_BYTES)} one pool can hold: use fewer slots or smaller ones`);
  } else if (mem.total > totalmem() * MAX_MEMORY_SHARE) {
    bad('pool', `this configuration needs about ${gib(mem.total)} of shared memory (pool ${gib(mem.pool)}), over ${MAX_MEMORY_SHARE * 100}% of this host's ${gib(totalmem())}: use fewer or smaller pool slots, or fewer flow cache entries`);
  }
  // Rules: compile the whole list as the switch will (one batch), naming rules[i].field.
  try {
    new RuleSet({ ports: c.ports.map((p) => p.name), queues: c.nic.queues }, { maxRules: c.flow.maxRules }).apply({ add: c.rules });
  } catch (e) {
    if (e instanceof RuleError) bad(e.field.replace(/^add/, 'rules'), e.problem);
    else throw e;
  }
  ConfigError.throwAll(problems);
  return c;
}

/** The configuration file could not be read at all (not a problem of its content). */
export class ConfigFileError extends Error {}

/** Read, parse and check a configuration file; errors name the file and the field. */
export function loadConfig(file: string): Config {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new ConfigFileError(`cannot read ${file}: ${fileProblem(e)}`); }
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) { throw new ConfigError('', `${file} is not valid JSON: ${(e as Error).message}`); }
  return checkConfig(doc);
}

export function defaultConfig(): Config { return checkConfig(structuredClone(DEFAULT_CONFIG_DOC)); }
