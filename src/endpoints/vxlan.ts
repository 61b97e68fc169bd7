// VxlanEndpoint: an uplink to other hosts over VXLAN (RFC 7348). One UDP socket bound to
// `local` (unconnected: datagrams from any VTEP are taken) carries one virtual network (`vni`,
// the port's VLAN) or several (`vnis`: each VNI mapped to a VLAN, the port a trunk of them).
// Frames leave to the remote VTEP their destination MAC was learned behind, or to every VTEP of
// the flood list (`remotes`) when it is unknown, a broadcast or a multicast; `static` entries
// put a MAC behind a VTEP for good. Datagrams are sent over a raw IPv4 socket so each flow gets
// a source port of its own (sourcePorts "flow", as Linux), or from the UDP socket ("fixed").
// What both I/O paths share is a VxlanNetwork (vxlan-network.ts: VTEPs, flood list, static
// entries, VNI map, the emulated access link); the per-frame work is VxlanCodec's; the native
// data path is vxlan-link.ts, the Node dgram fallback vxlan-dgram.ts. A Linux `vxlan` device
// with the same VNI and destination port interoperates.

import ipaddr from 'ipaddr.js';
import { LinkEndpoint } from './link-endpoint.js';
import { LinkShare } from './link.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { HostPort, parseHostPort } from './host-port.js';
import { DEFAULT_SOCKET_BUFFER, UDP_IO_FIELD, UdpIo } from './udp.js';
import { DEFAULT_MAX_VTEPS, MAX_VTEPS, VtepTable } from './vtep-table.js';
import { DgramVxlanEndpoint } from './vxlan-dgram.js';
import { DEFAULT_UNDERLAY_MTU, StaticRemote, VxlanNetwork } from './vxlan-network.js';
import { errnoName, native, nativeMissing } from '../native/io.js';
import { parseMac } from '../wire/bytes.js';
import { VXLAN_IPV4_OVERHEAD } from '../wire/vxlan.js';
import { DEFAULT_QUEUE_BYTES } from '../qos/link-shaper.js';
import { DEFAULT_MAX_PAIRS, PairTable } from '../qos/pair-table.js';
import { PairAging } from '../controllers/pair-aging.js';
import { DEFAULT_PAIR_ECN_BYTES, DEFAULT_PAIR_QUEUE_BYTES } from '../qos/pair-limiters.js';
import type { Controller } from '../controllers/control-tick.js';
import { controlInterval } from '../qos/congestion-detector.js';
import type { Endpoint } from './endpoint.js';
import { brief } from '../quote.js';

export class VxlanEndpoint extends LinkEndpoint {
  readonly kind = 'vxlan';
  readonly net: VxlanNetwork;
  private rawFd = -1;
  private rawWhy = '';

  constructor(net: VxlanNetwork) {
    super();
    this.net = net;
  }

  get vteps(): VtepTable { return this.net.vteps; }
  get trunkVlans(): number[] | undefined { return this.net.trunkVlans; }
  get staticRemotes(): StaticRemote[] { return this.net.staticRemotes; }
  tunnels(): ReturnType<VxlanNetwork['tunnels']> { return this.net.tunnels(); }
  controllers(port: string): Controller[] { return this.net.qos ? [new PairAging(port, new PairTable(this.net.qos.pairs))] : []; }
  describe(): string { return this.net.describe(); }

  get ioPath(): string {
    return this.rawFd >= 0 ? 'native VXLAN: recvmmsg, sendmmsg on a raw socket (a source port per flow)' : `native VXLAN: recvmmsg/sendmmsg from port ${this.net.o.local.port}${this.rawWhy ? ` (${this.rawWhy})` : ''}`;
  }

  protected openFds(): number[] {
    const o = this.net.o, l = o.local;
    if (native === null) throw new Error(`vxlan ${l.host}:${l.port} cannot start: ${nativeMissing}`);
    const fd = native.udpOpen(l.host, l.port, null, 0, o.bufferBytes);
    if (fd < 0) throw new Error(`cannot open vxlan ${l.host}:${l.port}: ${errnoName(fd)}`);
    this.rawFd = -1;
    if (o.sourcePorts !== 'fixed') {
      const v4 = ipaddr.parse(l.host).kind() === 'ipv4';
      const raw = v4 ? native.rawOpen(o.bufferBytes) : -1;
      if (raw >= 0) this.rawFd = raw;
      else {
        this.rawWhy = v4 ? `a raw socket for per-flow source ports: ${errnoName(raw)}` : 'per-flow source ports are IPv4 only';
        if (o.sourcePorts === 'flow') { native.closeFd(fd); throw new Error(`vxlan ${l.host}:${l.port} sourcePorts "flow" cannot start: ${this.rawWhy}`); }
      }
    }
    return [fd];
  }

  protected override beforeClose(): void {
    if (this.rawFd >= 0) native!.closeFd(this.rawFd);
    this.rawFd = -1;
  }

  protected share(port: number, fd: number): LinkShare {
    const shape = this.net.shape;
    return { type: 'vxlan', port, fd, to: null, vnetHdr: 0, tunnel: this.net.tunnelShare(this.rawFd), ...(shape ? { shape } : {}) };
  }
}

/** A vxlan endpoint on the I/O path `io` asks for ("native" throws when the module is missing). */
export function vxlanEndpoint(net: VxlanNetwork, io: UdpIo = 'auto'): Endpoint {
  if (io === 'native' && native === null) throw new Error(`vxlan io "native": ${nativeMissing}`);
  return io === 'dgram' || native === null ? new DgramVxlanEndpoint(net) : new VxlanEndpoint(net);
}

const hostPort = (s: string) => (parseHostPort(s) ? null : `${brief(s)} is not "IP:port" with an IP address literal (e.g. "10.0.0.1:4789")`);
const vtepAddress = (s: string) => (parseHostPort(s) || ipaddr.isValid(s) ? null : `${brief(s)} is not an IP address or "IP:port" (e.g. "10.0.0.2" or "10.0.0.2:8472")`);
const mac = (s: string) => (parseMac(s) ? null : `${brief(s)} is not a MAC address like "02:00:00:00:00:01"`);
/** A VTEP given as "IP" (the uplink's own port) or "IP:port". */
const vtepOf = (s: string, port: number): HostPort => parseHostPort(s) ?? { host: s, port };

interface VxlanConfig extends EndpointConfig {
  local: string; vni?: number; vnis?: { vni: number; vlan: number }[]; remotes: string[];
  static?: { mac: string; vtep: string; vni?: number }[]; underlayMtu: number; sourcePorts: 'auto' | 'flow' | 'fixed'; maxVteps: number;
  rateMbps?: number; queueBytes: number; ecnMarkBytes: number; io: UdpIo;
  guarantees?: { lineMbps?: number; floorMbps: number; burstUs: number; queueBytes: number; ecnMarkBytes: number; maxPairs: number; key?: string; downlinkMbps?: number; gammaPercent: number; intervalUs: number };
}
const vniSchema = { type: 'integer', min: 0, max: 16777215, doc: 'VNI' } as const;

/** The `vxlan` endpoint kind. */
export const VXLAN_KIND: EndpointKind = {
  type: 'vxlan',
  doc: 'an uplink to other hosts over VXLAN (RFC 7348): remote MACs learned behind their VTEPs, unknown and broadcast frames to a flood list',
  fields: {
    local: { schema: { type: 'string', check: hostPort }, doc: 'address:port this uplink listens on (4789 is the IANA port; Linux\'s legacy default is 8472); datagrams go to the same port at learned VTEPs' },
    vni: { schema: vniSchema, doc: 'the one virtual network carried, in the port\'s VLAN (or use vnis)' },
    vnis: { schema: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'object', fields: {
      vni: { schema: vniSchema, doc: 'VNI', required: true },
      vlan: { schema: { type: 'integer', min: 1, max: 4094, doc: 'VLAN id' }, doc: 'the VLAN its frames belong to in this switch', required: true },
    } } }, doc: 'several virtual networks, each mapped to a VLAN: the port becomes a trunk of those VLANs (its vlan field is not used)' },
    remotes: { schema: { type: 'array', items: { type: 'string', check: vtepAddress }, minItems: 1, maxItems: 64 }, doc: 'the flood list: VTEPs ("IP", or "IP:port") that get unknown unicast, broadcast and multicast frames, one copy each' },
    static: { schema: { type: 'array', maxItems: 4096, items: { type: 'object', fields: {
      mac: { schema: { type: 'string', check: mac }, doc: 'a remote MAC address', required: true },
      vtep: { schema: { type: 'string', check: vtepAddress }, doc: 'the VTEP it is behind ("IP" or "IP:port")', required: true },
      vni: { schema: vniSchema, doc: 'its VNI (with vnis; default: the one vni)' },
    } } }, doc: 'remote MACs fixed behind a VTEP: never aged, never moved by learning', default: [] },
    underlayMtu: { schema: { type: 'integer', min: 576, max: 65535, doc: 'bytes' }, doc: `the underlay's MTU: an outer IP datagram (inner frame + ${VXLAN_IPV4_OVERHEAD}) larger than this is not sent (txDropMtu); set the VMs' MTU to ${DEFAULT_UNDERLAY_MTU - VXLAN_IPV4_OVERHEAD - 14} for a ${DEFAULT_UNDERLAY_MTU}-byte underlay`, default: DEFAULT_UNDERLAY_MTU },
    sourcePorts: { schema: { type: 'string', enum: ['auto', 'flow', 'fixed'] }, doc: '"flow": each flow\'s datagrams leave from a source port of its own (a raw socket: root or CAP_NET_RAW, IPv4), so the receiver\'s RSS spreads them; "fixed": from the local port; "auto": flow where possible', default: 'auto' },
    io: UDP_IO_FIELD,
    maxVteps: { schema: { type: 'integer', min: 1, max: MAX_VTEPS, doc: 'VTEPs' }, doc: 'remote VTEPs this uplink remembers (flood list, static and learned); datagrams from further ones are taken but their MACs are learned toward the flood list (tableFull)', default: DEFAULT_MAX_VTEPS },
    rateMbps: { schema: { type: 'integer', min: 1, max: 400000, doc: 'Mb/s' }, doc: 'emulate a physical access link of this rate in both directions (the NIC\'s line rate out, the top-of-rack port in): frames wait in a drop-tail queue and leave as a token bucket allows, each charged its bytes on the wire (inner frame + 74: encapsulation, FCS, preamble, gap); needs workers = 1. Absent: no emulated link' },
    queueBytes: { schema: { type: 'integer', min: 4096, max: 1 << 28, doc: 'bytes' }, doc: 'the emulated link\'s queue in each direction (bytes on the wire); frames it has no room for are dropped (rxDropQueue, txDropQueue)', default: DEFAULT_QUEUE_BYTES },
    ecnMarkBytes: { schema: { type: 'integer', min: 0, max: 1 << 28, doc: 'bytes' }, doc: 'the emulated link marks ECN-capable IP packets Congestion Experienced when they join a queue holding more than this; 0: never', default: 0 },
    guarantees: { schema: { type: 'object', fields: {
      lineMbps: { schema: { type: 'integer', min: 1, max: 400000, doc: 'Mb/s' }, doc: 'this host\'s line rate: a pair\'s rate until its receiver\'s host grants one (default: rateMbps)' },
      floorMbps: { schema: { type: 'integer', min: 1, max: 400000, doc: 'Mb/s' }, doc: 'the rate a pair falls back to, halving, when notices stop coming (never lower), unless its VM has a guarantee (its port\'s qos.minMbps): then that', default: 10 },
      burstUs: { schema: { type: 'integer', min: 1, max: 1_000_000, doc: 'µs' }, doc: 'a pair limiter\'s burst: this long at its rate (at least two of the largest frames)', default: 1000 },
      queueBytes: { schema: { type: 'integer', min: 4096, max: 1 << 28, doc: 'bytes' }, doc: 'each pair limiter\'s queue, per datapath thread (a frame it has no room for: txDropQueue)', default: DEFAULT_PAIR_QUEUE_BYTES },
      ecnMarkBytes: { schema: { type: 'integer', min: 0, max: 1 << 28, doc: 'bytes' }, doc: 'a pair limiter marks ECN-capable IP packets Congestion Experienced when its queue holds more than this (0: never): an ECN TCP backs off before the queue drops', default: DEFAULT_PAIR_ECN_BYTES },
      maxPairs: { schema: { type: 'integer', min: 2, max: 1 << 20, doc: 'pairs', powerOfTwo: true }, doc: '(source VM, destination VM) pairs limited at once; a further pair\'s frames go unlimited (pairsFull)', default: DEFAULT_MAX_PAIRS },
      key: { schema: { type: 'string', check: (k) => (/^([0-9a-f]{2}){16,64}$/i.test(k) ? null : 'must be 16 to 64 bytes in hex') }, doc: 'shared HMAC-SHA256 key of the hosts (hex): notices without a valid HMAC are refused (badAuth), and notices sent carry one' },
      downlinkMbps: { schema: { type: 'integer', min: 1, max: 400000, doc: 'Mb/s' }, doc: 'receiving side: the downlink\'s rate C the VMs share (default: rateMbps, else lineMbps)' },
      gammaPercent: { schema: { type: 'integer', min: 50, max: 100, doc: '%' }, doc: 'receiving side: target utilisation γ; congestion starts at 90% of γC', default: 95 },
      intervalUs: { schema: { type: 'integer', min: 50, max: 100000, doc: 'µs' }, doc: 'receiving side: the control interval (arrival rates, shares, grants). Default: 200 µs, or the time 20 full-size frames take at the downlink\'s rate if longer (a rate measured over fewer frames swings between 0 and twice the truth, and RCP\'s grant drifts down on such noise: measured at 100 Mb/s, a TCP tenant got 32.5 Mb/s with 200 µs, 41.4 with 2 ms)' },
    } }, doc: 'predictable bandwidth, both sides. Receiving: frames arriving for each VM are counted after the access link\'s queue, shares of γC are computed by the ports\' qos.weight/minMbps, and each sending pair is told its VM\'s grant in rate notices (at most 0.5% of the data bytes). Sending: frames to each remote VM wait in a (source VM, destination VM) limiter whose rate the destination\'s host grants with rate notices on this socket (docs/qos.md); taken only from the flood list\'s and static entries\' VTEPs. Needs the native I/O path' },
  },
  check(e, bad, taken) {
    const v = e as VxlanConfig;
    if (v.rateMbps === undefined && (v.ecnMarkBytes ?? 0) !== 0) bad('ecnMarkBytes', 'marks on an emulated link: set rateMbps too');
    if (v.rateMbps !== undefined && (v.ecnMarkBytes ?? 0) >= (v.queueBytes ?? DEFAULT_QUEUE_BYTES)) bad('ecnMarkBytes', 'must be below queueBytes, or 0');
    if (!v.local) bad('local', 'is required for a vxlan endpoint');
    if ((v.vni === undefined) === (v.vnis === undefined)) bad('vni', 'give either vni (one network) or vnis (several, mapped to VLANs)');
    if (!v.remotes) bad('remotes', 'is required for a vxlan endpoint (at least one VTEP)');
    if (v.vnis) {
      const seen = new Set<number>(), vlans = new Set<number>();
      v.vnis.forEach((m, i) => {
        if (seen.has(m.vni)) bad(`vnis[${i}].vni`, `${m.vni} is mapped twice`);
        if (vlans.has(m.vlan)) bad(`vnis[${i}].vlan`, `VLAN ${m.vlan} is mapped to two VNIs`);
        seen.add(m.vni); vlans.add(m.vlan);
      });
      (v.static ?? []).forEach((s, i) => { if (s.vni === undefined || !seen.has(s.vni)) bad(`static[${i}].vni`, 'must be one of the vnis'); });
    } else (v.static ?? []).forEach((s, i) => { if (s.vni !== undefined && s.vni !== v.vni) bad(`static[${i}].vni`, `must be the uplink's vni ${v.vni}`); });
    if (v.guarantees && v.guarantees.lineMbps === undefined && v.rateMbps === undefined) bad('guarantees.lineMbps', 'is required without rateMbps (the line rate a pair starts at)');
    if (v.guarantees && v.io === 'dgram') bad('guarantees', 'needs the native I/O path (io "dgram" has no datapath thread to pace the limiters)');
    if (v.local && taken.has(v.local)) bad('local', `${v.local} is already used by another port`);
    if ((v.static?.length ?? 0) + (v.remotes?.length ?? 0) > (v.maxVteps ?? DEFAULT_MAX_VTEPS)) bad('maxVteps', 'is smaller than the VTEPs configured');
    taken.add(v.local);
  },
  create(e) {
    const v = e as VxlanConfig, local = parseHostPort(v.local)!, g = v.guarantees, down = g ? g.downlinkMbps ?? v.rateMbps ?? g.lineMbps! : 0;
    const vnis = v.vnis ? v.vnis.map((m) => m.vni) : [v.vni!];
    const net = new VxlanNetwork({
      local, remotes: v.remotes.map((r) => vtepOf(r, local.port)), vnis, vlans: v.vnis ? v.vnis.map((m) => m.vlan) : [],
      statics: (v.static ?? []).map((s) => ({ mac: parseMac(s.mac)!, vtep: vtepOf(s.vtep, local.port), vni: s.vni ?? vnis[0] })),
      mtu: v.underlayMtu ?? DEFAULT_UNDERLAY_MTU, sourcePorts: v.sourcePorts ?? 'auto', maxVteps: v.maxVteps ?? DEFAULT_MAX_VTEPS, bufferBytes: DEFAULT_SOCKET_BUFFER,
      rateMbps: v.rateMbps ?? 0, queueBytes: v.queueBytes ?? DEFAULT_QUEUE_BYTES, ecnMarkBytes: v.ecnMarkBytes ?? 0,
      guarantees: g === undefined ? null : {
        lineKbps: (g.lineMbps ?? v.rateMbps!) * 1000, floorKbps: (g.floorMbps ?? 10) * 1000, burstUs: g.burstUs ?? 1000, queueBytes: g.queueBytes ?? DEFAULT_PAIR_QUEUE_BYTES, ecnBytes: g.ecnMarkBytes ?? DEFAULT_PAIR_ECN_BYTES,
        maxPairs: g.maxPairs ?? DEFAULT_MAX_PAIRS, key: g.key ? g.key.match(/../g)!.map((x) => parseInt(x, 16)) : null,
        downlinkKbps: down * 1000, gamma: (g.gammaPercent ?? 95) / 100, intervalUs: g.intervalUs ?? controlInterval(down),
      },
    });
    return vxlanEndpoint(net, v.io ?? 'auto');
  },
  attach(e) {
    const v = e as VxlanConfig, link = v.rateMbps ? `, access link ${v.rateMbps} Mb/s with a ${v.queueBytes ?? DEFAULT_QUEUE_BYTES}-byte queue each way` : '';
    return `vxlan listen ${v.local}, VNI ${v.vni ?? v.vnis!.map((m) => `${m.vni}=VLAN ${m.vlan}`).join(', ')}, flood to ${v.remotes.join(', ')}${link}`;
  },
  example(e) {
    const v = e as VxlanConfig, l = parseHostPort(v.local)!, r = vtepOf(v.remotes[0], l.port), vni = v.vni ?? v.vnis![0].vni;
    return ['a Linux host joins this network with:',
      `  ip link add vx${vni} type vxlan id ${vni} dstport ${l.port} local ${r.host} remote ${l.host} && ip link set vx${vni} up`];
  },
};
