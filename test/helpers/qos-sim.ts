// A fluid simulation of predictable bandwidth in virtual time: senders (each a SenderLimiter per
// destination VM) into one receiving host whose downlink of rate C is shared by its VMs; the
// host's CongestionDetector measures what arrives after the downlink and grants rates back to
// every sender of an active VM each control interval, after a delay, each grant lost with a
// probability (a seeded PRNG: runs are repeatable). When the offered total passes C the downlink
// delivers C, divided in proportion to what was offered (a drop-tail queue under UDP floods).
// Without limiters ("pillar off") senders send their demand. Deterministic and fast: 100 ms of
// 10 µs steps in a few milliseconds of real time.

import { CongestionDetector, DetectorConfig } from '../../src/qos/congestion-detector.js';
import { SenderLimiter } from '../../src/qos/sender-limiter.js';

export interface SimSender {
  /** Destination VM (index into the receiving host's weights). */
  vm: number;
  /** Offered rate at time t (µs), bits per second. */
  demand: (tUs: number) => number;
  /** The pair's guarantee for feedback loss (default 10 Mb/s). */
  guaranteeBps?: number;
}

export interface SimConfig extends Omit<DetectorConfig, 'linkBps'> {
  linkBps: number;
  senders: SimSender[];
  durationUs: number;
  stepUs?: number;
  /** One-way delay of a grant, µs (default 100). */
  delayUs?: number;
  /** Probability a grant is lost, from time lossFromUs on (default 0). */
  loss?: number;
  lossFromUs?: number;
  /** Limiters on (default true). */
  pillar?: boolean;
  seed?: number;
}

export interface SimResult {
  /** Bits delivered to each VM per 1 ms bin, as a rate (bits per second). */
  vmRate: Float64Array[];
  /** Each sender's limiter rate sampled per 1 ms bin. */
  senderRate: Float64Array[];
  /** Each sender's highest grant taken, its lowest rate after feedback was lost, its last grant before loss. */
  limiters: SenderLimiter[];
  detector: CongestionDetector;
  /** Grants sent and lost. */
  grantsSent: number;
  grantsLost: number;
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function simulate(c: SimConfig): SimResult {
  const step = c.stepUs ?? 10, delay = c.delayUs ?? 100, pillar = c.pillar ?? true, rand = prng(c.seed ?? 1);
  const det = new CongestionDetector(c);
  const lim = c.senders.map((s) => new SenderLimiter({ lineBps: c.linkBps, guaranteeBps: s.guaranteeBps ?? 10e6, keepaliveUs: det.intervalUs * 2 }));
  const bins = Math.ceil(c.durationUs / 1000);
  const vmRate = c.weights.map(() => new Float64Array(bins));
  const senderRate = c.senders.map(() => new Float64Array(bins));
  const sentTo = new Float64Array(c.senders.length); // bytes each sender delivered in the current interval
  const queue: { at: number; sender: number; bps: number; seq: number }[] = [];
  let seq = 0, grantsSent = 0, grantsLost = 0;
  for (let t = 0; t < c.durationUs; t += step) {
    const bin = Math.floor(t / 1000);
    while (queue.length && queue[0].at <= t) { const g = queue.shift()!; lim[g.sender].grant(g.bps, g.seq, t); }
    let offered = 0;
    const send = c.senders.map((s, i) => {
      lim[i].tick(t);
      const d = s.demand(t), r = pillar ? Math.min(d, lim[i].rate) : d;
      offered += r;
      return r;
    });
    const f = offered > c.linkBps ? c.linkBps / offered : 1;
    c.senders.forEach((s, i) => {
      const bytes = (send[i] * f * step) / 8e6;
      det.arrive(s.vm, bytes);
      sentTo[i] += bytes;
      vmRate[s.vm][bin] += bytes * 8 * 1000; // bytes per 1 ms bin -> bits per second
      senderRate[i][bin] = lim[i].rate;
    });
    if (det.tick(t)) {
      // Grants to every sender that sent to an active VM in the interval (the keepalive rule).
      c.senders.forEach((s, i) => {
        if (sentTo[i] === 0) return;
        sentTo[i] = 0;
        grantsSent++;
        if (c.loss && t >= (c.lossFromUs ?? 0) && rand() < c.loss) { grantsLost++; return; }
        queue.push({ at: t + delay, sender: i, bps: det.grant[s.vm], seq: seq++ });
      });
    }
  }
  return { vmRate, senderRate, limiters: lim, detector: det, grantsSent, grantsLost };
}

/** Mean of rates over 1 ms bins [fromMs, toMs), in windows of `winMs`: one value per window. */
export function windows(rate: Float64Array, fromMs: number, toMs: number, winMs: number): number[] {
  const out: number[] = [];
  for (let w = fromMs; w + winMs <= toMs; w += winMs) {
    let s = 0;
    for (let b = w; b < w + winMs; b++) s += rate[b];
    out.push(s / winMs);
  }
  return out;
}
