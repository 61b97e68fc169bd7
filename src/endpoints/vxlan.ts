// VxlanEndpoint: an uplink to other hosts over VXLAN (RFC 7348). One UDP socket bound to
// `local` (unconnected: datagrams from any VTEP are taken) carries the frames of one virtual
// network (`vni`); frames leaving through the port go to every VTEP of the flood list
// (`remotes`, head-end replication), each behind a VXLAN header (vxlan-link.ts). A Linux
// `vxlan` device with the same VNI and destination port interoperates (tested). What is not
// here yet (issue 13): remote MAC learning (unicast to the one VTEP behind a MAC), several
// VNIs mapped to VLANs, source ports from the inner flow hash, MTU handling, per-VTEP counters.

import ipaddr from 'ipaddr.js';
import { LinkEndpoint } from './link-endpoint.js';
import { LinkShare } from './link.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { HostPort, parseHostPort } from './host-port.js';
import { DEFAULT_SOCKET_BUFFER } from './udp.js';
import { ADDR_REC, errnoName, native, nativeMissing } from '../native/io.js';
import { brief } from '../quote.js';

export class VxlanEndpoint extends LinkEndpoint {
  readonly kind = 'vxlan';
  readonly ioPath = 'native VXLAN recvmmsg/sendmmsg';
  readonly local: HostPort;
  readonly remotes: HostPort[];
  readonly vni: number;
  readonly bufferBytes: number;
  private readonly to: Uint8Array;

  constructor(local: HostPort, remotes: HostPort[], vni: number, bufferBytes: number) {
    super();
    this.local = local; this.remotes = remotes; this.vni = vni; this.bufferBytes = bufferBytes;
    this.to = new Uint8Array(remotes.length * ADDR_REC);
    remotes.forEach((r, i) => {
      const ip = ipaddr.parse(r.host), o = i * ADDR_REC;
      this.to[o] = ip.kind() === 'ipv6' ? 6 : 4;
      this.to[o + 2] = r.port >> 8; this.to[o + 3] = r.port & 0xff;
      this.to.set(ip.toByteArray(), o + 4);
    });
  }

  describe(): string { return `vxlan ${this.local.host}:${this.local.port} vni ${this.vni} -> ${this.remotes.map((r) => `${r.host}:${r.port}`).join(', ')}`; }

  protected openFds(): number[] {
    if (native === null) throw new Error(`vxlan ${this.local.host}:${this.local.port} cannot start: ${nativeMissing}`);
    const fd = native.udpOpen(this.local.host, this.local.port, null, 0, this.bufferBytes);
    if (fd < 0) throw new Error(`cannot open vxlan ${this.local.host}:${this.local.port}: ${errnoName(fd)}`);
    return [fd];
  }

  protected share(port: number, fd: number): LinkShare { return { type: 'vxlan', port, fd, to: this.to, vnetHdr: 0, vni: this.vni }; }
}

const hostPort = (s: string) => (parseHostPort(s) ? null : `${brief(s)} is not "IP:port" with an IP address literal (e.g. "10.0.0.1:4789")`);
type VxlanConfig = EndpointConfig & { local: string; remotes: string[]; vni: number };

/** The `vxlan` endpoint kind. */
export const VXLAN_KIND: EndpointKind = {
  type: 'vxlan',
  doc: 'an uplink to other hosts: one VXLAN network over UDP (RFC 7348), frames to every VTEP of a flood list',
  fields: {
    local: { schema: { type: 'string', check: hostPort }, doc: 'address:port this port listens on' },
    vni: { schema: { type: 'integer', min: 0, max: 16777215, doc: 'VNI' }, doc: 'the virtual network\'s identifier (24 bits)' },
    remotes: { schema: { type: 'array', items: { type: 'string', check: hostPort }, minItems: 1, maxItems: 64 }, doc: 'the VTEPs ("IP:port", 4789 by default on Linux, 8472 its legacy port) every frame leaving the port is sent to' },
  },
  check(e, bad, taken) {
    const v = e as VxlanConfig;
    if (!v.local) bad('local', 'is required for a vxlan endpoint');
    if (v.vni === undefined) bad('vni', 'is required for a vxlan endpoint');
    if (!v.remotes) bad('remotes', 'is required for a vxlan endpoint (at least one VTEP)');
    if (v.local && taken.has(v.local)) bad('local', `${v.local} is already used by another port`);
    taken.add(v.local);
  },
  create(e) { const v = e as VxlanConfig; return new VxlanEndpoint(parseHostPort(v.local)!, v.remotes.map((r) => parseHostPort(r)!), v.vni, DEFAULT_SOCKET_BUFFER); },
  attach(e) { const v = e as VxlanConfig; return `vxlan listen ${v.local}, VNI ${v.vni}, flood to ${v.remotes.join(', ')}`; },
  example(e) {
    const v = e as VxlanConfig, l = parseHostPort(v.local)!, r = parseHostPort(v.remotes[0])!;
    return ['a Linux host joins this network with:',
      `  ip link add vx${v.vni} type vxlan id ${v.vni} dstport ${l.port} local ${r.host} remote ${l.host} && ip link set vx${v.vni} up`];
  },
};
