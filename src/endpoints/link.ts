// PortLink: the data side of a native endpoint — a file descriptor, and reading bursts into
// pool slots (pull) and writing bursts from them (sendBurst) through the native module — that
// any thread can run from a plain description (LinkShare), since descriptors belong to the
// process. The endpoint on the main thread opens and closes the descriptor; each datapath
// thread makes its own PortLink over it, with its own PortIo (its own counters), and reads the
// links assigned to it and writes to every native port itself.


/** What a thread needs to run a native port's I/O (structured-clone safe). */
export interface LinkShare {
  /** 'udp': recvmmsg/sendmmsg (UDP and AF_PACKET sockets); 'tap': readv/writev; 'vxlan': a VXLAN uplink's socket. */
  type: 'udp' | 'tap' | 'vxlan';
  port: number;
  fd: number;
  /** udp anySource: the remote's address record, repeated for a burst; vxlan: one record per VTEP of the flood list; else null. */
  to: Uint8Array | null;
  /** vxlan: the VNI (else 0). */
  vni: number;
  /** Bytes of virtio-net header before each frame (tap with vnetHdr: 12; AF_PACKET with it: 10; else 0). */
  vnetHdr: number;
}

export interface PortLink {
  readonly share: LinkShare;
  /** Read up to `budget` waiting frames into pool slots and hand them to io; how many. */
  pull(budget: number): number;
  /** Write handles[0..n); io.sent(h, …) for each, exactly once. */
  sendBurst(handles: Int32Array, n: number): void;
  /** Give the slots kept for receives back to the pool (the descriptor stays open). */
  release(): void;
}
