// BurstLink: what the two link kinds share (link.ts) — reading a burst into the slots a link
// keeps in stock (slot-stock.ts) and handing it to the port, and writing a burst, reporting
// each frame once: sent, failed with its errno, held back (PEER_DOWN) or dropped because the
// link is down (LINK_DOWN, and so is the rest of the burst). The kinds say how a burst is read
// and written (recvmmsg/sendmmsg or readv/writev) and what their failures mean.

import { LINK_DOWN, PEER_DOWN, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { SlotStock } from './slot-stock.js';
import { errnoName, native, NATIVE_BURST, NativeIo, PoolBinding } from '../native/io.js';
import { poolBinding } from '../nic/pool-binding.js';

export abstract class BurstLink implements PortLink {
  readonly share: LinkShare;
  protected readonly nio: NativeIo;
  protected readonly io: PortIo;
  protected readonly fd: number;
  protected readonly bind: PoolBinding;
  private readonly stock = new SlotStock();

  constructor(share: LinkShare, io: PortIo) {
    this.share = share; this.io = io; this.fd = share.fd;
    this.nio = native!;
    this.bind = poolBinding(this.nio, io.pool);
  }

  /** Read up to n frames into handles[0..n): how many, 0 when none wait, or -errno. */
  protected abstract read(handles: Int32Array, n: number): number;
  /** Write handles[from..from+n) (tunnels: as sendBurst's): how many went (the first ones), or -errno for the first. */
  protected abstract write(handles: Int32Array, from: number, n: number, tunnels: Int32Array | undefined): number;
  /** A read failed with errno `name`: count it. */
  protected abstract readFailed(name: string): void;
  /** A write failed with errno `name`: is the link down (the rest of the burst is dropped)? */
  protected abstract writeFailed(name: string): boolean;
  /** Frames arrived. */
  protected received(): void { /* most links do not care */ }
  /** Hold the next frame back (PEER_DOWN)? */
  protected holdBack(): boolean { return false; }

  pull(budget: number): number {
    const io = this.io, stock = this.stock, have = stock.fill(io.pool);
    const want = budget < have ? budget : have;
    if (want === 0) return 0; // pool empty: frames wait in the kernel
    const r = this.read(stock.handles, want);
    if (r <= 0) {
      if (r < 0) this.readFailed(errnoName(r));
      return 0;
    }
    this.received();
    this.deliver(stock.handles, r);
    stock.used(r);
    return r;
  }

  /** Hand frames read to the port (a link with a queue of its own may hold them back). */
  protected deliver(handles: Int32Array, n: number): void { this.io.receiveBurst(handles, n); }

  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const io = this.io;
    for (let i = 0; i < n;) {
      if (this.holdBack()) { io.sent(handles[i++], PEER_DOWN); continue; }
      const k = n - i < NATIVE_BURST ? n - i : NATIVE_BURST;
      const r = this.write(handles, i, k, tunnels);
      if (r > 0) {
        for (let j = 0; j < r; j++) io.sent(handles[i + j], null);
        i += r;
        continue;
      }
      const name = errnoName(r);
      if (this.writeFailed(name)) { for (; i < n; i++) io.sent(handles[i], LINK_DOWN); return; }
      io.sent(handles[i++], name);
    }
  }

  release(): void { this.stock.release(this.io.pool); }

  /** Count one more `rxErrors` on the port. */
  protected countRxError(): void { const c = this.io.counters; c.values[this.io.port * c.names.length + c.at.rxErrors]++; }
}
