// TapEndpoint: a Linux tap device (IFF_TAP | IFF_NO_PI) whose file descriptor sluice holds.
// The tap's host side is what a container or the host stack uses: move it into a network
// namespace and give it an address, or hand its name to a VM manager. Created when no
// interface of that name exists (and removed again at stop unless `persist`), attached when
// one does (a persistent tap made by `ip tuntap add mode tap`).
//
// Frames are read with readv straight into pool slots and written with writev straight from
// them (the native I/O module) by a TapLink (tap-link.ts), which a datapath thread runs over
// the same descriptor. With `queues` > 1 the tap is multi-queue (IFF_MULTI_QUEUE): one
// descriptor per queue, the kernel spreading the host side's flows over them, each a link the
// datapath threads share out; the NIC's steering and RSS still choose the thread that switches
// each frame. Counters: a write while the tap's link is down (nobody brought the host side up:
// EIO) is txDropLinkDown; other read and write failures are rxErrors and txErrors.
// Without the native module a tap port refuses to start, naming what is missing.

import { PortIo } from './endpoint.js';
import { LinkEndpoint } from './link-endpoint.js';
import { LinkShare } from './link.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { errnoName, native, nativeMissing } from '../native/io.js';
import { HEADROOM, VNET_HDR } from '../nic/pool.js';
import { TUN_F_CSUM, TUN_F_TSO4, TUN_F_TSO6, TUN_F_TSO_ECN } from '../nic/vnet-hdr.js';
import { brief } from '../quote.js';

/** Largest frame a tap with TSO hands over: a 64 KiB IP packet, its Ethernet header and a VLAN tag. */
export const GSO_FRAME = 65535 + 18;
/** Most queues (descriptors) a tap or netdev port opens. */
export const MAX_PORT_QUEUES = 16;

/** Linux interface names: 1..15 bytes, no '/', ':' or whitespace. */
export const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export interface TapOptions { persist: boolean; mtu: number; vnetHdr: boolean; offloads: 'auto' | 'off'; queues: number }

/** Offloads a vnet-header tap asks the kernel for when every destination can take what they produce. */
export const TAP_OFFLOADS = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

export class TapEndpoint extends LinkEndpoint {
  readonly kind = 'tap';
  readonly ioPath = 'native tap readv/writev';
  readonly name: string;
  readonly o: TapOptions;
  /** The interface existed before start (attached), or sluice created it. */
  attached = false;
  /** TUNSETOFFLOAD flags in force (0: the kernel hands over finished, MTU-sized frames). */
  offloads = 0;
  /** Why offloads are off although asked for ("" when they are on or not asked). */
  offloadsOffBecause = '';

  constructor(name: string, o: TapOptions) {
    super();
    this.name = name; this.o = o;
  }

  describe(): string { return `tap ${this.name}${this.o.queues > 1 ? ` (${this.o.queues} queues)` : ''}`; }

  // One descriptor per queue: the first creates the tap (or attaches to it), the others add queues.
  protected openFds(): number[] {
    if (native === null) throw new Error(`tap ${this.name} cannot start: ${nativeMissing}`);
    const n = native, fds: number[] = [];
    this.attached = n.linkInfo(this.name, 0, 0) > 0;
    const fail = (why: string) => { for (const f of fds) n.closeFd(f); return new Error(why); };
    for (let q = 0; q < this.o.queues; q++) {
      const fd = n.tapOpen(this.name, this.o.vnetHdr, this.o.queues > 1, 0, this.o.persist && q === 0);
      if (fd < 0) throw fail(`cannot open tap ${this.name}${q ? ` queue ${q}` : ''}: ${errnoName(fd)}${tapHint(errnoName(fd))}`);
      fds.push(fd);
    }
    const m = n.linkInfo(this.name, 3, this.o.mtu);
    if (m < 0) throw fail(`tap ${this.name}: cannot set mtu ${this.o.mtu}: ${errnoName(m)}`);
    return fds;
  }

  protected share(port: number, fd: number): LinkShare { return { type: 'tap', port, fd, to: null, vnetHdr: this.o.vnetHdr ? VNET_HDR : 0, tunnel: null }; }

  /** A vnet-header tap takes GSO frames and partial checksums as they are. */
  get takesGso(): boolean { return this.o.vnetHdr; }

  /**
   * Ask the kernel for TSO and checksum offload (GSO frames up to 64 KiB, checksums left
   * partial) when `why` is empty, else keep them off and remember why. Needs the
   * descriptors open.
   */
  setOffloads(why: string): void {
    if (!this.o.vnetHdr || this.o.offloads === 'off') return;
    this.offloadsOffBecause = why;
    const flags = why === '' ? TAP_OFFLOADS : 0;
    for (const fd of this.pollFds) {
      const r = native!.tapControl(fd, 0, flags);
      if (r < 0) throw new Error(`tap ${this.name}: TUNSETOFFLOAD: ${errnoName(r)}`);
    }
    this.offloads = flags;
  }

  protected override checkPool(io: PortIo): void {
    const need = this.offloads & (TUN_F_TSO4 | TUN_F_TSO6) ? GSO_FRAME : this.o.mtu + 18;
    if (need > io.pool.maxFrame) {
      throw new Error(`tap ${this.name}: ${this.offloads ? 'TSO frames' : `mtu ${this.o.mtu}`} need${this.offloads ? '' : 's'} frames of ${need} bytes; pool slots hold ${io.pool.maxFrame} (set pool.slotSize to at least ${need + HEADROOM})`);
    }
  }
}

function tapHint(e: string): string {
  if (e === 'EPERM') return ' (creating or attaching a tap needs root or CAP_NET_ADMIN)';
  if (e === 'EBUSY') return ' (another process holds this tap)';
  if (e === 'ENOENT' || e === 'ENODEV') return ' (no /dev/net/tun: load the tun module)';
  if (e === 'EINVAL') return ' (an interface of this name exists and is not a tap with these flags)';
  return '';
}

type TapConfig = EndpointConfig & { name: string; persist: boolean; mtu: number; vnetHdr: boolean; offloads: 'auto' | 'off'; queues: number };

/** The `queues` field tap and netdev ports share. */
export const QUEUES_FIELD = { schema: { type: 'integer' as const, min: 1, max: MAX_PORT_QUEUES, doc: 'descriptors' }, doc: 'receive queues: descriptors opened (multi-queue tap, or an AF_PACKET fanout group), dealt out over the datapath threads', default: 1 };
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
    queues: QUEUES_FIELD,
    offloads: { schema: { type: 'string', enum: ['auto', 'off'] }, doc: 'with vnetHdr: "auto" asks for TSO and checksum offload (GSO frames pass whole between vnet-header ports and are segmented in software for the others) unless extensions are bound, then turns them off and says why at start', default: 'auto' },
  },
  check(e, bad, taken) {
    const t = e as TapConfig;
    if (!t.name) bad('name', 'is required for a tap endpoint');
    const key = `tap:${t.name}`;
    if (t.name && taken.has(key)) bad('name', `tap ${t.name} is already used by another port`);
    taken.add(key);
  },
  create(e) { const t = e as TapConfig; return new TapEndpoint(t.name, { persist: t.persist, mtu: t.mtu, vnetHdr: t.vnetHdr, offloads: t.offloads, queues: t.queues }); },
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
