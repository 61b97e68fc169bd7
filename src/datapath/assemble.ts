// assembleDatapath: one datapath thread's switch — its flow stage (a rule replica or the
// switch's own rules, and its flow cache), its extension stack (each bound extension's
// datapath hooks, loaded in this thread) and the pipeline over them. The same function builds
// the inline datapath (workers = 0) and each worker thread's (worker.ts), so the two cannot
// drift apart.

import { CounterBlock } from '../counters.js';
import { PacketPool } from '../nic/pool.js';
import { FlowKeys } from '../wire/flow-key.js';
import { FlowCache } from '../flow/flow-cache.js';
import { FlowStage } from '../flow/flow-stage.js';
import { RuleSet } from '../flow/rule-set.js';
import { MacTable } from '../vswitch/mac-table.js';
import { PIPELINE_COUNTERS, PipelineOutputs, SwitchPipeline } from '../vswitch/pipeline.js';
import { PortTable } from '../vswitch/port-table.js';
import { datapathExtensions, Originate } from '../vswitch/ext/datapath.js';
import { BoundSpec, ExtensionLimits } from '../vswitch/ext/host.js';
import { ExtensionStack } from '../vswitch/ext/stack.js';
import { EXT_COUNTERS, ExtensionState } from '../vswitch/ext/state.js';
import { FLOW_FIELD_BITS } from '../vswitch/ext/api.js';

export interface DatapathParts {
  pool: PacketPool;
  keys: FlowKeys;
  ports: PortTable;
  macs: MacTable;
  out: PipelineOutputs;
  counters: CounterBlock<typeof PIPELINE_COUNTERS>;
  rules: RuleSet;
  cache: FlowCache;
  extensions: {
    bound: BoundSpec[]; state: ExtensionState; counters: CounterBlock<typeof EXT_COUNTERS>; ports: string[]; limits: ExtensionLimits;
    /** The thread number extensions see (0: the main thread). */
    thread: number;
    originate: Originate;
    onFault: (message: string) => void;
    /** Where the thread notes the extension whose hook runs (the watchdog reads it). */
    hookWord?: { words: Int32Array; at: number };
  };
}

export async function assembleDatapath(p: DatapathParts): Promise<SwitchPipeline> {
  const x = p.extensions;
  // Word 14 of the key (TCP flags, TOS) counts in the flow cache only where a cacheable extension reads it.
  const need14 = x.bound.filter((b) => b.cacheable).reduce((m, b) => b.flowFields.reduce((n, f) => n | FLOW_FIELD_BITS[f], m), 0);
  const flow = new FlowStage(p.rules, p.cache, p.ports.count, need14);
  let ext: ExtensionStack | null = null;
  if (x.bound.length > 0) {
    const bound = await datapathExtensions(x.bound, x.thread, x.ports, x.originate);
    ext = new ExtensionStack(bound, x.state, x.counters, p.pool, p.keys, p.ports.count,
      { budgetMs: x.limits.batchBudgetMs, overrunLimit: x.limits.overrunLimit, timeEvery: x.limits.timeEvery, onFault: (_e, m) => x.onFault(m), hookWord: x.hookWord });
  }
  return new SwitchPipeline({ pool: p.pool, keys: p.keys, ports: p.ports, macs: p.macs, out: p.out, counters: p.counters, flow, ext });
}
