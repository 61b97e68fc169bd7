// openLink: a thread's PortLink over a native port's descriptor, from its LinkShare (link.ts).

import { PortIo } from './endpoint.js';
import { LinkShare, PortLink } from './link.js';
import { MmsgLink } from './mmsg-link.js';
import { TapLink } from './tap-link.js';
import { VxlanLink } from './vxlan-link.js';

/** This thread's link over a native port's descriptor. */
export function openLink(s: LinkShare, io: PortIo): PortLink {
  return s.type === 'udp' ? new MmsgLink(s, io) : s.type === 'tap' ? new TapLink(s, io) : new VxlanLink(s, io);
}
