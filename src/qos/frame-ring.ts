// FrameRing: a shaper's queue — pool handles in arrival order, each with its charge (wire bytes)
// and a tag the caller gets back with it (a tunnel's VTEP). It starts small and doubles when full,
// up to `max` entries: a host may keep a thousand pair limiters, most of them holding a frame or
// two, and a new pair (made on its first frame, in the data path) must not cost a queue sized
// for its worst case (131,072 bytes of 14-byte frames: 192 KB zeroed). Growth allocates, a few
// times in a ring's life, only when its queue reaches a depth it never had.

/** Entries a ring starts with. */
const FIRST_SIZE = 16;

export class FrameRing {
  /** Most entries (a power of two). */
  readonly max: number;
  h: Int32Array;
  charge: Int32Array;
  tag: Int32Array;
  mask: number;
  /** Counters (unbounded; entry i is at i & mask): the next to leave, the next free. */
  head = 0;
  tail = 0;

  /** Room for at least `entries` frames at most. */
  constructor(entries: number) {
    let max = FIRST_SIZE;
    while (max < entries) max <<= 1;
    this.max = max;
    const size = Math.min(FIRST_SIZE, max);
    this.h = new Int32Array(size); this.charge = new Int32Array(size); this.tag = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Entries waiting. */
  get length(): number { return this.tail - this.head; }

  /** Append (h, charge, tag); false when it holds `max` already. */
  push(h: number, charge: number, tag: number): boolean {
    if (this.tail - this.head > this.mask && !this.grow()) return false;
    const t = this.tail & this.mask;
    this.h[t] = h; this.charge[t] = charge; this.tag[t] = tag;
    this.tail++;
    return true;
  }

  // Double the arrays (entries kept in order, from index 0); false at `max`.
  private grow(): boolean {
    const n = this.tail - this.head, size = (this.mask + 1) * 2;
    if (size > this.max) return false;
    const h = new Int32Array(size), charge = new Int32Array(size), tag = new Int32Array(size);
    for (let i = 0; i < n; i++) { const s = (this.head + i) & this.mask; h[i] = this.h[s]; charge[i] = this.charge[s]; tag[i] = this.tag[s]; }
    this.h = h; this.charge = charge; this.tag = tag;
    this.mask = size - 1; this.head = 0; this.tail = n;
    return true;
  }
}
