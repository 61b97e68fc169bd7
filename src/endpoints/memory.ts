// MemoryEndpoint: frames injected by code, frames sent kept in memory (or only counted).
// For tests and benchmarks: same port, NIC and pipeline path as a socket, no syscalls.

import { Endpoint, PortIo } from './endpoint.js';
import { EndpointKind } from './registry.js';

export class MemoryEndpoint implements Endpoint {
  readonly kind = 'memory';
  private io: PortIo | null = null;
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

  /** Receive one frame as if from the wire; false when it was dropped at the port. */
  inject(frame: Uint8Array, off = 0, len = frame.length - off): boolean {
    if (!this.io) throw new Error('memory endpoint not started');
    return this.io.receive(frame, off, len);
  }

  sendBurst(handles: Int32Array, n: number): void {
    const io = this.io!;
    for (let i = 0; i < n; i++) {
      const h = handles[i];
      this.sentCount++;
      if (this.sentFrames.length < this.keep) { this.sentFrames.push(io.pool.frame(h)); this.sentRateClasses.push(io.pool.rateClass[h]); }
      io.sent(h, null);
    }
  }

  /** Take and clear the kept frames. */
  take(): Uint8Array[] { this.sentRateClasses.length = 0; return this.sentFrames.splice(0); }
  async close(): Promise<void> { this.io = null; }
}

/** The `memory` endpoint kind: frames only from code (tests, replay), sent frames kept. */
export const MEMORY_KIND: EndpointKind = {
  type: 'memory',
  doc: 'frames injected by code and kept in memory (tests, replay)',
  fields: {},
  create: () => new MemoryEndpoint(),
  attach: () => 'memory (frames only from code: tests, replay)',
};
