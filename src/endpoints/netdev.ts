// NetdevEndpoint: attaches to a network interface that already exists — the tap a QEMU VM
// opened (`-netdev tap,ifname=qtap1,script=no,downscript=no,vhost=off`), the host end of a
// veth pair whose other end is in a container, a NIC — the way Open vSwitch attaches "system"
// ports: an AF_PACKET socket bound to the interface (promiscuous, not seeing its own sends),
// read with recvmmsg and written with sendmmsg through the native module (PacketLink, the
// same burst calls as UDP). With vnetHdr (PACKET_VNET_HDR) frames carry a virtio-net header,
// so GSO frames the interface hands over (a veth's TSO) keep their segmentation and checksum
// state; without it a GSO frame would arrive as one oversized frame with its checksum unset.
// The interface must exist and be up; sluice does not change it.

import { Endpoint, PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { UdpLink } from './udp-native.js';
import { GSO_FRAME, IFNAME } from './tap.js';
import { errnoName, native, nativeMissing } from '../native/io.js';
import { HEADROOM } from '../nic/pool.js';
import { brief } from '../quote.js';

/** The virtio-net header AF_PACKET puts before each frame (struct virtio_net_hdr, no num_buffers). */
export const PACKET_VNET_HDR = 10;
const IFF_UP = 1;

export interface NetdevOptions { vnetHdr: boolean; socketBuffer: number; fanout: number }

export class NetdevEndpoint implements Endpoint {
  readonly kind = 'netdev';
  readonly ioPath = 'native AF_PACKET recvmmsg/sendmmsg';
  readonly iface: string;
  readonly o: NetdevOptions;
  readonly inFlight = 0;
  pollFds: number[] = [];
  private fd = -1;
  private link: PortLink | null = null;

  constructor(iface: string, o: NetdevOptions) { this.iface = iface; this.o = o; }

  describe(): string { return `netdev ${this.iface}`; }

  open(): void {
    if (this.fd >= 0) return;
    if (native === null) throw new Error(`netdev ${this.iface} cannot start: ${nativeMissing}`);
    const ifindex = native.linkInfo(this.iface, 0, 0);
    if (ifindex < 0) throw new Error(`netdev ${this.iface}: no such interface (${errnoName(ifindex)})`);
    const flags = native.linkInfo(this.iface, 1, 0);
    if (flags >= 0 && (flags & IFF_UP) === 0) throw new Error(`netdev ${this.iface}: the interface is down (ip link set ${this.iface} up)`);
    const fd = native.packetOpen(ifindex, this.o.vnetHdr, this.o.fanout, false, this.o.socketBuffer);
    if (fd < 0) throw new Error(`netdev ${this.iface}: AF_PACKET socket: ${errnoName(fd)}${errnoName(fd) === 'EPERM' ? ' (needs root or CAP_NET_RAW)' : ''}`);
    this.fd = fd;
    this.pollFds = [fd];
  }

  links(port: number): LinkShare[] { return [{ type: 'udp', port, fd: this.fd, to: null, vnetHdr: this.o.vnetHdr ? PACKET_VNET_HDR : 0 }]; }

  /** With vnetHdr it takes GSO frames and partial checksums as they come. */
  get takesGso(): boolean { return this.o.vnetHdr; }

  async start(io: PortIo): Promise<void> {
    if (this.o.vnetHdr && GSO_FRAME > io.pool.maxFrame) {
      throw new Error(`netdev ${this.iface}: with vnetHdr GSO frames of up to ${GSO_FRAME} bytes arrive; pool slots hold ${io.pool.maxFrame} (set pool.slotSize to at least ${GSO_FRAME + HEADROOM})`);
    }
    this.open();
    this.link = new UdpLink(this.links(io.port)[0], io);
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

type NetdevConfig = EndpointConfig & { interface: string; vnetHdr: boolean; socketBuffer: number };
const ifname = (s: string) => (IFNAME.test(s) ? null : `${brief(s)} is not an interface name (1-15 letters, digits, '_', '.', '-')`);

/** The `netdev` endpoint kind. */
export const NETDEV_KIND: EndpointKind = {
  type: 'netdev',
  doc: 'an existing interface (a VM\'s tap, a container\'s veth, a NIC) through an AF_PACKET socket',
  fields: {
    interface: { schema: { type: 'string', check: ifname }, doc: 'the interface; it must exist and be up' },
    vnetHdr: { schema: { type: 'boolean' }, doc: 'frames carry a virtio-net header (IFF_VNET_HDR), which lets the kernel hand over TSO frames and partial checksums', default: false },
    socketBuffer: { schema: { type: 'integer', min: 65536, max: 1 << 30, doc: 'bytes' }, doc: 'kernel send/receive buffer asked for (capped by net.core.rmem_max/wmem_max unless root)', default: 4 << 20 },
  },
  check(e, bad, taken) {
    const n = e as NetdevConfig;
    if (!n.interface) bad('interface', 'is required for a netdev endpoint');
    const key = `if:${n.interface}`;
    if (n.interface && taken.has(key)) bad('interface', `${n.interface} is already used by another port`);
    taken.add(key);
  },
  create(e) { const n = e as NetdevConfig; return new NetdevEndpoint(n.interface, { vnetHdr: n.vnetHdr, socketBuffer: n.socketBuffer, fanout: 0 }); },
  attach(e) { const n = e as NetdevConfig; return `netdev ${n.interface}   (frames the interface receives come in; frames for the port leave through it)`; },
  example(e, name) {
    const n = e as NetdevConfig;
    return [`attach a container's veth to ${name}: the host end is ${n.interface}, the other end goes into the container's namespace:`,
      `  ip link add ${n.interface} type veth peer name eth0 netns <container-ns> && ip link set ${n.interface} up`];
  },
};
