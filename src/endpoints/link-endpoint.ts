// LinkEndpoint: what the native endpoint kinds (udp on the native path, tap, netdev) share.
// The endpoint opens its descriptors (open(), before the datapath threads start) and closes
// them at the end; each descriptor is a link (link.ts) a thread can run. With worker threads
// the workers run the links; inline, this thread does, through pull() and sendBurst() here:
// every link is read, and frames leave through the first.

import { Endpoint, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { openLink } from './open-link.js';
import { native } from '../native/io.js';

export abstract class LinkEndpoint implements Endpoint {
  abstract readonly kind: string;
  abstract readonly ioPath: string;
  readonly inFlight = 0;
  /** The open descriptors (one per queue), empty before open() and after close(). */
  pollFds: number[] = [];
  private mine: PortLink[] = [];

  abstract describe(): string;
  /** Open the descriptors, or throw a message naming what failed. */
  protected abstract openFds(): number[];
  /** The link over one of them, for port number `port`. */
  protected abstract share(port: number, fd: number): LinkShare;
  /** Refuse to start on this pool (e.g. slots too small for the frames this endpoint takes). */
  protected checkPool?(io: PortIo): void;
  /** Just before the descriptors close (read what only an open descriptor tells). */
  protected beforeClose?(): void;

  open(): void {
    if (this.pollFds.length === 0) this.pollFds = this.openFds();
  }

  links(port: number): LinkShare[] { return this.pollFds.map((fd) => this.share(port, fd)); }

  async start(io: PortIo): Promise<void> {
    this.checkPool?.(io);
    this.open();
    this.mine = this.links(io.port).map((s) => openLink(s, io));
  }

  pull(budget: number): number {
    let n = 0;
    for (let i = 0; i < this.mine.length; i++) n += this.mine[i].pull(budget);
    return n;
  }

  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void { this.mine[0].sendBurst(handles, n, tunnels); }

  async close(): Promise<void> {
    if (this.pollFds.length === 0) return;
    this.beforeClose?.();
    for (const fd of this.pollFds) native!.closeFd(fd);
    this.pollFds = [];
    for (const l of this.mine) l.release();
    this.mine = [];
  }
}
