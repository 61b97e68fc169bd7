// TapLink: readv/writev over one tap queue descriptor, in the thread that runs it (link.ts):
// frames straight into pool slots (after the virtio-net header, when the tap has one) and out
// of them (burst-link.ts). A write failing with EIO means the tap's link is down (its host side
// was never brought up, or was taken down): txDropLinkDown for the rest of the burst; other
// failures are rxErrors and txErrors.

import { BurstLink } from './burst-link.js';

export class TapLink extends BurstLink {
  protected read(handles: Int32Array, n: number): number {
    return this.nio.readBatch(this.bind, this.fd, handles, 0, n, this.share.vnetHdr);
  }

  protected write(handles: Int32Array, from: number, n: number): number {
    return this.nio.writeBatch(this.bind, this.fd, handles, from, n, this.share.vnetHdr);
  }

  protected readFailed(): void { this.countRxError(); }
  protected writeFailed(name: string): boolean { return name === 'EIO'; }
}
