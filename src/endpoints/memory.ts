// MemoryEndpoint: frames injected by code, frames sent kept in memory (or only counted).
// For tests and benchmarks: same port, NIC and pipeline path as a socket, no syscalls.

import { Endpoint, PortIo } from './endpoint.js';

export class MemoryEndpoint implements Endpoint {
  readonly kind = 'memory';
  private io: PortIo | null = null;
  private stopping = false;
  /** Copies of sent frames, oldest first, up to `keep`. */
  readonly sentFrames: Uint8Array[] = [];
  /** The pool's rateClass of each kept frame (-1: none), parallel to sentFrames. */
  readonly sentRateClasses: number[] = [];
  readonly keep: number;
  sentCount = 0;
  readonly inFlight = 0;

  constructor(keep = 10000) { this.keep = keep; }

  describe(): string { return 'memory'; }
  async start(io: PortIo): Promise<void> { this.io = io; }
  quiesce(): void { this.stopping = true; }

  /** Receive one frame as if from the wire; false when it was dropped at the port. */
  inject(frame: Uint8Array, off = 0, len = frame.length - off): boolean {
    const io = this.io;
    if (!io) throw new Error('memory endpoint not started');
    const c = io.counters.values, row = io.port * io.counters.names.length, at = io.counters.at;
    if (this.stopping) { c[row + at.rxDropStopping]++; return false; }
    const h = io.pool.allocFrom(frame, off, len);
    if (h === -1) { c[row + at.rxDropPoolEmpty]++; return false; }
    if (h === -2) { c[row + at.rxDropOversize]++; return false; }
    c[row + at.rxPackets]++;
    c[row + at.rxBytes] += len;
    io.receive(h);
    return true;
  }

  send(h: number): void {
    const io = this.io!;
    this.sentCount++;
    if (this.sentFrames.length < this.keep) { this.sentFrames.push(io.pool.frame(h)); this.sentRateClasses.push(io.pool.rateClass[h]); }
    io.sent(h, null);
  }

  /** Take and clear the kept frames. */
  take(): Uint8Array[] { this.sentRateClasses.length = 0; return this.sentFrames.splice(0); }
  async close(): Promise<void> { this.io = null; }
}
