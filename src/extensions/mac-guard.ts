// Built-in "mac-guard" (filter): MAC-spoofing guard. A guarded port's VM may send only from
// its own MAC addresses: frames with another source MAC are dropped (spoofedMac), and so are
// ARP messages whose sender hardware address is not one of them (spoofedArp).
// Configuration: { name?: string, ports: { "<port>": ["52:54:00:12:34:01", ...], ... } }.
// Not flow-cacheable: the ARP sender address is not part of the flow key.
import type { ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { parseMac } from '../wire/bytes.js';
import { portIndex } from './common.js';

interface Config { name?: string; ports?: Record<string, string[]> }

// Allowed MACs per port as (hi16 << 32 | lo32) numbers; null: port not guarded.
function allowed(config: Config, ports: readonly string[], name: string): (Set<number> | null)[] {
  const out: (Set<number> | null)[] = ports.map(() => null);
  if (typeof config.ports !== 'object' || config.ports === null) throw new Error(`${name}: config.ports must map port names to lists of MAC addresses`);
  for (const [port, macs] of Object.entries(config.ports)) {
    const p = portIndex(port, ports, name, 'ports');
    if (!Array.isArray(macs) || macs.length === 0) throw new Error(`${name}: config.ports.${port} must be a non-empty list of MAC addresses`);
    out[p] = new Set(macs.map((m) => {
      const b = parseMac(String(m));
      if (!b) throw new Error(`${name}: config.ports.${port}: ${JSON.stringify(m)} is not a MAC address`);
      return ((b[0] << 8) | b[1]) * 2 ** 32 + (((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0);
    }));
  }
  return out;
}

export default function macGuard(config: Config = {}): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? 'mac-guard';
  return {
    name, kind: 'filter', dropReasons: ['spoofedMac', 'spoofedArp'],
    start(ctx) { allowed(config, ctx.ports, name); },
    datapath(ctx) {
      const ok = allowed(config, ctx.ports, name);
      return {
        ingress(b: IngressBatch) {
          const k = b.keys, d = b.pool.data;
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            const set = ok[k.inPort[h]];
            if (set === null) continue;
            if (!set.has(k.srcMacHi[h] * 2 ** 32 + k.srcMacLo[h])) { b.drop(j, 'spoofedMac'); continue; }
            if (k.etherType[h] === 0x0806) {
              const sha = b.pool.start(h) + k.l3Off[h] + 8;
              const v = ((d[sha] << 8) | d[sha + 1]) * 2 ** 32 + (((d[sha + 2] << 24) | (d[sha + 3] << 16) | (d[sha + 4] << 8) | d[sha + 5]) >>> 0);
              if (!set.has(v)) b.drop(j, 'spoofedArp');
            }
          }
        },
      };
    },
  };
}
