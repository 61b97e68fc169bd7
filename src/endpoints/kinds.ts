// The endpoint kinds sluice ships, registered once (import this module for its effect). A new
// kind is its own file exporting an EndpointKind, plus one line here.
import { registerEndpoint } from './registry.js';
import { UDP_KIND } from './udp.js';
import { MEMORY_KIND } from './memory.js';
import { TAP_KIND } from './tap.js';
import { NETDEV_KIND } from './netdev.js';
import { VXLAN_KIND } from './vxlan.js';

registerEndpoint(UDP_KIND);
registerEndpoint(MEMORY_KIND);
registerEndpoint(TAP_KIND);
registerEndpoint(NETDEV_KIND);
registerEndpoint(VXLAN_KIND);

export { ENDPOINT_SCHEMA, endpointKind, keepKindFields } from './registry.js';
