// Datapath worker thread: serves a group of receive queues, and the native ports dealt to it
// end to end (thread-io.ts): reads their descriptors in bursts, steers the frames, runs its
// own SwitchPipeline over its queues' rings in batches, and writes the frames for native
// ports to their descriptors itself; frames for other ports go to the main thread on its
// transmit rings. When idle it spins for idleSpinMicros, then sleeps: in poll() on its wake
// eventfd and read descriptors when it reads native ports, else on its doorbell — while frames
// wait in a shaper, only until the next one is due. It exits when
// the control word says stop and its rings are empty, giving its pool slots back. It keeps
// its own replica of the rules and its own flow cache; rule changes posted by the main thread
// are worked on in short slices between batches (never inside one), committed at once and
// acknowledged through the control words (RuleReplica).

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { FlowCache } from '../flow/flow-cache.js';
import { RuleSet } from '../flow/rule-set.js';
import { systemClock } from '../clock.js';
import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { native } from '../native/io.js';
import { FlowKeys } from '../wire/flow-key.js';
import { MacTable } from '../vswitch/mac-table.js';
import { BATCH_MAX, PIPELINE_COUNTERS } from '../vswitch/pipeline.js';
import { PortTable } from '../vswitch/port-table.js';
import { ExtensionState, extensionCounters } from '../vswitch/ext/state.js';
import { ringsEmpty, serveQueues } from './serve.js';
import { QueueOwners, ServedQueues } from './queue-owners.js';
import { ackWord, beatWord, CTL_NIC_MOVES, CTL_QUIESCE, CTL_RULES, CTL_STOP, hookWord, NicMove, WorkerSetup } from './worker-setup.js';
import { RuleReplica } from './rule-replica.js';
import { assembleDatapath } from './assemble.js';
import { ThreadIo } from './thread-io.js';
import { TraceWriter } from './rate-trace.js';
import type { WorkerEvent } from './spawn-worker.js';

const s = workerData as WorkerSetup;
const pool = PacketPool.attach(s.pool);
const keys = FlowKeys.attach(s.keys);
const bells = s.bells.map((b) => new Doorbell(b));
const bell = bells[s.index];
const control = new Int32Array(s.control);
const rules = new RuleSet({ ports: s.rules.ports, queues: s.rules.queues }, { maxRules: s.rules.maxRules, counterBuffer: s.rules.counters, replica: true });
const initial = rules.change();
initial.feedRows(s.rules.rows);
initial.runAll();
const replica = new RuleReplica(rules, s.rulePort, control, s.index);

const post = (m: WorkerEvent) => parentPort?.postMessage(m);
const x = s.extensions;
const tx = s.tx.map(Ring.attach);
const pipeline = await assembleDatapath({
  pool, keys, ports: PortTable.attach(s.ports), macs: MacTable.attach(s.macs),
  out: { tx, ret: null, bell: new Doorbell(s.mainBell), bellPorts: s.bellPorts },
  counters: new CounterBlock(PIPELINE_COUNTERS, s.portCount, s.counters),
  rules, cache: new FlowCache(s.flowCache.entries, s.flowCache.counters),
  extensions: {
    bound: x.bound, state: new ExtensionState(x.bound.length, x.state), counters: extensionCounters(x.bound.length, x.counters), ports: x.ports, limits: x.limits,
    thread: s.index + 1, originate: (ext, port, frame) => { post({ originate: { ext, port, frame: frame.slice() } }); return true; },
    onFault: (m) => post({ fault: m }), hookWord: { words: control, at: hookWord(s.index) },
  },
});
const io = new ThreadIo(s, pool, keys, rules, tx);
// The queues it serves: as the shared owner words say; hand-overs counted on the queue's row of its NIC's counters.
const qc = io.nic.counters;
const served = new ServedQueues(new QueueOwners(s.queueRings.length, 1, s.owners), s.index, s.queueRings.map((r) => r.map(Ring.attach)), tx, bells,
  (q, handed) => { qc.values[qc.slot(handed ? 'threadChanges' : 'threadChangesGivenUp', q)]++; });
const batch = new Int32Array(BATCH_MAX);
const ready = new Uint8Array(io.fds.length);
const spinMs = s.idleSpinMicros / 1000;
/** Longest sleep with nothing to do (µs): the heartbeat and the stop word are looked at this often. */
const IDLE_SLEEP_US = 100_000;
/** A shaped frame due sooner than this (µs) is waited for by turning, not sleeping (shapedSpinMicros). */
const spinBelowUs = s.shapedSpinMicros;
/** Longest sleep while frames wait in a shaper (µs): a grant may change its rate meanwhile, or another thread take the shared tokens. */
const SHAPED_SLEEP_MAX_US = 900;
// Timed sleeps end within a microsecond of their time, not the kernel's default 50 µs late.
native?.timerSlack(1000);

post({ ready: true });

const beat = beatWord(s.index), ack = ackWord(s.index);
// Flow moves the main thread posted (each arrives on the NIC port; the control word counts them).
let movesTaken = 0;
const takeMoves = () => {
  for (let m; movesTaken !== Atomics.load(control, CTL_NIC_MOVES) && (m = receiveMessageOnPort(s.nicPort)); movesTaken++) {
    try { io.nic.move(m.message as NicMove); } catch (e) { post({ fault: `queue move: ${(e as Error).message}` }); }
  }
};
const rulesPending = () => replica.busy || Atomics.load(control, CTL_RULES) !== Atomics.load(control, ack);
let lastWork = performance.now();
// Its port counters stamped once a millisecond, for the rate trace (rate-trace.ts).
const origin = performance.timeOrigin, nowMs = () => origin + performance.now();
const trace = new TraceWriter(s.trace, new Float64Array(s.portCounters), origin + lastWork);
for (;;) {
  control[beat]++; // heartbeat for the main thread's watchdog (a plain store: one writer)
  const turnAt = performance.now();
  trace.turn(origin + turnAt);
  io.nic.meter.tick(origin + turnAt);
  if (Atomics.load(control, CTL_NIC_MOVES) !== movesTaken) takeMoves();
  io.nic.poll();
  const stopping = Atomics.load(control, CTL_STOP) !== 0;
  served.turn(origin + turnAt, served.busy && io.dueIn(systemClock.micros()) >= 0, stopping);
  if (rulesPending()) {
    replica.work();
    // While a change is under way, let this thread's event loop turn once per slice: V8 runs
    // its incremental marking as tasks there, and a loop that never yields ends in one long
    // atomic collection (215 ms measured with 100,000 rules) instead of many short steps.
    await new Promise<void>((r) => setImmediate(r));
  }
  let work = Atomics.load(control, CTL_QUIESCE) !== 0 ? 0 : io.receive();
  work += serveQueues(served.rings, pipeline, batch, systemClock);
  if (work !== 0) { io.transmit(); lastWork = turnAt; continue; }
  // A link's own queue (an emulated link, a port's maximum rate, a pair's grant) lets its frames
  // out as tokens come: turn again at once when the next is nearly due, else sleep until it is.
  const due = io.dueIn(systemClock.micros());
  if (due >= 0) { io.transmit(); if (!stopping && due < spinBelowUs) continue; }
  if (stopping && ringsEmpty(served.rings) && io.nic.moving === null && served.current) break; // a move's held frames go out first, a queue handed over is served
  if (spinMs > 0 && !stopping && turnAt - lastWork < spinMs) continue;
  const seq = bell.prepareSleep();
  if (!ringsEmpty(served.rings) || !served.current || rulesPending() || Atomics.load(control, CTL_STOP) !== 0 && !stopping) { bell.wake(); continue; }
  // A flow move or a queue hand-over under way waits for frames to leave: look again within a millisecond.
  const sleepUs = due >= 0 ? Math.min(Math.ceil(due), SHAPED_SLEEP_MAX_US) : io.nic.moving !== null || served.busy ? 1000 : IDLE_SLEEP_US;
  trace.asleep(nowMs());
  if (io.reading) {
    native!.pollIn(io.fds, io.fds.length, sleepUs, ready);
    if (ready[0] !== 0) native!.eventfdDrain(io.fds[0]);
    bell.wake();
  } else {
    bell.sleep(seq, sleepUs / 1000);
  }
  trace.awake(nowMs);
}
io.transmit();
io.release();
pool.flush();
parentPort?.postMessage('stopped');
