// DownlinkWatch: predictable bandwidth's receiving side on a tunnel uplink, in the datapath
// thread that reads it. Every frame the downlink delivers to a local VM — after the emulated
// access link's queue, where there is one — is counted for that VM (CongestionDetector: arrival
// rates, shares, congestion, RCP grants) and for its (VNI, sender MAC, receiver MAC) pair, with
// the VTEP it came from. Pairs are sent the receiving VM's grant in rate notices (the 64-byte
// wire format of wire/rate-notice.ts) from the uplink's socket to that VTEP:
//   - a pair is due once NOTICE_BUDGET bytes of its data arrived since its last notice (so
//     notices cost at most 0.5% of the data bytes: 106 bytes on the wire per 21,200), and at
//     least MIN_GAP_US after it;
//   - the sequence number is one counter for the whole watch, so it only ever grows for any
//     pair (a sender keeps the last one it took per pair; a pair forgotten here and seen again
//     must not look replayed).
// Pairs are kept in a bounded table (maxPairs; a pair not seen for FORGET_US is forgotten and
// its slot reused; a further pair is counted, pairsFull, and gets no notices: its sender keeps its
// last grant, decaying to its floor). Counters and the detector's state go to a shared
// Float64Array (WATCH_STATS + 4 per port) another thread reports from. Per frame: a hash probe
// and a few stores; per notice (control path): the notice written, which allocates its value.

import { CongestionDetector } from './congestion-detector.js';
import { NOTICE_LEN, writeNotice } from '../wire/rate-notice.js';
import { macLo, u16 } from '../wire/bytes.js';

/** Data bytes per notice at most: 0.5% overhead for a 64-byte notice in a 106-byte frame on the wire. */
export const NOTICE_BUDGET = 21200;
/** Shortest time between two notices to one pair (µs). */
export const MIN_GAP_US = 100;
/** A pair not seen for this long is forgotten (µs). */
export const FORGET_US = 2_000_000;
export const WATCH_STATS = ['intervals', 'congestedIntervals', 'noticesSent', 'noticeBytes', 'dataBytes', 'pairs', 'pairsFull'] as const;
const ST = Object.fromEntries(WATCH_STATS.map((n, i) => [n, i])) as Record<(typeof WATCH_STATS)[number], number>;
/** Per port, after WATCH_STATS: arrival rate, share, grant (bits/s), over (1: its senders exceed its share). */
export const PORT_STATS = 4;

export interface WatchOptions {
  /** Detector weights per port (the uplink's own is never used). */
  weights: number[];
  downlinkBps: number;
  gamma: number;
  intervalUs: number;
  maxPairs: number;
  key: Uint8Array | null;
}

/** Sends the notices of one tick: notes[i·NOTICE_LEN ..] to VTEP vteps[i]; n of them. */
export type NoticeSend = (notes: Uint8Array, vteps: Int32Array, n: number) => void;

export class DownlinkWatch {
  readonly detector: CongestionDetector;
  private readonly o: WatchOptions;
  private readonly mask: number;
  // The pairs: key (VNI, sender, receiver MACs), receiving port, VTEP, bytes since the last notice, its time, last seen.
  private readonly kVni: Int32Array;
  private readonly kSrcHi: Int32Array;
  private readonly kSrcLo: Int32Array;
  private readonly kDstHi: Int32Array;
  private readonly kDstLo: Int32Array;
  private readonly port: Int32Array;
  private readonly vtep: Int32Array;
  private readonly bytes: Float64Array;
  private readonly lastNotice: Float64Array;
  private readonly seen: Float64Array;
  private seq = 0;
  /** Pairs whose budget is spent, waiting for their notice (each once: queued[i]). */
  private readonly due: Int32Array;
  private readonly queued: Uint8Array;
  private nDue = 0;
  private readonly notes = new Uint8Array(NOTICE_LEN * 64);
  private readonly noteVteps = new Int32Array(64);
  private readonly mac = new Uint8Array(12);
  readonly stats: Float64Array;
  private readonly send: NoticeSend;

  constructor(o: WatchOptions, stats: Float64Array, send: NoticeSend) {
    this.o = o; this.stats = stats; this.send = send;
    // Congestion is held 5 ms after arrivals fell below the onset, whatever the interval. The
    // lowest grant is C/1000 (EyeQ's 10 Mb/s on 10 Gb/s): with a fixed 10 Mb/s, eight senders into
    // one VM of a 100 Mb/s downlink could not be brought under their 47.5 Mb/s share.
    this.detector = new CongestionDetector({ linkBps: o.downlinkBps, weights: o.weights.map((w) => (w > 0 ? w : 1)), gamma: o.gamma, intervalUs: o.intervalUs, holdIntervals: Math.ceil(5000 / o.intervalUs), minBps: Math.max(100e3, o.downlinkBps / 1000) });
    let cap = 16;
    while (cap < o.maxPairs * 2) cap <<= 1;
    this.mask = cap - 1;
    this.kVni = new Int32Array(cap); this.kSrcHi = new Int32Array(cap); this.kSrcLo = new Int32Array(cap); this.kDstHi = new Int32Array(cap); this.kDstLo = new Int32Array(cap);
    this.port = new Int32Array(cap).fill(-1); this.vtep = new Int32Array(cap);
    this.bytes = new Float64Array(cap); this.lastNotice = new Float64Array(cap); this.seen = new Float64Array(cap).fill(-Infinity);
    this.due = new Int32Array(cap); this.queued = new Uint8Array(cap);
  }

  /**
   * A frame of `len` bytes arrived for local port `port`, in VNI `vni`, from VTEP `vtep`, its
   * MACs at d[s ..] (destination, then source), at `nowUs`.
   */
  arrive(d: Uint8Array, s: number, len: number, port: number, vni: number, vtep: number, nowUs: number): void {
    this.detector.arrive(port, len);
    this.stats[ST.dataBytes] += len;
    const dHi = u16(d, s), dLo = macLo(d, s), sHi = u16(d, s + 6), sLo = macLo(d, s + 6);
    let i = (Math.imul(vni ^ sLo ^ (dLo << 7), 0x9e3779b1) ^ sHi ^ (dHi << 16)) & this.mask, free = -1;
    for (let k = 0; k < 16; k++, i = (i + 1) & this.mask) {
      if (this.port[i] >= 0 && this.kSrcLo[i] === sLo && this.kDstLo[i] === dLo && this.kVni[i] === vni && this.kSrcHi[i] === sHi && this.kDstHi[i] === dHi) {
        this.bytes[i] += len; this.seen[i] = nowUs; this.vtep[i] = vtep; this.port[i] = port;
        if (this.bytes[i] >= NOTICE_BUDGET && this.queued[i] === 0) { this.queued[i] = 1; this.due[this.nDue++] = i; }
        return;
      }
      if (free < 0 && (this.port[i] < 0 || nowUs - this.seen[i] > FORGET_US)) free = i;
    }
    if (free < 0) { this.stats[ST.pairsFull]++; return; }
    if (this.port[free] < 0) this.stats[ST.pairs]++;
    this.kVni[free] = vni; this.kSrcHi[free] = sHi; this.kSrcLo[free] = sLo; this.kDstHi[free] = dHi; this.kDstLo[free] = dLo;
    this.port[free] = port; this.vtep[free] = vtep; this.bytes[free] = len; this.lastNotice[free] = -Infinity; this.seen[free] = nowUs;
  }

  /** Run the detector's interval if one passed, and send the notices that are due; notices sent. */
  tick(nowUs: number): number {
    const det = this.detector;
    if (!det.tick(nowUs)) return 0;
    const st = this.stats;
    st[ST.intervals] = det.intervals; st[ST.congestedIntervals] = det.congestedIntervals;
    for (let p = 0; p < det.vms; p++) {
      const b = WATCH_STATS.length + p * PORT_STATS;
      st[b] = det.arrival[p]; st[b + 1] = det.share[p]; st[b + 2] = det.grant[p]; st[b + 3] = det.over[p];
    }
    let n = 0, sent = 0, keep = 0;
    for (let k = 0; k < this.nDue; k++) {
      const i = this.due[k];
      if (nowUs - this.lastNotice[i] < MIN_GAP_US) { this.due[keep++] = i; continue; }
      this.queued[i] = 0;
      if (this.port[i] < 0) continue;
      this.note(i, n++);
      this.bytes[i] = 0; this.lastNotice[i] = nowUs;
      if (n === this.noteVteps.length) { this.send(this.notes, this.noteVteps, n); sent += n; n = 0; }
    }
    this.nDue = keep;
    if (n !== 0) { this.send(this.notes, this.noteVteps, n); sent += n; }
    st[ST.noticesSent] += sent; st[ST.noticeBytes] += sent * NOTICE_LEN;
    return sent;
  }

  // Write pair i's notice (its receiving VM's grant) as notes[j].
  private note(i: number, j: number): void {
    const m = this.mac;
    m[0] = this.kDstHi[i] >>> 8; m[1] = this.kDstHi[i]; m[2] = this.kDstLo[i] >>> 24; m[3] = this.kDstLo[i] >>> 16; m[4] = this.kDstLo[i] >>> 8; m[5] = this.kDstLo[i];
    m[6] = this.kSrcHi[i] >>> 8; m[7] = this.kSrcHi[i]; m[8] = this.kSrcLo[i] >>> 24; m[9] = this.kSrcLo[i] >>> 16; m[10] = this.kSrcLo[i] >>> 8; m[11] = this.kSrcLo[i];
    writeNotice(this.notes, j * NOTICE_LEN, { seq: ++this.seq, rateBps: this.detector.grant[this.port[i]], vni: this.kVni[i], receiver: m.subarray(0, 6), sender: m.subarray(6, 12) }, this.o.key ?? undefined);
    this.noteVteps[j] = this.vtep[i];
  }
}

/** The receiving side's report: its counters, and per port (its index) the detector's view. */
export interface WatchReport {
  counters: Record<(typeof WATCH_STATS)[number], number>;
  ports: { port: number; arrivalBps: number; shareBps: number; grantBps: number; over: boolean }[];
}

/** A watch's report from its stats (any thread), for `ports` ports; ports that never received are left out. */
export function watchReport(st: Float64Array, ports: number): WatchReport {
  const counters = Object.fromEntries(WATCH_STATS.map((n, i) => [n, st[i]])) as WatchReport['counters'];
  const rows: WatchReport['ports'] = [];
  for (let p = 0; p < ports; p++) {
    const b = WATCH_STATS.length + p * PORT_STATS;
    if (st[b] === 0 && st[b + 1] === 0 && st[b + 2] === 0) continue;
    rows.push({ port: p, arrivalBps: st[b], shareBps: st[b + 1], grantBps: st[b + 2], over: st[b + 3] === 1 });
  }
  return { counters, ports: rows };
}
