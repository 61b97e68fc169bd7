// PairLimiters: a sending host's adaptive limiters in one datapath thread — the frames a tunnel
// uplink sends to a VM behind a remote VTEP wait in their (source VM, destination VM) pair's
// shaper, whose rate the destination's host grants (rate notices, SenderLimiter). A pair's entry
// is in the shared PairTable (made on the pair's first frame; its rate and tokens are shared by
// every thread carrying it: one rate); the shaper's queue is this thread's own, so a flow —
// which stays on one thread — is never reordered.
//
// Limited: unicast frames to a VM learned behind a VTEP (tunnel > 0), keyed by VNI, source MAC
// and destination MAC. Not limited: floods (ARP, unknown unicast), frames of a pair the table
// had no room for (counted in the table). Each shaper's queue holds queueBytes; a frame it has
// no room for is the caller's to drop (QUEUE_FULL, txDropQueue). Shapers are made on a pair's
// first frame in this thread, and made afresh when the table gave the slot to another pair.

import { PacketPool } from '../nic/pool.js';
import { macLo, u16 } from '../wire/bytes.js';
import { LinkShaper } from './link-shaper.js';
import { PASS_B } from './shaper-stats.js';
import { PairTable } from './pair-table.js';
import { BUCKET_BYTES, SharedBucket } from './shared-bucket.js';

/** A pair limiter's queue per thread when none is configured (bytes), and the depth it marks ECN above. */
export const DEFAULT_PAIR_QUEUE_BYTES = 131072;
export const DEFAULT_PAIR_ECN_BYTES = 32768;

export interface PairLimitOptions {
  /** A new pair's rate (kbit/s): the line rate, until its destination's host says otherwise. */
  lineKbps: number;
  burstUs: number;
  queueBytes: number;
  /** Mark ECN-capable frames CE when the pair's queue holds more than this (0: never). */
  ecnBytes: number;
  maxFrame: number;
}

export class PairLimiters {
  private readonly table: PairTable;
  private readonly o: PairLimitOptions;
  /** Per slot: this thread's shaper, and the slot's generation it was made for. */
  private readonly shapers: (LinkShaper | null)[];
  private readonly gens: Int32Array;
  /** Slots whose shaper holds frames, served in turn. */
  private readonly active: Int32Array;
  /** Per slot: 1 while it is on the active list (once, even when its shaper was made afresh). */
  private readonly listed: Uint8Array;
  /** Per slot: the rate (kbit/s) this thread's shaper runs at. */
  private readonly kbps: Int32Array;
  private nActive = 0;
  private readonly stats: Float64Array;
  /** Frames left in the shaper of a slot given to another pair, sent before anything else (rare: allocates). */
  private readonly orphans: number[] = [];
  private readonly orphanTunnels: number[] = [];

  constructor(table: PairTable, o: PairLimitOptions) {
    this.table = table; this.o = o;
    this.shapers = new Array<LinkShaper | null>(table.slots).fill(null);
    this.gens = new Int32Array(table.slots).fill(-1);
    this.active = new Int32Array(table.slots);
    this.listed = new Uint8Array(table.slots);
    this.kbps = new Int32Array(table.slots);
    this.stats = LinkShaper.newStats(); // this thread's, not reported per pair yet
  }

  /**
   * Queue frame h (to VNI `vni`, `tunnel` its remote VTEP + 1) in its pair's shaper: 1 queued,
   * 0 send it as it is (not limited, or within its pair's tokens with nothing of the pair
   * waiting), -1 its queue is full (drop it).
   */
  offer(pool: PacketPool, h: number, vni: number, tunnel: number, nowUs: number, sec: number): number {
    if (tunnel === 0) return 0;
    const d = pool.data, s0 = pool.start(h);
    const t = this.table, s = t.findOrAdd(vni, u16(d, s0 + 6), macLo(d, s0 + 6), u16(d, s0), macLo(d, s0), this.o.lineKbps);
    if (s < 0) return 0;
    t.touch(s, sec);
    const sh = this.shaperOf(s);
    this.follow(s, sh);
    // Nothing of this pair waits in this thread: it goes at once if its tokens allow (the common
    // case, a pair under its grant), unqueued, without joining the turn's release.
    if (this.listed[s] === 0 && sh.pass(pool, h, nowUs)) { t.addBytes(s, pool.len[h]); return 0; }
    if (!sh.offer(pool, h, tunnel, nowUs)) return -1;
    if (this.listed[s] === 0) { this.listed[s] = 1; this.active[this.nActive++] = s; }
    return 1;
  }

  // Slot s's shaper takes the pair's granted rate if it changed.
  private follow(s: number, sh: LinkShaper): void {
    const kbps = this.table.rateOf(s);
    if (kbps !== this.kbps[s] && kbps > 0) { sh.setRate(kbps / 1000); this.kbps[s] = kbps; }
  }

  // This thread's shaper for slot s, made (afresh) for the slot's current pair.
  private shaperOf(s: number): LinkShaper {
    const g = this.table.genOf(s);
    let sh = this.shapers[s];
    if (sh === null || this.gens[s] !== g) {
      // The slot went to another pair (this one was aged out): frames the old shaper still
      // holds leave unlimited, first, at the next release.
      if (sh !== null && sh.queued !== 0) sh.drain(this.orphans, this.orphanTunnels);
      const o = this.o;
      sh = new LinkShaper({ rateMbps: this.table.rateOf(s) / 1000, queueBytes: o.queueBytes, maxFrame: o.maxFrame, burstUs: o.burstUs, catchUp: false, ecnBytes: o.ecnBytes, stats: this.stats, bucket: new SharedBucket(this.table.buckets, s * BUCKET_BYTES) });
      this.shapers[s] = sh;
      this.gens[s] = g;
      this.kbps[s] = this.table.rateOf(s);
    }
    return sh;
  }

  /** Move what the pairs' tokens allow at `nowUs` into out (their tunnels into tunnels), up to `max`; how many. */
  release(nowUs: number, out: Int32Array, tunnels: Int32Array, max: number): number {
    let n = 0, keep = 0;
    const t = this.table;
    if (this.orphans.length !== 0) {
      for (; n < max && this.orphans.length !== 0; n++) { out[n] = this.orphans.shift()!; tunnels[n] = this.orphanTunnels.shift()!; }
    }
    for (let i = 0; i < this.nActive; i++) {
      const s = this.active[i], sh = this.shapers[s]!;
      this.follow(s, sh);
      if (n < max) {
        // The pair's bytes sent (not offered: a dropped frame earns no grant), against which grants are expected.
        const before = this.stats[PASS_B];
        n += sh.release(nowUs, out, max - n, tunnels, n);
        if (this.stats[PASS_B] !== before) t.addBytes(s, this.stats[PASS_B] - before);
      }
      if (sh.queued !== 0) this.active[keep++] = s; else this.listed[s] = 0;
    }
    this.nActive = keep;
    return n;
  }

  /** Frames wait in some pair's shaper. */
  get backlog(): boolean { return this.nActive !== 0 || this.orphans.length !== 0; }

  /** Microseconds from `nowUs` until some pair's next frame may leave (0: now), or -1: none waits. */
  dueIn(nowUs: number): number {
    if (this.orphans.length !== 0) return 0;
    let due = -1;
    for (let i = 0; i < this.nActive; i++) {
      const d = this.shapers[this.active[i]]!.dueIn(nowUs);
      if (d >= 0 && (due < 0 || d < due)) due = d;
    }
    return due;
  }

  /** Every frame still queued (stopping: the caller reports them unsent). */
  drain(out: number[]): void {
    out.push(...this.orphans.splice(0));
    this.orphanTunnels.length = 0;
    for (let i = 0; i < this.nActive; i++) { this.shapers[this.active[i]]!.drain(out); this.listed[this.active[i]] = 0; }
    this.nActive = 0;
  }
}
