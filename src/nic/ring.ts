// Ring: a single-producer single-consumer ring of packet handles over a SharedArrayBuffer.
//
// Capacity is a power of two. `head` (next to read) is written only by the consumer,
// `tail` (next to write) only by the producer, each with Atomics.store so that the slots
// written before a tail update are visible to the consumer that reads the new tail.
// head and tail sit 64 bytes apart so the two threads do not share a cache line.
// Burst operations move up to n handles with one pair of index updates.
// A full ring takes what fits and returns how many; the caller drops and counts the rest.
// A ring made `withTags` carries one more Int32 per entry beside the handle (a transmit ring:
// the egress tag operation the pipeline chose for that copy), moved by the same bursts.

const HEAD = 0;
const TAIL = 16; // 64 bytes after HEAD
const HEADER_INTS = 32;

/** The smallest power of two >= n (and >= 2): a ring capacity that holds n handles. */
export function ceilPow2(n: number): number { let p = 2; while (p < n) p <<= 1; return p; }

export interface RingShare { buffer: SharedArrayBuffer; capacity: number; withTags: boolean }

export class Ring {
  readonly capacity: number;
  private readonly mask: number;
  private readonly idx: Int32Array;
  private readonly slots: Int32Array;
  private readonly buffer: SharedArrayBuffer;
  /** The word beside each handle (withTags), else null. */
  private readonly tags: Int32Array | null;

  constructor(capacity: number, buffer?: SharedArrayBuffer, withTags = false) {
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 1 << 24 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ring capacity must be a power of two in 2..16777216, got ${capacity}`);
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.buffer = buffer ?? new SharedArrayBuffer((HEADER_INTS + capacity * (withTags ? 2 : 1)) * 4);
    this.idx = new Int32Array(this.buffer, 0, HEADER_INTS);
    this.slots = new Int32Array(this.buffer, HEADER_INTS * 4, capacity);
    this.tags = withTags ? new Int32Array(this.buffer, (HEADER_INTS + capacity) * 4, capacity) : null;
  }

  static attach(s: RingShare): Ring { return new Ring(s.capacity, s.buffer, s.withTags); }
  shared(): RingShare { return { buffer: this.buffer, capacity: this.capacity, withTags: this.tags !== null }; }

  /** Handles waiting to be read. */
  get count(): number { return (Atomics.load(this.idx, TAIL) - Atomics.load(this.idx, HEAD)) | 0; }

  /** How far the ring has been written (the producer's index; int32, wraps). */
  get written(): number { return Atomics.load(this.idx, TAIL); }

  /** Has the consumer read everything written up to `mark` (a `written` value)? */
  readPast(mark: number): boolean { return ((Atomics.load(this.idx, HEAD) - mark) | 0) >= 0; }

  /** Producer: add one handle; false when full. */
  enqueue(h: number): boolean {
    const tail = this.idx[TAIL]; // own index: plain read is fine
    const head = Atomics.load(this.idx, HEAD);
    if (((tail - head) | 0) >= this.capacity) return false;
    this.slots[tail & this.mask] = h;
    Atomics.store(this.idx, TAIL, (tail + 1) | 0);
    return true;
  }

  /** Producer: add src[from..from+n) (and, on a ring withTags, their tags[from..from+n)); returns how many fit. */
  enqueueBurst(src: Int32Array, from: number, n: number, tags?: Int32Array): number {
    const tail = this.idx[TAIL];
    const head = Atomics.load(this.idx, HEAD);
    const free = this.capacity - ((tail - head) | 0);
    const k = n < free ? n : free;
    const slots = this.slots, mask = this.mask;
    for (let i = 0; i < k; i++) slots[(tail + i) & mask] = src[from + i];
    const t = this.tags;
    if (t !== null && tags !== undefined) for (let i = 0; i < k; i++) t[(tail + i) & mask] = tags[from + i];
    if (k > 0) Atomics.store(this.idx, TAIL, (tail + k) | 0);
    return k;
  }

  /** Consumer: move up to `max` handles into dst[at..) (and their tags into tags[at..)); returns how many. */
  dequeueBurst(dst: Int32Array, max: number, tags?: Int32Array, at = 0): number {
    const head = this.idx[HEAD];
    const tail = Atomics.load(this.idx, TAIL);
    const avail = (tail - head) | 0;
    const k = max < avail ? max : avail;
    const slots = this.slots, mask = this.mask;
    for (let i = 0; i < k; i++) dst[at + i] = slots[(head + i) & mask];
    const t = this.tags;
    if (t !== null && tags !== undefined) for (let i = 0; i < k; i++) tags[at + i] = t[(head + i) & mask];
    if (k > 0) Atomics.store(this.idx, HEAD, (head + k) | 0);
    return k;
  }
}
