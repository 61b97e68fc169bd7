// Built-in "dhcp-guard" (filter, flow-cacheable): a VM may not act as a DHCP server. On the
// guarded ports, frames from the VM that are DHCP server messages are dropped: UDP from port
// 67 to 68 (DHCPv4: offers, acks) and from 547 to 546 (DHCPv6: advertise, reply).
// Configuration: { name?: string, ports?: [port names] } (default: every port).
// Drop reasons: dhcpServer, dhcpv6Server.
import type { ExtensionDefinition } from '../vswitch/ext/api.js';
import { portGuard } from './common.js';

export default function dhcpGuard(config: { name?: string; ports?: string[] } = {}): ExtensionDefinition & { dropReasons: string[] } {
  return portGuard(config, 'dhcp-guard', ['dhcpServer', 'dhcpv6Server'], (k, h) => {
    if (k.proto[h] !== 17) return null;
    if (k.srcPort[h] === 67 && k.dstPort[h] === 68) return 'dhcpServer';
    if (k.srcPort[h] === 547 && k.dstPort[h] === 546) return 'dhcpv6Server';
    return null;
  });
}
