// LinkWatch: looks every second at the ports whose interface sluice does not own (netdev
// endpoints: watchLink) and counts what happened on the port: linkLost when the interface
// went away, linkRestored when it came back and the port attached to it again.

import { Controller } from './control-tick.js';
import { CounterBlock } from '../counters.js';
import { Endpoint, PORT_COUNTERS } from '../endpoints/endpoint.js';

const EVERY_US = 1e6;

export class LinkWatch implements Controller {
  readonly name = 'link-watch';
  private readonly ports: { i: number; ep: Endpoint }[];
  private readonly counters: CounterBlock<typeof PORT_COUNTERS>;
  private next = -1;

  constructor(endpoints: readonly Endpoint[], counters: CounterBlock<typeof PORT_COUNTERS>) {
    this.ports = endpoints.map((ep, i) => ({ i, ep })).filter((p) => p.ep.watchLink !== undefined);
    this.counters = counters;
  }

  /** Is there anything to watch? */
  get watching(): boolean { return this.ports.length !== 0; }

  tick(nowUs: number): void {
    if (this.next >= 0 && nowUs < this.next) return;
    this.next = nowUs + EVERY_US;
    const c = this.counters;
    for (const { i, ep } of this.ports) {
      const what = ep.watchLink!();
      if (what === 'lost' || what === 'replaced') c.values[c.slot('linkLost', i)]++;
      if (what === 'restored' || what === 'replaced') c.values[c.slot('linkRestored', i)]++;
    }
  }
}
