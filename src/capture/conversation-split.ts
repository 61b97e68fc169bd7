// ConversationSplit: which switch port a captured frame should enter so that a learning
// switch forwards it — used by `sluice replay` (--map conversation, the default) and
// `sluice bench --pcap`. A capture taken on one link, replayed into one port, has both ends
// of each conversation learned there and everything dropped as dropSameSegment.
// Input: the frame's bytes; output: a port index. Keeps one Map entry per (VLAN, MAC) seen.

/**
 * The conversation split: per (VLAN, MAC), the port replay last sent it in on (as the switch
 * learns it). A frame enters where its source already is unless that is where its
 * destination is; then it goes to the next port. A source seen for the first time goes to a
 * port other than its destination's, or, when that is unknown (or a group), to the next port
 * in turn — so two hosts meeting for the first time start apart. That matters because the
 * switch learns a whole batch before deciding it: a host placed beside its peer and moved a
 * few frames later would have its earlier frames in the batch dropped as dropSameSegment.
 */
export class ConversationSplit {
  private readonly where = new Map<number, Map<number, number>>();
  private turn = 0;
  constructor(private readonly nports: number) {}

  portFor(d: Uint8Array, o: number, len: number): number {
    if (len < 14 || this.nports < 2) return 0;
    let vid = 0;
    const et = (d[o + 12] << 8) | d[o + 13];
    if ((et === 0x8100 || et === 0x88a8 || et === 0x9100) && len >= 18) vid = ((d[o + 14] << 8) | d[o + 15]) & 0xfff;
    let m = this.where.get(vid);
    if (m === undefined) { m = new Map(); this.where.set(vid, m); }
    // 48-bit addresses as numbers: exact below 2^53.
    const dst = ((d[o] << 8) | d[o + 1]) * 4294967296 + (((d[o + 2] << 24) | (d[o + 3] << 16) | (d[o + 4] << 8) | d[o + 5]) >>> 0);
    const src = ((d[o + 6] << 8) | d[o + 7]) * 4294967296 + (((d[o + 8] << 24) | (d[o + 9] << 16) | (d[o + 10] << 8) | d[o + 11]) >>> 0);
    const there = (d[o] & 1) !== 0 ? -1 : m.get(dst) ?? -1;
    const here = m.get(src) ?? -1;
    const port = here >= 0 && here !== there ? here : there >= 0 ? (there + 1) % this.nports : this.turn++ % this.nports;
    if ((d[o + 6] & 1) === 0) m.set(src, port);
    return port;
  }
}
