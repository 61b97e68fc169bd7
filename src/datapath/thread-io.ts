// ThreadIo: the native ports as one datapath worker thread runs them (worker.ts). It reads the
// links dealt to it (link.ts) in bursts into pool slots, counts them on its own port counters
// (PortChannel), steers them with its own instance of the NIC (queue counters of its own, a
// ring of its own into every queue: frames for another thread's queue cross to that thread
// there, and only there), and after each pipeline pass writes the frames this thread staged
// for native ports straight to their descriptors (a Transmitter over its own transmit rings).
// The descriptors it polls when idle: its wake eventfd first, then its read links'.

import { CounterBlock } from '../counters.js';
import { PORT_COUNTERS } from '../endpoints/endpoint.js';
import { PortLink, soonest } from '../endpoints/link.js';
import { openLink } from '../endpoints/open-link.js';
import { PortChannel } from '../endpoints/port-io.js';
import { FlowCache } from '../flow/flow-cache.js';
import { FlowStage, NIC_FLOW_CACHE_ENTRIES } from '../flow/flow-stage.js';
import { RuleSet } from '../flow/rule-set.js';
import { BATCH_MAX } from '../batch.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { SoftNic } from '../nic/soft-nic.js';
import { FlowKeys } from '../wire/flow-key.js';
import { MacTable } from '../vswitch/mac-table.js';
import { PortTable } from '../vswitch/port-table.js';
import { finishFor, Transmitter } from './transmit.js';
import { WorkerSetup } from './worker-setup.js';

export class ThreadIo {
  readonly nic: SoftNic;
  private readonly reads: PortLink[];
  private readonly links: PortLink[];
  /** Links with queues of their own (shaped: a port's maximum rates, an emulated access link), served every turn. */
  private readonly queued: PortLink[];
  private readonly tx: Transmitter;
  /** The wake eventfd, then the read links' descriptors (for pollIn). */
  readonly fds: Int32Array;

  constructor(s: WorkerSetup, pool: PacketPool, keys: FlowKeys, rules: RuleSet, txRings: Ring[]) {
    this.nic = SoftNic.forThread(pool, keys, s.nic, { rings: s.nic.rings.map(Ring.attach), bells: s.bells.map((b) => new Doorbell(b)), owner: new Int32Array(s.owners, 0, s.queueRings.length), counters: s.nic.counters, meter: s.nic.meter }, s.index + 1);
    this.nic.ruleQueues = new FlowStage(rules, new FlowCache(NIC_FLOW_CACHE_ENTRIES), s.portCount);
    const counters = new CounterBlock(PORT_COUNTERS, s.portCount, s.portCounters);
    const release = (h: number) => { if (Atomics.sub(pool.refs, h, 1) === 1) pool.free(h); };
    const io = Array.from({ length: s.portCount }, (_, p) => new PortChannel(p, pool, counters, (h) => { this.nic.receive(h, p); }, release));
    const view = { macs: MacTable.attach(s.macs), ports: PortTable.attach(s.ports) };
    this.links = s.links.map((l) => openLink(l, io[l.port], s.index, view));
    this.reads = s.readLinks.map((i) => this.links[i]);
    this.queued = this.links.filter((l) => l.share.shape !== undefined || (l.share.tunnel?.qos ?? null) !== null);
    // A port with several queues (descriptors): each worker writes through its own share of them.
    const byPort: PortLink[][] = Array.from({ length: s.portCount }, () => []);
    for (const l of this.links) byPort[l.share.port].push(l);
    const senders = byPort.map((ls) => (ls.length === 0 ? null : ls[s.index % ls.length]));
    const takesGso = new Array<boolean>(s.portCount).fill(false);
    for (const l of s.links) if (l.vnetHdr !== 0) takesGso[l.port] = true;
    this.tx = new Transmitter(pool, senders, counters, [{ tx: txRings }], undefined, finishFor(takesGso));
    this.fds = Int32Array.from([s.wakeFd, ...this.reads.map((l) => l.share.fd)]);
  }

  /** Does this thread read any native port? */
  get reading(): boolean { return this.reads.length !== 0; }

  /** Read every link once (up to a batch each) and publish what was read to the queues; frames read. */
  receive(): number {
    let n = 0;
    for (let i = 0; i < this.reads.length; i++) n += this.reads[i].pull(BATCH_MAX);
    if (n !== 0) this.nic.flush();
    return n;
  }

  /** Write what this thread staged for the native ports, and what links' own queues may release now; frames moved. */
  transmit(): number {
    let n = this.tx.drain();
    for (let i = 0; i < this.queued.length; i++) n += this.queued[i].service();
    return n;
  }

  /** Microseconds from `nowUs` until a frame waiting in a link's own queue may leave (0: now), or -1: none waits. */
  dueIn(nowUs: number): number {
    let due = -1;
    for (let i = 0; i < this.queued.length; i++) due = soonest(due, this.queued[i].dueIn(nowUs));
    return due;
  }

  /** Give the links' receive slots back (at exit). */
  release(): void { for (const l of this.links) l.release(); }
}
