// MmsgLink: recvmmsg/sendmmsg over one socket — a UDP port's, or a netdev's AF_PACKET socket
// — in the thread that runs it (link.ts): a burst per system call, straight into pool slots
// (after the virtio-net header when the socket has one) and out of them (burst-link.ts). A
// refusal (ECONNREFUSED: the peer's port is closed) is peerUnreachable and starts the
// peer-down period (peer-down.ts); other receive failures are rxErrors; a failed send is
// txErrors, or txDropLinkDown when a netdev's interface is down or gone.

import { BurstLink } from './burst-link.js';
import { PeerDown } from './peer-down.js';

const ECONNREFUSED = 'ECONNREFUSED';
/** A send on an AF_PACKET socket whose interface is down or gone. */
const LINK_GONE = new Set(['ENETDOWN', 'ENXIO', 'ENODEV']);

export class MmsgLink extends BurstLink {
  private readonly peer = new PeerDown();

  protected read(handles: Int32Array, n: number): number {
    return this.nio.recvBatch(this.bind, this.fd, handles, 0, n, null, this.share.vnetHdr);
  }

  protected write(handles: Int32Array, from: number, n: number): number {
    return this.nio.sendBatch(this.bind, this.fd, handles, from, n, this.share.to, this.share.vnetHdr);
  }

  protected readFailed(name: string): void {
    if (name !== ECONNREFUSED) { this.countRxError(); return; }
    const c = this.io.counters;
    c.values[this.io.port * c.names.length + c.at.peerUnreachable]++;
    this.peer.gone();
  }

  protected writeFailed(name: string): boolean {
    if (name === ECONNREFUSED) this.peer.gone();
    return LINK_GONE.has(name);
  }

  protected override received(): void { this.peer.up(); }
  protected override holdBack(): boolean { return this.peer.holds(); }
}
