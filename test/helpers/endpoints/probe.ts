// A kind of endpoint only the tests have ("probe"), registered through the endpoint registry
// exactly as a shipped kind is: frames fed to a probe arrive on its port, frames the switch
// sends it are kept. It fills slots itself (receiveBurst) or hands bytes over (receive).
import { Endpoint, PortIo } from '../../../src/endpoints/endpoint.js';
import { registerEndpoint } from '../../../src/endpoints/registry.js';

/** Started probes by label. */
export const probes = new Map<string, ProbeEndpoint>();

export class ProbeEndpoint implements Endpoint {
  readonly kind = 'probe';
  readonly label: string;
  readonly sent: Uint8Array[] = [];
  closed = false;
  private io: PortIo | null = null;
  readonly inFlight = 0;
  constructor(label: string) { this.label = label; }
  describe(): string { return `probe ${this.label}`; }
  async start(io: PortIo): Promise<void> { this.io = io; probes.set(this.label, this); }

  /** Read frames into slots the probe takes itself, as a native reader would; returns how many it could place. */
  feedBurst(frames: Uint8Array[]): number {
    const io = this.io!, pool = io.pool, hs = new Int32Array(frames.length);
    let n = 0;
    for (const f of frames) {
      const h = pool.alloc();
      if (h < 0) break;
      pool.data.set(f, pool.start(h));
      pool.len[h] = f.length;
      hs[n++] = h;
    }
    io.receiveBurst(hs, n);
    return n;
  }

  /** Hand one frame over as bytes. */
  feed(frame: Uint8Array): boolean { return this.io!.receive(frame, 0, frame.length); }

  sendBurst(handles: Int32Array, n: number): void {
    for (let i = 0; i < n; i++) { this.sent.push(this.io!.pool.frame(handles[i])); this.io!.sent(handles[i], null); }
  }

  async close(): Promise<void> { this.closed = true; probes.delete(this.label); }
}

registerEndpoint({
  type: 'probe',
  doc: 'a test probe',
  fields: { label: { schema: { type: 'string' }, doc: 'which probe (tests find it by this label)' } },
  check(e, bad, taken) {
    if (typeof e.label !== 'string') { bad('label', 'is required for a probe endpoint'); return; }
    if (taken.has(`probe:${e.label}`)) bad('label', `probe ${e.label} is already used by another port`);
    taken.add(`probe:${e.label}`);
  },
  create: (e) => new ProbeEndpoint(e.label as string),
  attach: (e) => `probe ${e.label as string}`,
});
