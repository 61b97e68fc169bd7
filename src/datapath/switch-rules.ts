// SwitchRules: the switch's rules as the control plane sees them. `set` is the authoritative
// RuleSet (validation, listing, the NIC's queue actions). Each datapath thread classifies with
// its own replica and flow cache; a change is applied to `set` first — so a bad batch is
// refused before any thread sees it — then posted to every worker, which applies it in slices
// between batches and acknowledges (RuleSync, RuleReplica). apply() resolves once every
// worker has acknowledged: a packet classified after that uses the new rules, and no batch is
// classified under half a change. Listings carry each rule's counters summed over threads.

import { RuleSpec } from '../flow/rule.js';
import { RuleBatch, RuleSet, RuleView } from '../flow/rule-set.js';
import { RuleTexts } from '../flow/rule-texts.js';
import { Doorbell } from '../nic/doorbell.js';
import { RuleSync } from './rule-sync.js';
import { DatapathThreads } from './threads.js';

export type RuleStat = RuleSpec & { id: string; packets: number; bytes: number };

export class SwitchRules {
  readonly set: RuleSet;
  private readonly threads: DatapathThreads;
  private readonly workers: number;
  private readonly bells: Doorbell[];
  private readonly failure: () => string | null;
  private sync: RuleSync | null = null;

  constructor(set: RuleSet, threads: DatapathThreads, workers: number, bells: Doorbell[], failure: () => string | null) {
    this.set = set; this.threads = threads; this.workers = workers; this.bells = bells; this.failure = failure;
  }

  /** Apply a batch atomically on every thread; the added and deleted ids once all have it (RuleError: nothing changed anywhere). */
  apply(batch: RuleBatch | RuleTexts): Promise<{ added: string[]; deleted: string[] }> {
    // Workers start from the configured rules: a change made before they exist would reach
    // this thread's rules only.
    if (this.workers > 0 && !this.threads.started) return Promise.reject(new Error('the switch is not started: rule changes before start() would not reach its datapath threads (put them in the configuration)'));
    this.sync ??= new RuleSync(this.set, { ports: () => this.threads.rulePorts(), control: this.threads.control, bells: this.bells, failure: this.failure });
    return this.sync.apply(batch);
  }

  /** Installed rules in the order they were added, from `offset` (at most `limit`), with their counters. */
  page(offset: number, limit: number): RuleStat[] { return this.set.page(offset, limit).map((r) => this.stat(r)); }

  /** Installed rules in evaluation order with their counters. */
  list(): RuleStat[] { return this.set.list().map((r) => this.stat(r)); }

  private stat(r: RuleView): RuleStat { return { ...r.spec!, id: r.id, ...this.threads.ruleCounts(r.slot) }; }
}
