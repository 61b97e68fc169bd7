// CounterRegistry: every counter block of the switch, registered once with its subsystem, its
// row label (port, queue, extension...) and the thread that writes it. The views of the
// counters walk this one list: stats() takes the port, queue and flow-cache totals from it, and
// GET /metrics prints all of it in the Prometheus text format (counters — Prometheus computes
// rates — and a few gauges, such as an emulated link's queue depth). A block added here is in
// /metrics with no other edit.
//
// Several sets of one subsystem (the same counters written by several threads) are summed per
// row; rows are matched by their label value, so a set may cover some rows only.

import { CounterBlock } from './counters.js';

export interface CounterSet {
  /** As in metric names: sluice_<subsystem>_<counter>_total. */
  subsystem: string;
  /** Name of the row label (port, queue, extension...), or null for a single row. */
  label: string | null;
  names: readonly string[];
  /** Each row's label value (read at collection time: rows may come and go). */
  rows: () => readonly string[];
  read: (name: string, row: number) => number;
  /** Which thread writes it (for the reader; sets of one subsystem are summed). */
  thread: string;
  /** One line on what the subsystem counts. */
  help: string;
  /** Values that go up and down (a queue's depth): exported as Prometheus gauges, without _total. */
  gauge?: boolean;
}

/** A CounterBlock as a set, its rows labelled by `rows`. */
export function blockSet(subsystem: string, label: string | null, rows: () => readonly string[], block: CounterBlock<readonly string[]>, thread: string, help: string): CounterSet {
  return { subsystem, label, names: block.names, rows, read: (n, r) => block.values[r * block.names.length + block.at[n]], thread, help };
}

/** Subsystem totals: counter values per row label value, in registration order. */
export type Totals = Map<string, Record<string, number>>;

/** The metric of a counter: sluice_<subsystem>_<counter in snake case>_total ("malformed.ethTruncated" -> malformed_eth_truncated). */
export const metricName = (subsystem: string, counter: string): string =>
  `sluice_${subsystem}_${counter.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[^a-z0-9_]/g, '_')}_total`;
/** The metric a set exports counter `counter` as (a gauge's without _total). */
export const setMetric = (s: CounterSet, counter: string): string => (s.gauge === true ? metricName(s.subsystem, counter).replace(/_total$/, '') : metricName(s.subsystem, counter));
const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class CounterRegistry {
  readonly sets: CounterSet[] = [];

  add(s: CounterSet): void { this.sets.push(s); }

  /** The subsystems, in registration order. */
  subsystems(): string[] { return [...new Set(this.sets.map((s) => s.subsystem))]; }

  /** One subsystem's counters summed over its sets (threads), per row. */
  totals(subsystem: string): Totals {
    const out: Totals = new Map();
    for (const s of this.sets) {
      if (s.subsystem !== subsystem) continue;
      s.rows().forEach((row, r) => {
        let o = out.get(row);
        if (!o) { o = {}; out.set(row, o); }
        for (const n of s.names) o[n] = (o[n] ?? 0) + s.read(n, r);
      });
    }
    return out;
  }

  /** Every counter in the Prometheus text exposition format 0.0.4. */
  exposition(): string {
    const lines: string[] = [];
    for (const sub of this.subsystems()) {
      const sets = this.sets.filter((s) => s.subsystem === sub);
      const label = sets[0].label;
      const totals = this.totals(sub);
      const names = [...new Set(sets.flatMap((s) => s.names))];
      for (const n of names) {
        const set = sets.find((s) => s.names.includes(n))!; // its kind (counter or gauge) and help
        const metric = setMetric(set, n);
        lines.push(`# HELP ${metric} ${set.help} (${n})`, `# TYPE ${metric} ${set.gauge === true ? 'gauge' : 'counter'}`);
        for (const [row, values] of totals) {
          if (!(n in values)) continue;
          lines.push(`${metric}${label ? `{${label}="${escape(row)}"}` : ''} ${values[n]}`);
        }
      }
    }
    return lines.join('\n') + '\n';
  }
}
