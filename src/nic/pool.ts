// PacketPool: fixed-size packet buffers carved out of one SharedArrayBuffer.
//
// A packet is an integer handle (slot index). Its frame lives at
// `data[h * slotSize + off[h] .. + len[h]]`; `off` starts at HEADROOM so a stage can push a
// header (a VLAN tag, later a VXLAN encapsulation) without copying the payload.
// Per-packet metadata lives in parallel typed arrays indexed by the handle.
//
// Free slots: a shared depot (a stack in shared memory behind a spin lock) and, per thread, a
// magazine of up to 2 x MAGAZINE handles that alloc() takes from and free() returns to; a
// magazine is refilled from or spilled to the depot MAGAZINE handles at a time, so a thread
// takes the lock once per ~64 allocations. Any thread that maps the pool may allocate and
// free. A handle is owned by one thread at a time: it travels between threads only on rings,
// and the thread holding it frees it. A thread that stops allocating gives its magazine back
// (flush); after a run every slot is back in the depot and the magazines (available, on the
// pool's creating thread once the others flushed). `refs` counts how many transmit rings
// still hold a handle (flooding); it is updated with Atomics by both sides.
//
// Counters: allocFailures (pool exhausted, this thread — the receiving endpoint counts the
// drop too).
//
// Drain marks: a NIC instance marks each frame it puts on a queue with its current epoch
// (`drainMark`, a code per producer and epoch); free() counts marked frames per code in this
// thread's row of a shared table. A producer knows how many it marked, so once every thread's
// count for a code reaches that number, every frame of that epoch has left the switch (sent or
// dropped). SoftNic's order-keeping moves wait for that (soft-nic.ts).
//
// Slot size is a configuration choice: the default 2048 bytes holds a 1518-byte frame plus
// four VLAN tags plus 128 bytes of headroom; jumbo frames need slotSize >= 9000 + 128 + 18.

export type Handle = number;

/** Largest frame a slot may be sized for (256 KiB: BIG TCP frames pass 64 KiB). */
export const MAX_FRAME = 262144;
export const HEADROOM = 128;
/** Bytes of a virtio-net header (struct virtio_net_hdr, as taps with IFF_VNET_HDR use it). */
export const VNET_HDR = 12;
/** Byte order of this machine's typed arrays (an Int32Array store writes the bytes in it). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const DEFAULT_SLOT_SIZE = 2048;
export const DEFAULT_SLOTS = 16384;

/** Handles moved between a magazine and the depot at once. */
export const MAGAZINE = 64;
// Depot words: the lock, the count of free handles, then the handles (a stack).
const LOCK = 0, COUNT = 1, STACK = 2;
/** Most pool instances (threads mapping the pool) over its life; each has a word for its magazine's count. */
export const MAX_POOL_THREADS = 256;
/** Drain mark codes (0: none; a producer p uses 1 + 2p and 2 + 2p: the main thread and up to 126 workers; the configuration allows 64). */
export const DRAIN_CODES = 256;
// Magazine words: how many instances claimed one, then each one's count.
const CLAIMED = 0;

/** What another thread needs to map the same pool. */
export interface PoolShare {
  slots: number;
  slotSize: number;
  data: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  depot: SharedArrayBuffer;
  /** Every thread's magazine count (so `available` sees slots other threads hold free). */
  mags: SharedArrayBuffer;
  /** Per thread, marked frames freed per drain code. */
  drained: SharedArrayBuffer;
}

export class PacketPool {
  readonly slots: number;
  readonly slotSize: number;
  /** Largest frame a slot holds. */
  readonly maxFrame: number;
  readonly data: Uint8Array;
  /** Frame start within the slot. */
  readonly off: Uint16Array;
  /** Frame length in bytes (32 bits: GSO and BIG TCP frames pass 64 KiB). */
  readonly len: Uint32Array;
  /** Number of transmit rings still holding the handle. */
  readonly refs: Int32Array;
  /** Rate class a rule assigned (-1: none), read by the transmit side's QoS. */
  readonly rateClass: Int16Array;
  /** The virtio-net header a vnet-header port read with the frame (VNET_HDR bytes per slot; zero: none). */
  readonly vnet: Uint8Array;
  private readonly vnet32: Int32Array;
  /** The remote VTEP a tunnel uplink received the frame from (its index + 1; 0: none), for learning. */
  readonly tunnel: Uint16Array;
  /** The drain code the NIC marked the frame with when it queued it (0: none). */
  readonly drainMark: Uint8Array;
  private readonly drained: Int32Array;
  private readonly drainedRow: Int32Array;
  private readonly share: PoolShare;
  private readonly depot: Int32Array;
  // This thread's magazine: free handles, the most recently freed last.
  private readonly mag = new Int32Array(2 * MAGAZINE);
  private magN = 0;
  /** Every instance's magazine count (mags[me] is this one's, kept equal to magN). */
  private readonly mags: Int32Array;
  private readonly me: number;
  allocFailures = 0;

  constructor(slots = DEFAULT_SLOTS, slotSize = DEFAULT_SLOT_SIZE, share?: PoolShare) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 1 << 20) throw new RangeError(`pool slots must be 1..1048576, got ${slots}`);
    if (!Number.isInteger(slotSize) || slotSize < HEADROOM + 64 || slotSize > HEADROOM + MAX_FRAME) {
      throw new RangeError(`pool slotSize must be ${HEADROOM + 64}..${HEADROOM + MAX_FRAME}, got ${slotSize}`);
    }
    this.slots = slots;
    this.slotSize = slotSize;
    this.maxFrame = slotSize - HEADROOM;
    const metaBytes = slots * (4 + 4 + 2 + 2 + VNET_HDR + 2 + 1);
    this.share = share ?? {
      slots, slotSize, data: new SharedArrayBuffer(slots * slotSize), meta: new SharedArrayBuffer(metaBytes),
      depot: new SharedArrayBuffer((STACK + slots) * 4), mags: new SharedArrayBuffer((1 + MAX_POOL_THREADS) * 4),
      drained: new SharedArrayBuffer(MAX_POOL_THREADS * DRAIN_CODES * 4),
    };
    this.mags = new Int32Array(this.share.mags);
    this.me = 1 + Atomics.add(this.mags, CLAIMED, 1);
    if (this.me > MAX_POOL_THREADS) throw new RangeError(`more than ${MAX_POOL_THREADS} threads mapped this pool`);
    this.data = new Uint8Array(this.share.data);
    this.refs = new Int32Array(this.share.meta, 0, slots);
    this.len = new Uint32Array(this.share.meta, slots * 4, slots);
    this.off = new Uint16Array(this.share.meta, slots * 8, slots);
    this.rateClass = new Int16Array(this.share.meta, slots * 10, slots);
    this.vnet = new Uint8Array(this.share.meta, slots * 12, slots * VNET_HDR);
    this.vnet32 = new Int32Array(this.share.meta, slots * 12, slots * (VNET_HDR >> 2));
    this.tunnel = new Uint16Array(this.share.meta, slots * (12 + VNET_HDR), slots);
    this.drainMark = new Uint8Array(this.share.meta, slots * (14 + VNET_HDR), slots);
    this.drained = new Int32Array(this.share.drained);
    this.drainedRow = this.drained.subarray((this.me - 1) * DRAIN_CODES, this.me * DRAIN_CODES);
    this.depot = new Int32Array(this.share.depot);
    if (!share) {
      // Hand out low handles first: the stack's top is handle 0.
      for (let i = 0; i < slots; i++) this.depot[STACK + i] = slots - 1 - i;
      this.depot[COUNT] = slots;
    }
  }

  /** Map a pool created in another thread (with a magazine of its own). */
  static attach(share: PoolShare): PacketPool { return new PacketPool(share.slots, share.slotSize, share); }

  /** Descriptor to post to a worker. */
  shared(): PoolShare { return this.share; }

  /**
   * Free slots: the depot and every thread's magazine (exact when no other thread is
   * allocating or freeing at the moment; a close reading while they are).
   */
  get available(): number {
    let n = Atomics.load(this.depot, COUNT);
    const m = this.mags, claimed = Math.min(Atomics.load(m, CLAIMED), MAX_POOL_THREADS);
    for (let i = 1; i <= claimed; i++) n += Atomics.load(m, i);
    return n;
  }

  /** Take a slot; -1 when the pool is exhausted. */
  alloc(): Handle {
    if (this.magN === 0 && this.refill() === 0) { this.allocFailures++; return -1; }
    const h = this.mag[--this.magN];
    this.mags[this.me] = this.magN;
    this.off[h] = HEADROOM;
    this.len[h] = 0;
    this.rateClass[h] = -1;
    this.tunnel[h] = 0;
    const v = h * 3, v32 = this.vnet32;
    v32[v] = 0; v32[v + 1] = 0; v32[v + 2] = 0;
    return h;
  }

  /** Return a slot (one this thread holds). */
  free(h: Handle): void {
    const c = this.drainMark[h];
    if (c !== 0) { this.drainMark[h] = 0; this.drainedRow[c]++; }
    if (this.magN === this.mag.length) this.spill(MAGAZINE);
    this.mag[this.magN++] = h;
    this.mags[this.me] = this.magN;
  }

  /** Frames marked `code` freed so far by every thread (an int32 count: compare with `| 0`). */
  drainedCount(code: number): number {
    let n = 0;
    const claimed = Math.min(Atomics.load(this.mags, CLAIMED), MAX_POOL_THREADS);
    for (let t = 0; t < claimed; t++) n = (n + Atomics.load(this.drained, t * DRAIN_CODES + code)) | 0;
    return n;
  }

  /** Give this thread's magazine back to the depot (a thread that stops allocating). */
  flush(): void { this.spill(this.magN); }

  // Move up to MAGAZINE handles from the depot into the empty magazine; how many.
  private refill(): number {
    const d = this.depot;
    this.lock();
    const count = d[COUNT], k = count < MAGAZINE ? count : MAGAZINE;
    for (let i = 0; i < k; i++) this.mag[i] = d[STACK + count - k + i];
    d[COUNT] = count - k;
    Atomics.store(d, LOCK, 0);
    this.magN = k;
    this.mags[this.me] = k;
    return k;
  }

  // Move the newest k handles of the magazine to the depot.
  private spill(k: number): void {
    const d = this.depot, from = this.magN - k;
    this.lock();
    const count = d[COUNT];
    for (let i = 0; i < k; i++) d[STACK + count + i] = this.mag[from + i];
    d[COUNT] = count + k;
    Atomics.store(d, LOCK, 0);
    this.magN = from;
    this.mags[this.me] = from;
  }

  // The depot's spin lock: held for a copy of at most MAGAZINE words.
  private lock(): void {
    while (Atomics.compareExchange(this.depot, LOCK, 0, 1) !== 0) { /* another thread moves a magazine */ }
  }

  /** Every free handle in the depot and this magazine (tests: each slot once; allocates). */
  freeHandles(): number[] {
    this.lock();
    const out = [...this.depot.subarray(STACK, STACK + this.depot[COUNT])];
    Atomics.store(this.depot, LOCK, 0);
    return out.concat([...this.mag.subarray(0, this.magN)]);
  }

  /** Byte offset of the frame of `h` in `data`. */
  start(h: Handle): number { return h * this.slotSize + this.off[h]; }

  /** Copy `src[srcOff..srcOff+n)` into a fresh slot; -1 if exhausted, -2 if too large. */
  allocFrom(src: Uint8Array, srcOff: number, n: number): Handle {
    if (n > this.maxFrame) return -2;
    const h = this.alloc();
    if (h < 0) return -1;
    // A datagram arrives as its own Buffer: copy it whole, without making a view per packet.
    // A frame inside a larger buffer (a capture) is copied four bytes per store when small —
    // through a DataView kept per source buffer, so no view per packet — and through a view
    // when large. Measured on 60/114/256-byte frames: 38/70/161 ns by words, 161/324/729 ns byte
    // by byte, 103/134/158 ns through a subarray view (stores are what copying costs here).
    const to = h * this.slotSize + HEADROOM;
    if (srcOff === 0 && n === src.length) this.data.set(src, to);
    else if (n <= 256 && (to & 3) === 0) this.copyWords(src, srcOff, n, to);
    else this.data.set(src.subarray(srcOff, srcOff + n), to);
    this.len[h] = n;
    return h;
  }

  // The source buffer copyWords last read, and a DataView over it (made when it changes).
  private copySrc: Uint8Array | null = null;
  private copyView: DataView | null = null;
  private data32: Int32Array | null = null;

  // Copy src[srcOff .. srcOff+n) to data[to ..) (to 4-aligned), a 32-bit word per store.
  private copyWords(src: Uint8Array, srcOff: number, n: number, to: number): void {
    if (src !== this.copySrc) { this.copySrc = src; this.copyView = new DataView(src.buffer, src.byteOffset, src.byteLength); }
    const v = this.copyView!, d32 = this.data32 ??= new Int32Array(this.data.buffer, this.data.byteOffset, this.data.byteLength >> 2), d = this.data;
    let i = 0;
    for (const w = to >> 2; i + 4 <= n; i += 4) d32[w + (i >> 2)] = v.getInt32(srcOff + i, LITTLE_ENDIAN);
    for (; i < n; i++) d[to + i] = src[srcOff + i];
  }

  private views: Buffer[] | null = null;

  /** One Buffer view per slot over the shared memory, made once, for socket sends. */
  slotBuffers(): Buffer[] {
    if (!this.views) {
      this.views = [];
      for (let h = 0; h < this.slots; h++) this.views.push(Buffer.from(this.data.buffer, this.data.byteOffset + h * this.slotSize, this.slotSize));
    }
    return this.views;
  }

  /** A copy of the frame of `h` (control code and tests; allocates). */
  frame(h: Handle): Uint8Array {
    const s = this.start(h);
    return this.data.slice(s, s + this.len[h]);
  }
}
