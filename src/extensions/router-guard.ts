// Built-in "router-guard" (filter, flow-cacheable): a VM may not act as a router. On the
// guarded ports, frames from the VM carrying router advertisements or redirects are dropped:
// ICMPv6 type 134 (router advertisement) and 137 (redirect); ICMPv4 type 9 (router
// advertisement) and 5 (redirect).
// Configuration: { name?: string, ports?: [port names] } (default: every port).
// Drop reasons: routerAdvertisement, redirect.
import type { ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { portFlags } from './common.js';

interface Config { name?: string; ports?: string[] }

export default function routerGuard(config: Config = {}): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? 'router-guard';
  return {
    name, kind: 'filter', cacheable: true, dropReasons: ['routerAdvertisement', 'redirect'],
    start(ctx) { portFlags(config.ports, ctx.ports, name); },
    datapath(ctx) {
      const guarded = portFlags(config.ports, ctx.ports, name);
      return {
        ingress(b: IngressBatch) {
          const k = b.keys;
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            if (!guarded[k.inPort[h]]) continue;
            const proto = k.proto[h], type = k.srcPort[h]; // ICMP type is kept in the source-port field
            if (proto === 58) { if (type === 134) b.drop(j, 'routerAdvertisement'); else if (type === 137) b.drop(j, 'redirect'); }
            else if (proto === 1 && k.ipVersion[h] === 4) { if (type === 9) b.drop(j, 'routerAdvertisement'); else if (type === 5) b.drop(j, 'redirect'); }
          }
        },
      };
    },
  };
}
