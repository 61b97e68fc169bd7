// RuleSync: how a rule change reaches every datapath thread without stopping any of them.
//
// Changes run one at a time (a queue). For each:
//  1. This thread (the main thread: NIC queue actions, transmit, the inline pipeline) parses
//     the rules chunk by chunk, compiles and validates them, then stages the change — all in
//     slices of RULE_SLICE_MS with the event loop turning between them. A refused batch
//     (RuleError) stops here and no thread ever sees it.
//  2. It commits its own copy, then posts the change to every worker as small messages —
//     the deleted rules' slots, the added rules as compiled rows of CHUNK rules (rule-rows.ts:
//     a worker copies them to the same slots instead of parsing and compiling again), and an
//     end mark with the counts — and raises CTL_RULES.
//  3. It cleans its copy in slices, then waits for every worker's acknowledgement. A worker
//     stages in slices between batches of packets, commits at once, acknowledges, and cleans.
// The request returns once every thread has committed: the next packet any thread classifies
// follows the new rules. A worker that stops beating its heartbeat for ACK_STALL_MS while
// one is awaited fails the request (the watchdog ends such a worker anyway).

import { MessagePort } from 'node:worker_threads';
import { RuleError } from '../flow/rule.js';
import { RuleBatch, RuleSet } from '../flow/rule-set.js';
import { chunkText, count, elementText, RuleTexts, textsOf } from '../flow/rule-texts.js';
import { encodeRows } from '../flow/rule-rows.js';
import { RuleChange } from '../flow/rule-change.js';
import { ackWord, beatWord, CTL_RULES, RuleMessage } from './worker-setup.js';
import { Doorbell } from '../nic/doorbell.js';

/** Longest a thread works on a rule change before it forwards packets again (ms). */
export const RULE_SLICE_MS = 1;
/** Rules per message to a worker (and per parse on each thread). */
export const CHUNK = 128;
/** Ids per deletion message. */
const DEL_CHUNK = 1024;
/** A worker whose heartbeat stands still this long while its acknowledgement is awaited fails the change. */
const ACK_STALL_MS = 5000;


/** Parse elements [from, to) of a batch's adds or dels; a bad one is named by its index in the batch. */
function parseChunk(t: RuleTexts, what: 'add' | 'del', from: number, to: number): unknown[] {
  const ranges = what === 'add' ? t.add : t.del;
  let out: unknown[];
  try { out = JSON.parse(chunkText(t, ranges, from, to)) as unknown[]; } catch {
    for (let i = from; i < to; i++) {
      try { JSON.parse(elementText(t, ranges, i)); } catch (e) { throw new RuleError(`${what}[${i}]`, `is not JSON: ${(e as Error).message.slice(0, 100)}`); }
    }
    throw new RuleError(what, `is not a JSON array of ${what === 'add' ? 'rules' : 'rule ids'}`);
  }
  if (out.length !== to - from) throw new RuleError(what, `is not a JSON array of ${what === 'add' ? 'rules' : 'rule ids'}`);
  if (what === 'del') out.forEach((id, i) => { if (typeof id !== 'string') throw new RuleError(`del[${from + i}]`, 'a rule id must be a string'); });
  return out;
}

const turn = () => new Promise<void>((r) => setImmediate(r));

export interface RuleSyncTarget {
  /** The workers' rule ports, as they are now (none: the pipeline runs on this thread only). */
  ports: () => MessagePort[];
  control: Int32Array;
  bells: Doorbell[];
  /** Why the switch failed, if it did. */
  failure: () => string | null;
}

export class RuleSync {
  private readonly rules: RuleSet;
  private readonly t: RuleSyncTarget;
  private version = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(rules: RuleSet, target: RuleSyncTarget) { this.rules = rules; this.t = target; }

  /** Apply a batch on every thread, atomically per thread; resolves with the added rules. */
  apply(batch: RuleBatch | RuleTexts): Promise<{ added: string[]; deleted: string[] }> {
    const texts: RuleTexts = 'bytes' in batch ? batch : textsOf(batch);
    const run = this.queue.then(() => this.run(texts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(b: RuleTexts): Promise<{ added: string[]; deleted: string[] }> {
    const change: RuleChange = this.rules.change();
    change.textsFrom(b);
    // 1. Parse (deletions first), compile, validate and stage here, in slices.
    const del: string[] = [];
    const dels = count(b.del), adds = count(b.add);
    const delChunks = Math.ceil(dels / CHUNK), chunks = Math.ceil(adds / CHUNK);
    let k = 0;
    if (delChunks + chunks === 0) change.end();
    for (;;) {
      const deadline = performance.now() + RULE_SLICE_MS;
      let staged = false;
      do {
        // The next chunk is parsed only once the last one is compiled: parsed rules waiting
        // across slices would survive into the collector's copies, and pile up when a slice
        // compiles fewer rules than a chunk holds.
        if (change.backlog === 0 && k < delChunks + chunks) {
          if (k < delChunks) {
            const ids = parseChunk(b, 'del', k * CHUNK, Math.min(dels, (k + 1) * CHUNK)) as string[];
            for (const id of ids) del.push(id);
            change.feed([], ids);
          } else {
            const a = k - delChunks;
            change.feed(parseChunk(b, 'add', a * CHUNK, Math.min(adds, (a + 1) * CHUNK)));
          }
          if (++k === delChunks + chunks) change.end();
        }
        staged = change.step(deadline);
      } while (!staged && performance.now() < deadline);
      if (staged) break;
      await turn();
    }
    // 2. Commit here, post to the workers.
    change.commit();
    const version = ++this.version;
    const ports = this.t.ports();
    if (ports.length) {
      // Posted in slices too (782 chunks of a 100,000-rule batch took 117 ms at once); the
      // workers start when CTL_RULES moves, once the end mark is posted.
      const post = (m: RuleMessage) => { for (const p of ports) p.postMessage(m); };
      const gone = change.gone, d = Math.ceil(gone.length / DEL_CHUNK);
      const pieces = d + chunks;
      for (let i = 0; i < pieces;) {
        const deadline = performance.now() + RULE_SLICE_MS;
        for (; i < pieces && performance.now() < deadline; i++) {
          if (i < d) { post({ version, del: Int32Array.from(gone.slice(i * DEL_CHUNK, (i + 1) * DEL_CHUNK)) }); continue; }
          const from = (i - d) * CHUNK, to = Math.min(from + CHUNK, adds);
          post({ version, add: encodeRows(this.rules, change.added.slice(from, to)) });
        }
        if (i < pieces) await turn();
      }
      post({ version, end: { added: change.added.length, deleted: gone.length } });
      Atomics.store(this.t.control, CTL_RULES, version);
      for (const bell of this.t.bells) bell.wakeAlways();
    }
    // 3. Clean here in slices, then wait for every worker.
    while (!change.clean(performance.now() + RULE_SLICE_MS)) await turn();
    for (let w = 0; w < ports.length; w++) await this.acknowledged(w, version);
    return { added: change.addedIds(), deleted: del };
  }

  private async acknowledged(w: number, version: number): Promise<void> {
    const c = this.t.control;
    let beat = Atomics.load(c, beatWord(w)), moved = performance.now();
    for (let acked; (acked = Atomics.load(c, ackWord(w))) < version;) {
      const failure = this.t.failure();
      if (failure) throw new Error(failure);
      const now = performance.now(), b = Atomics.load(c, beatWord(w));
      if (b !== beat) { beat = b; moved = now; } else if (now - moved > ACK_STALL_MS) throw new Error(`datapath worker ${w} stopped working on rule change ${version} (no heartbeat for ${ACK_STALL_MS} ms)`);
      const r = Atomics.waitAsync(c, ackWord(w), acked, 50);
      if (r.async) await r.value;
    }
  }
}
