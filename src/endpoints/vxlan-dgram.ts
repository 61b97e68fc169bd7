// DgramVxlanEndpoint: the vxlan endpoint kind (vxlan.ts) on Node's dgram — the fallback when
// the native I/O module is missing or `io: "dgram"` is configured. Same network (VxlanNetwork:
// VTEPs, flood list, static entries, VNI map) and the same per-frame work (VxlanCodec), on the
// main thread's event loop: one datagram, one syscall and one Buffer per frame and VTEP, sent
// from the bound port (no per-flow source ports: that needs the native raw socket), and no
// emulated access link (it needs a datapath thread to pace it: refused at start).
//
// Receive: a datagram is copied into a slot, decapsulated in place (its source address is its
// VTEP), and handed to the switch; one that is not this uplink's VXLAN is rxDropEncap. Send: a
// frame goes to its VTEP or to each of the flood list; it counts as sent when at least one of
// its datagrams went (each one's outcome is counted at its VTEP).

import dgram from 'node:dgram';
import ipaddr from 'ipaddr.js';
import { Endpoint, PortIo } from './endpoint.js';
import { closeSocket, socketKernelDrops } from './udp-dgram.js';
import { MAX_HEADER, VxlanCodec } from './vxlan-codec.js';
import { StaticRemote, VxlanNetwork } from './vxlan-network.js';
import { ADDR_REC } from '../native/io.js';

export class DgramVxlanEndpoint implements Endpoint {
  readonly kind = 'vxlan';
  readonly ioPath = 'Node dgram (VXLAN, one datagram per call, from the bound port)';
  readonly net: VxlanNetwork;
  private sock: dgram.Socket | null = null;
  private io: PortIo | null = null;
  private codec: VxlanCodec | null = null;
  private views: Buffer[] = [];
  /** Per slot: datagrams of its frame still in flight, and whether one went. */
  private pending = new Int32Array(0);
  private wentOut = new Uint8Array(0);
  private inflight = 0;
  private readonly one = new Int32Array(1);
  // The source address of the last datagram, as an address record (int32 words).
  private lastFrom = '';
  private readonly fromRec = new Int32Array(ADDR_REC >> 2);
  /** Each VTEP's address and port for sends, filled as they are first used. */
  private readonly dest: { host: string; port: number }[] = [];
  private closedKernelDrops = -1;

  constructor(net: VxlanNetwork) { this.net = net; }

  get inFlight(): number { return this.inflight; }
  get trunkVlans(): number[] | undefined { return this.net.trunkVlans; }
  get staticRemotes(): StaticRemote[] { return this.net.staticRemotes; }
  tunnels(): ReturnType<VxlanNetwork['tunnels']> { return this.net.tunnels(); }
  describe(): string { return this.net.describe(); }

  async start(io: PortIo): Promise<void> {
    const o = this.net.o, l = o.local;
    if (o.rateMbps > 0) throw new Error(`vxlan ${l.host}:${l.port} rateMbps needs the native I/O path: an emulated access link is paced by a datapath thread`);
    this.io = io;
    const pool = io.pool;
    this.views = pool.slotBuffers();
    this.pending = new Int32Array(pool.slots);
    this.wentOut = new Uint8Array(pool.slots);
    this.codec = new VxlanCodec(this.net.tunnelShare(-1), false);
    const sock = dgram.createSocket({ type: l.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: o.bufferBytes, sendBufferSize: o.bufferBytes });
    this.sock = sock;
    sock.on('message', (msg: Buffer, from: dgram.RemoteInfo) => this.receive(msg, from.address));
    sock.on('error', () => { /* a failed send is counted by its callback */ });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: l.host, port: l.port, exclusive: true }, () => { sock.removeListener('error', reject); resolve(); });
    }).catch((e: NodeJS.ErrnoException) => { throw new Error(`cannot open vxlan ${l.host}:${l.port}: ${e.code ?? e.message}`); });
  }

  private receive(msg: Buffer, from: string): void {
    const io = this.io!, pool = io.pool, c = io.counters.values, row = io.port * io.counters.names.length, at = io.counters.at;
    const h = pool.allocFrom(msg, 0, msg.length);
    if (h === -1) { c[row + at.rxDropPoolEmpty]++; return; }
    if (h === -2) { c[row + at.rxDropOversize]++; return; }
    if (from !== this.lastFrom) this.setFrom(from);
    if (!this.codec!.decap(pool, h, this.fromRec, 0)) { c[row + at.rxDropEncap]++; pool.free(h); return; }
    this.one[0] = h;
    io.receiveBurst(this.one, 1);
  }

  // The address record of `from` (its port is not part of a VTEP's identity).
  private setFrom(from: string): void {
    const b = new Uint8Array(this.fromRec.buffer);
    b.fill(0);
    const ip = ipaddr.parse(from.split('%')[0]);
    b[0] = ip.kind() === 'ipv6' ? 6 : 4;
    b.set(ip.toByteArray(), 4);
    this.lastFrom = from;
  }

  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void {
    const io = this.io!, pool = io.pool, codec = this.codec!, flood = codec.flood;
    for (let i = 0; i < n; i++) {
      const h = handles[i], tun = tunnels === undefined ? 0 : tunnels[i];
      const bad = codec.unsendable(pool, h);
      if (bad !== null) { codec.dropAt(tun); io.sent(h, bad); continue; }
      const vni = codec.vniOf(pool, h);
      const targets = tun > 0 ? 1 : flood.length;
      this.pending[h] = targets;
      this.wentOut[h] = 0;
      this.inflight++;
      for (let j = 0; j < targets; j++) this.sendTo(h, tun > 0 ? tun - 1 : flood[j], vni);
    }
  }

  // One datagram of frame h to VTEP v.
  private sendTo(h: number, v: number, vni: number): void {
    const io = this.io!, pool = io.pool, codec = this.codec!, vt = codec.vteps;
    const head = Buffer.allocUnsafe(MAX_HEADER), len = codec.header(head, 0, pool, h, vni, v, 0);
    const d = this.dest[v] ?? (this.dest[v] = { host: vt.address(v), port: (vt.records[v * ADDR_REC + 2] << 8) | vt.records[v * ADDR_REC + 3] });
    const off = pool.off[h] + codec.skip, end = pool.off[h] + pool.len[h];
    const done = (err: Error | null) => {
      if (err) codec.dropTo(v); else { codec.sentTo(v, pool, h); this.wentOut[h] = 1; }
      if (--this.pending[h] !== 0) return;
      this.inflight--;
      io.sent(h, this.wentOut[h] ? null : ((err as NodeJS.ErrnoException | null)?.code ?? 'send'));
    };
    try {
      this.sock!.send([head.subarray(0, len), this.views[h].subarray(off, end)], d.port, d.host, done);
    } catch (e) {
      done(e as Error);
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
