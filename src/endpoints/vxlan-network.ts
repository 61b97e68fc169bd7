// VxlanNetwork: what both I/O paths of the vxlan endpoint kind share (vxlan.ts: native;
// vxlan-dgram.ts: Node dgram): the options, the VTEP table with the flood list and the static
// entries' VTEPs, the port's VLAN mode (a trunk of the mapped VLANs with several VNIs), the
// emulated access link's stats, the tunnel as a thread sees it (TunnelShare), and reports.

import ipaddr from 'ipaddr.js';
import { LinkShape, ShapeSpec, TunnelQos, TunnelShare } from './link.js';
import { listPairs, PairTable } from '../qos/pair-table.js';
import { INTAKE_COUNTERS } from '../qos/notice-intake.js';
import { PORT_STATS, WATCH_STATS, WatchReport, watchReport } from '../qos/downlink-watch.js';

/** Ports a switch has at most (the configuration's limit): the receiving side's stats have a row for each. */
const MAX_PORTS = 256;
import { MIN_INNER, WIRE_OVERHEAD } from './vxlan-codec.js';
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
  /** Predictable bandwidth's sending side (per-pair limiters, rate notices), or null. */
  guarantees: { lineKbps: number; floorKbps: number; burstUs: number; queueBytes: number; ecnBytes: number; maxPairs: number; key: number[] | null; downlinkKbps: number; gamma: number; intervalUs: number } | null;
}

/** A tunnel uplink's report: remote VTEPs, datagrams from VTEPs its table was full for, its access link, the rate notices it took and refused. */
export interface TunnelReport { vteps: VtepReport[]; tableFull: number; link?: { rx: ShaperReport; tx: ShaperReport }; notices?: Record<string, number>; watch?: WatchReport; limiters?: PairReport[]; /** Frames sent unlimited: their pair found the limiter table full. */ limitersFull?: number }
/** A sending pair's limiter: its VNI, the two VMs and the rate granted. */
export interface PairReport { vni: number; sender: string; receiver: string; rateMbps: number }

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
  /** The emulated access link, both directions (null: none). */
  readonly shape: LinkShape | null;
  /** Predictable bandwidth's sending side as every thread sees it (null: off). */
  readonly qos: TunnelQos | null;

  constructor(o: VxlanOptions) {
    this.o = o;
    this.vteps = new VtepTable(o.maxVteps);
    for (const r of o.remotes) this.vteps.add(record(r), true);
    this.staticRemotes = o.statics.map((s) => ({ vlan: o.vlans.length ? o.vlans[o.vnis.indexOf(s.vni)] : null, mac: s.mac, tunnel: this.vteps.add(record(s.vtep), false) + 1 }));
    this.trunkVlans = o.vlans.length ? o.vlans : undefined;
    // One thread runs it (workers = 1), so no shared bucket; it was busy through a stall of that thread (catchUp).
    const spec = (): ShapeSpec => ({ rateMbps: o.rateMbps, queueBytes: o.queueBytes, overhead: WIRE_OVERHEAD, ecnBytes: o.ecnMarkBytes, burstUs: 100, catchUp: true, minFrame: MIN_INNER, stats: [LinkShaper.newStats(true)], bucket: null });
    this.shape = o.rateMbps > 0 ? { rx: spec(), tx: spec() } : null;
    const g = o.guarantees;
    // Notices are taken from the VTEPs configured now (flood list, statics): indices 0..count-1.
    this.qos = g === null ? null : {
      pairs: new PairTable(g.maxPairs).shared(), lineKbps: g.lineKbps, floorKbps: g.floorKbps, floorsKbps: [], burstUs: g.burstUs, queueBytes: g.queueBytes, ecnBytes: g.ecnBytes, key: g.key,
      peers: this.vteps.count, counters: new Float64Array(new SharedArrayBuffer(INTAKE_COUNTERS.length * 8)),
      watch: { weights: [], downlinkKbps: g.downlinkKbps, gamma: g.gamma, intervalUs: g.intervalUs, stats: new Float64Array(new SharedArrayBuffer((WATCH_STATS.length + PORT_STATS * MAX_PORTS) * 8)) },
    };
  }

  describe(): string {
    const o = this.o, nets = o.vlans.length ? o.vnis.map((v, i) => `${v}=vlan ${o.vlans[i]}`).join(', ') : String(o.vnis[0]);
    return `vxlan ${o.local.host}:${o.local.port} vni ${nets} flood ${o.remotes.map((r) => `${r.host}:${r.port}`).join(', ')}`;
  }

  /** Remote VTEPs with their counters, datagrams from VTEPs that found the table full, and the emulated access link's two directions. */
  tunnels(): TunnelReport {
    const o = this.o, sh = this.shape, link = sh ? { rx: LinkShaper.report(o.rateMbps, o.queueBytes, sh.rx!.stats[0]), tx: LinkShaper.report(o.rateMbps, o.queueBytes, sh.tx!.stats[0]) } : undefined;
    const q = this.qos, notices = q ? Object.fromEntries(INTAKE_COUNTERS.map((k, i) => [k, q.counters[i]])) : undefined;
    const watch = q ? watchReport(q.watch.stats, q.watch.weights.length) : undefined;
    const pairs = q ? new PairTable(q.pairs) : null, limiters = pairs ? listPairs(pairs) : undefined;
    return { vteps: this.vteps.report(), tableFull: this.vteps.full, ...(link ? { link } : {}), ...(notices ? { notices } : {}), ...(watch ? { watch } : {}), ...(limiters ? { limiters, limitersFull: pairs!.full } : {}) };
  }

  /** The tunnel as a thread runs it, sending from raw socket `rawFd` (-1: the UDP socket). */
  tunnelShare(rawFd: number): TunnelShare {
    const o = this.o, ip = ipaddr.parse(o.local.host);
    return {
      vteps: this.vteps.shared(), vnis: o.vnis, vlans: o.vlans, rawFd,
      local: ip.kind() === 'ipv4' ? ip.toByteArray() : [0, 0, 0, 0], dstPort: o.local.port,
      srcPortMin: VXLAN_SRC_PORT_MIN, srcPortMax: VXLAN_SRC_PORT_MAX, mtu: o.mtu, qos: this.qos,
    };
  }
}
