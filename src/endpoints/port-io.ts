// PortIo for one port: the one place where received frames are counted, whatever their
// endpoint kind (and frames tools inject). A GSO frame (a vnet-header tap with TSO) counts as
// one frame in rxPackets and as the segments it carries in rxGsoSegments.
// Frames are handed to the switch through `take`
// (the NIC); finished sends are counted and their handles released through `release`.
// After quiesce() the port takes no frame (rxDropStopping).

import { CounterBlock } from '../counters.js';
import { PacketPool } from '../nic/pool.js';
import { gsoSegments, isGso } from '../nic/vnet-hdr.js';
import { LINK_DOWN, PEER_DOWN, PORT_COUNTERS, PortIo, QUEUE_FULL, TOO_BIG } from './endpoint.js';

export class PortChannel implements PortIo {
  readonly port: number;
  readonly pool: PacketPool;
  readonly counters: CounterBlock<typeof PORT_COUNTERS>;
  private readonly c: Float64Array;
  private readonly row: number;
  private readonly at: CounterBlock<typeof PORT_COUNTERS>['at'];
  private readonly take: (h: number) => void;
  private readonly release: (h: number) => void;
  private stopping = false;

  constructor(port: number, pool: PacketPool, counters: CounterBlock<typeof PORT_COUNTERS>, take: (h: number) => void, release: (h: number) => void) {
    this.port = port; this.pool = pool; this.counters = counters; this.take = take; this.release = release;
    this.c = counters.values;
    this.row = port * PORT_COUNTERS.length;
    this.at = counters.at;
  }

  /** Take no more frames. */
  quiesce(): void { this.stopping = true; }

  receive(data: Uint8Array, off: number, len: number): boolean {
    const c = this.c, row = this.row, at = this.at;
    if (this.stopping) { c[row + at.rxDropStopping]++; return false; }
    const h = this.pool.allocFrom(data, off, len);
    if (h === -1) { c[row + at.rxDropPoolEmpty]++; return false; }
    if (h === -2) { c[row + at.rxDropOversize]++; return false; }
    c[row + at.rxPackets]++;
    c[row + at.rxBytes] += len;
    this.take(h);
    return true;
  }

  receiveBurst(handles: Int32Array, n: number): void {
    const c = this.c, row = this.row, at = this.at, len = this.pool.len, max = this.pool.maxFrame;
    for (let i = 0; i < n; i++) {
      const h = handles[i];
      if (this.stopping) { c[row + at.rxDropStopping]++; this.pool.free(h); continue; }
      if (len[h] > max) { c[row + at.rxDropOversize]++; this.pool.free(h); continue; }
      c[row + at.rxPackets]++;
      c[row + at.rxBytes] += len[h];
      if (isGso(this.pool, h)) { c[row + at.rxGsoFrames]++; c[row + at.rxGsoSegments] += gsoSegments(this.pool, h); }
      this.take(h);
    }
  }

  sent(h: number, err: string | null): void {
    const c = this.c, row = this.row, at = this.at;
    if (err === null) {
      c[row + at.txPackets]++; c[row + at.txBytes] += this.pool.len[h];
      if (isGso(this.pool, h)) c[row + at.txGsoFrames]++;
    } else if (err === PEER_DOWN) c[row + at.txDropPeerDown]++;
    else if (err === LINK_DOWN) c[row + at.txDropLinkDown]++;
    else if (err === TOO_BIG) c[row + at.txDropMtu]++;
    else if (err === QUEUE_FULL) c[row + at.txDropQueue]++; else c[row + at.txErrors]++;
    this.release(h);
  }
}
