// TunnelGuarantees: predictable bandwidth on a tunnel uplink, as one datapath thread runs it
// (endpoints/vxlan-link.ts calls it). Receiving side: the frames the downlink delivers to local
// VMs are watched (DownlinkWatch: detector, notices back to the senders' hosts). Sending side:
// the per-pair limiters frames to remote VMs wait in (PairLimiters), and the rate notices
// arriving on the uplink's socket (NoticeIntake), whose gate asks the switch's tables where VMs are:
//   - a peer is a configured VTEP (flood list, static entries), named by its VTEP index;
//   - our VM: the sender's MAC is learned on a port of this switch other than the uplink;
//   - their VM: the receiver's MAC is learned on the uplink behind the VTEP the notice came from.

import { PacketPool } from '../nic/pool.js';
import { systemClock } from '../clock.js';
import type { SwitchView, TunnelQos } from '../endpoints/link.js';
import { NoticeIntake } from './notice-intake.js';
import { PairLimiters } from './pair-limiters.js';
import { PairTable } from './pair-table.js';
import { DownlinkWatch, NoticeSend } from './downlink-watch.js';
import { macLo, u16 } from '../wire/bytes.js';

/** Is the datagram at d[s..] a rate notice (its magic, "SLRN")? VXLAN's first byte is its flags (0x08). */
export function isNotice(d: Uint8Array, s: number, len: number): boolean {
  return len >= 4 && d[s] === 0x53 && d[s + 1] === 0x4c && d[s + 2] === 0x52 && d[s + 3] === 0x4e;
}

export class TunnelGuarantees {
  readonly pairs: PairLimiters;
  private readonly intake: NoticeIntake;
  private readonly watch: DownlinkWatch;
  private readonly view: SwitchView;
  private readonly uplink: number;
  private readonly vlanOf: (vni: number) => number;
  private readonly overhead: number;

  /**
   * `uplink`: the port the tunnel is; `vlanOf(vni)`: the VLAN a VNI's frames have in the switch;
   * `overhead`: bytes a frame costs on the downlink beyond its length (the tunnel's encapsulation
   * and the wire's); `send`: how notices leave.
   */
  constructor(q: TunnelQos, view: SwitchView, uplink: number, vlanOf: (vni: number) => number, maxFrame: number, overhead: number, send: NoticeSend) {
    this.view = view; this.uplink = uplink; this.vlanOf = vlanOf; this.overhead = overhead;
    const w = q.watch, key = q.key === null ? null : Uint8Array.from(q.key);
    this.watch = new DownlinkWatch({ weights: w.weights.length ? w.weights : [1], downlinkBps: w.downlinkKbps * 1000, gamma: w.gamma, intervalUs: w.intervalUs, maxPairs: q.pairs.capacity, key }, w.stats, send);
    const table = new PairTable(q.pairs);
    this.pairs = new PairLimiters(table, { lineKbps: q.lineKbps, burstUs: q.burstUs, queueBytes: q.queueBytes, ecnBytes: q.ecnBytes, maxFrame });
    const now = () => systemClock.seconds();
    const locate = (vni: number, m: Uint8Array) => view.macs.locate(vlanOf(vni), u16(m, 0), macLo(m, 0), now());
    this.intake = new NoticeIntake(table, {
      isPeer: (host) => host !== 'unknown' && Number(host) < q.peers,
      isLocalVm: (vni, mac) => { const e = locate(vni, mac); return e >= 0 && view.macs.portAt(e) !== uplink; },
      hostOf: (vni, mac) => {
        const e = locate(vni, mac);
        return e < 0 || view.macs.portAt(e) !== uplink || view.macs.tunnelAt(e) === 0 ? null : String(view.macs.tunnelAt(e) - 1);
      },
    }, {
      lineKbps: q.lineKbps, floorKbps: q.floorKbps, key,
      floorOf: (vni, mac) => { const e = locate(vni, mac); return e < 0 ? 0 : q.floorsKbps[view.macs.portAt(e)] ?? 0; },
    }, q.counters);
  }

  /**
   * Frame h (VNI `vni`, from VTEP `vtep`) is delivered to the switch at `nowUs`: counted for the
   * local VM it is for (a MAC learned on another port than the uplink; frames for nobody known
   * are not counted).
   */
  arrived(pool: PacketPool, h: number, vni: number, vtep: number, nowUs: number): void {
    const d = pool.data, s = pool.start(h);
    const e = this.view.macs.locate(this.vlanOf(vni), u16(d, s), macLo(d, s), Math.floor(nowUs / 1e6));
    if (e < 0) return;
    const p = this.view.macs.portAt(e);
    if (p === this.uplink || p >= this.watch.detector.vms) return;
    this.watch.arrive(d, s, pool.len[h] + this.overhead, p, vni, vtep, nowUs); // the downlink's rate is in bytes on the wire
  }

  /**
   * Once per turn of the thread that reads the uplink: the receiving side's control interval and
   * the notices due, and the sending side's limiters (held grants applied, lost feedback decays —
   * whether or not this thread has frames of theirs waiting).
   */
  tick(nowUs: number): void { this.watch.tick(nowUs); this.intake.tick(nowUs); }

  /** A notice b[o .. o+len) from VTEP `vtep` (-1: unknown address) arrived at `nowUs`. */
  notice(b: Uint8Array, o: number, len: number, vtep: number, nowUs: number): void { this.intake.take(b, o, len, vtep, nowUs); }

  /** Queue frame h in its pair's limiter: 1 queued, 0 not limited, -1 no room (drop it). */
  offer(pool: PacketPool, h: number, vni: number, tunnel: number, nowUs: number): number {
    return this.pairs.offer(pool, h, vni, tunnel, nowUs, Math.floor(nowUs / 1e6));
  }

  /** The pairs' frames their tokens allow now. */
  release(nowUs: number, out: Int32Array, tunnels: Int32Array, max: number): number { return this.pairs.release(nowUs, out, tunnels, max); }
}
