// VxlanNetwork: what both I/O paths of the vxlan endpoint kind share (vxlan.ts: native;
// vxlan-dgram.ts: Node dgram): the options, the VTEP table with the flood list and the static
// entries' VTEPs, the port's VLAN mode (a trunk of the mapped VLANs with several VNIs), the
// emulated access link's stats, the tunnel as a thread sees it (TunnelShare), and reports.

import ipaddr from 'ipaddr.js';
import { TunnelShare } from './link.js';
import { HostPort } from './host-port.js';
import { VtepReport, VtepTable } from './vtep-table.js';
import { ADDR_REC } from '../native/io.js';
import { LinkShaper, ShaperReport } from '../qos/link-shaper.js';
import { VXLAN_SRC_PORT_MAX, VXLAN_SRC_PORT_MIN } from '../wire/vxlan.js';

/** The underlay's MTU when none is configured (Ethernet). */
export const DEFAULT_UNDERLAY_MTU = 1500;

export interface VxlanOptions {
  local: HostPort;
  /** The flood list: address and destination port of each VTEP. */
  remotes: HostPort[];
  /** VNIs carried; vlans[i] is vnis[i]'s VLAN, or empty: one VNI, untagged. */
  vnis: number[];
  vlans: number[];
  statics: { mac: Uint8Array; vtep: HostPort; vni: number }[];
  mtu: number;
  sourcePorts: 'auto' | 'flow' | 'fixed';
  maxVteps: number;
  bufferBytes: number;
  /** The emulated access link: rate (Mb/s; 0: none), queue and ECN threshold (bytes on the wire; 0: no marking). */
  rateMbps: number;
  queueBytes: number;
  ecnMarkBytes: number;
}

/** A static entry as the switch installs it: the MAC behind VTEP tunnel - 1, in `vlan` (null: the port's own VLAN). */
export interface StaticRemote { vlan: number | null; mac: Uint8Array; tunnel: number }

/** An address record (native/io.ts) for a VTEP. */
function record(h: HostPort): Uint8Array {
  const r = new Uint8Array(ADDR_REC), ip = ipaddr.parse(h.host);
  r[0] = ip.kind() === 'ipv6' ? 6 : 4;
  r[2] = h.port >> 8; r[3] = h.port & 0xff;
  r.set(ip.toByteArray(), 4);
  return r;
}

export class VxlanNetwork {
  readonly o: VxlanOptions;
  readonly vteps: VtepTable;
  /** The VLANs the port carries as a trunk (one per VNI), or undefined: an access port. */
  readonly trunkVlans: number[] | undefined;
  readonly staticRemotes: StaticRemote[];
  private readonly rxStats: Float64Array | null;
  private readonly txStats: Float64Array | null;

  constructor(o: VxlanOptions) {
    this.o = o;
    this.vteps = new VtepTable(o.maxVteps);
    for (const r of o.remotes) this.vteps.add(record(r), true);
    this.staticRemotes = o.statics.map((s) => ({ vlan: o.vlans.length ? o.vlans[o.vnis.indexOf(s.vni)] : null, mac: s.mac, tunnel: this.vteps.add(record(s.vtep), false) + 1 }));
    this.trunkVlans = o.vlans.length ? o.vlans : undefined;
    this.rxStats = o.rateMbps > 0 ? LinkShaper.newStats(true) : null;
    this.txStats = o.rateMbps > 0 ? LinkShaper.newStats(true) : null;
  }

  describe(): string {
    const o = this.o, nets = o.vlans.length ? o.vnis.map((v, i) => `${v}=vlan ${o.vlans[i]}`).join(', ') : String(o.vnis[0]);
    return `vxlan ${o.local.host}:${o.local.port} vni ${nets} flood ${o.remotes.map((r) => `${r.host}:${r.port}`).join(', ')}`;
  }

  /** Remote VTEPs with their counters, datagrams from VTEPs that found the table full, and the emulated access link's two directions. */
  tunnels(): { vteps: VtepReport[]; tableFull: number; link?: { rx: ShaperReport; tx: ShaperReport } } {
    const o = this.o, link = this.rxStats && this.txStats ? { rx: LinkShaper.report(o.rateMbps, o.queueBytes, this.rxStats), tx: LinkShaper.report(o.rateMbps, o.queueBytes, this.txStats) } : undefined;
    return { vteps: this.vteps.report(), tableFull: this.vteps.full, ...(link ? { link } : {}) };
  }

  /** The tunnel as a thread runs it, sending from raw socket `rawFd` (-1: the UDP socket). */
  tunnelShare(rawFd: number): TunnelShare {
    const o = this.o, ip = ipaddr.parse(o.local.host);
    return {
      vteps: this.vteps.shared(), vnis: o.vnis, vlans: o.vlans, rawFd,
      local: ip.kind() === 'ipv4' ? ip.toByteArray() : [0, 0, 0, 0], dstPort: o.local.port,
      srcPortMin: VXLAN_SRC_PORT_MIN, srcPortMax: VXLAN_SRC_PORT_MAX, mtu: o.mtu,
      shape: this.rxStats && this.txStats ? { rateMbps: o.rateMbps, queueBytes: o.queueBytes, ecnBytes: o.ecnMarkBytes, rxStats: this.rxStats, txStats: this.txStats } : null,
    };
  }
}
