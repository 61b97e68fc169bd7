// MmsgLink: recvmmsg/sendmmsg over one socket — a UDP port's, or a netdev's AF_PACKET socket
// — in the thread that runs it (link.ts): a burst per system call, straight into pool slots
// (after the virtio-net header when the socket has one) and out of them. A refusal
// (ECONNREFUSED: the peer's port is closed) is peerUnreachable and starts the peer-down
// period (peer-down.ts); other receive failures are rxErrors; a failed send is txErrors, or
// txDropLinkDown when a netdev's interface is down or gone.

import { LINK_DOWN, PEER_DOWN, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { PeerDown } from './peer-down.js';
import { SlotStock } from './slot-stock.js';
import { errnoName, native, NATIVE_BURST, NativeIo, PoolBinding, poolBinding } from '../native/io.js';

const ECONNREFUSED = 'ECONNREFUSED';
/** A send on an AF_PACKET socket whose interface is down or gone (counted as txDropLinkDown). */
const LINK_GONE = new Set(['ENETDOWN', 'ENXIO', 'ENODEV']);

/** recvmmsg/sendmmsg over one UDP or AF_PACKET socket, in this thread. */
export class MmsgLink implements PortLink {
  readonly share: LinkShare;
  private readonly nio: NativeIo;
  private readonly io: PortIo;
  private readonly fd: number;
  private readonly bind: PoolBinding;
  private readonly peer = new PeerDown();
  private readonly stock = new SlotStock();

  constructor(share: LinkShare, io: PortIo) {
    this.share = share; this.io = io; this.fd = share.fd;
    this.nio = native!;
    this.bind = poolBinding(this.nio, io.pool);
  }

  pull(budget: number): number {
    const io = this.io, stock = this.stock, have = stock.fill(io.pool);
    const want = budget < have ? budget : have;
    if (want === 0) return 0; // pool empty: datagrams wait in the kernel's buffer
    const r = this.nio.recvBatch(this.bind, this.fd, stock.handles, 0, want, null, this.share.vnetHdr);
    if (r <= 0) {
      if (r < 0) this.receiveError(r);
      return 0;
    }
    this.peer.up();
    io.receiveBurst(stock.handles, r);
    stock.used(r);
    return r;
  }

  private receiveError(e: number): void {
    const c = this.io.counters, row = this.io.port * c.names.length;
    if (errnoName(e) === ECONNREFUSED) { c.values[row + c.at.peerUnreachable]++; this.peer.gone(); } else c.values[row + c.at.rxErrors]++;
  }

  sendBurst(handles: Int32Array, n: number): void {
    const io = this.io;
    for (let i = 0; i < n;) {
      if (this.peer.holds()) { io.sent(handles[i++], PEER_DOWN); continue; }
      const k = n - i < NATIVE_BURST ? n - i : NATIVE_BURST;
      const r = this.nio.sendBatch(this.bind, this.fd, handles, i, k, this.share.to, this.share.vnetHdr);
      if (r > 0) {
        for (let j = 0; j < r; j++) io.sent(handles[i + j], null);
        i += r;
        continue;
      }
      const name = errnoName(r);
      if (name === ECONNREFUSED) this.peer.gone();
      if (LINK_GONE.has(name)) { for (; i < n; i++) io.sent(handles[i], LINK_DOWN); return; } // the interface is down or gone: so is the rest of the burst
      io.sent(handles[i++], name);
    }
  }

  release(): void { this.stock.release(this.io.pool); }
}
