// RuleReplica: a datapath thread's side of RuleSync. Between two batches of packets the
// thread calls work(): it takes the posted pieces of the current change — deleted slots and
// compiled rows, each rule at the slot the main thread gave it, so counters line up — stages
// them for at most RULE_SLICE_MS, commits once the whole change is staged (atomically: the
// next batch is classified under the new rules), acknowledges, and cleans in later slices.
// The counts in the end mark are checked before the commit.

import { MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { RuleChange } from '../flow/rule-change.js';
import { RuleSet } from '../flow/rule-set.js';
import { RULE_SLICE_MS } from './rule-sync.js';
import { ackWord, RuleMessage } from './worker-setup.js';

export class RuleReplica {
  private readonly rules: RuleSet;
  private readonly port: MessagePort;
  private readonly control: Int32Array;
  private readonly ack: number;
  private job: RuleChange | null = null;
  private version = 0;
  private ended = false;
  private committed = false;
  /** The counts the end mark announced. */
  private expect = { added: 0, deleted: 0 };

  constructor(rules: RuleSet, port: MessagePort, control: Int32Array, index: number) {
    this.rules = rules; this.port = port; this.control = control; this.ack = ackWord(index);
  }

  /** A change is under way (do not sleep). */
  get busy(): boolean { return this.job !== null; }

  /** Work on posted rule changes for at most one slice. */
  work(): void {
    const deadline = performance.now() + RULE_SLICE_MS;
    while (performance.now() < deadline) {
      const job = this.job;
      if (job && this.committed) {
        if (!job.clean(deadline)) return;
        this.job = null;
        continue;
      }
      if (job && this.ended && job.step(deadline)) { this.commit(job); continue; }
      if (job && this.ended) return; // out of time while staging
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) { if (job) job.step(deadline); return; }
      const msg = m.message as RuleMessage;
      if (!this.job) { this.job = this.rules.change(); this.version = msg.version; this.ended = false; this.committed = false; }
      if (msg.version !== this.version) throw new Error(`rule replica: change ${msg.version} arrived inside change ${this.version}`);
      if (msg.del) this.job.feedSlots(msg.del);
      if (msg.add) this.job.feedRows(msg.add);
      if (msg.end) { this.job.end(); this.ended = true; this.expect = msg.end; }
      this.job.step(deadline);
    }
  }

  private commit(job: RuleChange): void {
    const e = this.expect;
    if (job.added.length !== e.added || job.gone.length !== e.deleted) throw new Error(`rule replica diverged: change ${this.version} brought ${job.added.length} rules and ${job.gone.length} deletions, the switch announced ${e.added} and ${e.deleted}`);
    job.commit();
    this.committed = true;
    Atomics.store(this.control, this.ack, this.version);
    Atomics.notify(this.control, this.ack);
  }
}
