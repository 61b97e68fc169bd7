// NativeUdpEndpoint: the udp endpoint kind (udp.ts) on the native I/O module. Datagrams are
// read with recvmmsg straight into pool slots and sent with sendmmsg straight from them: one
// system call per burst, no Buffer per frame. The endpoint opens and closes the socket; the
// I/O itself is an MmsgLink (mmsg-link.ts), which a datapath thread runs over the same
// descriptor. Link receives keep a stock of free slots (slot-stock.ts), so a receive costs no
// pool round trip per frame.
//
// Bound to `local`, connected to `remote` unless anySource (udp.ts says why). Buffers are
// forced past net.core.rmem_max/wmem_max where the process may (SO_RCVBUFFORCE, root).
// Counters: a datagram larger than a slot is cut by the kernel and counted rxDropOversize (in
// PortIo); a receive error other than a refusal is rxErrors; a refusal is peerUnreachable and
// starts the peer-down period (peer-down.ts); a failed send is txErrors.

import ipaddr from 'ipaddr.js';
import { LinkEndpoint } from './link-endpoint.js';
import { LinkShare } from './link.js';
import { udpKernelDrops } from './peer-down.js';
import type { HostPort } from './host-port.js';
import { ADDR_REC, errnoName, native, NATIVE_BURST, NativeIo, nativeMissing } from '../native/io.js';

export class NativeUdpEndpoint extends LinkEndpoint {
  readonly kind = 'udp';
  readonly ioPath = 'native recvmmsg/sendmmsg';
  readonly local: HostPort;
  readonly remote: HostPort;
  readonly bufferBytes: number;
  readonly anySource: boolean;
  recvBufferSize = 0;
  sendBufferSize = 0;
  private readonly nio: NativeIo;
  private readonly to: Uint8Array | null;
  private closedKernelDrops = -1;

  constructor(local: HostPort, remote: HostPort, bufferBytes: number, anySource = false) {
    super();
    if (native === null) throw new Error(`udp endpoint with io "native": ${nativeMissing}`);
    this.nio = native;
    this.local = local; this.remote = remote; this.bufferBytes = bufferBytes; this.anySource = anySource;
    this.to = anySource ? addressRecords(remote) : null;
  }

  describe(): string { return `udp ${this.local.host}:${this.local.port} -> ${this.remote.host}:${this.remote.port} (native)`; }

  protected openFds(): number[] {
    const n = this.nio;
    const fd = n.udpOpen(this.local.host, this.local.port, this.anySource ? null : this.remote.host, this.remote.port, this.bufferBytes);
    if (fd < 0) throw new Error(`cannot open udp ${this.local.host}:${this.local.port}: ${errnoName(fd)}`);
    this.recvBufferSize = n.sockInfo(fd, 0);
    this.sendBufferSize = n.sockInfo(fd, 1);
    return [fd];
  }

  protected share(port: number, fd: number): LinkShare { return { type: 'udp', port, fd, to: this.to, vnetHdr: 0, tunnel: null }; }

  kernelDrops(): number { return this.pollFds.length === 0 ? this.closedKernelDrops : udpKernelDrops(this.nio.sockInfo(this.pollFds[0], 2)); }

  protected override beforeClose(): void { this.closedKernelDrops = this.kernelDrops(); }
}

/** NATIVE_BURST copies of the address record of `a` (sendBatch's addrs). */
function addressRecords(a: HostPort): Uint8Array {
  const one = new Uint8Array(ADDR_REC), ip = ipaddr.parse(a.host);
  one[0] = ip.kind() === 'ipv6' ? 6 : 4;
  one[2] = a.port >> 8; one[3] = a.port & 0xff;
  one.set(ip.toByteArray(), 4);
  const all = new Uint8Array(ADDR_REC * NATIVE_BURST);
  for (let i = 0; i < NATIVE_BURST; i++) all.set(one, i * ADDR_REC);
  return all;
}
