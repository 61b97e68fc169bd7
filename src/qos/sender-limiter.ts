// SenderLimiter: the sending host's half of predictable bandwidth — the rate one (source VM,
// destination VM) pair may send at, set by the grants the destination's host sends back
// (congestion-detector.ts computes them; a notification carries one with a sequence number).
//
// The receiving host grants every active pair at least once per `keepaliveUs` while traffic
// flows: the detector's rate while its downlink is congested, the line rate while it is not. So
// a sender can tell "no congestion" (a line-rate grant: it goes back to line rate, which keeps the
// link work-conserving) from "feedback lost" (no grant at all: after `lostAfter` keepalive
// periods its rate halves once per period, down to the pair's guarantee — never to zero, and
// never above the last grant, since without feedback it only decreases). A grant below the
// guarantee is taken as it is (n senders into one VM share it); lost feedback then changes nothing.
//
// When the receiving host grants per `budgetBytes` of a pair's data (the tunnels do), a grant is
// owed only once the pair has sent that much: the caller passes the pair's byte count (`sent`, mod 2^31),
// and feedback is lost when lostAfter budgets went out since the last grant (and lostAfter
// keepalive periods passed), each further budget without a grant one more halving. A pair sending
// below its rate owes no grant for a long time; judged by time at its rate it would count its
// feedback lost after a few ms, and fall to its guarantee between every two grants (experiment 6,
// 1,000 pairs at 80 frames/s each). Without `sent` (-1) the period is the time the budget takes
// at the pair's rate.
//
// A grant is taken when its sequence number is newer than the last one taken (a replayed or
// reordered one is refused: 'stale'); the rate changes at most once per `minUpdateUs`, and a
// grant arriving sooner is held and applied at the next tick after that (the latest one wins).
// Time is the caller's (microseconds): the same in virtual time and in the datapath loop.

export interface LimiterConfig {
  /** The sender's line rate (its access link), bits per second. */
  lineBps: number;
  /** The lowest rate feedback loss brings it to (the pair's guarantee), bits per second; > 0. */
  guaranteeBps: number;
  /** How often the receiving host grants an active pair at least, µs (default 1,000). */
  keepaliveUs?: number;
  /** Keepalive periods without a grant after which feedback counts as lost (default 3). */
  lostAfter?: number;
  /** Shortest time between two rate changes, µs (default 120). */
  minUpdateUs?: number;
  /**
   * Data bytes the receiving host lets pass per notice (its budget; 0: it grants per keepalive
   * alone). The period a grant is expected within is then the longer of keepaliveUs and the time
   * the pair takes to send that many bytes at its rate.
   */
  budgetBytes?: number;
}

/** A limiter counting bytes looks at them again this soon after a grant (µs), then when its byte rate says, within BYTES_RECHECK_US. */
const BYTES_FIRST_US = 10_000;
const BYTES_RECHECK_US = 100_000;
/** The lowest rate a grant sets (a grant of 0 would stop the pair for good). */
export const MIN_GRANT_BPS = 100e3;

export type GrantResult = 'taken' | 'held' | 'stale';

export class SenderLimiter {
  readonly lineBps: number;
  readonly guaranteeBps: number;
  readonly keepaliveUs: number;
  readonly lostAfter: number;
  readonly minUpdateUs: number;
  readonly budgetBytes: number;
  /** The rate the pair may send at now, bits per second. */
  rate: number;
  /** The last grant taken (bits per second), and the sequence number it came with. */
  lastGrant: number;
  seq = -1;
  private lastGrantUs = -1;
  private lastChangeUs = -Infinity;
  private lastDecayUs = -1;
  /** The pair's byte count (the caller's `sent`) at the last grant and the last halving; -1: not counted. */
  private sentAtGrant = -1;
  private sentAtDecay = -1;
  private pending = -1;
  /** Grants refused as stale, rate halvings for lost feedback. */
  stale = 0;
  decays = 0;

  constructor(c: LimiterConfig) {
    if (!(c.lineBps > 0)) throw new RangeError(`lineBps: ${c.lineBps} is not a positive rate`);
    if (!(c.guaranteeBps > 0) || c.guaranteeBps > c.lineBps) throw new RangeError(`guaranteeBps: ${c.guaranteeBps} must be positive and at most the line rate`);
    this.lineBps = c.lineBps;
    this.guaranteeBps = c.guaranteeBps;
    this.keepaliveUs = c.keepaliveUs ?? 1000;
    this.lostAfter = c.lostAfter ?? 3;
    this.minUpdateUs = c.minUpdateUs ?? 120;
    this.budgetBytes = c.budgetBytes ?? 0;
    this.rate = c.lineBps;
    this.lastGrant = c.lineBps;
  }

  /** A grant of `bps` with sequence number `seq` arrived at `nowUs`, the pair's byte count then `sent` (-1: not counted). */
  grant(bps: number, seq: number, nowUs: number, sent = -1): GrantResult {
    if (seq <= this.seq) { this.stale++; return 'stale'; }
    this.seq = seq;
    this.lastGrantUs = nowUs;
    this.sentAtGrant = sent;
    // A grant below the guarantee is taken as it is: with n senders into one VM each is granted a
    // share of it (the receiving host knows); the guarantee is the floor of lost feedback only.
    const g = bps > this.lineBps ? this.lineBps : bps < MIN_GRANT_BPS ? MIN_GRANT_BPS : bps;
    this.lastGrant = g;
    if (nowUs - this.lastChangeUs < this.minUpdateUs) { this.pending = g; return 'held'; }
    this.set(g, nowUs);
    return 'taken';
  }

  /**
   * The earliest time (µs) a tick can change anything: a held grant's time to apply, or when
   * feedback will count as lost (then each next halving); Infinity until a grant comes. Ticks
   * before it are no-ops, so a host with many pairs ticks each only then. Counting bytes, it is an
   * estimate from the pair's rate since the grant (10 ms after a grant, then at most 100 ms away:
   * rechecking 1,000 pairs every 10 ms took 7% of a thread): a tick then may find the bytes not
   * yet sent, and asks again. A pair that speeds up while its notices are lost halves late, by up
   * to 100 ms; without feedback its rate only falls, and never above its last grant.
   */
  nextTickUs(nowUs = 0, sent = -1): number {
    if (this.pending >= 0) return this.lastChangeUs + this.minUpdateUs;
    if (this.rate <= this.guaranteeBps || this.lastGrantUs < 0) return Infinity;
    if (this.byBytes(sent)) {
      const k = this.keepaliveUs, lostAt = this.lastGrantUs + this.lostAfter * k;
      let at = lostAt, need = this.lostAfter * this.budgetBytes - ((sent - this.sentAtGrant) & 0x7fffffff);
      if (this.lost(nowUs, sent)) {
        if (this.lastDecayUs < this.lastGrantUs) return lostAt; // lost, not yet halved: now
        at = this.lastDecayUs + k; need = this.budgetBytes - ((sent - this.sentAtDecay) & 0x7fffffff);
      }
      if (need <= 0) return at;
      const perUs = ((sent - this.sentAtGrant) & 0x7fffffff) / Math.max(1, nowUs - this.lastGrantUs);
      return Math.max(at, nowUs + (perUs > 0 ? Math.min(BYTES_RECHECK_US, need / perUs) : BYTES_FIRST_US));
    }
    const p = this.period(), lostAt = this.lastGrantUs + this.lostAfter * p;
    return this.lastDecayUs >= 0 && this.lastDecayUs + p > lostAt ? this.lastDecayUs + p : lostAt;
  }

  /** Advance to `nowUs` (the pair's byte count then `sent`; -1: not counted): apply a held grant, or decay when feedback is lost. */
  tick(nowUs: number, sent = -1): void {
    if (this.pending >= 0 && nowUs - this.lastChangeUs >= this.minUpdateUs) { this.set(this.pending, nowUs); return; }
    if (this.rate <= this.guaranteeBps || !this.lost(nowUs, sent)) return;
    if (this.byBytes(sent)) {
      if (this.lastDecayUs >= this.lastGrantUs && (nowUs - this.lastDecayUs < this.keepaliveUs || ((sent - this.sentAtDecay) & 0x7fffffff) < this.budgetBytes)) return;
    } else if (this.lastDecayUs >= 0 && nowUs - this.lastDecayUs < this.period()) return;
    const r = this.rate / 2;
    this.set(r < this.guaranteeBps ? this.guaranteeBps : r, nowUs);
    this.lastDecayUs = nowUs;
    this.sentAtDecay = sent;
    this.decays++;
  }

  /** Has no grant come for `lostAfter` keepalive periods (feedback lost)? Counting bytes (`sent`), also only once lostAfter budgets were sent since. */
  lost(nowUs: number, sent = -1): boolean {
    if (this.lastGrantUs < 0) return false;
    if (this.byBytes(sent)) return nowUs - this.lastGrantUs >= this.lostAfter * this.keepaliveUs && ((sent - this.sentAtGrant) & 0x7fffffff) >= this.lostAfter * this.budgetBytes;
    return nowUs - this.lastGrantUs >= this.lostAfter * this.period();
  }

  // Is feedback judged by the pair's bytes (a budget, and counts from the caller since the grant)?
  private byBytes(sent: number): boolean { return sent >= 0 && this.budgetBytes > 0 && this.sentAtGrant >= 0; }

  /** The time within which a grant is expected at the present rate (µs). */
  period(): number {
    const p = (this.budgetBytes * 8e6) / this.rate;
    return p > this.keepaliveUs ? p : this.keepaliveUs;
  }

  private set(bps: number, nowUs: number): void {
    this.rate = bps;
    this.pending = -1;
    this.lastChangeUs = nowUs;
  }
}
