// Dataplane: assembles pool, NIC, MAC table, ports and datapath threads, and runs the
// switch's life: start, stop, frames entering from tools. Its collaborators each have one
// job: threads.ts (the datapath threads; assemble.ts builds each one's pipeline, inline or in
// worker.ts), transmit.ts (the transmit side, on the thread that owns the pool), port-life.ts
// (port life cycle and properties), switch-rules.ts (rule changes and listings),
// endpoints/port-io.ts (each port's receive counting), dataplane-stats.ts.
//
//  endpoint --(PortIo: copy into slot, counted)--> SoftNic.receive --(RX ring per queue)-->
//  pipeline (worker thread, or inline) --(TX ring per thread and port: handle + tag op)-->
//  tag op --> endpoint.sendBurst --> sent() releases the handle; dropped handles come back on
//  each thread's return ring.
//
// workers = 0 runs the pipeline inline on this thread (tests, benchmarks, one-core hosts);
// workers >= 1 spreads the queues over that many worker threads (queue q -> worker q % N at start)).
// Native endpoints (LinkEndpoint) are read and written by the worker threads (thread-io.ts),
// or inline by this thread, woken by an fd watcher (polled-receive.ts); the others deliver
// frames to this thread through their own callbacks.
// Stopping drains: endpoints stop taking frames, rings and in-flight sends empty, workers exit,
// sockets close; every handle ends back in the pool. Rules: switch-rules.ts; ports' maximum
// rates: qos/port-limits.ts; the NIC's measurements: controllers/queue-watch.ts.

import { FlowCache } from '../flow/flow-cache.js';
import { DEFAULT_FLOW_CACHE_ENTRIES, FlowStage, NIC_FLOW_CACHE_ENTRIES } from '../flow/flow-stage.js';
import { DEFAULT_MAX_RULES, RuleBatch, RuleSet } from '../flow/rule-set.js';
import { RuleTexts } from '../flow/rule-texts.js';
import { Clock, systemClock } from '../clock.js';
import { ControlTick } from '../controllers/control-tick.js';
import { CounterRegistry } from '../counter-registry.js';
import { switchCounters } from './switch-counters.js';
import { MacAging } from '../controllers/mac-aging.js';
import { LinkWatch } from '../controllers/link-watch.js';
import { CounterBlock } from '../counters.js';
import { PacketPool } from '../nic/pool.js';
import { SoftNic } from '../nic/soft-nic.js';
import type { MoveAsk } from '../nic/flow-move.js';
import { Endpoint, PORT_COUNTERS } from '../endpoints/endpoint.js';
import { LinkEndpoint } from '../endpoints/link-endpoint.js';
import { PolledReceive } from './polled-receive.js';
import { PortChannel } from '../endpoints/port-io.js';
import { MacTable } from '../vswitch/mac-table.js';
import { PortTable } from '../vswitch/port-table.js';
import { FlowKeys } from '../wire/flow-key.js';
import { RuleStat, SwitchRules } from './switch-rules.js';
import { DatapathThreads } from './threads.js';
import { finishFor, Transmitter } from './transmit.js';
import { PortLife, PortState } from './port-life.js';
import { DataplaneStats, dataplaneStats } from './dataplane-stats.js';
import { DataplaneOptions, DEFAULT_IDLE_SPIN_MICROS, DEFAULT_SHAPED_SPIN_MICROS } from './dataplane-options.js';
import { RateTrace } from './rate-trace.js';
import { ExtensionHost, ExtensionReport } from '../vswitch/ext/host.js';
import { EXT_COUNTERS } from '../vswitch/ext/state.js';
import { PortLimits } from '../qos/port-limits.js';
import { QueueControl } from './queue-control.js';
import type { QueueReport } from './queue-report.js';

export type { DataplaneStats, PortState, RuleStat };
export type { DataplaneOptions, PortSpec } from './dataplane-options.js';
export type { WorkerEvent } from './spawn-worker.js';
export { PORT_STATES } from './port-life.js';

// Why a port may not ask its kernel for offloads (TSO, partial checksums); '' when it may. Ports
// that cannot take such frames get them finished in software (Transmitter), but extensions would
// see — and may capture or edit — unsegmented frames with partial checksums.
const offloadsBlockedBy = (extensions: number): string => (extensions > 0 ? 'extensions are bound (they would see unsegmented GSO frames with partial checksums)' : '');

export class Dataplane {
  readonly o: DataplaneOptions;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  readonly nic: SoftNic;
  readonly macs: MacTable;
  readonly ports: PortTable;
  readonly portCounters: CounterBlock<typeof PORT_COUNTERS>;
  readonly clock: Clock;
  private readonly threads: DatapathThreads;
  readonly trace: RateTrace; // every port's bytes each way in 1 ms bins, as the workers count them
  private readonly tx: Transmitter;
  readonly rules: RuleSet;
  private readonly flowCacheEntries: number;
  private readonly ruleApi: SwitchRules;
  readonly extensions: ExtensionHost;
  /** Each port's side of its endpoint: receive counting, send completions. */
  private readonly io: PortChannel[];
  readonly life: PortLife; // port life cycle and properties
  /** Per port: 1 if its endpoint is native (read and written by the worker threads when there are any). */
  readonly native: Uint8Array;
  readonly limits: PortLimits; // ports' maximum rates (shapers on their native links)
  private pumpScheduled = false; private running = false;
  private txLoopDone: Promise<void> | null = null;
  private polled: PolledReceive | null = null; // reads the native endpoints when they have frames (none: no watcher thread)
  readonly tick: ControlTick; // the control thread's one timer (see controllers/)
  readonly queueControl: QueueControl; // heavy flows and RSS bucket rates every period, and the queue manager
  readonly registry: CounterRegistry; // every counter block, for stats() and GET /metrics (switch-counters.ts)
  failure: string | null = null; // set when a worker died, threw or hung: the reason

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
      if (p.endpoint.tunnels !== undefined) this.ports.markTunnel(i);
      for (const c of p.endpoint.controllers?.(p.name) ?? []) this.tick.add(c);
      if (p.macLimit !== undefined) this.macs.portLimit[i] = p.macLimit;
      for (const r of p.endpoint.staticRemotes ?? []) {
        const m = r.mac;
        this.macs.addStatic(r.vlan ?? this.ports.accessVlan(i), (m[0] << 8) | m[1], ((m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5]) >>> 0, i, r.tunnel);
      }
    });
    this.portCounters = new CounterBlock(PORT_COUNTERS, o.ports.length);
    const links = new LinkWatch(o.ports.map((p) => p.endpoint), this.portCounters);
    if (links.watching) this.tick.add(links);
    this.native = Uint8Array.from(o.ports, (p) => (p.endpoint.links !== undefined ? 1 : 0));
    this.limits = new PortLimits(o.ports, o.workers, this.native);
    const maxRules = o.maxRules ?? DEFAULT_MAX_RULES;
    this.rules = new RuleSet({ ports: o.ports.map((p) => p.name), queues: o.queues }, { maxRules });
    this.rules.apply(o.rules ?? {}); // throws RuleError before anything starts
    this.flowCacheEntries = o.flowCacheEntries ?? DEFAULT_FLOW_CACHE_ENTRIES;
    this.nic.ruleQueues = new FlowStage(this.rules, new FlowCache(NIC_FLOW_CACHE_ENTRIES), o.ports.length);
    this.extensions = new ExtensionHost(o.extensions ?? [], o.ports.map((p) => p.name), { limits: o.extensionLimits, baseDir: o.extensionBaseDir, onLog: o.onLog, threads: o.workers === 0 ? 1 : o.workers + 1 });
    this.threads = new DatapathThreads({
      workers: o.workers, queues: o.queues, txRingSize: o.txRingSize, flowCacheEntries: this.flowCacheEntries, portNames: o.ports.map((p) => p.name),
      pool: this.pool, keys: this.keys, nic: this.nic, ports: this.ports, macs: this.macs, rules: this.rules, host: this.extensions,
      originate: (e, port, frame, counters) => this.originate(e, port, frame, counters), onFailure: (why) => this.fail(why),
      native: this.native, idleSpinMicros: o.idleSpinMicros ?? DEFAULT_IDLE_SPIN_MICROS, shapedSpinMicros: o.shapedSpinMicros ?? DEFAULT_SHAPED_SPIN_MICROS,
    });
    this.trace = this.threads.trace;
    this.queueControl = new QueueControl({ nic: this.nic, shares: [this.nic.meterShare, ...this.threads.sources.flatMap((s) => (s.meter ? [s.meter] : []))], workers: o.workers, portNames: o.ports.map((p) => p.name), rules: o.queueManager, move: (a) => this.move(a), threads: this.threads }, this.tick);
    this.ruleApi = new SwitchRules(this.rules, this.threads, o.workers, this.nic.bells, () => this.failure);
    const sources = this.threads.sources;
    // With worker threads the native ports are written by the workers; the rest from here.
    this.tx = new Transmitter(this.pool, o.ports.map((p) => p.endpoint), this.portCounters, sources, o.workers > 0 ? this.native.map((n) => 1 - n) : undefined, finishFor(o.ports.map((p) => p.endpoint.takesGso === true)));
    this.io = o.ports.map((_, i) => new PortChannel(i, this.pool, this.portCounters, (h) => { this.nic.receive(h, i); this.schedulePump(); }, (h) => this.tx.release(h)));
    this.life = new PortLife(o.ports.map((p) => p.name), this.extensions, this.ports);
    this.registry = switchCounters({
      ports: o.ports, portCounters: this.portCounters, queues: this.nic.counters, macs: this.macs, tick: this.tick,
      threads: sources.map((s) => ({ pipeline: s.counters, cache: s.cache, ext: s.ext, ports: s.ports, queues: s.queues })),
      extensionNames: () => this.extensions.bound.map((b) => b.name), extensionControl: this.extensions.controlCounters, limits: this.limits, queueControl: this.queueControl,
    });
  }

  endpoint(i: number): Endpoint { return this.o.ports[i].endpoint; }
  get portState(): readonly PortState[] { return this.life.state; } // each port's life-cycle state
  get properties(): PortLife['properties'] { return this.life.properties; }

  /**
   * Bind the extensions, take every port through create -> NIC create -> connect (each
   * delivered to the extensions, which may veto), open endpoints and start the datapath
   * threads. A veto or a bad extension fails the start (ExtensionError / VetoError).
   */
  async start(): Promise<void> {
    const o = this.o, host = this.extensions;
    await host.bind();
    try {
      this.life.bringUp();
      // Native endpoints open their descriptors first: the worker threads take them at start.
      for (const p of o.ports) p.endpoint.open?.();
      const why = offloadsBlockedBy(this.extensions.count);
      for (const p of o.ports) p.endpoint.setOffloads?.(why);
      const links = o.workers === 0 ? [] : o.ports.flatMap((p, i) => p.endpoint.links?.(i) ?? []);
      this.limits.attach(links);
      await this.threads.start(this.tx, links);
    } catch (e) {
      await this.threads.terminate();
      for (const p of o.ports) await p.endpoint.close();
      await host.stop();
      throw e;
    }
    for (let i = 0; i < o.ports.length; i++) await o.ports[i].endpoint.start(this.io[i]);
    this.running = true;
    // Inline, this thread reads the native endpoints too (woken by an fd watcher).
    const polled = o.workers === 0 ? o.ports.map((p) => p.endpoint).filter((e): e is LinkEndpoint => e instanceof LinkEndpoint) : [];
    if (polled.length > 0) {
      this.polled = new PolledReceive(polled, () => this.poll());
      this.polled.start((why) => this.fail(why));
    }
    if (o.workers > 0) this.txLoopDone = this.tx.loop(() => this.running);
    this.tick.start();
    this.threads.watch(o.watchdogMs);
  }

  private fail(reason: string): void {
    if (this.failure !== null) return;
    this.failure = reason;
    this.o.onFailure?.(reason);
  }

  // Frames received in one event-loop turn (libuv reads several datagrams per poll) are
  // published to the rings together when this turn's I/O is done.
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => { this.pumpScheduled = false; this.poll(); });
  }

  // Both modes: publish what the NIC staged, move everything waiting on transmit and return rings;
  // inline mode also runs the pipeline over every queue until they are empty. Returns handles moved.
  poll(): number {
    let work = 0;
    this.nic.flush();
    // Inline mode: extensions may originate frames while the pipeline runs: publish those too.
    for (let n; (n = this.threads.serveInline(this.clock)) !== 0;) { work += n; work += this.tx.drain(); this.nic.flush(); }
    return work + this.tx.drain();
  }

  private inFlight(): number {
    let n = this.nic.unflushed;
    for (let q = 0; q < this.o.queues; q++) for (const r of this.threads.queueRings(q)) n += r.count;
    for (const p of this.o.ports) n += p.endpoint.inFlight;
    return n + (this.tx.pending() ? 1 : 0);
  }

  /** Disconnect a port's NIC (its frames dropped as dropPortDisabled) or connect it again. */
  setConnected(port: string, on: boolean): void { this.life.setConnected(port, on); }
  /** Add or update a switch property (port undefined) or a port property; a veto throws VetoError (nothing changed). */
  setProperty(name: string, value: unknown, port?: string): void { this.life.setProperty(name, value, port); }
  deleteProperty(name: string, port?: string): void { this.life.deleteProperty(name, port); }

  /**
   * A frame enters the switch as if received on `port` (replay, tools): copied into a slot and
   * counted on the port like a received frame. Returns false when it was not taken — the pool
   * is empty (try again once handles come back: see `poolFree`), the frame is larger than a
   * slot (counted as rxDropOversize) or the switch is stopping (rxDropStopping).
   */
  inject(port: number, data: Uint8Array, off: number, len: number): boolean {
    if (this.pool.available === 0) return false; // not dropped: the caller tries again
    return this.io[port].receive(data, off, len);
  }

  get poolFree(): number { return this.pool.available; } // free pool slots right now

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

  extensionReport(): ExtensionReport[] { return this.extensions.report(); } // bound extensions, their state and counters

  /**
   * Apply a batch of rule changes atomically on every datapath thread, without stopping any
   * (RuleSync). Rejects with RuleError (nothing changed) when invalid; resolves with the added
   * rules once every thread applies it: the next packet any thread classifies follows them.
   */
  async applyRules(batch: RuleBatch | RuleTexts): Promise<string[]> { return (await this.applyRuleTexts(batch)).added; }

  /** applyRules, answering the deleted ids too (the control API takes batches as texts). */
  applyRuleTexts(batch: RuleBatch | RuleTexts): Promise<{ added: string[]; deleted: string[] }> { return this.ruleApi.apply(batch); }
  /** Installed rules in the order they were added, from `offset` (at most `limit`), with their counters. */
  rulePage(offset: number, limit: number): RuleStat[] { return this.ruleApi.page(offset, limit); }
  /** Installed rules in evaluation order with their packet and byte counters (all threads). */
  ruleStats(): RuleStat[] { return this.ruleApi.list(); }

  /** Stop taking frames, deliver what is in flight (up to `timeoutMs`), stop threads, close. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.threads.supervisor.stopping = true;
    this.tick.stop();
    for (const io of this.io) io.quiesce();
    this.threads.quiesce();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight() !== 0 && Date.now() < deadline) {
      this.poll();
      await new Promise<void>((r) => setTimeout(r, 1));
    }
    this.running = false;
    await this.polled?.stop();
    await this.threads.stop();
    this.tx.bell.wakeAlways();
    if (this.txLoopDone) await this.txLoopDone;
    this.poll();
    for (const p of this.o.ports) await p.endpoint.close();
    // Port teardown, delivered to the extensions (not vetoable), then the extensions go.
    this.life.tearDown();
    await this.extensions.stop();
  }

  /** Move a flow (by its 5-tuple filter) or an RSS entry to another queue on every NIC instance, keeping the order (SoftNic.move). */
  move(ask: MoveAsk): void { this.nic.move(ask); this.threads.move(ask); }
  /** Queues, their threads, filters, RSS table and the measured heavy flows (GET /queues). */
  queues(): QueueReport {
    return this.queueControl.report(this.registry, (q) => this.threads.queueRings(q).reduce((n, r) => n + r.count, 0));
  }

  /** Counters summed over threads, per port; queue counters; MAC table, pool, flows, extensions, controllers. */
  stats(): DataplaneStats {
    return dataplaneStats({ registry: this.registry, ports: this.o.ports, nic: this.nic, pool: this.pool, macs: this.macs, rules: this.rules, flowCacheEntries: this.flowCacheEntries, extensions: this.extensions, tick: this.tick, limits: this.limits });
  }
}
