// PeerDown: a UDP port's view of whether its peer is gone. After a refusal (ECONNREFUSED: the
// ICMP port unreachable for an earlier datagram) the port holds its frames back for
// PEER_DOWN_MS (counted as txDropPeerDown, not sent): a datagram to a dead peer would go out,
// bounce and make the next send fail, so most would otherwise be counted as sent. One frame per
// PEER_DOWN_MS probes the peer again; a datagram from the peer ends the state at once.

/** How long a refused peer counts as gone (its frames are dropped, one probe per period). */
export const PEER_DOWN_MS = 1000;

export class PeerDown {
  /** Until when (performance.now() ms) the peer counts as gone; 0: it does not. */
  private until = 0;

  /** The peer refused a datagram. */
  gone(): void { this.until = performance.now() + PEER_DOWN_MS; }
  /** The peer sent something. */
  up(): void { this.until = 0; }

  /** Hold this frame back? (False once the period is over: that frame probes the peer.) */
  holds(): boolean {
    if (this.until === 0) return false;
    if (performance.now() < this.until) return true;
    this.until = 0;
    return false;
  }
}

/**
 * Datagrams the kernel dropped on the UDP socket bound to local `port` because its receive
 * buffer was full (the "drops" column of /proc/net/udp{,6}), or -1 if not found.
 */
export function udpKernelDrops(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13) continue;
      if (cols[1].endsWith(':' + hex)) return Number(cols[cols.length - 1]);
    }
  }
  return -1;
}

import { readFileSync } from 'node:fs';
