// Endpoint: where a port's frames come from and go to (a UDP socket, a tap, an interface, a
// VXLAN uplink, memory). An endpoint knows nothing of rules or queues. It hands received frames to its PortIo
// — a copy of the bytes (receive), or slots it filled itself (receiveBurst) — which counts
// them once for every kind (port-io.ts); it sends bursts of handles it is given and reports
// each one done exactly once. Kinds are registered with their configuration in registry.ts.

import { CounterBlock } from '../counters.js';
import { PacketPool } from '../nic/pool.js';
import type { ShaperReport } from '../qos/link-shaper.js';
import type { WatchReport } from '../qos/downlink-watch.js';
import type { LinkShare } from './link.js';
import type { Controller } from '../controllers/control-tick.js';

/** Counters every port has, one row per port. Written by the thread that owns the pool. */
export const PORT_COUNTERS = [
  'rxPackets', 'rxBytes', 'rxDropPoolEmpty', 'rxDropOversize', 'rxDropStopping', 'rxKernelDrops', 'rxErrors',
  'txPackets', 'txBytes', 'txErrors', 'txDropPoolEmpty', 'peerUnreachable', 'txDropPeerDown', 'txDropLinkDown',
  'rxGsoFrames', 'rxGsoSegments', 'txGsoFrames', 'txDropOffload', 'linkLost', 'linkRestored', 'rxDropEncap', 'txDropMtu', 'rxDropQueue', 'txDropQueue',
] as const;

/** The `err` an endpoint reports for a frame it did not send because its peer is known gone. */
export const PEER_DOWN = 'peerDown';
/** The `err` for a frame not sent because the port's link is down (a tap nobody brought up). */
export const LINK_DOWN = 'linkDown';
/** The `err` for a frame too large for the port's MTU once encapsulated (a tunnel uplink). */
export const TOO_BIG = 'tooBig';
/** The `err` for a frame the port's emulated link had no queue room for (a shaped uplink). */
export const QUEUE_FULL = 'queueFull';

/** What the dataplane gives an endpoint. */
export interface PortIo {
  readonly port: number;
  readonly pool: PacketPool;
  readonly counters: CounterBlock<typeof PORT_COUNTERS>;
  /**
   * A frame arrived: copy data[off .. off+len) into a slot and hand it to the switch. Counted
   * here: rxPackets and rxBytes, or why it was dropped (rxDropStopping, rxDropPoolEmpty,
   * rxDropOversize). False when dropped.
   */
  receive(data: Uint8Array, off: number, len: number): boolean;
  /**
   * Frames the endpoint read into slots itself (pool.len set): hand handles[0..n) to the
   * switch, counted as received; a frame longer than a slot holds (cut by the kernel) is
   * counted as rxDropOversize and freed.
   */
  receiveBurst(handles: Int32Array, n: number): void;
  /**
   * A send of h finished (err: errno name, or null; PEER_DOWN: not sent, the peer is known
   * gone — counted as txDropPeerDown; LINK_DOWN: the link is down — txDropLinkDown; TOO_BIG:
   * larger than the uplink's MTU once encapsulated — txDropMtu; QUEUE_FULL: the emulated link's
   * queue was full — txDropQueue); releases the handle.
   */
  sent(h: number, err: string | null): void;
}

export interface Endpoint {
  readonly kind: string;
  /** Describe where it listens and sends, for humans. */
  describe(): string;
  start(io: PortIo): Promise<void>;
  /** Send the frames in slots handles[0..n); call io.sent(h, …) exactly once for each. tunnels[i]: frame i's remote VTEP + 1 (0: the flood list), read by tunnel uplinks only. */
  sendBurst(handles: Int32Array, n: number, tunnels?: Int32Array): void;
  /** Datagrams the kernel dropped for a full receive buffer, or -1 (unknown / not a socket). */
  kernelDrops?(): number;
  /** Sends started but not yet reported done. */
  readonly inFlight: number;
  close(): Promise<void>;
  /** The I/O path it uses, for `sluice run`'s port list (e.g. "native recvmmsg/sendmmsg", "Node dgram"). */
  readonly ioPath?: string;
  /** Native endpoints: open the descriptors (before the datapath threads start; start() opens them if not yet). */
  open?(): void;
  /** Native endpoints, once open: their descriptors as links any thread can run (link.ts), for port number `port`. */
  links?(port: number): LinkShare[];
  /** It takes GSO frames and partial checksums as they come (a vnet-header tap). */
  readonly takesGso?: boolean;
  /** Offloads: turn them on (why === '') or keep them off for the reason given (after open, before start). */
  setOffloads?(why: string): void;
  /**
   * Ports on an interface sluice does not own (netdev): look whether it went away or came
   * back, and attach again when it did; what happened since the last look ('replaced': both).
   */
  watchLink?(): 'same' | 'lost' | 'restored' | 'replaced';
  /** Controllers the switch's control tick runs for this port (a tunnel's pair aging), named after `port`. */
  controllers?(port: string): Controller[];
  /** A tunnel uplink carrying several virtual networks: the VLANs its port carries as a trunk (one per network). */
  readonly trunkVlans?: number[];
  /** A tunnel uplink's static remote MACs (vlan null: the port's own VLAN; tunnel: VTEP index + 1), installed in the MAC table at build. */
  readonly staticRemotes?: readonly { vlan: number | null; mac: Uint8Array; tunnel: number }[];
  /** A tunnel uplink: its remote VTEPs with their counters, datagrams from VTEPs that found its table full, and its emulated access link (if any). */
  tunnels?(): { vteps: { address: string; flood: boolean; counters: Record<string, number> }[]; tableFull: number; link?: { rx: ShaperReport; tx: ShaperReport }; notices?: Record<string, number>; watch?: WatchReport; limiters?: { vni: number; sender: string; receiver: string; rateMbps: number }[]; limitersFull?: number };
}
