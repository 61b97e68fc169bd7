// Dataplane: assembles pool, NIC, MAC table, ports and datapath threads, and runs the
// transmit side on the thread that owns the pool.
//
//  endpoint --(copy into slot)--> SoftNic.receive --(RX ring per queue)--> pipeline
//  (worker thread, or inline) --(TX ring per worker and port)--> tag op --> endpoint.send
//  --> sent() releases the handle; dropped handles come back on each worker's return ring.
//
// workers = 0 runs the pipeline inline on this thread (tests, benchmarks, one-core hosts);
// workers >= 1 spreads the queues over that many worker threads (queue q -> worker q % N).
// Stopping drains: endpoints stop taking frames, rings and in-flight sends empty, workers
// exit, sockets close. Every handle ends back in the pool (checked by the tests).
//
// Rules: `rules` is the switch's authoritative RuleSet (validation, listing, the NIC's queue
// actions). Each datapath thread classifies with its own replica and flow cache; a change
// (applyRules) is applied here first — so a bad batch is refused before any thread sees it —
// then posted to every worker, which applies it in slices between batches and acknowledges
// (RuleSync, RuleReplica). applyRules resolves once every worker has acknowledged: a packet
// classified after that uses the new rules, and no batch is classified under half a change.

import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';
import { FLOW_CACHE_COUNTERS, FlowCache } from '../flow/flow-cache.js';
import { DEFAULT_FLOW_CACHE_ENTRIES, FlowStage } from '../flow/flow-stage.js';
import { LAYERS, RuleSpec } from '../flow/rule.js';
import { DEFAULT_MAX_RULES, ruleCounterBytes, RuleBatch, RuleSet, RuleView } from '../flow/rule-set.js';
import { RuleTexts } from '../flow/rule-texts.js';
import { encodeRows } from '../flow/rule-rows.js';
import { Clock, systemClock } from '../clock.js';
import { ControllerReport, ControlTick } from '../controllers/control-tick.js';
import { CounterRegistry } from '../counter-registry.js';
import { switchCounters } from './switch-counters.js';
import { MacAging } from '../controllers/mac-aging.js';
import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { Rss } from '../nic/rss.js';
import { QUEUE_COUNTERS, SoftNic } from '../nic/soft-nic.js';
import { Endpoint, PEER_DOWN, PORT_COUNTERS, PortIo } from '../endpoints/endpoint.js';
import { applyTagOp } from '../vswitch/egress-tag.js';
import { MacTable } from '../vswitch/mac-table.js';
import { BATCH_MAX, PIPELINE_COUNTERS, SwitchPipeline } from '../vswitch/pipeline.js';
import { PortTable, PortVlanConfig } from '../vswitch/port-table.js';
import { FlowKeys } from '../wire/flow-key.js';
import { serveQueues } from './serve.js';
import { controlWords, CTL_STOP, WorkerSetup } from './worker-setup.js';
import { DEFAULT_WATCHDOG_MS, WorkerSupervisor } from './supervisor.js';
import { RuleSync } from './rule-sync.js';
import { ControlOp } from '../vswitch/ext/api.js';
import { datapathExtensions } from '../vswitch/ext/datapath.js';
import { ExtensionError, ExtensionHost, ExtensionLimits, ExtensionReport, ExtensionSpec } from '../vswitch/ext/host.js';
import { ExtensionStack } from '../vswitch/ext/stack.js';
import { EXT_COUNTERS, extensionCounters } from '../vswitch/ext/state.js';
import { brief } from '../quote.js';

export interface PortSpec {
  name: string;
  endpoint: Endpoint;
  vlan: PortVlanConfig;
  /** Most MACs learned on this port; frames from further new MACs are dropped (dropMacLimit). */
  macLimit?: number;
}

export interface DataplaneOptions {
  poolSlots: number;
  slotSize: number;
  queues: number;
  ringSize: number;
  txRingSize: number;
  workers: number;
  filterCapacity: number;
  macTableSize: number;
  macAgingSeconds: number;
  /** Share of the MAC table reserved for the ports, split evenly (default 50). */
  macReservedPercent?: number;
  rss?: Rss;
  ports: PortSpec[];
  clock?: Clock;
  /** Rules installed at start (one atomic batch). */
  rules?: RuleBatch;
  /** Flow cache entries per datapath thread. */
  flowCacheEntries?: number;
  maxRules?: number;
  /** Extensions bound to this switch, in configuration order. */
  extensions?: ExtensionSpec[];
  extensionLimits?: Partial<ExtensionLimits>;
  /** Directory extension module paths are relative to (the configuration file's). */
  extensionBaseDir?: string;
  /** Extension events (faults, ignored vetoes, log lines). */
  onLog?: (message: string) => void;
  /**
   * A datapath worker whose loop shows no progress for this long is declared hung (0: no
   * watchdog). Default DEFAULT_WATCHDOG_MS.
   */
  watchdogMs?: number;
  /** Called once when a datapath worker fails (exits, throws or hangs); `failure` says why. */
  onFailure?: (reason: string) => void;
}


/** Port life cycle, in order (docs/extensions.md). */
export const PORT_STATES = ['none', 'created', 'nicCreated', 'connected', 'disconnected', 'nicDeleted', 'tornDown', 'deleted'] as const;
export type PortState = (typeof PORT_STATES)[number];

/** NIC's own flow cache, used only for rules with a `queue` action. */
const NIC_FLOW_CACHE_ENTRIES = 4096;

const TX_BURST = 256;

interface Source {
  tx: Ring[]; ret: Ring; counters: CounterBlock<typeof PIPELINE_COUNTERS>;
  ext: CounterBlock<typeof EXT_COUNTERS>;
  /** The thread's rule counters and flow cache (in shared memory, read for stats). */
  ruleCounters: Float64Array; cache: CounterBlock<typeof FLOW_CACHE_COUNTERS>;
  rulePort: MessagePort | null;
}

export class Dataplane {
  readonly o: DataplaneOptions;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  readonly nic: SoftNic;
  readonly macs: MacTable;
  readonly ports: PortTable;
  readonly portCounters: CounterBlock<typeof PORT_COUNTERS>;
  readonly clock: Clock;
  private readonly txOp: Int32Array;
  private readonly mainBell = new Doorbell();
  private readonly sources: Source[] = [];
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  readonly rules: RuleSet;
  private readonly flowCacheEntries: number;
  private ruleSync: RuleSync | null = null;
  readonly extensions: ExtensionHost;
  readonly portState: PortState[];
  readonly properties = { switch: new Map<string, unknown>(), port: new Map<string, Map<string, unknown>>() };
  private inline: SwitchPipeline | null = null;
  private readonly scratch = new Int32Array(TX_BURST);
  private readonly batch = new Int32Array(BATCH_MAX);
  private pumpScheduled = false;
  private running = false;
  private txLoopDone: Promise<void> | null = null;
  /** The control thread's one timer: MAC aging today (see controllers/). */
  readonly tick: ControlTick;
  /** Every counter block, for stats() and GET /metrics (switch-counters.ts). */
  readonly registry: CounterRegistry;
  /** Set when a worker died, threw or hung; the reason. */
  failure: string | null = null;
  private readonly supervisor: WorkerSupervisor;

  constructor(o: DataplaneOptions) {
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.pool = new PacketPool(o.poolSlots, o.slotSize);
    this.keys = new FlowKeys(o.poolSlots);
    this.nic = new SoftNic(this.pool, this.keys, { queues: o.queues, ringSize: o.ringSize, rss: o.rss, filterCapacity: o.filterCapacity });
    this.macs = new MacTable(o.macTableSize, o.ports.length, o.macAgingSeconds, undefined, o.macReservedPercent);
    this.tick = new ControlTick(this.clock);
    this.tick.add(new MacAging(this.macs, o.macAgingSeconds));
    this.ports = new PortTable(o.ports.length);
    o.ports.forEach((p, i) => {
      this.ports.configure(i, p.vlan);
      if (p.macLimit !== undefined) this.macs.portLimit[i] = p.macLimit;
    });
    this.portCounters = new CounterBlock(PORT_COUNTERS, o.ports.length);
    this.txOp = new Int32Array(new SharedArrayBuffer(o.ports.length * o.poolSlots * 4));
    this.control = new Int32Array(new SharedArrayBuffer(controlWords(o.workers) * 4));
    const maxRules = o.maxRules ?? DEFAULT_MAX_RULES;
    this.rules = new RuleSet({ ports: o.ports.map((p) => p.name), queues: o.queues }, { maxRules });
    this.rules.apply(o.rules ?? {}); // throws RuleError before anything starts
    this.flowCacheEntries = o.flowCacheEntries ?? DEFAULT_FLOW_CACHE_ENTRIES;
    this.nic.ruleQueues = new FlowStage(this.rules, new FlowCache(NIC_FLOW_CACHE_ENTRIES), o.ports.length);
    const nsrc = Math.max(1, o.workers);
    for (let w = 0; w < nsrc; w++) {
      this.sources.push({
        tx: o.ports.map(() => new Ring(o.txRingSize)),
        ret: new Ring(ceilPow2(o.poolSlots)),
        counters: new CounterBlock(PIPELINE_COUNTERS, o.ports.length),
        ruleCounters: o.workers === 0 ? this.rules.counters : new Float64Array(new SharedArrayBuffer(ruleCounterBytes(maxRules))),
        cache: new CounterBlock(FLOW_CACHE_COUNTERS),
        rulePort: null,
        ext: extensionCounters((o.extensions ?? []).length),
      });
    }
    this.extensions = new ExtensionHost(o.extensions ?? [], o.ports.map((p) => p.name), { limits: o.extensionLimits, baseDir: o.extensionBaseDir, onLog: o.onLog, threads: o.workers === 0 ? 1 : o.workers + 1 });
    for (const s of this.sources) this.extensions.threadCounters.push(s.ext);
    this.portState = o.ports.map(() => 'none');
    this.registry = switchCounters({
      ports: o.ports, portCounters: this.portCounters, queues: this.nic.counters, macs: this.macs, tick: this.tick,
      threads: this.sources.map((s) => ({ pipeline: s.counters, cache: s.cache, ext: s.ext })),
      extensionNames: () => this.extensions.bound.map((b) => b.name), extensionControl: this.extensions.controlCounters,
    });
    this.supervisor = new WorkerSupervisor({
      control: this.control,
      rings: (w) => this.nic.rings.filter((_, q) => q % o.workers === w),
      extension: (e) => this.extensions.bound[e],
      onFailure: (why) => this.fail(why),
    });
  }

  endpoint(i: number): Endpoint { return this.o.ports[i].endpoint; }

  /**
   * Bind the extensions, take every port through create -> NIC create -> connect (each
   * delivered to the extensions, which may veto), open endpoints and start the datapath
   * threads. A veto or a bad extension fails the start (ExtensionError / VetoError).
   */
  async start(): Promise<void> {
    const o = this.o;
    const host = this.extensions;
    await host.bind();
    try {
      for (let i = 0; i < o.ports.length; i++) {
        const port = o.ports[i].name;
        this.portOp(i, { op: 'portCreate', port }, 'created', { op: 'portDelete', port });
        this.portOp(i, { op: 'nicCreate', port }, 'nicCreated', { op: 'nicDelete', port });
        this.portOp(i, { op: 'nicConnect', port }, 'connected');
      }
    } catch (e) {
      await host.stop();
      throw e;
    }
    const names = o.ports.map((p) => p.name);
    const readies: Promise<void>[] = [];
    if (o.workers === 0) {
      const s = this.sources[0];
      const flow = new FlowStage(this.rules, new FlowCache(this.flowCacheEntries, s.cache.buffer), o.ports.length);
      let stack: ExtensionStack | null = null;
      if (host.count > 0) {
        const bound = await datapathExtensions(host.bound, 0, names, (e, port, frame) => this.originate(e, port, frame, s.ext));
        stack = new ExtensionStack(bound, host.state, s.ext, this.pool, this.keys, BATCH_MAX, o.ports.length,
          { budgetMs: host.limits.batchBudgetMs, overrunLimit: host.limits.overrunLimit, timeEvery: host.limits.timeEvery, onFault: (_e, m) => host.note(m) });
      }
      this.inline = new SwitchPipeline(this.pool, this.keys, this.ports, this.macs, this.txOp, { tx: s.tx, ret: s.ret, bell: this.mainBell }, s.counters, flow, stack);
    } else {
      for (let w = 0; w < o.workers; w++) {
        const bell = new Doorbell();
        const queues: Ring[] = [];
        for (let q = w; q < o.queues; q += o.workers) { queues.push(this.nic.rings[q]); this.nic.assign(q, bell); }
        const s = this.sources[w];
        const channel = new MessageChannel();
        s.rulePort = channel.port1;
        const setup: WorkerSetup = {
          pool: this.pool.shared(), keys: this.keys.shared(), ports: this.ports.shared(), macs: this.macs.shared(),
          portCount: o.ports.length, txOp: this.txOp.buffer as SharedArrayBuffer, queues: queues.map((r) => r.shared()),
          bell: bell.buffer, tx: s.tx.map((r) => r.shared()), ret: s.ret.shared(), mainBell: this.mainBell.buffer,
          counters: s.counters.buffer, control: this.control.buffer as SharedArrayBuffer, index: w,
          rules: { ports: o.ports.map((p) => p.name), queues: o.queues, rows: encodeRows(this.rules, this.rules.installedSlots()), maxRules: this.rules.maxRules, counters: s.ruleCounters.buffer as SharedArrayBuffer },
          flowCache: { entries: this.flowCacheEntries, counters: s.cache.buffer },
          rulePort: channel.port2,
          extensions: { bound: host.bound, state: host.state.buffer, counters: s.ext.buffer, ports: names, limits: host.limits },
        };
        const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup, transferList: [channel.port2] });
        this.supervisor.add(worker);
        readies.push(new Promise<void>((resolve, reject) => {
          worker.on('message', (m: WorkerEvent) => { if (m.ready) resolve(); });
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`datapath worker ${w} exited (code ${code}) before it was ready`)));
        }));
        worker.on('message', (m: WorkerEvent) => {
          if (m.fault) host.note(m.fault);
          else if (m.originate) this.originate(m.originate.ext, m.originate.port, m.originate.frame, s.ext);
        });
        this.workers.push(worker);
      }
    }
    // Workers load their extensions asynchronously: take no frame before every one is serving,
    // and give up on one whose extensions do not load in time (a datapath() hook that never
    // returns keeps its thread busy for good).
    const limit = host.limits.startTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([Promise.all(readies), new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`datapath workers not ready within ${limit} ms (extensionLimits.startTimeoutMs): does an extension's datapath() hook never return?`)), limit);
      })]);
    } catch (e) {
      await this.supervisor.terminate();
      await host.stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    for (let i = 0; i < o.ports.length; i++) await o.ports[i].endpoint.start(this.portIo(i));
    this.running = true;
    if (o.workers > 0) this.txLoopDone = this.txLoop();
    this.tick.start();
    this.supervisor.watch(o.watchdogMs ?? DEFAULT_WATCHDOG_MS);
  }

  private fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    this.o.onFailure?.(reason);
  }

  private portIo(i: number): PortIo {
    const nic = this.nic, pool = this.pool, c = this.portCounters.values, nc = PORT_COUNTERS.length, at = this.portCounters.at;
    return {
      port: i, pool, counters: this.portCounters,
      receive: (h) => { nic.receive(h, i); this.schedulePump(); },
      sent: (h, err) => {
        if (err === null) { c[i * nc + at.txPackets]++; c[i * nc + at.txBytes] += pool.len[h]; } else if (err === PEER_DOWN) c[i * nc + at.txDropPeerDown]++; else c[i * nc + at.txErrors]++;
        this.release(h);
      },
    };
  }

  // Drop one reference to h; the last frees it.
  private release(h: number): void {
    if (Atomics.sub(this.pool.refs, h, 1) === 1) this.pool.free(h);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => { this.pumpScheduled = false; this.poll(); });
  }
  // Frames received in one event-loop turn (libuv reads several datagrams per poll) are
  // published to the rings together when this turn's I/O is done.

  /**
   * Both modes: publish what the NIC staged, and move everything waiting on transmit and return
   * rings. Inline mode also runs the pipeline over every queue until they are empty. Returns
   * handles moved.
   */
  poll(): number {
    let work = 0;
    this.nic.flush();
    if (this.inline) {
      // Extensions may originate frames while the pipeline runs: publish those too.
      for (let n; (n = serveQueues(this.nic.rings, this.inline, this.batch, this.clock)) !== 0;) { work += n; work += this.drain(); this.nic.flush(); }
    }
    return work + this.drain();
  }

  // Transmit what the datapath produced and free what it returned.
  private drain(): number {
    let moved = 0;
    const pool = this.pool, tmp = this.scratch, slots = pool.slots, c = this.portCounters.values, nc = PORT_COUNTERS.length;
    const dropAt = this.portCounters.at.txDropPoolEmpty;
    for (let w = 0; w < this.sources.length; w++) {
      const src = this.sources[w];
      for (let p = 0; p < src.tx.length; p++) {
        const ep = this.o.ports[p].endpoint;
        for (let n; (n = src.tx[p].dequeueBurst(tmp, TX_BURST)) !== 0;) {
          moved += n;
          for (let i = 0; i < n; i++) {
            const h = tmp[i];
            const t = applyTagOp(pool, h, this.txOp[p * slots + h]);
            if (t === h) { ep.send(h); continue; }
            this.release(h);
            if (t < 0) c[p * nc + dropAt]++; else ep.send(t);
          }
        }
      }
      for (let n; (n = src.ret.dequeueBurst(tmp, TX_BURST)) !== 0;) {
        moved += n;
        for (let i = 0; i < n; i++) pool.free(tmp[i]);
      }
    }
    return moved;
  }

  // Threaded mode: transmit whenever a worker rings, yielding to the event loop between rounds.
  private async txLoop(): Promise<void> {
    while (this.running) {
      if (this.drain() !== 0) { await new Promise<void>((r) => setImmediate(r)); continue; }
      const seq = this.mainBell.prepareSleep();
      if (this.pending()) { this.mainBell.wake(); continue; }
      await this.mainBell.sleepAsync(seq, 50);
    }
  }

  private pending(): boolean {
    for (const s of this.sources) {
      if (s.ret.count !== 0) return true;
      for (const r of s.tx) if (r.count !== 0) return true;
    }
    return false;
  }

  private inFlight(): number {
    let n = this.nic.unflushed;
    for (const r of this.nic.rings) n += r.count;
    for (const p of this.o.ports) n += p.endpoint.inFlight;
    return n + (this.pending() ? 1 : 0);
  }

  // One port life-cycle step, delivered to the extensions (which may veto, undone by `undo`).
  private portOp(i: number, op: ControlOp, to: PortState, undo?: ControlOp): void {
    const from = this.portState[i];
    if (PORT_STATES.indexOf(to) !== PORT_STATES.indexOf(from) + 1 && !(to === 'connected' && from === 'disconnected')) {
      throw new ExtensionError(`port ${this.o.ports[i].name}: cannot go from ${from} to ${to}`);
    }
    this.extensions.controlOp(op, undo);
    this.portState[i] = to;
    if (to === 'connected') this.ports.setEnabled(i, true);
    if (to === 'disconnected') this.ports.setEnabled(i, false);
  }

  private portIndex(name: string): number {
    const i = this.o.ports.findIndex((p) => p.name === name);
    if (i < 0) throw new ExtensionError(`no port named ${brief(name)}`);
    return i;
  }

  /** Disconnect a port's NIC (frames to and from it are dropped as dropPortDisabled) or connect it again. */
  setConnected(port: string, on: boolean): void {
    const i = this.portIndex(port);
    if (on) this.portOp(i, { op: 'nicConnect', port }, 'connected');
    else this.portOp(i, { op: 'nicDisconnect', port }, 'disconnected');
  }

  /**
   * Add or update a switch property (port undefined) or a port property; delivered to every
   * extension, which may veto. Throws VetoError (nothing changed) on a veto.
   */
  setProperty(name: string, value: unknown, port?: string): void {
    const store = this.propertyStore(port);
    const had = store.has(name);
    const old = store.get(name);
    const scope = port === undefined ? 'switch' as const : 'port' as const;
    this.extensions.controlOp({ op: had ? 'propertyUpdate' : 'propertyAdd', scope, port, name, value },
      had ? { op: 'propertyUpdate', scope, port, name, value: old } : { op: 'propertyDelete', scope, port, name, value });
    store.set(name, value);
  }

  deleteProperty(name: string, port?: string): void {
    const store = this.propertyStore(port);
    if (!store.has(name)) throw new ExtensionError(`no ${port === undefined ? 'switch' : `port ${port}`} property ${brief(name)}`);
    const old = store.get(name);
    const scope = port === undefined ? 'switch' as const : 'port' as const;
    this.extensions.controlOp({ op: 'propertyDelete', scope, port, name, value: old }, { op: 'propertyAdd', scope, port, name, value: old });
    store.delete(name);
  }

  private propertyStore(port?: string): Map<string, unknown> {
    if (port === undefined) return this.properties.switch;
    this.portIndex(port);
    let m = this.properties.port.get(port);
    if (!m) { m = new Map(); this.properties.port.set(port, m); }
    return m;
  }

  /**
   * A frame enters the switch as if received on `port` (replay, tools): copied into a slot and
   * counted on the port like a received frame. Returns false when it was not taken — the pool
   * is empty (try again once handles come back: see `poolFree`) or the frame is larger than a
   * slot (counted as rxDropOversize).
   */
  inject(port: number, data: Uint8Array, off: number, len: number): boolean {
    const c = this.portCounters.values, row = port * PORT_COUNTERS.length, at = this.portCounters.at;
    const h = this.pool.allocFrom(data, off, len);
    if (h === -2) { c[row + at.rxDropOversize]++; return false; }
    if (h < 0) return false;
    c[row + at.rxPackets]++;
    c[row + at.rxBytes] += len;
    this.nic.receive(h, port);
    this.schedulePump();
    return true;
  }

  /** Free pool slots right now. */
  get poolFree(): number { return this.pool.available; }

  // A frame an extension originates enters the switch as if received on `port`.
  private originate(e: number, port: number, frame: Uint8Array, counters: CounterBlock<typeof EXT_COUNTERS>): boolean {
    if (!this.running || port < 0 || port >= this.o.ports.length) return false;
    const h = this.pool.allocFrom(frame, 0, frame.length);
    if (h < 0) return false;
    counters.values[counters.slot('originated', e)]++;
    this.nic.receive(h, port);
    this.schedulePump();
    return true;
  }

  /** Bound extensions with their state and counters. */
  extensionReport(): ExtensionReport[] { return this.extensions.report(); }

  /**
   * Apply a batch of rule changes atomically on every datapath thread, without stopping any
   * (RuleSync). Rejects with RuleError (nothing changed anywhere) when the batch is invalid;
   * resolves with the added rules once every thread applies it, so the next packet any thread
   * classifies follows the new rules.
   */
  async applyRules(batch: RuleBatch | RuleTexts): Promise<string[]> { return (await this.applyRuleTexts(batch)).added; }

  /** applyRules, answering the deleted ids too (the control API takes batches as texts). */
  applyRuleTexts(batch: RuleBatch | RuleTexts): Promise<{ added: string[]; deleted: string[] }> {
    // Workers start from the configured rules: a change made before they exist would reach
    // this thread's rules only.
    if (this.o.workers > 0 && this.workers.length === 0) return Promise.reject(new Error('the switch is not started: rule changes before start() would not reach its datapath threads (put them in the configuration)'));
    this.ruleSync ??= new RuleSync(this.rules, { ports: () => this.sources.flatMap((x) => (x.rulePort ? [x.rulePort] : [])), control: this.control, bells: this.nic.bells, failure: () => this.failure });
    return this.ruleSync.apply(batch);
  }

  /** Installed rules in the order they were added, from `offset` (at most `limit`), with their counters. */
  rulePage(offset: number, limit: number): RuleStat[] { return this.rules.page(offset, limit).map((r) => this.ruleStat(r)); }

  private ruleStat(r: RuleView): RuleStat {
    let packets = 0, bytes = 0;
    for (const s of this.sources) { packets += s.ruleCounters[r.slot * 2]; bytes += s.ruleCounters[r.slot * 2 + 1]; }
    return { ...r.spec!, id: r.id, packets, bytes };
  }

  /** Installed rules in evaluation order with their packet and byte counters (all threads). */
  ruleStats(): RuleStat[] { return this.rules.list().map((r) => this.ruleStat(r)); }

  /** Stop taking frames, deliver what is in flight (up to `timeoutMs`), stop threads, close. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.supervisor.stopping = true;
    this.tick.stop();
    for (const p of this.o.ports) p.endpoint.quiesce();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight() !== 0 && Date.now() < deadline) {
      this.poll();
      await new Promise<void>((r) => setTimeout(r, 1));
    }
    this.running = false;
    Atomics.store(this.control, CTL_STOP, 1);
    for (const q of this.nic.bells) q.wakeAlways();
    // Workers exit once their rings are empty; one that does not within a second is ended.
    await this.supervisor.stop(1000);
    // Frames still queued for a worker that failed will never be served: count and free them.
    for (let q = 0; q < this.nic.queues; q++) {
      const ring = this.nic.rings[q];
      for (let n; (n = ring.dequeueBurst(this.scratch, TX_BURST)) !== 0;) {
        this.nic.counters.values[this.nic.counters.slot('dropUnserved', q)] += n;
        for (let i = 0; i < n; i++) this.pool.free(this.scratch[i]);
      }
    }
    for (const s of this.sources) s.rulePort?.close();
    this.mainBell.wakeAlways();
    if (this.txLoopDone) await this.txLoopDone;
    this.poll();
    for (const p of this.o.ports) await p.endpoint.close();
    // Port teardown, delivered to the extensions (not vetoable), then the extensions go.
    for (let i = 0; i < this.o.ports.length; i++) {
      const port = this.o.ports[i].name;
      const steps: [ControlOp, PortState][] = [[{ op: 'nicDisconnect', port }, 'disconnected'], [{ op: 'nicDelete', port }, 'nicDeleted'],
        [{ op: 'portTeardown', port }, 'tornDown'], [{ op: 'portDelete', port }, 'deleted']];
      for (const [op, to] of steps) {
        if (PORT_STATES.indexOf(this.portState[i]) >= PORT_STATES.indexOf(to) || this.portState[i] === 'none') continue;
        if (to === 'disconnected' && this.portState[i] !== 'connected') continue;
        this.extensions.controlOp(op);
        this.portState[i] = to;
      }
    }
    await this.extensions.stop();
  }

  /** Counters summed over workers, per port; queue counters; MAC table and pool state. */
  stats(): DataplaneStats {
    const byPort = this.registry.totals('port'), byQueue = this.registry.totals('queue');
    const ports = this.o.ports.map((p) => ({ name: p.name, endpoint: p.endpoint.describe(), counters: byPort.get(p.name)! }));
    const queues = [];
    for (let q = 0; q < this.nic.queues; q++) queues.push({ queue: q, depth: this.nic.rings[q].count, counters: byQueue.get(String(q)) as Record<(typeof QUEUE_COUNTERS)[number], number> });
    return {
      ports, queues,
      pool: { slots: this.pool.slots, free: this.pool.available },
      macTable: { entries: this.macs.count, learned: this.macs.counter('learned'), moved: this.macs.counter('moved'), aged: this.macs.counter('aged'), tableFull: this.macs.counter('tableFull'), portLimit: this.macs.counter('portLimit'), sharedFull: this.macs.counter('sharedFull'), reservePerPort: this.macs.reserve, sharedInUse: this.macs.sharedInUse, sharedCapacity: this.macs.sharedCapacity },
      steering: { filters: this.nic.steering.size, capacity: this.nic.steering.capacity },
      flows: this.flowStats(),
      extensions: this.extensions.count ? this.extensions.report() : [],
      controllers: this.tick.report(),
    };
  }

  private flowStats(): DataplaneStats['flows'] {
    const cache = this.registry.totals('flow_cache').get('all')!;
    const looked = cache.hits + cache.misses;
    const perLayer: Record<string, number> = {};
    LAYERS.forEach((l, i) => { perLayer[l] = this.rules.perLayer[i]; });
    return { rules: this.rules.size, rulesByLayer: perLayer, cacheEntriesPerThread: this.flowCacheEntries, cache, hitRate: looked === 0 ? 0 : cache.hits / looked };
  }
}

export type RuleStat = RuleSpec & { id: string; packets: number; bytes: number };

export interface DataplaneStats {
  ports: { name: string; endpoint: string; counters: Record<string, number> }[];
  queues: { queue: number; depth: number; counters: Record<(typeof QUEUE_COUNTERS)[number], number> }[];
  pool: { slots: number; free: number };
  macTable: Record<string, number>;
  steering: { filters: number; capacity: number };
  extensions: ExtensionReport[];
  flows: { rules: number; rulesByLayer: Record<string, number>; cacheEntriesPerThread: number; cache: Record<string, number>; hitRate: number };
  /** The control tick's controllers: ticks, and faults (a throwing controller is counted, not fatal). */
  controllers: ControllerReport[];
}

/** What a datapath worker posts to the main thread. */
export interface WorkerEvent { ready?: boolean; fault?: string; originate?: { ext: number; port: number; frame: Uint8Array } }

function ceilPow2(n: number): number { let p = 2; while (p < n) p <<= 1; return p; }
