// TapEndpoint: a Linux tap device (IFF_TAP | IFF_NO_PI) whose file descriptor sluice holds.
// The tap's host side is what a container or the host stack uses: move it into a network
// namespace and give it an address, or hand its name to a VM manager. Created when no
// interface of that name exists (and removed again at stop unless `persist`), attached when
// one does (a persistent tap made by `ip tuntap add mode tap`).
//
// Frames are read with readv straight into pool slots and written with writev straight from
// them (the native I/O module) by a TapLink (link.ts), which a datapath thread runs over the
// same descriptor.
// Counters: a write while the tap's link is down (nobody brought the host side up: EIO) is
// txDropLinkDown; other read and write failures are rxErrors and txErrors.
// Without the native module a tap port refuses to start, naming what is missing.

import { Endpoint, LINK_DOWN, PortIo } from './endpoint.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { LinkShare, PortLink } from './link.js';
import { SlotStock } from './slot-stock.js';
import { errnoName, native, NATIVE_BURST, NativeIo, nativeMissing, PoolBinding, poolBinding } from '../native/io.js';
import { HEADROOM, VNET_HDR } from '../nic/pool.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN } from '../wire/vnet-hdr.js';

/** Largest frame a tap with TSO hands over: a 64 KiB IP packet, its Ethernet header and a VLAN tag. */
export const GSO_FRAME = 65535 + 18;
import { brief } from '../quote.js';

/** Linux interface names: 1..15 bytes, no '/', ':' or whitespace. */
export const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export interface TapOptions { persist: boolean; mtu: number; vnetHdr: boolean; offloads: 'auto' | 'off' }

/** Offloads a vnet-header tap asks the kernel for when every destination can take what they produce. */
export const TAP_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

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

export class TapEndpoint implements Endpoint {
  readonly kind = 'tap';
  readonly ioPath = 'native tap readv/writev';
  readonly name: string;
  readonly o: TapOptions;
  readonly inFlight = 0;
  pollFds: number[] = [];
  /** The interface existed before start (attached), or sluice created it. */
  attached = false;
  /** TUNSETOFFLOAD flags in force (0: the kernel hands over finished, MTU-sized frames). */
  offloads = 0;
  /** Why offloads are off although asked for ("" when they are on or not asked). */
  offloadsOffBecause = '';
  private fd = -1;
  private link: TapLink | null = null;

  constructor(name: string, o: TapOptions) {
    this.name = name; this.o = o;
  }

  describe(): string { return `tap ${this.name}`; }

  open(): void {
    if (this.fd >= 0) return;
    if (native === null) throw new Error(`tap ${this.name} cannot start: ${nativeMissing}`);
    const n = native;
    this.attached = n.linkInfo(this.name, 0, 0) > 0;
    const fd = n.tapOpen(this.name, this.o.vnetHdr, false, 0, this.o.persist);
    if (fd < 0) throw new Error(`cannot open tap ${this.name}: ${errnoName(fd)}${tapHint(errnoName(fd))}`);
    const m = n.linkInfo(this.name, 3, this.o.mtu);
    if (m < 0) { n.closeFd(fd); throw new Error(`tap ${this.name}: cannot set mtu ${this.o.mtu}: ${errnoName(m)}`); }
    this.fd = fd;
    this.pollFds = [fd];
  }

  links(port: number): LinkShare[] { return [{ type: 'tap', port, fd: this.fd, to: null, vnetHdr: this.o.vnetHdr ? VNET_HDR : 0 }]; }

  /** A vnet-header tap takes GSO frames and partial checksums as they are. */
  get takesGso(): boolean { return this.o.vnetHdr; }

  /**
   * Ask the kernel for TSO and checksum offload (GSO frames up to 64 KiB, checksums left
   * partial) when `why` is empty — every other destination takes such frames — else keep
   * them off and remember why. Needs the descriptor open.
   */
  setOffloads(why: string): void {
    if (!this.o.vnetHdr || this.o.offloads === 'off') return;
    this.offloadsOffBecause = why;
    const flags = why === '' ? TAP_OFFLOADS : 0;
    const r = native!.tapControl(this.fd, 0, flags);
    if (r < 0) throw new Error(`tap ${this.name}: TUNSETOFFLOAD: ${errnoName(r)}`);
    this.offloads = flags;
  }

  async start(io: PortIo): Promise<void> {
    const need = this.offloads & (TUN_F_TSO4 | TUN_F_TSO6) ? GSO_FRAME : this.o.mtu + 18;
    if (need > io.pool.maxFrame) {
      throw new Error(`tap ${this.name}: ${this.offloads ? 'TSO frames' : `mtu ${this.o.mtu}`} need${this.offloads ? '' : 's'} frames of ${need} bytes; pool slots hold ${io.pool.maxFrame} (set pool.slotSize to at least ${need + HEADROOM})`);
    }
    this.open();
    this.link = new TapLink(this.links(io.port)[0], io);
  }

  pull(budget: number): number { return this.link!.pull(budget); }
  sendBurst(handles: Int32Array, n: number): void { this.link!.sendBurst(handles, n); }

  async close(): Promise<void> {
    if (this.fd < 0) return;
    native!.closeFd(this.fd);
    this.fd = -1;
    this.pollFds = [];
    this.link?.release();
  }
}

function tapHint(e: string): string {
  if (e === 'EPERM') return ' (creating or attaching a tap needs root or CAP_NET_ADMIN)';
  if (e === 'EBUSY') return ' (another process holds this tap)';
  if (e === 'ENOENT' || e === 'ENODEV') return ' (no /dev/net/tun: load the tun module)';
  if (e === 'EINVAL') return ' (an interface of this name exists and is not a tap with these flags)';
  return '';
}

type TapConfig = EndpointConfig & { name: string; persist: boolean; mtu: number; vnetHdr: boolean; offloads: 'auto' | 'off' };
const ifname = (s: string) => (IFNAME.test(s) ? null : `${brief(s)} is not an interface name (1-15 letters, digits, '_', '.', '-')`);

/** The `tap` endpoint kind. */
export const TAP_KIND: EndpointKind = {
  type: 'tap',
  doc: 'a Linux tap device sluice holds (its host side goes to a namespace, container or VM)',
  fields: {
    name: { schema: { type: 'string', check: ifname }, doc: 'interface name; created if missing' },
    persist: { schema: { type: 'boolean' }, doc: 'a tap sluice created stays after stop (TUNSETPERSIST)', default: false },
    mtu: { schema: { type: 'integer', min: 68, max: 65535, doc: 'bytes' }, doc: 'MTU set on the tap (frames up to mtu + 18 bytes must fit a pool slot)', default: 1500 },
    vnetHdr: { schema: { type: 'boolean' }, doc: 'frames carry a virtio-net header (IFF_VNET_HDR), which lets the kernel hand over TSO frames and partial checksums', default: false },
    offloads: { schema: { type: 'string', enum: ['auto', 'off'] }, doc: 'with vnetHdr: "auto" asks for TSO and checksum offload (GSO frames pass whole between vnet-header ports and are segmented in software for the others) unless extensions are bound, then turns them off and says why at start', default: 'auto' },
  },
  check(e, bad, taken) {
    const t = e as TapConfig;
    if (!t.name) bad('name', 'is required for a tap endpoint');
    const key = `tap:${t.name}`;
    if (t.name && taken.has(key)) bad('name', `tap ${t.name} is already used by another port`);
    taken.add(key);
  },
  create(e) { const t = e as TapConfig; return new TapEndpoint(t.name, { persist: t.persist, mtu: t.mtu, vnetHdr: t.vnetHdr, offloads: t.offloads }); },
  notes(ep) {
    if (!(ep instanceof TapEndpoint) || !ep.o.vnetHdr) return [];
    if (ep.offloads !== 0) return ['TSO and checksum offload on: GSO frames pass through unsegmented'];
    return ep.offloadsOffBecause ? [`offloads off: ${ep.offloadsOffBecause}`] : [];
  },
  attach(e) { const t = e as TapConfig; return `tap ${t.name}   (its host side: give it an address, or move it into a namespace)`; },
  example(e, name) {
    const t = e as TapConfig;
    return [`attach a network namespace to ${name}:`,
      `  ip netns add ns-${name} && ip link set ${t.name} netns ns-${name} && ip -n ns-${name} addr add 10.0.0.1/24 dev ${t.name} && ip -n ns-${name} link set ${t.name} up`];
  },
};
