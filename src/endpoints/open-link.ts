// openLink: a thread's PortLink over a native port's descriptor, from its LinkShare (link.ts).

import { PortIo } from './endpoint.js';
import { LinkShare, PortLink, SwitchView } from './link.js';
import { MmsgLink } from './mmsg-link.js';
import { TapLink } from './tap-link.js';
import { VxlanLink } from './vxlan-link.js';

/** This thread's link over a native port's descriptor (`thread`: which datapath thread runs it, 0: the only one; `view`: the switch's tables, for a tunnel's guarantees). */
export function openLink(s: LinkShare, io: PortIo, thread = 0, view: SwitchView | null = null): PortLink {
  return s.type === 'udp' ? new MmsgLink(s, io, thread) : s.type === 'tap' ? new TapLink(s, io, thread) : new VxlanLink(s, io, thread, view);
}
