// VxlanLink: a VXLAN uplink's socket (RFC 7348) in the thread that runs it (link.ts). Received
// datagrams carry an 8-byte VXLAN header before the inner Ethernet frame: a datagram without
// the I flag, of another VNI, or too short for a frame is dropped (rxDropEncap) — its slot
// simply stays in the receive stock — and the others are handed on with the header skipped
// (the kernel already took the outer IP and UDP headers). Sending puts the port's VXLAN header
// before each frame (a separate iovec: the slot, which other ports may be sending too, is not
// touched) and replicates it to every VTEP of the flood list (head-end replication, as Linux
// does with `bridge fdb append 00:00:00:00:00:00 dst …`).

import { BurstLink } from './burst-link.js';
import { LinkShare } from './link.js';
import { PortIo } from './endpoint.js';
import { ADDR_REC, NATIVE_BURST } from '../native/io.js';
import { VXLAN_HEADER_LEN, vxlanValid, vxlanVni, writeVxlan } from '../wire/vxlan.js';

/** The smallest inner frame: an Ethernet header. */
const MIN_INNER = 14;

export class VxlanLink extends BurstLink {
  private readonly header = new Uint8Array(VXLAN_HEADER_LEN);
  private readonly vtep: number;
  // One message per (frame, VTEP): the frame's handle repeated, each VTEP's address record.
  private readonly repHandles = new Int32Array(NATIVE_BURST);
  private readonly repAddrs = new Uint8Array(NATIVE_BURST * ADDR_REC);

  constructor(share: LinkShare, io: PortIo) {
    super(share, io);
    writeVxlan(this.header, 0, share.vni);
    this.vtep = share.to!.length / ADDR_REC;
    for (let i = 0; i < NATIVE_BURST; i++) {
      const k = i % this.vtep;
      this.repAddrs.set(share.to!.subarray(k * ADDR_REC, (k + 1) * ADDR_REC), i * ADDR_REC);
    }
  }

  protected read(handles: Int32Array, n: number): number {
    const r = this.nio.recvBatch(this.bind, this.fd, handles, 0, n, null, 0);
    if (r <= 0) return r;
    const pool = this.io.pool, d = pool.data, vni = this.share.vni;
    let good = 0;
    for (let i = 0; i < r; i++) {
      const h = handles[i], s = pool.start(h);
      if (pool.len[h] < VXLAN_HEADER_LEN + MIN_INNER || pool.len[h] > pool.maxFrame || !vxlanValid(d, s) || vxlanVni(d, s) !== vni) continue;
      pool.off[h] += VXLAN_HEADER_LEN;
      pool.len[h] -= VXLAN_HEADER_LEN;
      handles[i] = handles[good];
      handles[good++] = h;
    }
    if (good !== r) { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxDropEncap] += r - good; }
    return good; // the dropped ones stay in the stock, free for the next read
  }

  protected write(handles: Int32Array, from: number, n: number): number {
    const k = this.vtep, frames = Math.min(n, Math.floor(NATIVE_BURST / k));
    for (let j = 0; j < frames; j++) for (let v = 0; v < k; v++) this.repHandles[j * k + v] = handles[from + j];
    const r = this.nio.sendBatch(this.bind, this.fd, this.repHandles, 0, frames * k, this.repAddrs, 0, this.header);
    if (r <= 0) return r;
    return r >= k ? Math.floor(r / k) : 1; // a frame that reached some VTEPs counts as sent
  }

  protected readFailed(): void { this.countRxError(); }
  protected writeFailed(): boolean { return false; }
}
