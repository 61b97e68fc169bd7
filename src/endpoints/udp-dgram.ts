// DgramUdpEndpoint: the udp endpoint kind (udp.ts) on Node's dgram — the fallback when the
// native I/O module is missing or `io: "dgram"` is configured. One datagram, one syscall and
// one Buffer per frame, on the main thread's event loop.
//
// Bound to `local`, connected to `remote` unless anySource (udp.ts says why). Peer down:
// peer-down.ts. Kernel receive-buffer drops are read from /proc/net/udp{,6}. Frames are copied
// once, from the datagram into a pool slot; sends go straight from the slot.

import dgram from 'node:dgram';
import { Endpoint, PEER_DOWN, PortIo } from './endpoint.js';
import { PeerDown, udpKernelDrops } from './peer-down.js';
import type { HostPort } from './host-port.js';

export class DgramUdpEndpoint implements Endpoint {
  readonly kind = 'udp';
  readonly ioPath = 'Node dgram';
  readonly local: HostPort;
  readonly remote: HostPort;
  readonly bufferBytes: number;
  private sock: dgram.Socket | null = null;
  private io: PortIo | null = null;
  private views: Buffer[] = [];
  private done: (((err: Error | null) => void) | undefined)[] = [];
  private inflight = 0;
  private readonly peer = new PeerDown();
  /** Not connected: datagrams from any source are taken; sends name the remote address. */
  readonly anySource: boolean;
  /** Kernel drops read just before the socket closed (the final report comes after). */
  private closedKernelDrops = -1;
  /** Effective kernel buffer sizes after start(). */
  recvBufferSize = 0;
  sendBufferSize = 0;

  constructor(local: HostPort, remote: HostPort, bufferBytes: number, anySource = false) {
    this.local = local;
    this.remote = remote;
    this.bufferBytes = bufferBytes;
    this.anySource = anySource;
  }

  get inFlight(): number { return this.inflight; }
  describe(): string { return `udp ${this.local.host}:${this.local.port} -> ${this.remote.host}:${this.remote.port}`; }

  async start(io: PortIo): Promise<void> {
    this.io = io;
    const pool = io.pool;
    this.views = pool.slotBuffers();
    this.done = new Array(pool.slots);
    const type = this.local.host.includes(':') ? 'udp6' : 'udp4';
    const sock = dgram.createSocket({ type, recvBufferSize: this.bufferBytes, sendBufferSize: this.bufferBytes });
    this.sock = sock;
    const c = io.counters.values, row = io.port * io.counters.names.length, at = io.counters.at;
    sock.on('message', (msg: Buffer) => { this.peer.up(); io.receive(msg, 0, msg.length); });
    // The kernel reports an ICMP port unreachable for an earlier datagram on the next receive
    // (ECONNREFUSED): the peer is gone. Counted apart from failed sends (txErrors).
    sock.on('error', () => { c[row + at.peerUnreachable]++; this.peer.gone(); });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: this.local.host, port: this.local.port, exclusive: true }, () => {
        sock.removeListener('error', reject);
        if (this.anySource) resolve(); else sock.connect(this.remote.port, this.remote.host, () => resolve());
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot open udp ${this.local.host}:${this.local.port}: ${e.code ?? e.message}`);
    });
    this.recvBufferSize = sock.getRecvBufferSize();
    this.sendBufferSize = sock.getSendBufferSize();
  }

  sendBurst(handles: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) this.send(handles[i]);
  }

  // dgram sends one datagram per call (the native path of issue 12 will take the burst whole).
  private send(h: number): void {
    const io = this.io!, sock = this.sock!;
    const pool = io.pool;
    if (this.peer.holds()) { io.sent(h, PEER_DOWN); return; }
    let cb = this.done[h];
    if (cb === undefined) {
      // One completion function per slot, made the first time the slot is sent and reused.
      cb = (err: Error | null) => {
        this.inflight--;
        if (err && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.peer.gone();
        io.sent(h, err ? ((err as NodeJS.ErrnoException).code ?? 'error') : null);
      };
      this.done[h] = cb;
    }
    this.inflight++;
    try {
      if (this.anySource) sock.send(this.views[h], pool.off[h], pool.len[h], this.remote.port, this.remote.host, cb);
      else sock.send(this.views[h], pool.off[h], pool.len[h], cb);
    } catch (e) {
      this.inflight--;
      io.sent(h, (e as NodeJS.ErrnoException).code ?? 'send');
    }
  }

  /** Kernel receive-buffer drops for this socket (Linux /proc/net/udp), or -1 if unknown. */
  kernelDrops(): number { return this.sock ? socketKernelDrops(this.sock) : this.closedKernelDrops; }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = null;
    if (s) this.closedKernelDrops = await closeSocket(s);
  }
}

/** Kernel receive-buffer drops of a bound dgram socket (Linux /proc/net/udp), or -1 if unknown. */
export function socketKernelDrops(sock: dgram.Socket): number {
  try { return udpKernelDrops(sock.address().port); } catch { return -1; }
}

/** Close `sock`; its kernel drops read just before (a port's final report comes after the close). */
export async function closeSocket(sock: dgram.Socket): Promise<number> {
  const drops = socketKernelDrops(sock);
  await new Promise<void>((r) => sock.close(() => r()));
  return drops;
}

