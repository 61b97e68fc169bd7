// UdpEndpoint: one Ethernet frame per UDP datagram — the encapsulation QEMU's
// `-netdev dgram` and `-netdev socket,udp=` backends use — between a local and a remote
// address:port.
//
// The socket is bound to `local` and connected to `remote`: sends skip a per-packet address
// lookup, a vanished peer shows up as ECONNREFUSED (failed sends count as txErrors, reports
// on receive as peerUnreachable; the switch keeps running), and only the configured peer's
// datagrams are accepted, as on a point-to-point link.
// Peer down: after a refusal the port holds its frames back for PEER_DOWN_MS (counted as
// txDropPeerDown, not sent): a datagram to a dead peer would go out, bounce as ICMP and make
// the next send fail, so most would otherwise be counted as sent. One frame per PEER_DOWN_MS
// probes the peer again; a datagram from the peer ends the state at once. Socket buffers are sized generously
// (4 MiB asked; the kernel caps it at net.core.rmem_max / wmem_max; the effective size is
// reported). Datagrams the kernel
// dropped because the receive buffer was full are read from /proc/net/udp{,6} (the "drops"
// column of this socket) and reported as rxKernelDrops.
// Frames are copied once, from the datagram into a pool slot; sends go straight from the slot.

import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Endpoint, PEER_DOWN, PortIo } from './endpoint.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { brief } from '../quote.js';

export interface HostPort { host: string; port: number }

/** "IP:PORT" or "[IPv6]:PORT" with an IP address literal (no host names: nothing is resolved). */
export function parseHostPort(s: string): HostPort | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  if (!m || isIP(m[1]) === 0) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1], port };
}

export const DEFAULT_SOCKET_BUFFER = 4 << 20;
/** How long a refused peer counts as gone (its frames are dropped, one probe per period). */
export const PEER_DOWN_MS = 1000;

export class UdpEndpoint implements Endpoint {
  readonly kind = 'udp';
  readonly local: HostPort;
  readonly remote: HostPort;
  readonly bufferBytes: number;
  private sock: dgram.Socket | null = null;
  private io: PortIo | null = null;
  private views: Buffer[] = [];
  private done: (((err: Error | null) => void) | undefined)[] = [];
  private inflight = 0;
  /** Until when (performance.now() ms) the peer counts as gone; 0: it does not. */
  private downUntil = 0;
  /** Kernel drops read just before the socket closed (the final report comes after). */
  private closedKernelDrops = -1;
  /** Effective kernel buffer sizes after start(). */
  recvBufferSize = 0;
  sendBufferSize = 0;

  constructor(local: HostPort, remote: HostPort, bufferBytes = DEFAULT_SOCKET_BUFFER) {
    this.local = local;
    this.remote = remote;
    this.bufferBytes = bufferBytes;
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
    sock.on('message', (msg: Buffer) => { this.downUntil = 0; io.receive(msg, 0, msg.length); });
    // The kernel reports an ICMP port unreachable for an earlier datagram on the next receive
    // (ECONNREFUSED): the peer is gone. Counted apart from failed sends (txErrors).
    sock.on('error', () => { c[row + at.peerUnreachable]++; this.peerGone(); });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: this.local.host, port: this.local.port, exclusive: true }, () => {
        sock.removeListener('error', reject);
        sock.connect(this.remote.port, this.remote.host, () => resolve());
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot open udp ${this.local.host}:${this.local.port}: ${e.code ?? e.message}`);
    });
    this.recvBufferSize = sock.getRecvBufferSize();
    this.sendBufferSize = sock.getSendBufferSize();
  }

  private peerGone(): void { this.downUntil = performance.now() + PEER_DOWN_MS; }

  sendBurst(handles: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) this.send(handles[i]);
  }

  // dgram sends one datagram per call (the native path of issue 12 will take the burst whole).
  private send(h: number): void {
    const io = this.io!, sock = this.sock!;
    const pool = io.pool;
    if (this.downUntil !== 0) {
      if (performance.now() < this.downUntil) { io.sent(h, PEER_DOWN); return; }
      this.downUntil = 0; // this frame probes the peer
    }
    let cb = this.done[h];
    if (cb === undefined) {
      // One completion function per slot, made the first time the slot is sent and reused.
      cb = (err: Error | null) => {
        this.inflight--;
        if (err && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.peerGone();
        io.sent(h, err ? ((err as NodeJS.ErrnoException).code ?? 'error') : null);
      };
      this.done[h] = cb;
    }
    this.inflight++;
    try {
      sock.send(this.views[h], pool.off[h], pool.len[h], cb);
    } catch (e) {
      this.inflight--;
      io.sent(h, (e as NodeJS.ErrnoException).code ?? 'send');
    }
  }

  /** Kernel receive-buffer drops for this socket (Linux /proc/net/udp), or -1 if unknown. */
  kernelDrops(): number {
    if (!this.sock) return this.closedKernelDrops;
    let port: number;
    try { port = this.sock.address().port; } catch { return -1; }
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
      let text: string;
      try { text = readFileSync(f, 'utf8'); } catch { continue; }
      for (const line of text.split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length < 13) continue;
        if (cols[1].endsWith(':' + hex)) return Number(cols[cols.length - 1]);
      }
    }
    return -1;
  }

  async close(): Promise<void> {
    const s = this.sock;
    if (s) this.closedKernelDrops = this.kernelDrops();
    this.sock = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

const hostPort = (s: string) => (parseHostPort(s) ? null : `${brief(s)} is not "IP:port" with an IP address literal (e.g. "127.0.0.1:40001")`);
type UdpConfig = EndpointConfig & { local: string; remote: string; socketBuffer: number };

/** The `udp` endpoint kind: configuration fields, factory, how a peer attaches. */
export const UDP_KIND: EndpointKind = {
  type: 'udp',
  doc: 'one Ethernet frame per datagram (QEMU dgram/socket backends)',
  fields: {
    local: { schema: { type: 'string', check: hostPort }, doc: 'address:port this port listens on' },
    remote: { schema: { type: 'string', check: hostPort }, doc: 'address:port of the peer it sends to (the only source it accepts)' },
    socketBuffer: { schema: { type: 'integer', min: 65536, max: 1 << 30, doc: 'bytes' }, doc: 'kernel send/receive buffer asked for (capped by net.core.rmem_max/wmem_max)', default: DEFAULT_SOCKET_BUFFER },
  },
  check(e, bad, taken) {
    const u = e as UdpConfig;
    if (!u.local) bad('local', 'is required for a udp endpoint');
    if (!u.remote) bad('remote', 'is required for a udp endpoint');
    if (u.local && taken.has(u.local)) bad('local', `${u.local} is already used by another port`);
    taken.add(u.local);
  },
  create(e) { const u = e as UdpConfig; return new UdpEndpoint(parseHostPort(u.local)!, parseHostPort(u.remote)!, u.socketBuffer); },
  attach(e) { const u = e as UdpConfig; return `udp listen ${u.local} -> send ${u.remote}   (a peer binds ${u.remote} and sends to ${u.local})`; },
  example(e, name) {
    const u = e as UdpConfig, l = parseHostPort(u.local)!, r = parseHostPort(u.remote)!;
    return [`attach a QEMU VM to ${name}:`,
      `  -netdev dgram,id=n0,local.type=inet,local.host=${r.host},local.port=${r.port},remote.type=inet,remote.host=${l.host},remote.port=${l.port} -device virtio-net-pci,netdev=n0`];
  },
  notes(ep, e) {
    const u = e as UdpConfig;
    if (!(ep instanceof UdpEndpoint) || ep.recvBufferSize >= u.socketBuffer) return [];
    return [`got a ${ep.recvBufferSize}-byte receive buffer (asked ${u.socketBuffer}); raise net.core.rmem_max to absorb bursts`];
  },
};
