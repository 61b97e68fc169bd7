// FlowMeter: what the NIC measures for the queue manager, at a cost it can pay on every frame.
//
// - Per RSS indirection bucket: packets and bytes, in shared memory (each producing thread has
//   its own; the reader sums them). What an RSS++-style rebalancer moves is buckets.
// - Per flow (the 5-tuple, HeavyHitters' key) and per VM (destination MAC and VLAN, VMQ's unit,
//   in a second table): a sample of the frames — a countdown with random
//   gaps of mean m, so traffic with a period cannot hide from it — goes into a Space-Saving
//   table, each sample counting for m frames. m is set so that a period holds about
//   TARGET_SAMPLES samples: every frame is sampled while the rate is low (the counts are then
//   exact), and at any rate the table costs about TARGET_SAMPLES adds a period — not a share
//   of every frame (1 in 8 cost the in-memory pipeline 12–16%). Each period starts with m from
//   the last one's frames, and m doubles within a period at twice the target and at each target
//   more (a sudden flood costs at most TARGET_SAMPLES·(2 + log2 m) adds in its first period).
//   Every PERIOD_MS (aligned to the clock) the thread publishes the table to shared memory (estimates, with
//   Space-Saving's error bound) and starts again. A reader in another thread copies the table
//   while its sequence word is even and unchanged across the copy (a seqlock: the writer never
//   waits).
//
// Per frame (in SoftNic.receive): a bucket's two counters and a decrement; a sample also a
// HeavyHitters.add (66–83 ns, native-free-bench/heavy-hitters.ts). The frames of a period are
// counted from the gaps. Nothing is allocated.

import { KEY_STRIDE } from '../wire/flow-key.js';
import { FLOW_WORDS, HeavyHitters } from './heavy-hitters.js';

/** Samples a period aims at (the mean gap between samples follows the rate). */
export const TARGET_SAMPLES = 1024;
/** Largest mean gap. */
const MAX_MEAN = 1 << 16;
/**
 * A period: the table is published and started again this often. Periods are aligned to the
 * clock (they end at multiples of PERIOD_MS), so every thread's ends together and the queue
 * manager sees a new elephant within one or two periods (RSS++ balances every 100 ms).
 */
export const PERIOD_MS = 25;
/** Flows a thread keeps (and publishes) per period, and VMs (destination MAC and VLAN). */
export const METER_FLOWS = 128;
export const METER_VMS = 64;
/** A VM's entry in the published table: word 1 holds this mark (no EtherType), word 5 its VLAN id and MAC's first two bytes, word 6 the other four. */
export const VM_MARK = 0xffff0000;
// The published table (Float64 words after the Int32 sequence word's 8 bytes): period start
// (ms), its length (ms), flows in it, samples taken, frames counted, the last mean gap; then per
// flow its key words, bytes, packets, error (all estimates) and where its last sample came from
// and went: its queue, plus its RSS entry + 1 (0: a filter or a rule chose the queue) times 2^8,
// plus its ingress port times 2^21.
const HEAD = 6, ENTRY = FLOW_WORDS.length + 4;

/** A thread's meter memory (made by the main thread, posted to the worker). */
export interface MeterShare { buckets: SharedArrayBuffer; table: SharedArrayBuffer }

/** One flow (or VM) of a period, as estimated; `entry`: the RSS indirection entry its last sampled frame went through (-1: a filter or rule chose its queue); `port`: the port it came in on. */
export interface MeteredFlow { key: Uint32Array; bytes: number; packets: number; error: number; queue: number; entry: number; port: number }

/** One thread's last published period: its frames (exact), samples taken and the mean gap at its end, the flows and the VMs (key: VM_MARK entries). */
export interface MeterPeriod { startMs: number; periodMs: number; frames: number; samples: number; mean: number; flows: MeteredFlow[]; vms: MeteredFlow[] }

export class FlowMeter {
  /** Per bucket: packets at 2b, bytes at 2b + 1. */
  readonly buckets: Float64Array;
  private readonly hh = new HeavyHitters(METER_FLOWS);
  private readonly vms = new HeavyHitters(METER_VMS);
  private readonly tables = [this.hh, this.vms];
  private readonly vmKey = new Uint32Array(KEY_STRIDE);
  private readonly seq: Int32Array;
  private readonly table: Float64Array;
  /** Frames until the next sample (the NIC counts it down). */
  gap = 1;
  // The gap last drawn; frames counted this period up to the last sample; the mean gap now.
  private drawn = 1;
  private seen = 0;
  private mean = 1;
  private samples = 0;
  private rnd: number;
  private start = -1;

  static share(buckets: number): MeterShare {
    return { buckets: new SharedArrayBuffer(16 * buckets), table: new SharedArrayBuffer(8 * (1 + HEAD + (METER_FLOWS + METER_VMS) * ENTRY)) };
  }

  constructor(s: MeterShare, seed = 0x9e3779b9) {
    this.buckets = new Float64Array(s.buckets);
    this.seq = new Int32Array(s.table, 0, 1);
    this.table = new Float64Array(s.table, 8);
    this.rnd = seed | 1;
  }

  /**
   * A parsed frame went to a queue: the NIC counts its RSS bucket in `buckets` (packets at 2b,
   * bytes at 2b + 1) and decrements `gap` itself; when `gap` reaches 0 it calls sample().
   */
  count(packed: Uint32Array, off: number, len: number, bucket: number, queue: number): void {
    if (bucket >= 0) { this.buckets[2 * bucket]++; this.buckets[2 * bucket + 1] += len; }
    if (--this.gap === 0) this.sample(packed, off, len, queue, bucket);
  }

  /** The frame the gap ran out at (packed key at packed[off..], `len` bytes, sent to `queue` through RSS entry `bucket`, -1: none): it stands for `mean` frames. */
  sample(packed: Uint32Array, off: number, len: number, queue: number, bucket: number): void {
    const tag = queue | ((bucket + 1) << 8) | ((packed[off] >>> 16) << 21); // packed word 0: in port (src/flow/key.ts)
    const m = this.mean;
    this.seen += this.drawn;
    this.hh.add(packed, off, len * m, tag, m);
    // The VM it goes to: destination MAC and VLAN id (packed key words 0, 2, 3: src/flow/key.ts).
    const vk = this.vmKey;
    vk[1] = VM_MARK; vk[5] = ((((packed[off] >>> 4) & 0xfff) << 16) | (packed[off + 2] >>> 16)) >>> 0; vk[6] = packed[off + 3];
    this.vms.add(vk, 0, len * m, tag, m);
    if (++this.samples === 2 * TARGET_SAMPLES && m < MAX_MEAN) { this.mean = 2 * m; this.samples = TARGET_SAMPLES; }
    let x = this.rnd; // xorshift32
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.rnd = x;
    this.gap = this.drawn = 1 + ((x >>> 0) % (2 * this.mean - 1));
  }

  /** Publish and start again when the period is over (the thread's loop calls this with its clock). */
  tick(nowMs: number): void {
    if (this.start < 0) { this.start = periodStart(nowMs); return; }
    if (nowMs - this.start < PERIOD_MS) return;
    const t = this.table, hh = this.hh;
    Atomics.add(this.seq, 0, 1); // odd: writing
    this.seen += this.drawn - this.gap; // the frames since the last sample
    this.drawn = this.gap;
    t[0] = this.start; t[1] = nowMs - this.start; t[2] = hh.size + this.vms.size; t[3] = hh.frames; t[4] = this.seen; t[5] = this.mean;
    let o = HEAD;
    for (const table of this.tables) {
      for (let e = 0; e < table.size; e++, o += ENTRY) {
        table.keyWords(e, t, o);
        t[o + FLOW_WORDS.length] = table.bytes[e];
        t[o + FLOW_WORDS.length + 1] = table.packets[e];
        t[o + FLOW_WORDS.length + 2] = table.error[e];
        t[o + FLOW_WORDS.length + 3] = table.tag[e];
      }
      table.reset();
    }
    Atomics.add(this.seq, 0, 1); // even: done
    // The next period's mean gap from this one's frames; its first sample comes within one gap.
    this.mean = Math.min(MAX_MEAN, Math.max(1, Math.round(this.seen / TARGET_SAMPLES)));
    this.gap = this.drawn = Math.min(this.gap, this.mean);
    this.seen = 0; this.samples = 0;
    this.start = periodStart(nowMs);
  }
}

/** The start of the period `nowMs` falls in (periods end at multiples of PERIOD_MS). */
export const periodStart = (nowMs: number): number => Math.floor(nowMs / PERIOD_MS) * PERIOD_MS;

/** The last period `share`'s thread published (null: none yet, or it kept changing under the copy). */
export function readMeter(share: MeterShare): MeterPeriod | null {
  const seq = new Int32Array(share.table, 0, 1), t = new Float64Array(share.table, 8);
  for (let attempt = 0; attempt < 8; attempt++) {
    const before = Atomics.load(seq, 0);
    if (before === 0) return null;
    if (before & 1) continue;
    const copy = t.slice(0, HEAD + Math.min(t[2], METER_FLOWS + METER_VMS) * ENTRY); // the count may be torn: bounded, then checked
    if (Atomics.load(seq, 0) !== before) continue;
    const flows: MeteredFlow[] = [], vms: MeteredFlow[] = [];
    for (let e = 0; e < copy[2]; e++) {
      const o = HEAD + e * ENTRY, key = new Uint32Array(KEY_STRIDE);
      FLOW_WORDS.forEach((w, i) => { key[w] = copy[o + i]; });
      const f = o + FLOW_WORDS.length;
      (key[1] === VM_MARK ? vms : flows).push({ key, bytes: copy[f], packets: copy[f + 1], error: copy[f + 2], queue: copy[f + 3] & 0xff, entry: ((copy[f + 3] >> 8) & 0x1fff) - 1, port: copy[f + 3] >>> 21 });
    }
    return { startMs: copy[0], periodMs: copy[1], samples: copy[3], frames: copy[4], mean: copy[5], flows, vms };
  }
  return null;
}
