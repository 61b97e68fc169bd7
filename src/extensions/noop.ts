// Built-in "noop": an extension that looks at every packet and changes nothing. For
// benchmarks (the cost of the extension mechanism itself) and as the smallest example of the
// contract. Configuration: { name?: string, kind?: "capture" | "filter" | "forward",
// cacheable?: boolean } — a factory, so it can be bound several times.
import type { ExtensionDefinition, ExtensionKind, IngressBatch, EgressBatch } from '../vswitch/ext/api.js';

interface NoopConfig { name?: string; kind?: ExtensionKind; cacheable?: boolean }

export default function noop(config: NoopConfig = {}): ExtensionDefinition {
  return {
    name: config.name ?? 'noop',
    kind: config.kind ?? 'filter',
    cacheable: config.cacheable === true,
    datapath: () => {
      let seen = 0;
      return {
        // Read each packet's length: the least an extension that inspects packets does.
        ingress(b: IngressBatch) { for (let j = 0; j < b.count; j++) seen += b.pool.len[b.handle(j)]; },
        egress(b: EgressBatch) { for (let j = 0; j < b.count; j++) seen += b.outPort(j); },
        get seen() { return seen; },
      } as never;
    },
  };
}
