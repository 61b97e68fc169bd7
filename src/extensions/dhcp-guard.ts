// Built-in "dhcp-guard" (filter, flow-cacheable): a VM may not act as a DHCP server. On the
// guarded ports, frames from the VM that are DHCP server messages are dropped: UDP from port
// 67 to 68 (DHCPv4: offers, acks) and from 547 to 546 (DHCPv6: advertise, reply).
// Configuration: { name?: string, ports?: [port names] } (default: every port).
// Drop reasons: dhcpServer, dhcpv6Server.
import type { ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { portFlags } from './common.js';

interface Config { name?: string; ports?: string[] }

export default function dhcpGuard(config: Config = {}): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? 'dhcp-guard';
  return {
    name, kind: 'filter', cacheable: true, dropReasons: ['dhcpServer', 'dhcpv6Server'],
    start(ctx) { portFlags(config.ports, ctx.ports, name); },
    datapath(ctx) {
      const guarded = portFlags(config.ports, ctx.ports, name);
      return {
        ingress(b: IngressBatch) {
          const k = b.keys;
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            if (!guarded[k.inPort[h]] || k.proto[h] !== 17) continue;
            if (k.srcPort[h] === 67 && k.dstPort[h] === 68) b.drop(j, 'dhcpServer');
            else if (k.srcPort[h] === 547 && k.dstPort[h] === 546) b.drop(j, 'dhcpv6Server');
          }
        },
      };
    },
  };
}
