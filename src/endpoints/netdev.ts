// NetdevEndpoint: attaches to a network interface that already exists — the tap a QEMU VM
// opened (`-netdev tap,ifname=qtap1,script=no,downscript=no,vhost=off`), the host end of a
// veth pair whose other end is in a container, a NIC — the way Open vSwitch attaches "system"
// ports: an AF_PACKET socket bound to the interface (promiscuous, not seeing its own sends),
// read with recvmmsg and written with sendmmsg through the native module (an MmsgLink, the
// same burst calls as UDP); with `queues` > 1, several sockets in a fanout group. With
// vnetHdr (PACKET_VNET_HDR) frames carry a virtio-net header, so GSO frames the interface
// hands over (a veth's TSO) keep their segmentation and checksum state; without it a GSO
// frame would arrive as one oversized frame with its checksum unset.
// The interface must exist and be up at start; sluice does not change it. If it goes away
// (linkLost) and comes back under its name (a VM restarted, a container's veth recreated),
// the socket attaches to it again (linkRestored; controllers/link-watch.ts looks every second).

import { PortIo } from './endpoint.js';
import { LinkEndpoint } from './link-endpoint.js';
import { LinkShare } from './link.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { GSO_FRAME, IFNAME, QUEUES_FIELD } from './tap.js';
import { errnoName, native, nativeMissing } from '../native/io.js';
import { HEADROOM } from '../nic/pool.js';
import { brief } from '../quote.js';

/** The virtio-net header AF_PACKET puts before each frame (struct virtio_net_hdr, no num_buffers). */
export const PACKET_VNET_HDR = 10;
const IFF_UP = 1;

export interface NetdevOptions { vnetHdr: boolean; socketBuffer: number; queues: number }

export class NetdevEndpoint extends LinkEndpoint {
  readonly kind = 'netdev';
  readonly ioPath = 'native AF_PACKET recvmmsg/sendmmsg';
  readonly iface: string;
  readonly o: NetdevOptions;
  /** The interface index the sockets are bound to (0: the interface is gone). */
  private ifindex = 0;

  constructor(iface: string, o: NetdevOptions) { super(); this.iface = iface; this.o = o; }

  describe(): string { return `netdev ${this.iface}${this.o.queues > 1 ? ` (${this.o.queues} queues)` : ''}`; }

  // One AF_PACKET socket per queue; with several, a fanout group (by flow hash) spreads the
  // interface's frames over them.
  protected openFds(): number[] {
    if (native === null) throw new Error(`netdev ${this.iface} cannot start: ${nativeMissing}`);
    const n = native, fds: number[] = [];
    const ifindex = n.linkInfo(this.iface, 0, 0);
    if (ifindex < 0) throw new Error(`netdev ${this.iface}: no such interface (${errnoName(ifindex)})`);
    this.ifindex = ifindex;
    const flags = n.linkInfo(this.iface, 1, 0);
    if (flags >= 0 && (flags & IFF_UP) === 0) throw new Error(`netdev ${this.iface}: the interface is down (ip link set ${this.iface} up)`);
    const group = this.o.queues > 1 ? 1 + ((process.pid + ifindex * 7919) & 0x7ffe) : 0;
    for (let q = 0; q < this.o.queues; q++) {
      const fd = n.packetOpen(ifindex, this.o.vnetHdr, group, false, this.o.socketBuffer);
      if (fd < 0) {
        for (const f of fds) n.closeFd(f);
        throw new Error(`netdev ${this.iface}: AF_PACKET socket: ${errnoName(fd)}${errnoName(fd) === 'EPERM' ? ' (needs root or CAP_NET_RAW)' : ''}`);
      }
      fds.push(fd);
    }
    return fds;
  }

  protected share(port: number, fd: number): LinkShare { return { type: 'udp', port, fd, to: null, vnetHdr: this.o.vnetHdr ? PACKET_VNET_HDR : 0, tunnel: null }; }

  /**
   * The interface went away (deleted: the sockets are bound to nothing, sends fail as link
   * down), or came back under its name with a new index: the sockets are bound to it again —
   * a fanout group cannot be rebound (the kernel refuses), so a port with several queues stays
   * detached until sluice restarts.
   */
  watchLink(): 'same' | 'lost' | 'restored' | 'replaced' {
    if (this.pollFds.length === 0) return 'same';
    const now = native!.linkInfo(this.iface, 0, 0);
    if (now === this.ifindex || (now < 0 && this.ifindex === 0)) return 'same';
    if (now < 0) { this.ifindex = 0; return 'lost'; }
    if (this.pollFds.length > 1) return 'same';
    if (native!.packetBind(this.pollFds[0], now) < 0) return 'same';
    const replaced = this.ifindex !== 0; // gone and back between two looks
    this.ifindex = now;
    return replaced ? 'replaced' : 'restored';
  }

  /** With vnetHdr it takes GSO frames and partial checksums as they come. */
  get takesGso(): boolean { return this.o.vnetHdr; }

  protected override checkPool(io: PortIo): void {
    if (this.o.vnetHdr && GSO_FRAME > io.pool.maxFrame) {
      throw new Error(`netdev ${this.iface}: with vnetHdr GSO frames of up to ${GSO_FRAME} bytes arrive; pool slots hold ${io.pool.maxFrame} (set pool.slotSize to at least ${GSO_FRAME + HEADROOM})`);
    }
  }
}

type NetdevConfig = EndpointConfig & { interface: string; vnetHdr: boolean; socketBuffer: number; queues: number };
const ifname = (s: string) => (IFNAME.test(s) ? null : `${brief(s)} is not an interface name (1-15 letters, digits, '_', '.', '-')`);

/** The `netdev` endpoint kind. */
export const NETDEV_KIND: EndpointKind = {
  type: 'netdev',
  doc: 'an existing interface (a VM\'s tap, a container\'s veth, a NIC) through an AF_PACKET socket',
  fields: {
    interface: { schema: { type: 'string', check: ifname }, doc: 'the interface; it must exist and be up' },
    vnetHdr: { schema: { type: 'boolean' }, doc: 'frames carry a virtio-net header (IFF_VNET_HDR), which lets the kernel hand over TSO frames and partial checksums', default: false },
    queues: QUEUES_FIELD,
    socketBuffer: { schema: { type: 'integer', min: 65536, max: 1 << 30, doc: 'bytes' }, doc: 'kernel send/receive buffer asked for (capped by net.core.rmem_max/wmem_max unless root)', default: 4 << 20 },
  },
  check(e, bad, taken) {
    const n = e as NetdevConfig;
    if (!n.interface) bad('interface', 'is required for a netdev endpoint');
    const key = `if:${n.interface}`;
    if (n.interface && taken.has(key)) bad('interface', `${n.interface} is already used by another port`);
    taken.add(key);
  },
  create(e) { const n = e as NetdevConfig; return new NetdevEndpoint(n.interface, { vnetHdr: n.vnetHdr, socketBuffer: n.socketBuffer, queues: n.queues }); },
  attach(e) { const n = e as NetdevConfig; return `netdev ${n.interface}   (frames the interface receives come in; frames for the port leave through it)`; },
  example(e, name) {
    const n = e as NetdevConfig;
    return [`attach a container's veth to ${name}: the host end is ${n.interface}, the other end goes into the container's namespace:`,
      `  ip link add ${n.interface} type veth peer name eth0 netns <container-ns> && ip link set ${n.interface} up`];
  },
};
