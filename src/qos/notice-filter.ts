// NoticeFilter: the sending host's gate for rate notices (wire/rate-notice.ts). A notice is
// taken only when it parses (and, with a shared key, its HMAC verifies), comes from a configured
// peer host, is about one of this host's own VMs as the sender, names as the receiver a VM that
// lives behind the very host it came from, and carries a sequence number newer than the last
// one taken for that (peer, VNI, receiver, sender). Everything else is counted by reason and
// ignored: a host cannot slow down traffic to another host's VMs, a VM cannot forge notices
// (they travel on the underlay, outside the tunnel), and a captured notice cannot be replayed.
//
// What the host knows comes from a NoticeWorld: its peers, its local VMs, and where remote VMs
// live (the MAC table's remote entries). Control path: runs per notice, allocates a key string.

import { NoticeRepr, parseNotice } from '../wire/rate-notice.js';
import { macLo, u16 } from '../wire/bytes.js';

export const NOTICE_COUNTERS = ['accepted', 'malformed', 'badAuth', 'unknownPeer', 'notOurVm', 'notTheirVm', 'replayed', 'pairsFull'] as const;
export type NoticeCounter = (typeof NOTICE_COUNTERS)[number];
/** Most (peer, receiver, sender) pairs whose last sequence number is kept. */
export const MAX_NOTICE_PAIRS = 65536;

export interface NoticeWorld {
  /** Is `host` (an underlay address) a configured peer host? */
  isPeer(host: string): boolean;
  /** Is (vni, mac) one of this host's own VMs? */
  isLocalVm(vni: number, mac: Uint8Array): boolean;
  /** The underlay address of the host VM (vni, mac) lives behind, or null when unknown. */
  hostOf(vni: number, mac: Uint8Array): string | null;
}


export class NoticeFilter {
  private readonly world: NoticeWorld;
  private readonly key: Uint8Array | undefined;
  private readonly last = new Map<string, number>();
  readonly counts: Record<NoticeCounter, number> = Object.fromEntries(NOTICE_COUNTERS.map((n) => [n, 0])) as Record<NoticeCounter, number>;

  constructor(world: NoticeWorld, key?: Uint8Array) { this.world = world; this.key = key; }

  /** The notice in b[o .. o+len) from underlay address `from`, when it is to be taken; null (counted) when not. */
  accept(from: string, b: Uint8Array, o: number, len: number): NoticeRepr | null {
    const n = parseNotice(b, o, len, this.key);
    if (typeof n === 'string') { this.counts[n === 'auth' ? 'badAuth' : 'malformed']++; return null; }
    if (!this.world.isPeer(from)) { this.counts.unknownPeer++; return null; }
    if (!this.world.isLocalVm(n.vni, n.sender)) { this.counts.notOurVm++; return null; }
    if (this.world.hostOf(n.vni, n.receiver) !== from) { this.counts.notTheirVm++; return null; }
    const r = n.receiver, s = n.sender, k = `${from}|${n.vni}|${u16(r, 0)}.${macLo(r, 0)}|${u16(s, 0)}.${macLo(s, 0)}`, prev = this.last.get(k);
    if (prev !== undefined && n.seq <= prev) { this.counts.replayed++; return null; }
    if (prev === undefined && this.last.size >= MAX_NOTICE_PAIRS) { this.counts.pairsFull++; return null; }
    this.last.set(k, n.seq);
    this.counts.accepted++;
    return n;
  }
}
