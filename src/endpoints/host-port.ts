// A UDP endpoint's addresses: "IP:PORT" or "[IPv6]:PORT" with an IP address literal.

import { isIP } from 'node:net';

export interface HostPort { host: string; port: number }

/** "IP:PORT" or "[IPv6]:PORT" with an IP address literal (no host names: nothing is resolved). */
export function parseHostPort(s: string): HostPort | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
  if (!m || isIP(m[1]) === 0) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  return { host: m[1], port };
}
