// Built-in "router-guard" (filter, flow-cacheable): a VM may not act as a router. On the
// guarded ports, frames from the VM carrying router advertisements or redirects are dropped:
// ICMPv6 type 134 (router advertisement) and 137 (redirect); ICMPv4 type 9 (router
// advertisement) and 5 (redirect).
// Configuration: { name?: string, ports?: [port names] } (default: every port).
// Drop reasons: routerAdvertisement, redirect.
import type { ExtensionDefinition } from '../vswitch/ext/api.js';
import { portGuard } from './common.js';

export default function routerGuard(config: { name?: string; ports?: string[] } = {}): ExtensionDefinition & { dropReasons: string[] } {
  return portGuard(config, 'router-guard', ['routerAdvertisement', 'redirect'], (k, h) => {
    const proto = k.proto[h], type = k.srcPort[h]; // ICMP type is kept in the source-port field
    if (proto === 58) return type === 134 ? 'routerAdvertisement' : type === 137 ? 'redirect' : null;
    if (proto === 1 && k.ipVersion[h] === 4) return type === 9 ? 'routerAdvertisement' : type === 5 ? 'redirect' : null;
    return null;
  });
}
