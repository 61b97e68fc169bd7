// The NIC's queues under control: the measurements (QueueWatch), the queue manager that acts on
// them (QueueManager, with its policy rules), and the report (GET /queues). Both controllers
// tick on the switch's control tick, the watch first.

import { ControlTick } from '../controllers/control-tick.js';
import { QueueManager } from '../controllers/queue-manager.js';
import { CompiledRules } from '../controllers/queue-rules.js';
import { QueueWatch } from '../controllers/queue-watch.js';
import type { CounterRegistry } from '../counter-registry.js';
import type { MeterShare } from '../nic/flow-meter.js';
import type { MoveAsk } from '../nic/flow-move.js';
import type { SoftNic } from '../nic/soft-nic.js';
import type { QueueOwners } from './queue-owners.js';
import { QueueReport, queueReport } from './queue-report.js';

export interface QueueControlParts {
  nic: SoftNic;
  /** Every producing thread's meter, the main thread's first. */
  shares: MeterShare[];
  workers: number;
  portNames: readonly string[];
  /** The policy rules (nic.manager; undefined: the defaults). Throws ConfigError naming the field. */
  rules: unknown;
  move: (a: MoveAsk) => void;
  /** Which worker serves each queue, and how to change it (DatapathThreads). */
  threads: { owners: QueueOwners; moveQueue(q: number, thread: number): void };
}

export class QueueControl {
  readonly watch: QueueWatch;
  readonly manager: QueueManager;
  private readonly p: QueueControlParts;

  constructor(p: QueueControlParts, tick: ControlTick) {
    this.p = p;
    this.watch = new QueueWatch(p.nic, p.shares, p.nic.rss.indirection.length);
    this.manager = new QueueManager(this.watch, { nic: p.nic, move: p.move, workers: p.workers, portNames: p.portNames, owners: p.threads.owners, moveQueue: (q, t) => p.threads.moveQueue(q, t) }, this.compile(p.rules));
    tick.add(this.watch);
    tick.add(this.manager);
  }

  /** Check policy rules against the switch's ports (ConfigError naming the field, under `at`). */
  compile(doc: unknown, at = 'nic.manager'): CompiledRules { return new CompiledRules(doc ?? {}, this.p.portNames, at); }

  /** Serve queue q by worker `thread` (RangeError naming queue or thread); it changes once the old thread has drained it. */
  moveQueue(q: number, thread: number): void { this.p.threads.moveQueue(q, thread); }

  report(registry: CounterRegistry, ringDepth: (q: number) => number): QueueReport {
    return queueReport(this.p.nic, registry, this.p.workers, this.watch.view, ringDepth, this.manager.report(), this.p.portNames, this.p.threads.owners);
  }
}
