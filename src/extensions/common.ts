// Helpers shared by the built-in extensions: port selection by name, and the guard filter
// (a VM on a guarded port may not send some kind of frame).
import type { DropReason, ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import type { FlowKeys } from '../wire/flow-key.js';

/** Flags per port index: the ports named in `names` (all ports when names is undefined). Throws naming a bad name. */
export function portFlags(names: unknown, ports: readonly string[], ext: string, field = 'ports'): Uint8Array {
  const flags = new Uint8Array(ports.length);
  if (names === undefined) { flags.fill(1); return flags; }
  if (!Array.isArray(names)) throw new Error(`${ext}: config.${field} must be a list of port names`);
  for (const n of names) {
    const p = ports.indexOf(String(n));
    if (p < 0) throw new Error(`${ext}: config.${field}: unknown port ${JSON.stringify(n)} (ports: ${ports.join(', ')})`);
    flags[p] = 1;
  }
  return flags;
}

export function portIndex(name: unknown, ports: readonly string[], ext: string, field: string): number {
  const p = ports.indexOf(String(name));
  if (p < 0) throw new Error(`${ext}: config.${field}: unknown port ${JSON.stringify(name)} (ports: ${ports.join(', ')})`);
  return p;
}

/**
 * A flow-cacheable filter that drops, on the ports named in config.ports (default: every
 * port), each frame `verdict` names a drop reason for (null: let it pass). Configuration:
 * { name?: string, ports?: [port names] }.
 */
export function portGuard(config: { name?: string; ports?: string[] }, defaultName: string, dropReasons: string[],
  verdict: (k: FlowKeys, h: number) => DropReason | null): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? defaultName;
  return {
    name, kind: 'filter', cacheable: true, flowFields: [], dropReasons,
    start(ctx) { portFlags(config.ports, ctx.ports, name); },
    datapath(ctx) {
      const guarded = portFlags(config.ports, ctx.ports, name);
      return {
        ingress(b: IngressBatch) {
          const k = b.keys;
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            if (!guarded[k.inPort[h]]) continue;
            const why = verdict(k, h);
            if (why !== null) b.drop(j, why);
          }
        },
      };
    },
  };
}
