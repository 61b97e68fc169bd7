// TapLink: readv/writev over one tap queue descriptor, in the thread that runs it (link.ts):
// frames straight into pool slots (after the virtio-net header, when the tap has one) and out
// of them. A write failing with EIO means the tap's link is down (LINK_DOWN: txDropLinkDown,
// and so is the rest of the burst); other failures are rxErrors and txErrors.

import { LINK_DOWN, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { SlotStock } from './slot-stock.js';
import { errnoName, native, NATIVE_BURST, NativeIo, PoolBinding, poolBinding } from '../native/io.js';

/** readv/writev over one tap queue descriptor, in this thread. */
export class TapLink implements PortLink {
  readonly share: LinkShare;
  private readonly nio: NativeIo;
  private readonly io: PortIo;
  private readonly fd: number;
  private readonly bind: PoolBinding;
  private readonly stock = new SlotStock();

  constructor(share: LinkShare, io: PortIo) {
    this.share = share; this.io = io; this.fd = share.fd;
    this.nio = native!;
    this.bind = poolBinding(this.nio, io.pool);
  }

  pull(budget: number): number {
    const io = this.io, stock = this.stock, have = stock.fill(io.pool);
    const want = budget < have ? budget : have;
    if (want === 0) return 0;
    const r = this.nio.readBatch(this.bind, this.fd, stock.handles, 0, want, this.share.vnetHdr);
    if (r <= 0) {
      if (r < 0) io.counters.values[io.port * io.counters.names.length + io.counters.at.rxErrors]++;
      return 0;
    }
    io.receiveBurst(stock.handles, r);
    stock.used(r);
    return r;
  }

  sendBurst(handles: Int32Array, n: number): void {
    const io = this.io;
    for (let i = 0; i < n;) {
      const k = n - i < NATIVE_BURST ? n - i : NATIVE_BURST;
      const r = this.nio.writeBatch(this.bind, this.fd, handles, i, k, this.share.vnetHdr);
      if (r > 0) {
        for (let j = 0; j < r; j++) io.sent(handles[i + j], null);
        i += r;
        continue;
      }
      const e = errnoName(r);
      if (e === 'EIO') { for (; i < n; i++) io.sent(handles[i], LINK_DOWN); return; } // the link is down: so is the rest of the burst
      io.sent(handles[i++], e);
    }
  }

  release(): void { this.stock.release(this.io.pool); }
}
