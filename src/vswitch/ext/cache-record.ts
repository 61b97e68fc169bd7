// CacheRecord: how the extension stack runs a flow-cacheable extension when the flow stage is
// on, and what it records for the flows that missed the cache.
//
// Hits are not called: the flow's cached decision says whether this extension dropped the
// flow, which destinations it chose, which ports it excluded — replayed and counted as
// cacheHits. Misses are called, and what the extension decided is recorded per batch position
// (pend*) for the pipeline to compile into the flow's decision (steps/cache-decisions.ts). On
// egress a miss is asked about every port once (synthetic pairs), so its decision holds the
// answer for whichever ports later packets of the flow go to; the real pairs then take the
// recorded answer.

import { BATCH_MAX } from '../../batch.js';
import { FlowDecisions } from '../../flow/flow-decisions.js';
import { BoundExtension } from './api.js';
import { EXT_AT as AT, EXT_NC as NC, REASON_BASE } from './state.js';
import { EgressView, IngressView } from './views.js';

/** Run extension e's hook over the view as it is now; false when it failed during it. */
export type Call = (e: number) => boolean;
/** Point the egress view at these pairs (pos, port, gone) with the live ones listed. */
export type ViewPairs = (pos: Int32Array, port: Int32Array, gone: Uint8Array, pairs: number) => void;

export class CacheRecord {
  private readonly c: Float64Array;
  private readonly np: number;
  // Per batch position, for flows that missed the cache: what the cacheable extensions decided.
  readonly pendDropBy = new Int16Array(BATCH_MAX);
  readonly pendDropReason = new Int16Array(BATCH_MAX);
  /** A non-cacheable extension dropped the packet before every cacheable one saw it. */
  readonly incomplete = new Uint8Array(BATCH_MAX);
  /** The destinations in the ingress view were chosen by a cacheable forwarding extension. */
  readonly pendDest = new Uint8Array(BATCH_MAX);
  /** Per (position, port): 1 + the cacheable extension that excluded it (0: none), and the reason slot. */
  readonly pendExclBy: Uint8Array;
  readonly pendExclReason: Uint8Array;
  // Positions of this batch: misses of the flow cache, hits whose decision has an extension
  // outcome ("special"); plain hits need nothing from cacheable extensions.
  readonly misses = new Int32Array(BATCH_MAX);
  private readonly special = new Int32Array(BATCH_MAX);
  nMiss = 0;
  private nSpecial = 0;
  /** Hits still alive. */
  hitsAlive = 0;
  // Synthetic (position, every port) pairs a cacheable egress hook is asked about on a miss.
  private readonly synPos: Int32Array;
  private readonly synPort: Int32Array;
  private readonly synGone: Uint8Array;
  private syn = 0;
  // Real pairs whose frame is a miss or a special hit: the only ones cacheable extensions touch.
  private readonly pairSpecial: Int32Array;
  private nPairSpecial = 0;
  private plainPairs = 0;

  constructor(counters: Float64Array, portCount: number) {
    this.c = counters;
    this.np = portCount;
    this.pendExclBy = new Uint8Array(BATCH_MAX * portCount);
    this.pendExclReason = new Uint8Array(BATCH_MAX * portCount);
    this.synPos = new Int32Array(BATCH_MAX * portCount);
    this.synPort = new Int32Array(BATCH_MAX * portCount);
    this.synGone = new Uint8Array(BATCH_MAX * portCount);
    this.pairSpecial = new Int32Array(BATCH_MAX * (portCount + 1));
  }

  /** Before ingress: clear what is recorded per position and sort the live ones (dec null: no flow stage). */
  sortIngress(n: number, live: Uint8Array, dec: Int32Array | null, fd: FlowDecisions | null): void {
    this.nMiss = 0; this.nSpecial = 0; this.hitsAlive = 0;
    for (let i = 0; i < n; i++) {
      this.pendDropBy[i] = -1; this.pendDropReason[i] = 0; this.incomplete[i] = 0; this.pendDest[i] = 0;
      if (dec === null || !live[i]) continue;
      const d = dec[i];
      if (d < 0) this.misses[this.nMiss++] = i;
      else { this.hitsAlive++; if (!fd!.plain[d]) this.special[this.nSpecial++] = i; }
    }
  }

  /**
   * Cacheable extension e on ingress: replay its cached outcome on the hits, call it on the
   * alive misses (listed in v) and record what it decided. Returns how many entries it dropped.
   */
  ingress(e: number, x: BoundExtension, v: IngressView, alive: Uint8Array, dec: Int32Array, fd: FlowDecisions, call: Call): number {
    const c = this.c, np = this.np;
    let dropped = 0;
    c[e * NC + AT.cacheHits] += this.hitsAlive;
    for (let j = 0; j < this.nSpecial; j++) {
      const i = this.special[j], d = dec[i];
      if (!alive[i]) continue;
      if (fd.dropBy[d] === e) {
        v.dropped[i] = 1; alive[i] = 0; dropped++; this.hitsAlive--;
        c[e * NC + AT.dropped]++;
        c[e * NC + REASON_BASE + fd.dropReason[d]]++;
      } else if (x.kind === 'forward') {
        const dn = fd.destN[d];
        if (dn >= 0) { for (let q = 0; q < dn; q++) v.dest[i * np + q] = fd.dest(d, q); v.destCount[i] = dn; }
      }
    }
    if (x.hooks.ingress === undefined || this.nMiss === 0) return dropped;
    let m = 0;
    for (let j = 0; j < this.nMiss; j++) { const i = this.misses[j]; if (alive[i]) v.idx[m++] = i; }
    v.count = m;
    if (m === 0) return dropped;
    call(e);
    for (let j = 0; j < v.count; j++) {
      const i = v.idx[j];
      if (v.dropped[i] && alive[i]) { alive[i] = 0; dropped++; this.pendDropBy[i] = e; this.pendDropReason[i] = v.lastReason[i]; }
      else if (x.kind === 'forward' && v.destCount[i] >= 0) this.pendDest[i] = 1;
    }
    return dropped;
  }

  /** Before egress: a synthetic pair per port for every alive miss, and the real pairs cacheable extensions must look at. */
  sortEgress(n: number, alive: Uint8Array, dec: Int32Array, fd: FlowDecisions, pairPos: Int32Array, pairs: number): void {
    const np = this.np;
    let syn = 0, nSpecial = 0, plainPairs = 0;
    for (let i = 0; i < n; i++) {
      if (dec[i] >= 0 || !alive[i]) continue;
      const base = i * np;
      for (let p = 0; p < np; p++) { this.pendExclBy[base + p] = 0; this.pendExclReason[base + p] = 0; this.synPos[syn] = i; this.synPort[syn] = p; this.synGone[syn] = 0; syn++; }
    }
    for (let q = 0; q < pairs; q++) {
      const d = dec[pairPos[q]];
      if (d < 0 || !fd.plain[d]) this.pairSpecial[nSpecial++] = q; else plainPairs++;
    }
    this.syn = syn; this.nPairSpecial = nSpecial; this.plainPairs = plainPairs;
  }

  /**
   * Cacheable extension e on egress: ask it about every port of each miss (recorded), then
   * exclude the real pairs its recorded or cached answer excludes. Returns pairs excluded.
   */
  egress(e: number, x: BoundExtension, v: EgressView, pairPos: Int32Array, pairPort: Int32Array, pairGone: Uint8Array,
    dec: Int32Array, fd: FlowDecisions, view: ViewPairs, call: Call): number {
    const c = this.c, np = this.np, syn = this.syn;
    c[e * NC + AT.cacheHits] += this.plainPairs;
    if (x.hooks.egress !== undefined && syn !== 0) {
      view(this.synPos, this.synPort, this.synGone, syn);
      if (v.count !== 0) {
        const before = c[e * NC + AT.excluded];
        v.synthetic = true;
        call(e);
        v.synthetic = false;
        c[e * NC + AT.excluded] = before; // counted below, on the real pairs
        for (let q = 0; q < syn; q++) {
          if (!this.synGone[q]) continue;
          const t = this.synPos[q] * np + this.synPort[q];
          if (this.pendExclBy[t] === 0) { this.pendExclBy[t] = e + 1; this.pendExclReason[t] = v.lastReason[q]; }
        }
      }
    }
    let gone = 0;
    for (let j = 0; j < this.nPairSpecial; j++) {
      const q = this.pairSpecial[j];
      if (pairGone[q]) continue;
      const i = pairPos[q], d = dec[i], p = pairPort[q];
      let by: number, why: number;
      if (d >= 0) { by = fd.excludedBy(d, p); why = fd.excludedReason(d, p); c[e * NC + AT.cacheHits]++; } else { by = this.pendExclBy[i * np + p]; why = this.pendExclReason[i * np + p]; }
      if (by === e + 1) { pairGone[q] = 1; gone++; c[e * NC + AT.excluded]++; c[e * NC + REASON_BASE + why]++; }
    }
    return gone;
  }
}
