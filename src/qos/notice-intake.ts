// NoticeIntake: a sending host's reception of rate notices, in the datapath thread that reads the
// tunnel uplink (they arrive on its UDP socket beside the VXLAN datagrams, told apart by their
// magic). Each goes through the gate (NoticeFilter: a configured peer, about our VM, naming a
// receiver behind that very peer, a newer sequence number) and, when taken, to its pair's
// SenderLimiter, whose rate becomes the pair's in the PairTable — every thread's shaper for the
// pair follows it. A grant for a pair that has sent nothing yet makes its entry.
//
// Counters (INTAKE_COUNTERS, a shared Float64Array only the reading thread writes): accepted,
// every refusal by reason, and `pairsFull` (the table had no room for the pair).
// Control path: runs per notice (one per 100 µs per pair at most), allocates.

import { SenderLimiter } from './sender-limiter.js';
import { NOTICE_COUNTERS, NoticeFilter, NoticeWorld } from './notice-filter.js';
import { PairTable } from './pair-table.js';
import { NOTICE_BUDGET } from './downlink-watch.js';
import { macLo, u16 } from '../wire/bytes.js';

export const INTAKE_COUNTERS = NOTICE_COUNTERS;

export interface IntakeOptions {
  /** The sender's line rate and the floor lost feedback brings a pair down to, kbit/s. */
  lineKbps: number;
  floorKbps: number;
  /** The floor of a pair whose sender is this VM (its guarantee, kbit/s), or 0: floorKbps. */
  floorOf: (vni: number, sender: Uint8Array) => number;
  /** The hosts' shared HMAC key, or null: notices unauthenticated. */
  key: Uint8Array | null;
}


export class NoticeIntake {
  private readonly filter: NoticeFilter;
  private readonly table: PairTable;
  private readonly o: IntakeOptions;
  private readonly limiters = new Map<number, { gen: number; lim: SenderLimiter }>();
  private readonly counts: Float64Array;
  private lastTick = 0;
  /** Per slot: when its limiter next needs a tick (SenderLimiter.nextTickUs; Infinity: not until a grant); and the soonest of them. */
  private readonly due: Float64Array;
  private soonest = Infinity;

  /** `world` answers with peer identities that are VTEP indices as strings (take()'s `vtep`). */
  constructor(table: PairTable, world: NoticeWorld, o: IntakeOptions, counts: Float64Array) {
    this.table = table; this.o = o; this.counts = counts;
    this.filter = new NoticeFilter(world, o.key ?? undefined);
    this.due = new Float64Array(table.slots).fill(Infinity);
  }

  /** A datagram b[o .. o+len) with the notice magic from VTEP `vtep` (-1: not in the table), at `nowUs`. */
  take(b: Uint8Array, o: number, len: number, vtep: number, nowUs: number): void {
    const n = this.filter.accept(vtep < 0 ? 'unknown' : String(vtep), b, o, len);
    if (n !== null) {
      const t = this.table, s = t.findOrAdd(n.vni, u16(n.sender, 0), macLo(n.sender, 0), u16(n.receiver, 0), macLo(n.receiver, 0), this.o.lineKbps);
      if (s < 0) { this.filter.counts.accepted--; this.filter.counts.pairsFull++; }
      else {
        t.touch(s, Math.floor(nowUs / 1e6)); // a pair granted a rate is not idle
        let e = this.limiters.get(s);
        const gen = t.genOf(s);
        if (e === undefined || e.gen !== gen) {
          const floor = Math.min(this.o.floorOf(n.vni, n.sender) || this.o.floorKbps, this.o.lineKbps);
          e = { gen, lim: new SenderLimiter({ lineBps: this.o.lineKbps * 1000, guaranteeBps: floor * 1000, budgetBytes: NOTICE_BUDGET }) };
          this.limiters.set(s, e);
        }
        const sent = t.bytesOf(s); // the pair's bytes: a grant is owed per budget of them
        e.lim.grant(n.rateBps, n.seq, nowUs, sent);
        t.setRate(s, Math.round(e.lim.rate / 1000));
        this.setDue(s, e.lim.nextTickUs(nowUs, sent));
      }
    }
    const f = this.filter.counts;
    for (let i = 0; i < NOTICE_COUNTERS.length; i++) this.counts[i] = f[NOTICE_COUNTERS[i]];
  }

  /**
   * Advance the pairs' limiters that are due at `nowUs` (a held grant to apply, lost feedback to
   * decay), looking at most once per 100 µs. Only those: ticking all 1,000 pairs of a host every
   * 100 µs, or every 1 ms, took 6-10% of its datapath thread (experiment 6's profile).
   */
  tick(nowUs: number): void {
    if (nowUs - this.lastTick < 100 || nowUs < this.soonest) return;
    this.lastTick = nowUs;
    const due = this.due;
    this.soonest = Infinity;
    for (let s = 0; s < due.length; s++) {
      if (due[s] <= nowUs) this.advance(s, nowUs);
      if (due[s] < this.soonest) this.soonest = due[s];
    }
  }

  private setDue(s: number, at: number): void {
    this.due[s] = at;
    if (at < this.soonest) this.soonest = at;
  }

  // Advance slot s's limiter and let the table follow its rate.
  private advance(s: number, nowUs: number): void {
    const e = this.limiters.get(s);
    if (e === undefined || !this.table.live(s) || this.table.genOf(s) !== e.gen) { this.limiters.delete(s); this.due[s] = Infinity; return; }
    const sent = this.table.bytesOf(s);
    e.lim.tick(nowUs, sent);
    const kbps = Math.round(e.lim.rate / 1000);
    if (this.table.rateOf(s) !== kbps) this.table.setRate(s, kbps);
    this.due[s] = e.lim.nextTickUs(nowUs, sent);
  }
}
