// DatapathThreads: the switch's datapath threads and the main thread's view of each — its
// transmit rings, its counters (pipeline, flow cache, extensions, rules, and for the native
// ports it reads and writes: port and queue counters), its rule port — and their life: start
// inline (workers = 0: this thread runs the pipeline, see serveInline) or as worker threads
// (queue q -> worker q % N at start; moveQueue changes it, queue-owners.ts), supervised
// (supervisor.ts), and stopped once their rings are
// empty. Frames left on the queues of a worker that failed are counted (dropUnserved) and
// freed.
//
// Worker threads own the native ports end to end (worker.ts): the links (link.ts) are dealt
// out over the workers (link i -> worker i % N), each worker reads its links, runs the NIC's
// steering itself, and writes every native port's frames itself. A receive queue is therefore
// fed by several rings, one per producing thread (the main thread's, nic.rings[q], and one per
// worker), so that every ring keeps a single producer.

import { MessageChannel, MessagePort } from 'node:worker_threads';
import { Clock } from '../clock.js';
import { CounterBlock } from '../counters.js';
import { FLOW_CACHE_COUNTERS, FlowCache } from '../flow/flow-cache.js';
import { encodeRows } from '../flow/rule-rows.js';
import { ruleCounterBytes, RuleSet } from '../flow/rule-set.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { QUEUE_COUNTERS, SoftNic } from '../nic/soft-nic.js';
import { PORT_COUNTERS } from '../endpoints/endpoint.js';
import type { LinkShare } from '../endpoints/link.js';
import { errnoName, native } from '../native/io.js';
import { FlowKeys } from '../wire/flow-key.js';
import { MacTable } from '../vswitch/mac-table.js';
import { BATCH_MAX, PIPELINE_COUNTERS, SwitchPipeline } from '../vswitch/pipeline.js';
import { PortTable } from '../vswitch/port-table.js';
import { Originate } from '../vswitch/ext/datapath.js';
import { ExtensionHost } from '../vswitch/ext/host.js';
import { EXT_COUNTERS, extensionCounters } from '../vswitch/ext/state.js';
import { assembleDatapath } from './assemble.js';
import { serveQueues } from './serve.js';
import { allReady, spawnWorker } from './spawn-worker.js';
import { DEFAULT_WATCHDOG_MS, WorkerSupervisor } from './supervisor.js';
import { Transmitter, TX_BURST } from './transmit.js';
import { RateTrace, TraceShare, traceShare } from './rate-trace.js';
import { FlowMeter, MeterShare } from '../nic/flow-meter.js';
import { QueueOwners } from './queue-owners.js';
import { controlWords, CTL_NIC_MOVES, CTL_QUIESCE, CTL_STOP, NicMove, WorkerSetup } from './worker-setup.js';

/** One datapath thread's rings and counters (the main thread's view of it). */
export interface ThreadSource {
  tx: Ring[]; counters: CounterBlock<typeof PIPELINE_COUNTERS>;
  /** Worker threads: the port and queue counters of the native ports it reads and writes. */
  ports: CounterBlock<typeof PORT_COUNTERS> | null; queues: CounterBlock<typeof QUEUE_COUNTERS> | null;
  /** Worker threads: its ring into each queue. */
  produced: Ring[];
  ext: CounterBlock<typeof EXT_COUNTERS>;
  /** The thread's rule counters and flow cache (in shared memory, read for stats). */
  ruleCounters: Float64Array; cache: CounterBlock<typeof FLOW_CACHE_COUNTERS>;
  rulePort: MessagePort | null;
  /** Worker threads: where flow moves for its NIC go. */
  nicPort: MessagePort | null;
  /** Worker threads: its ring of 1 ms stamps of its port counters (rate-trace.ts). */
  trace: TraceShare | null;
  /** Worker threads: what its NIC steering measures per RSS bucket and flow (flow-meter.ts). */
  meter: MeterShare | null;
}

/** What the threads run on. */
export interface ThreadParts {
  workers: number; queues: number; txRingSize: number; flowCacheEntries: number; portNames: string[];
  pool: PacketPool; keys: FlowKeys; nic: SoftNic; ports: PortTable; macs: MacTable; rules: RuleSet; host: ExtensionHost;
  /** A frame extension e of a thread originates on `port` (counted on that thread's extension counters). */
  originate: (e: number, port: number, frame: Uint8Array, counters: CounterBlock<typeof EXT_COUNTERS>) => boolean;
  onFailure: (reason: string) => void;
  /** Per port: 1 if its endpoint is native (worker threads read and write it). */
  native: Uint8Array;
  /** How long a worker spins after its last work before it sleeps (µs; 0: never). */
  idleSpinMicros: number;
  /** Poll, not sleep, for a shaped frame due within this many µs. */
  shapedSpinMicros: number;
}

export class DatapathThreads {
  readonly sources: ThreadSource[] = [];
  readonly trace: RateTrace;
  /** Stop flag, rule versions, heartbeats, hook words (worker-setup.ts). */
  readonly control: Int32Array;
  readonly supervisor: WorkerSupervisor;
  private readonly p: ThreadParts;
  private inline: SwitchPipeline | null = null;
  /** The threads were started (rule changes reach them from now on). */
  started = false;
  private readonly scratch = new Int32Array(TX_BURST);
  private readonly batch = new Int32Array(BATCH_MAX);
  /** Eventfds made for workers that poll (closed when they are gone). */
  private readonly wakeFds: { bell: Doorbell; fd: number }[] = [];
  /** Which worker serves each queue (queue-owners.ts), and each worker's bell. */
  readonly owners: QueueOwners;
  private readonly bells: Doorbell[];

  constructor(p: ThreadParts) {
    this.p = p;
    this.control = new Int32Array(new SharedArrayBuffer(controlWords(p.workers) * 4));
    this.owners = new QueueOwners(p.queues, Math.max(1, p.workers));
    this.bells = Array.from({ length: p.workers }, () => new Doorbell());
    const np = p.portNames.length, extensions = p.host.count;
    for (let w = 0; w < Math.max(1, p.workers); w++) {
      const threaded = p.workers > 0;
      this.sources.push({
        tx: p.portNames.map(() => new Ring(p.txRingSize, undefined, true)),
        counters: new CounterBlock(PIPELINE_COUNTERS, np),
        ports: threaded ? new CounterBlock(PORT_COUNTERS, np) : null,
        queues: threaded ? new CounterBlock(QUEUE_COUNTERS, p.queues) : null,
        produced: threaded ? Array.from({ length: p.queues }, () => new Ring(p.nic.rings[0].capacity)) : [],
        ruleCounters: p.workers === 0 ? p.rules.counters : new Float64Array(new SharedArrayBuffer(ruleCounterBytes(p.rules.maxRules))),
        cache: new CounterBlock(FLOW_CACHE_COUNTERS),
        rulePort: null, nicPort: null,
        ext: extensionCounters(extensions),
        trace: threaded ? traceShare(np) : null,
        meter: threaded ? FlowMeter.share(p.nic.rss.indirection.length) : null,
      });
    }
    const shares = this.sources.flatMap((s) => (s.trace ? [s.trace] : []));
    this.trace = new RateTrace(shares, p.portNames, Array.from(p.native, (n) => shares.length !== 0 && n === 1));
    for (const s of this.sources) p.host.threadCounters.push(s.ext);
    this.supervisor = new WorkerSupervisor({
      control: this.control,
      rings: (w) => this.inputRings(w),
      extension: (e) => p.host.bound[e],
      onFailure: p.onFailure,
    });
  }

  /** The rings that feed queue q: the main thread's, and each worker's. */
  queueRings(q: number): Ring[] {
    return [this.p.nic.rings[q], ...this.sources.flatMap((s) => (s.produced.length !== 0 ? [s.produced[q]] : []))];
  }

  /** The rings worker w serves now: those of each of its queues. */
  inputRings(w: number): Ring[] {
    const out: Ring[] = [];
    for (let q = 0; q < this.p.queues; q++) if (Atomics.load(this.owners.owner, q) === w) out.push(...this.queueRings(q));
    return out;
  }

  /** Ask for queue q to be served by worker `thread` (it changes once the worker serving it now has drained it: queue-owners.ts). */
  moveQueue(q: number, thread: number): void {
    if (!Number.isInteger(q) || q < 0 || q >= this.p.queues) throw new RangeError(`queue: ${q} is not a receive queue (0..${this.p.queues - 1})`);
    if (!Number.isInteger(thread) || thread < 0 || thread >= this.p.workers) throw new RangeError(`thread: ${thread} is not a datapath thread (0..${this.p.workers - 1})`);
    this.owners.ask(q, thread, this.bells);
  }

  /** Inline mode's pipeline (null with workers, or before start). */
  get inlinePipeline(): SwitchPipeline | null { return this.inline; }

  /** Rule ports of the worker threads (none inline). */
  rulePorts(): MessagePort[] { return this.sources.flatMap((x) => (x.rulePort ? [x.rulePort] : [])); }

  /** Post a move to every worker's NIC (the main thread's NIC takes it itself). */
  move(m: NicMove): void {
    let n = 0;
    for (const s of this.sources) if (s.nicPort) { s.nicPort.postMessage(m); n++; }
    if (n !== 0) { Atomics.add(this.control, CTL_NIC_MOVES, 1); for (const b of new Set(this.p.nic.bells)) b.ring(); }
  }

  /**
   * Start the datapath: assemble it inline, or spawn the workers and wait until every one has
   * loaded its extensions and serves its queues (no frame is taken before). `tx` receives what
   * they emit. On failure the caller terminates (terminate()).
   */
  async start(tx: Transmitter, links: LinkShare[]): Promise<void> {
    const p = this.p, host = p.host, names = p.portNames;
    const ext = (s: ThreadSource, thread: number) => ({ bound: host.bound, counters: s.ext, ports: names, limits: host.limits, thread });
    const originate = (s: ThreadSource): Originate => (e, port, frame) => p.originate(e, port, frame, s.ext);
    if (p.workers === 0) {
      const s = this.sources[0];
      this.inline = await assembleDatapath({
        pool: p.pool, keys: p.keys, ports: p.ports, macs: p.macs, out: { tx: s.tx, ret: null, bell: tx.bell }, counters: s.counters,
        rules: p.rules, cache: new FlowCache(p.flowCacheEntries, s.cache.buffer),
        extensions: { ...ext(s, 0), state: host.state, originate: originate(s), onFault: (m) => host.note(m) },
      });
      this.started = true;
      return;
    }
    const readies: Promise<void>[] = [];
    const bells = this.bells;
    p.nic.serveBy(bells, this.owners.owner);
    const nic = p.nic.share(), bellPorts = Uint8Array.from(p.native, (n) => 1 - n);
    for (let w = 0; w < p.workers; w++) {
      const bell = bells[w];
      const s = this.sources[w];
      const readLinks = links.map((_, i) => i).filter((i) => i % p.workers === w);
      // A worker that reads native ports sleeps in poll(): its bell signals an eventfd as well.
      let wakeFd = -1;
      if (readLinks.length !== 0) {
        wakeFd = native!.eventfdOpen();
        if (wakeFd < 0) throw new Error(`eventfd for datapath worker ${w}: ${errnoName(wakeFd)}`);
        bell.useEventfd(wakeFd);
        this.wakeFds.push({ bell, fd: wakeFd });
      }
      const channel = new MessageChannel(), nicChannel = new MessageChannel();
      s.rulePort = channel.port1; s.nicPort = nicChannel.port1;
      const setup: WorkerSetup = {
        pool: p.pool.shared(), keys: p.keys.shared(), ports: p.ports.shared(), macs: p.macs.shared(),
        portCount: names.length, queueRings: Array.from({ length: p.queues }, (_, q) => this.queueRings(q).map((r) => r.shared())), owners: this.owners.buffer,
        bells: bells.map((b) => b.buffer), tx: s.tx.map((r) => r.shared()), mainBell: tx.bell.buffer, bellPorts,
        nic: { ...nic, rings: s.produced.map((r) => r.shared()), counters: s.queues!.buffer, meter: s.meter! },
        portCounters: s.ports!.buffer, trace: s.trace!, links, readLinks, idleSpinMicros: p.idleSpinMicros, shapedSpinMicros: p.shapedSpinMicros, wakeFd,
        counters: s.counters.buffer, control: this.control.buffer as SharedArrayBuffer, index: w,
        rules: { ports: names, queues: p.queues, rows: encodeRows(p.rules, p.rules.installedSlots()), maxRules: p.rules.maxRules, counters: s.ruleCounters.buffer as SharedArrayBuffer },
        flowCache: { entries: p.flowCacheEntries, counters: s.cache.buffer },
        rulePort: channel.port2, nicPort: nicChannel.port2,
        extensions: { ...ext(s, w + 1), state: host.state.buffer, counters: s.ext.buffer },
      };
      const { worker, ready } = spawnWorker(setup, [channel.port2, nicChannel.port2], w, (m) => {
        if (m.fault) host.note(m.fault);
        else if (m.originate) originate(s)(m.originate.ext, m.originate.port, m.originate.frame);
      });
      this.supervisor.add(worker);
      readies.push(ready);
    }
    await allReady(readies, host.limits.startTimeoutMs);
    this.started = true;
  }

  /** Begin watching the workers for hangs (0: no watchdog). */
  watch(ms = DEFAULT_WATCHDOG_MS): void { this.supervisor.watch(ms); }

  /** Inline mode: one pass of the pipeline over every queue; handles served (0 with workers). */
  serveInline(clock: Clock): number {
    return this.inline === null ? 0 : serveQueues(this.p.nic.rings, this.inline, this.batch, clock);
  }

  /** End workers at once (a failed start). */
  async terminate(): Promise<void> {
    await this.supervisor.terminate();
    this.closeWakeFds();
  }

  // The workers are gone: their bells stop signalling, then the eventfds close.
  private closeWakeFds(): void {
    for (const { bell, fd } of this.wakeFds) { bell.useEventfd(-1); native!.closeFd(fd); }
    this.wakeFds.length = 0;
  }

  /** Workers read no more frames from native ports (the switch is stopping). */
  quiesce(): void {
    Atomics.store(this.control, CTL_QUIESCE, 1);
    for (const q of this.p.nic.bells) q.wakeAlways();
  }

  /** Workers exit once their rings are empty (one that does not within a second is ended); frames a failed worker left are counted and freed. */
  async stop(): Promise<void> {
    const nic = this.p.nic, pool = this.p.pool;
    Atomics.store(this.control, CTL_STOP, 1);
    for (const q of nic.bells) q.wakeAlways();
    await this.supervisor.stop(1000);
    this.closeWakeFds();
    for (let q = 0; q < nic.queues; q++) {
      for (const ring of this.queueRings(q)) {
        for (let n; (n = ring.dequeueBurst(this.scratch, TX_BURST)) !== 0;) {
          nic.counters.values[nic.counters.slot('dropUnserved', q)] += n;
          for (let i = 0; i < n; i++) pool.free(this.scratch[i]);
        }
      }
    }
    for (const s of this.sources) { s.rulePort?.close(); s.nicPort?.close(); }
  }

  /** Packets and bytes rule slot `slot` counted, summed over threads. */
  ruleCounts(slot: number): { packets: number; bytes: number } {
    let packets = 0, bytes = 0;
    for (const s of this.sources) { packets += s.ruleCounters[slot * 2]; bytes += s.ruleCounters[slot * 2 + 1]; }
    return { packets, bytes };
  }
}
