// Built-in "port-mirror" (capture): sends a copy of the traffic of some ports to another port
// (a monitoring VM or an analyser), as a switch's SPAN port does. Copies leave the
// destination port exactly as they were received (tags untouched).
// Configuration: { name?: string, source: [port names], destination: "<port>",
//   direction?: "both" | "received" | "sent" } — "received": frames the source ports send into
// the switch; "sent": frames the switch sends out of them; default both.
// A copy is made only of frames the switch forwards.
import type { EgressBatch, ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { portFlags, portIndex } from './common.js';

interface Config { name?: string; source?: string[]; destination?: string; direction?: 'both' | 'received' | 'sent' }

function check(config: Config, ports: readonly string[], name: string) {
  if (!Array.isArray(config.source) || config.source.length === 0) throw new Error(`${name}: config.source must be a non-empty list of port names`);
  const dir = config.direction ?? 'both';
  if (!['both', 'received', 'sent'].includes(dir)) throw new Error(`${name}: config.direction must be "both", "received" or "sent"`);
  const dest = portIndex(config.destination, ports, name, 'destination');
  const src = portFlags(config.source, ports, name, 'source');
  if (src[dest]) throw new Error(`${name}: the destination ${config.destination} cannot also be a source`);
  return { src, dest, received: dir !== 'sent', sent: dir !== 'received' };
}

export default function portMirror(config: Config = {}): ExtensionDefinition {
  const name = config.name ?? 'port-mirror';
  return {
    name, kind: 'capture',
    start(ctx) { check(config, ctx.ports, name); },
    datapath(ctx) {
      const m = check(config, ctx.ports, name);
      return {
        ingress: m.received ? (b: IngressBatch) => { for (let j = 0; j < b.count; j++) if (m.src[b.inPort(j)]) b.mirror(j, m.dest); } : undefined,
        egress: m.sent ? (b: EgressBatch) => { for (let j = 0; j < b.count; j++) if (m.src[b.outPort(j)]) b.mirror(j, m.dest); } : undefined,
      };
    },
  };
}
