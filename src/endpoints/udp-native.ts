// NativeUdpEndpoint: the udp endpoint kind (udp.ts) on the native I/O module. Datagrams are
// read with recvmmsg straight into pool slots and sent with sendmmsg straight from them: one
// system call per burst, no Buffer per frame. The endpoint opens and closes the socket; the
// I/O itself is a UdpLink (link.ts), which a datapath thread runs over the same descriptor.
// Link receives keep a stock of free slots (slot-stock.ts), so a receive costs no pool round
// trip per frame.
//
// Bound to `local`, connected to `remote` unless anySource (udp.ts says why). Buffers are
// forced past net.core.rmem_max/wmem_max where the process may (SO_RCVBUFFORCE, root).
// Counters: a datagram larger than a slot is cut by the kernel and counted rxDropOversize (in
// PortIo); a receive error other than a refusal is rxErrors; a refusal is peerUnreachable and
// starts the peer-down period (peer-down.ts); a failed send is txErrors.

import ipaddr from 'ipaddr.js';
import { Endpoint, PEER_DOWN, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { PeerDown, udpKernelDrops } from './peer-down.js';
import { SlotStock } from './slot-stock.js';
import type { HostPort } from './udp.js';
import { ADDR_REC, errnoName, native, NATIVE_BURST, NativeIo, nativeMissing, PoolBinding, poolBinding } from '../native/io.js';

const ECONNREFUSED = 'ECONNREFUSED';

/** recvmmsg/sendmmsg over one UDP socket (or an AF_PACKET socket: netdev.ts), in this thread. */
export class UdpLink implements PortLink {
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
      io.sent(handles[i++], name);
    }
  }

  release(): void { this.stock.release(this.io.pool); }
}

export class NativeUdpEndpoint implements Endpoint {
  readonly kind = 'udp';
  readonly ioPath = 'native recvmmsg/sendmmsg';
  readonly local: HostPort;
  readonly remote: HostPort;
  readonly bufferBytes: number;
  readonly anySource: boolean;
  readonly inFlight = 0;
  pollFds: number[] = [];
  recvBufferSize = 0;
  sendBufferSize = 0;
  private readonly nio: NativeIo;
  private fd = -1;
  private link: UdpLink | null = null;
  private closedKernelDrops = -1;

  constructor(local: HostPort, remote: HostPort, bufferBytes: number, anySource = false) {
    if (native === null) throw new Error(`udp endpoint with io "native": ${nativeMissing}`);
    this.nio = native;
    this.local = local; this.remote = remote; this.bufferBytes = bufferBytes; this.anySource = anySource;
  }

  describe(): string { return `udp ${this.local.host}:${this.local.port} -> ${this.remote.host}:${this.remote.port} (native)`; }

  open(): void {
    if (this.fd >= 0) return;
    const n = this.nio;
    const fd = n.udpOpen(this.local.host, this.local.port, this.anySource ? null : this.remote.host, this.remote.port, this.bufferBytes);
    if (fd < 0) throw new Error(`cannot open udp ${this.local.host}:${this.local.port}: ${errnoName(fd)}`);
    this.fd = fd;
    this.pollFds = [fd];
    this.recvBufferSize = n.sockInfo(fd, 0);
    this.sendBufferSize = n.sockInfo(fd, 1);
  }

  links(port: number): LinkShare[] { return [{ type: 'udp', port, fd: this.fd, to: this.anySource ? addressRecords(this.remote) : null, vnetHdr: 0 }]; }

  async start(io: PortIo): Promise<void> {
    this.open();
    this.link = new UdpLink(this.links(io.port)[0], io);
  }

  pull(budget: number): number { return this.link!.pull(budget); }
  sendBurst(handles: Int32Array, n: number): void { this.link!.sendBurst(handles, n); }

  kernelDrops(): number { return this.fd < 0 ? this.closedKernelDrops : udpKernelDrops(this.nio.sockInfo(this.fd, 2)); }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    this.closedKernelDrops = this.kernelDrops();
    this.nio.closeFd(this.fd);
    this.fd = -1;
    this.pollFds = [];
    this.link?.release();
  }
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
