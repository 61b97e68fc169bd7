// ExtensionState: what every thread must agree on about the bound extensions, in shared
// memory — enabled or not, position within its kind, and failure status — with a version the
// datapath threads compare at each batch (a change is picked up between batches, never inside
// one). One writer: the main thread's control plane, except that a datapath thread marks an
// extension failed (compareExchange, so the first failure wins) when it faults.
//
// Counters: one CounterBlock per datapath thread (one writer each), a row per extension:
// EXT_COUNTERS, then MAX_REASONS drop-reason slots named by the extension's `dropReasons`.

import { CounterBlock } from '../../counters.js';

export const MAX_EXTENSIONS = 64;
export const MAX_REASONS = 16;

export const STATUS_OK = 0;
/** Failed and skipped from then on (fail-open). */
export const STATUS_FAILED_OPEN = 1;
/** Failed and dropping everything it would have seen (fail-closed). */
export const STATUS_FAILED_CLOSED = 2;

export const EXT_COUNTERS = [
  'calls', 'entries', 'dropped', 'excluded', 'modified', 'destinationsSet', 'originated',
  'violations', 'faults', 'overruns', 'vetoes', 'droppedFailClosed', 'cacheHits',
  ...Array.from({ length: MAX_REASONS }, (_, i) => `reason${i}` as const),
] as const;
export const REASON_BASE = EXT_COUNTERS.indexOf('reason0');
/** Row width and counter indices of EXT_COUNTERS. */
export const EXT_NC = EXT_COUNTERS.length;
export const EXT_AT = Object.fromEntries(EXT_COUNTERS.map((n, i) => [n, i])) as Record<(typeof EXT_COUNTERS)[number], number>;

// Words: [0] version, then per extension: enabled, position, status.
const PER = 3;

export class ExtensionState {
  readonly words: Int32Array;
  readonly count: number;

  constructor(count: number, buffer?: SharedArrayBuffer) {
    if (count > MAX_EXTENSIONS) throw new RangeError(`at most ${MAX_EXTENSIONS} extensions per switch, got ${count}`);
    this.count = count;
    this.words = new Int32Array(buffer ?? new SharedArrayBuffer((1 + PER * Math.max(1, count)) * 4));
  }

  get buffer(): SharedArrayBuffer { return this.words.buffer as SharedArrayBuffer; }
  get version(): number { return Atomics.load(this.words, 0); }
  enabled(e: number): boolean { return Atomics.load(this.words, 1 + e * PER) !== 0; }
  position(e: number): number { return Atomics.load(this.words, 2 + e * PER); }
  status(e: number): number { return Atomics.load(this.words, 3 + e * PER); }

  setEnabled(e: number, on: boolean): void { Atomics.store(this.words, 1 + e * PER, on ? 1 : 0); this.bump(); }
  setPosition(e: number, pos: number): void { Atomics.store(this.words, 2 + e * PER, pos); }
  /** Mark e failed; false if it already was (another thread got there first). */
  fail(e: number, status: number): boolean {
    const ok = Atomics.compareExchange(this.words, 3 + e * PER, STATUS_OK, status) === STATUS_OK;
    if (ok) this.bump();
    return ok;
  }
  /** Clear a failure (an operator re-enables the extension). */
  reset(e: number): void { Atomics.store(this.words, 3 + e * PER, STATUS_OK); this.bump(); }
  bump(): void { Atomics.add(this.words, 0, 1); }
}

export function extensionCounters(count: number, buffer?: SharedArrayBuffer): CounterBlock<typeof EXT_COUNTERS> {
  return new CounterBlock(EXT_COUNTERS, Math.max(1, count), buffer);
}
