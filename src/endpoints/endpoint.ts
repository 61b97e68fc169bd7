// Endpoint: where a port's frames come from and go to (a UDP socket, memory, later tap,
// VXLAN, pcap). An endpoint knows nothing of rules or queues: it copies each received frame
// into a pool slot and hands the handle to its PortIo; it sends handles it is given and
// reports each one done exactly once.

import { CounterBlock } from '../counters.js';
import { PacketPool } from '../nic/pool.js';

/** Counters every port has, one row per port. Written by the thread that owns the pool. */
export const PORT_COUNTERS = [
  'rxPackets', 'rxBytes', 'rxDropPoolEmpty', 'rxDropOversize', 'rxDropStopping', 'rxKernelDrops',
  'txPackets', 'txBytes', 'txErrors', 'txDropPoolEmpty', 'peerUnreachable', 'txDropPeerDown',
] as const;

/** The `err` an endpoint reports for a frame it did not send because its peer is known gone. */
export const PEER_DOWN = 'peerDown';

/** What the dataplane gives an endpoint. */
export interface PortIo {
  readonly port: number;
  readonly pool: PacketPool;
  readonly counters: CounterBlock<typeof PORT_COUNTERS>;
  /** Hand a filled slot to the NIC. */
  receive(h: number): void;
  /**
   * A send of h finished (err: errno name, or null; PEER_DOWN: not sent, the peer is known
   * gone — counted as txDropPeerDown); release the handle.
   */
  sent(h: number, err: string | null): void;
}

export interface Endpoint {
  readonly kind: string;
  /** Describe where it listens and sends, for humans. */
  describe(): string;
  start(io: PortIo): Promise<void>;
  /** Stop taking new frames (they are counted as rxDropStopping). */
  quiesce(): void;
  /** Send the frame in slot h; call io.sent(h, …) exactly once. */
  send(h: number): void;
  /** Datagrams the kernel dropped for a full receive buffer, or -1 (unknown / not a socket). */
  kernelDrops?(): number;
  /** Sends started but not yet reported done. */
  readonly inFlight: number;
  close(): Promise<void>;
}
