// PortLink: the data side of a native endpoint — a file descriptor, and reading bursts into
// pool slots (pull) and writing bursts from them (sendBurst) through the native module — that
// any thread can run from a plain description (LinkShare), since descriptors belong to the
// process. The endpoint on the main thread opens and closes the descriptor; each datapath
// thread makes its own PortLink over it, with its own PortIo (its own counters), and reads the
// links assigned to it and writes to every native port itself.

import type { VtepShare } from './vtep-table.js';
import type { PairTableShare } from '../qos/pair-table.js';
import type { MacTable } from '../vswitch/mac-table.js';
import type { PortTable } from '../vswitch/port-table.js';


/** What a thread needs to run a native port's I/O (structured-clone safe). */
export interface LinkShare {
  /** 'udp': recvmmsg/sendmmsg (UDP and AF_PACKET sockets); 'tap': readv/writev; 'vxlan': a VXLAN uplink's socket. */
  type: 'udp' | 'tap' | 'vxlan';
  port: number;
  fd: number;
  /** udp anySource: the remote's address record, repeated for a burst; else null. */
  to: Uint8Array | null;
  /** vxlan: the uplink's tunnel (else null). */
  tunnel: TunnelShare | null;
  /** Bytes of virtio-net header before each frame (tap with vnetHdr: 12; AF_PACKET with it: 10; else 0). */
  vnetHdr: number;
  /** Shapers on the link (burst-link.ts), or absent: unshaped. */
  shape?: LinkShape;
}

/**
 * What shapes a link, each direction or null: `rx`, frames read before the switch takes them
 * (what a VM sends; an access link's port toward this host), `tx`, frames written (what a VM
 * receives; a NIC's line rate).
 */
export interface LinkShape { rx: ShapeSpec | null; tx: ShapeSpec | null }

/** One direction's shaper (qos/link-shaper.ts), as every thread that runs the link builds it. */
export interface ShapeSpec {
  rateMbps: number; queueBytes: number; overhead: number; ecnBytes: number; burstUs: number; catchUp: boolean;
  /** The smallest frame (sizes the queue's ring). */
  minFrame: number;
  /** Counters (LinkShaper.newStats(true)), one per datapath thread that may run it: thread w writes stats[w % length]. */
  stats: Float64Array[];
  /** Token state shared by the threads (SharedBucket.create()), or null: one thread runs it (workers = 1). */
  bucket: SharedArrayBuffer | null;
}

/** A VXLAN uplink's tunnel as every thread that runs it sees it (vxlan-link.ts). */
export interface TunnelShare {
  vteps: VtepShare;
  /** The VNIs carried; vlans[i] is vnis[i]'s VLAN, or vlans is empty: one VNI, frames untagged (an access port). */
  vnis: number[];
  vlans: number[];
  /** A raw IPv4 socket to send from (each datagram's source port from its inner flow), or -1: send from the UDP socket (its bound port). */
  rawFd: number;
  /** The local IPv4 address written as the outer source (4 bytes; zeros: the kernel chooses). */
  local: number[];
  /** Source ports for flows (Linux's default: 32768..60999, its ip_local_port_range). */
  srcPortMin: number;
  srcPortMax: number;
  /** The UDP port datagrams go to at a VTEP learned from its datagrams (the uplink's own, as Linux's dstport). */
  dstPort: number;
  /** Largest outer IP datagram (the underlay's MTU). */
  mtu: number;
  /** Per-pair limiters driven by rate notices (predictable bandwidth), or null. */
  qos: TunnelQos | null;
}

/** A tunnel uplink's guarantees, sending side (qos/pair-limiters.ts, qos/notice-intake.ts). */
export interface TunnelQos {
  pairs: PairTableShare;
  /** A pair's rate until its receiver's host grants one (the line rate), and the floor lost notices bring it to, kbit/s. */
  lineKbps: number;
  floorKbps: number;
  /** Per port: its VM's guarantee (qos.minMbps, kbit/s; 0: none), the floor of its pairs instead of floorKbps (set by the dataplane). */
  floorsKbps: number[];
  burstUs: number;
  /** Each pair's queue, per thread, and the depth above which it marks ECN-capable frames CE (0: never). */
  queueBytes: number;
  ecnBytes: number;
  /** The hosts' shared HMAC key (bytes), or null. */
  key: number[] | null;
  /** Configured VTEPs (flood list and static entries) are VTEP indices 0..peers-1: the hosts notices are taken from. */
  peers: number;
  /** INTAKE_COUNTERS, written by the thread that reads the uplink. */
  counters: Float64Array;
  /** The receiving side (qos/downlink-watch.ts): detector weights per port (set by the dataplane from the ports' qos), the downlink's rate, γ, the control interval, and its stats. */
  watch: { weights: number[]; downlinkKbps: number; gamma: number; intervalUs: number; stats: Float64Array };
}

/** The switch's tables as a thread sees them (a tunnel uplink's notice gate asks where VMs are). */
export interface SwitchView { macs: MacTable; ports: PortTable }

export interface PortLink {
  readonly share: LinkShare;
  /** Read up to `budget` waiting frames into pool slots and hand them to io; how many. */
  pull(budget: number): number;
  /** Write handles[0..n); io.sent(h, …) for each, exactly once. tunnels[i]: frame i's remote VTEP + 1 (0: flood list; tunnel uplinks only). */
  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void;
  /** Give the slots kept for receives back to the pool (the descriptor stays open). */
  release(): void;
  /** A shaped link (share.shape): send what its transmit queue may release now; frames moved. (Its receive queue is released by pull.) */
  service(): number;
  /** Microseconds from `nowUs` until a frame waiting in its shapers' queues may leave (0: now), or -1: none waits (how long its thread may sleep). */
  dueIn(nowUs: number): number;
}

/** The sooner of two due times (µs; -1: none). */
export const soonest = (a: number, b: number): number => (a < 0 ? b : b < 0 || a < b ? a : b);
