// QueueManager: the queue manager of the running switch, on the control tick. Each period
// QueueWatch measures (PERIOD_MS) it turns the NIC's measurements into loads, lets QueuePolicy
// decide (queue-policy.ts: which heavy flows get a queue of their own, which RSS entries move to
// even out the datapath threads) and applies the decisions through the NIC's order-keeping
// moves (flow-move.ts): first the flows that give their queue back lose their filters, then
// the RSS entries move (a queue being given away is emptied of RSS traffic first), then the new
// flows get their filters. It decides again only once the main thread's NIC has finished the
// last period's moves, and starts from what the NIC holds (a move given up is seen as not done).
//
// Loads are frames per second (a thread's cost goes by frames): per heavy flow what the NIC's
// estimate guarantees — less Space-Saving's error bound (with more flows than the table holds,
// an entry's count is mostly inherited error) and less three standard deviations of sampling
// (a period's F frames counted from samples one in m: √(F·(m − 1))) — so that among a thousand
// light flows none looks heavy by chance; per RSS entry its exact count less the listed flows'. The policy's
// filters are those the manager installed; filters and rule `queue` actions of others are left
// alone, and the flows they pin are no candidates. With two workers or more it also deals the
// queues to the threads (datapath/queue-owners.ts hands a queue over once its old thread has
// drained it), coalescing them on one thread while all carry under coalesceBelowFramesPerSecond.

import type { Controller } from './control-tick.js';
import { QueueDecision, QueuePolicy, FlowLoad } from './queue-policy.js';
import { CompiledRules } from './queue-rules.js';
import { keyFields, QueueView, QueueWatch } from './queue-watch.js';
import { PERIOD_MS } from '../nic/flow-meter.js';
import type { MoveAsk } from '../nic/flow-move.js';
import type { SoftNic } from '../nic/soft-nic.js';
import { SteeringError, TupleFilter } from '../nic/steering.js';

/** Decisions the manager remembers (newest last). */
const LOG_SIZE = 32;
/** Standard deviations of sampling error taken off a flow's estimate. */
const SIGMAS = 3;
/** Flow ids forgotten after this many periods unseen (a held flow is kept). */
const FORGET_PERIODS = 50;

export const MANAGER_COUNTERS = ['periods', 'periodsWaited', 'flowsGiven', 'flowsTaken', 'entriesMoved', 'queuesMoved', 'movesRefused'] as const;

/** One decision as the report shows it: when (ms, the clock's time line), what, where to, why. */
export interface ManagerDecision { atMs: number; kind: QueueDecision['kind']; what: string; to: number; reason: string }

/** What the manager acts on: the main thread's NIC (its filters and RSS table are the truth it starts from), the switch's moves, and which thread serves each queue. */
export interface ManagedNic {
  nic: SoftNic; move(ask: MoveAsk): void; workers: number; portNames: readonly string[];
  /** Per queue its worker now, and how many queues are asked to change (datapath/queue-owners.ts). */
  owners: { readonly owner: Int32Array; pending(): number };
  moveQueue(q: number, thread: number): void;
}

export class QueueManager implements Controller {
  readonly name = 'queue-manager';
  private readonly watch: QueueWatch;
  private readonly sw: ManagedNic;
  private compiled: CompiledRules;
  private policy: QueuePolicy;
  readonly counters: Record<(typeof MANAGER_COUNTERS)[number], number> = Object.fromEntries(MANAGER_COUNTERS.map((n) => [n, 0])) as QueueManager['counters'];
  readonly log: ManagerDecision[] = [];
  private seenAt = -1;
  private period = 0;
  /** Flow text -> id (and its key, and the period it was last seen); id -> the filter the manager installed. */
  private readonly ids = new Map<string, { id: number; key: Uint32Array; seen: number; fields: ReturnType<typeof keyFields> }>();
  private readonly names = new Map<number, string>();
  private readonly ours = new Map<number, TupleFilter>();
  private nextId = 1;

  constructor(watch: QueueWatch, sw: ManagedNic, rules: CompiledRules) {
    this.watch = watch; this.sw = sw; this.compiled = rules;
    this.policy = this.newPolicy();
  }

  get rules(): CompiledRules { return this.compiled; }

  /** Replace the rules (already compiled: CompiledRules names a bad field). Turning it off gives the manager's flows back to RSS. */
  setRules(r: CompiledRules): void {
    const was = this.compiled.rules.enabled;
    this.compiled = r;
    const o = this.policy.o;
    o.minRate = r.rules.minFramesPerSecond; o.holdPeriods = holdPeriods(r); o.portQueues = r.maxQueues; o.coalesceBelow = r.rules.coalesceBelowFramesPerSecond;
    if (was && !r.rules.enabled) {
      for (const [id, f] of this.ours) this.ask({ filter: f, remove: true }, { kind: 'take', id, to: f.queue, reason: 'the queue manager was turned off' });
      this.ours.clear();
      this.policy = this.newPolicy();
    }
  }

  private newPolicy(): QueuePolicy {
    const nic = this.sw.nic, r = this.compiled;
    return new QueuePolicy({
      queues: nic.queues, threads: Math.max(1, this.sw.workers), filterCapacity: nic.steering.capacity, buckets: nic.rss.indirection.length,
      minRate: r.rules.minFramesPerSecond, holdPeriods: holdPeriods(r), heavyPeriods: 1, placeThreads: this.sw.workers >= 2, coalesceBelow: r.rules.coalesceBelowFramesPerSecond, portQueues: r.maxQueues,
    });
  }

  tick(): void {
    const v = this.watch.view;
    if (!this.compiled.rules.enabled || v === null || v.atMs === this.seenAt) return;
    if (this.sw.nic.moving !== null || this.sw.owners.pending() !== 0) { this.counters.periodsWaited++; return; } // the last period's moves are under way
    this.seenAt = v.atMs;
    this.period++;
    this.counters.periods++;
    this.sync();
    const { flows, unlisted } = this.loads(v);
    const p = this.policy, before = Int32Array.from(p.a.indirection), held = new Map(p.a.dedicated), threads = Int32Array.from(p.a.thread);
    p.decide(flows, unlisted);
    const why = new Map(p.decisions.map((d) => [`${d.kind} ${d.id}`, d]));
    // Flows that gave their queue back (or changed it) first, then the entries, then the new holders.
    for (const [id, q] of held) {
      const f = this.ours.get(id);
      if (f === undefined || p.a.dedicated.get(id) === q) continue;
      this.ours.delete(id);
      this.ask({ filter: f, remove: true }, why.get(`take ${id}`) ?? { kind: 'take', id, to: q, reason: 'the policy took it' });
    }
    for (let b = 0; b < before.length; b++) {
      if (p.a.indirection[b] === before[b]) continue;
      this.ask({ bucket: b, queue: p.a.indirection[b] }, why.get(`entry ${b}`) ?? null);
    }
    for (const [id, q] of p.a.dedicated) {
      if (held.get(id) === q) continue;
      const e = this.names.get(id), fields = e === undefined ? null : this.ids.get(e)!.fields;
      if (fields === null) { p.a.dedicated.delete(id); continue; }
      const filter: TupleFilter = { kind: 'tuple', proto: fields.proto === 6 ? 'tcp' : 'udp', src: fields.src, dst: fields.dst, sport: fields.sport, dport: fields.dport, queue: q };
      if (this.ask({ filter, remove: false }, why.get(`give ${id}`) ?? { kind: 'give', id, to: q, reason: 'the policy gave it' })) this.ours.set(id, filter);
      else p.a.dedicated.delete(id);
    }
    for (let q = 0; q < threads.length; q++) {
      if (p.a.thread[q] === threads[q]) continue;
      this.sw.moveQueue(q, p.a.thread[q]);
      this.counters.queuesMoved++;
      this.record(why.get(`thread ${q}`) ?? { kind: 'thread', id: q, to: p.a.thread[q], reason: 'the policy moved it' });
    }
    this.forget();
  }

  // Ask the NIC for a move; record the decision (null: an entry moved as part of another decision, not logged). False: refused.
  private ask(a: MoveAsk, d: QueueDecision | null): boolean {
    try { this.sw.move(a); } catch (e) {
      if (!(e instanceof SteeringError) && !(e instanceof RangeError)) throw e;
      this.counters.movesRefused++;
      if (d) this.record({ ...d, reason: `${d.reason} — refused: ${e.message}` });
      return false;
    }
    if ('filter' in a) this.counters[a.remove ? 'flowsTaken' : 'flowsGiven']++; else this.counters.entriesMoved++;
    if (d) this.record(d);
    return true;
  }

  private record(d: QueueDecision): void {
    const what = d.kind === 'entry' ? `RSS entry ${d.id}` : d.kind === 'thread' ? `queue ${d.id}` : (this.names.get(d.id) ?? `flow ${d.id}`);
    this.log.push({ atMs: this.watch.view?.atMs ?? 0, kind: d.kind, what, to: d.to, reason: d.reason });
    if (this.log.length > LOG_SIZE) this.log.shift();
  }

  // Start from what the main thread's NIC holds: its RSS table, and the manager's filters still installed (a move given up is not).
  private sync(): void {
    const nic = this.sw.nic, p = this.policy;
    p.a.indirection.set(nic.rss.indirection);
    if (this.sw.workers >= 2) p.a.thread.set(this.sw.owners.owner);
    for (const [id, f] of this.ours) {
      if (nic.steering.find(f)?.queue === f.queue && p.a.dedicated.get(id) === f.queue) continue;
      this.ours.delete(id); p.a.dedicated.delete(id);
    }
    for (const [id] of p.a.dedicated) if (!this.ours.has(id)) p.a.dedicated.delete(id);
    (p.o as { filterCapacity: number }).filterCapacity = Math.max(0, nic.steering.capacity - (nic.steering.size - this.ours.size));
  }

  // The period's loads: each measured TCP or UDP flow (frames/s, its guaranteed part), and per RSS entry what the listed flows leave of its count.
  private loads(v: QueueView): { flows: FlowLoad[]; unlisted: Float64Array } {
    const unlisted = Float64Array.from(v.buckets, (b) => b.packetsPerSecond), flows: FlowLoad[] = [], r = this.compiled;
    const secs = v.periodMs / 1000, gap = v.sampleMean;
    for (const m of v.all) {
      const frames = m.packetsPerSecond * secs, sure = m.bitsPerSecond > 0 ? frames * (1 - m.errorBitsPerSecond / m.bitsPerSecond) : 0;
      const load = Math.max(0, sure - SIGMAS * Math.sqrt(frames * (gap - 1))) / secs;
      if (m.entry >= 0) unlisted[m.entry] -= load;
      let e = this.ids.get(m.flow);
      if (e === undefined) { e = { id: this.nextId++, key: m.key, seen: 0, fields: keyFields(m.key) }; this.ids.set(m.flow, e); this.names.set(e.id, m.flow); }
      e.seen = this.period;
      const k = e.fields;
      if (k === null || (k.proto !== 6 && k.proto !== 17)) continue;
      const port = m.port < r.weight.length ? m.port : 0;
      flows.push({
        id: e.id, port, bucket: m.entry, queue: m.entry < 0 ? m.queue : undefined, load,
        weight: r.weight[port], always: r.hasAlways && r.always({ proto: k.proto, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport, port }),
      });
    }
    for (let b = 0; b < unlisted.length; b++) if (unlisted[b] < 0) unlisted[b] = 0;
    return { flows, unlisted };
  }

  private forget(): void {
    for (const [text, e] of this.ids) {
      if (this.period - e.seen < FORGET_PERIODS || this.policy.a.dedicated.has(e.id)) continue;
      this.ids.delete(text); this.names.delete(e.id);
    }
  }

  /** What the report shows: the rules, the filters the manager holds and its last decisions. */
  report(): { rules: CompiledRules['rules']; flows: { flow: string; queue: number; installed: boolean }[]; decisions: ManagerDecision[]; counters: QueueManager['counters'] } {
    const installed = (f: TupleFilter) => this.sw.nic.steering.find(f)?.queue === f.queue; // false while its move waits for older frames to leave
    return { rules: this.compiled.rules, flows: [...this.ours].map(([id, f]) => ({ flow: this.names.get(id) ?? `flow ${id}`, queue: f.queue, installed: installed(f) })), decisions: [...this.log], counters: { ...this.counters } };
  }
}

const holdPeriods = (r: CompiledRules): number => Math.max(1, Math.ceil(r.rules.holdMs / PERIOD_MS));
