// VtepTable: the remote tunnel endpoints (VTEPs) one VXLAN uplink knows — its flood list, the
// VTEPs of static entries, and those learned from arriving datagrams — and each one's counters.
//
// A VTEP is an IP address (Linux sends from a port chosen per flow, so the source port says
// nothing); datagrams to it go to the uplink's destination port. Its index (0..count) is what
// the rest of sluice holds: the MAC table stores index + 1 beside a remote MAC, a transmit op
// carries it to the link (0: the flood list), pool.tunnel tells learning where a frame came from.
//
// Layout (one SharedArrayBuffer): words [count, slicesClaimed, full], then per VTEP its address
// record (ADDR_REC bytes, the native module's format: family, port, address, scope) and a flag
// byte (1: on the flood list), then counters: Float64 rows of VTEP_COUNTERS per (slice, VTEP).
//
// Writers: the main thread adds the configured VTEPs before any thread starts; after that only
// the thread that reads the uplink's socket adds (learns) VTEPs — one writer, append-only: the
// record is written first, then the count is published with Atomics.store. Readers (every
// thread that transmits to the uplink) read the count, then records below it. VTEPs are never
// removed (the MAC entries that point at them age); a full table counts `full` and the frame's
// source stays unknown (its MAC is learned toward the flood list).
//
// Counters: every thread that runs the link claims a slice of its own and adds to it with plain
// stores; reports add the slices up.

import ipaddr from 'ipaddr.js';
import { ADDR_REC } from '../native/io.js';

export const VTEP_COUNTERS = ['txPackets', 'txBytes', 'txDrops', 'rxPackets', 'rxBytes'] as const;
export const VC_TX_PACKETS = 0, VC_TX_BYTES = 1, VC_TX_DROPS = 2, VC_RX_PACKETS = 3, VC_RX_BYTES = 4;
const NC = VTEP_COUNTERS.length;
/** Threads that may run one uplink's link: 64 workers, the main thread, one spare. */
export const MAX_SLICES = 66;
/** Default and largest number of VTEPs one uplink knows. */
export const DEFAULT_MAX_VTEPS = 256;
export const MAX_VTEPS = 4096;
const COUNT = 0, SLICES = 1, FULL = 2, WORDS = 4;
const REC_WORDS = ADDR_REC >> 2;

export interface VtepShare { buffer: SharedArrayBuffer; capacity: number }
export interface VtepReport { address: string; flood: boolean; counters: Record<(typeof VTEP_COUNTERS)[number], number> }

// Hash of a record's family and address words (not its port).
function recHash(w: Int32Array, at: number): number {
  let h = Math.imul((w[at] & 0xff) ^ 0x9e3779b9, 0x85ebca6b);
  for (let i = 1; i < REC_WORDS; i++) { h ^= w[at + i]; h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d); }
  return (h ^ (h >>> 13)) >>> 0;
}

export class VtepTable {
  readonly capacity: number;
  private readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  /** Address records, ADDR_REC bytes per VTEP. */
  readonly records: Uint8Array;
  /** The records as int32 words (ADDR_REC / 4 per VTEP). */
  readonly rec32: Int32Array;
  /** 1 for a VTEP on the flood list. */
  readonly flood: Uint8Array;
  private readonly counters: Float64Array;
  // The reading thread's index: open addressing over index + 1 (0: empty), twice the capacity.
  private readonly index: Int32Array;
  private readonly mask: number;
  private indexed = 0;

  constructor(capacity = DEFAULT_MAX_VTEPS, buffer?: SharedArrayBuffer) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_VTEPS) throw new RangeError(`VTEP table size must be 1..${MAX_VTEPS}, got ${capacity}`);
    this.capacity = capacity;
    const recBytes = capacity * ADDR_REC, flagBytes = Math.ceil(capacity / 8) * 8;
    this.buffer = buffer ?? new SharedArrayBuffer(WORDS * 4 + recBytes + flagBytes + MAX_SLICES * capacity * NC * 8);
    this.words = new Int32Array(this.buffer, 0, WORDS);
    this.records = new Uint8Array(this.buffer, WORDS * 4, recBytes);
    this.rec32 = new Int32Array(this.buffer, WORDS * 4, recBytes >> 2);
    this.flood = new Uint8Array(this.buffer, WORDS * 4 + recBytes, capacity);
    this.counters = new Float64Array(this.buffer, WORDS * 4 + recBytes + flagBytes, MAX_SLICES * capacity * NC);
    let size = 16;
    while (size < capacity * 2) size <<= 1;
    this.index = new Int32Array(size);
    this.mask = size - 1;
  }

  static attach(s: VtepShare): VtepTable { return new VtepTable(s.capacity, s.buffer); }
  shared(): VtepShare { return { buffer: this.buffer, capacity: this.capacity }; }

  /** VTEPs known (indices 0..count). */
  get count(): number { return Atomics.load(this.words, COUNT); }
  /** Arriving datagrams from a VTEP that did not fit in the table. */
  get full(): number { return Atomics.load(this.words, FULL); }

  /** Claim a counter slice for the calling thread's link. */
  claimSlice(): number {
    const s = Atomics.add(this.words, SLICES, 1);
    if (s >= MAX_SLICES) throw new RangeError(`more than ${MAX_SLICES} threads run one VXLAN uplink`);
    return s;
  }

  /** The counter row base of (slice, vtep): add VC_* to it. */
  row(slice: number, vtep: number): number { return (slice * this.capacity + vtep) * NC; }
  /** The counters, for the link's plain stores. */
  get values(): Float64Array { return this.counters; }

  /**
   * The index of the VTEP whose address (not port) is the record at recs[at..] (int32 words, 4-aligned),
   * added with `port` when new; -1 when the table is full. The reading thread only (or before threads start).
   */
  findOrAdd(recs: Int32Array, at: number, port: number): number {
    const found = this.find(recs, at);
    if (found >= 0) return found;
    const w = this.rec32, n = this.words[COUNT];
    if (n === this.capacity) { Atomics.add(this.words, FULL, 1); return -1; }
    const b = n * REC_WORDS;
    for (let i = 0; i < REC_WORDS; i++) w[b + i] = recs[at + i];
    this.records[n * ADDR_REC + 2] = port >>> 8; this.records[n * ADDR_REC + 3] = port & 0xff;
    Atomics.store(this.words, COUNT, n + 1);
    this.catchUp();
    return n;
  }

  /** The index of the VTEP whose address is the record at recs[at..], or -1 (not added). The reading thread only. */
  find(recs: Int32Array, at: number): number {
    this.catchUp();
    const w = this.rec32, idx = this.index, mask = this.mask;
    for (let s = recHash(recs, at) & mask; ; s = (s + 1) & mask) {
      const e = idx[s];
      if (e === 0) return -1;
      const b = (e - 1) * REC_WORDS;
      if ((w[b] & 0xff) === (recs[at] & 0xff) && w[b + 1] === recs[at + 1] && w[b + 2] === recs[at + 2] && w[b + 3] === recs[at + 3] && w[b + 4] === recs[at + 4] && w[b + 5] === recs[at + 5]) return e - 1;
    }
  }

  /** Add a configured VTEP (address record bytes, its destination port in it); its index. Main thread, before start. */
  add(rec: Uint8Array, flood: boolean): number {
    const tmp = new Int32Array(REC_WORDS);
    new Uint8Array(tmp.buffer).set(rec.subarray(0, ADDR_REC));
    const port = (rec[2] << 8) | rec[3];
    const i = this.findOrAdd(tmp, 0, port);
    if (i < 0) throw new RangeError(`more than ${this.capacity} VTEPs configured`);
    if (flood) this.flood[i] = 1;
    return i;
  }

  // Index the records added since the last look.
  private catchUp(): void {
    const n = Atomics.load(this.words, COUNT), idx = this.index, mask = this.mask;
    for (; this.indexed < n; this.indexed++) {
      let s = recHash(this.rec32, this.indexed * REC_WORDS) & mask;
      while (idx[s] !== 0) s = (s + 1) & mask;
      idx[s] = this.indexed + 1;
    }
  }

  /** The flood list's indices. */
  floodList(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.flood[i]) out.push(i);
    return out;
  }

  /** "IP" of VTEP i (reports). */
  address(i: number): string {
    const o = i * ADDR_REC;
    return ipaddr.fromByteArray([...this.records.subarray(o + 4, o + (this.records[o] === 4 ? 8 : 20))]).toString();
  }

  /** Every VTEP with its counters summed over the slices (reports; allocates). */
  report(): VtepReport[] {
    const out: VtepReport[] = [], slices = Math.min(Atomics.load(this.words, SLICES), MAX_SLICES);
    for (let i = 0; i < this.count; i++) {
      const sum = new Array<number>(NC).fill(0);
      for (let s = 0; s < slices; s++) { const b = this.row(s, i); for (let k = 0; k < NC; k++) sum[k] += this.counters[b + k]; }
      out.push({ address: this.address(i), flood: this.flood[i] === 1, counters: Object.fromEntries(VTEP_COUNTERS.map((n, k) => [n, sum[k]])) as VtepReport['counters'] });
    }
    return out;
  }
}
