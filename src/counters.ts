// Counters: named typed-array slots. A counter block is a Float64Array (exact up to 2^53)
// optionally backed by a SharedArrayBuffer so another thread can read it. Each block has
// exactly one writing thread; readers may see values a batch old, never torn ones for
// our purposes (a report, not a decision). Counting costs one indexed increment.

/** Map each name of an `as const` list to its slot index. */
export type CounterIndex<T extends readonly string[]> = { readonly [K in T[number]]: number };

export function counterIndex<const T extends readonly string[]>(names: T): CounterIndex<T> {
  const index: Record<string, number> = {};
  names.forEach((n, i) => { index[n] = i; });
  return Object.freeze(index) as CounterIndex<T>;
}

/** A block of `names.length` counters, repeated `rows` times (one row per port, queue...). */
export class CounterBlock<const T extends readonly string[]> {
  readonly names: T;
  readonly rows: number;
  readonly values: Float64Array;
  readonly at: CounterIndex<T>;

  constructor(names: T, rows = 1, buffer?: SharedArrayBuffer) {
    this.names = names;
    this.rows = rows;
    this.at = counterIndex(names);
    const bytes = names.length * rows * 8;
    this.values = new Float64Array(buffer ?? new SharedArrayBuffer(bytes));
    if (this.values.length !== names.length * rows) throw new Error('counter buffer size mismatch');
  }

  /** Slot of counter `name` in row `row`. */
  slot(name: T[number], row = 0): number { return row * this.names.length + this.at[name]; }

  /** Read counter `name` of row `row`. */
  get(name: T[number], row = 0): number { return this.values[this.slot(name, row)]; }

  /** One row as a plain object, for reports. */
  row(row = 0): Record<T[number], number> {
    const out = {} as Record<string, number>;
    const base = row * this.names.length;
    this.names.forEach((n, i) => { out[n] = this.values[base + i]; });
    return out as Record<T[number], number>;
  }

  /** Sum a counter over all rows. */
  total(name: T[number]): number {
    let s = 0;
    for (let r = 0; r < this.rows; r++) s += this.values[this.slot(name, r)];
    return s;
  }

  get buffer(): SharedArrayBuffer { return this.values.buffer as SharedArrayBuffer; }
}
