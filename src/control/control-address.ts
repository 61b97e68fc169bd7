// Where the control API of a running switch listens, and where its clients find it.
//
// Forms of `control.listen` / `--control` / $SLUICE_CONTROL:
//   unix:PATH        a unix socket (the default): created mode 0600, so only its owner (and
//                    root) may drive the switch, as with Open vSwitch's control socket
//   IP:PORT          TCP on a loopback address literal (127.0.0.0/8 or ::1); host names are
//                    refused, so no DNS answer can move the API elsewhere
//   off              no control API
// The default socket sits in the user's runtime directory: $XDG_RUNTIME_DIR/sluice.sock, else
// /run/sluice.sock for root, else <tmpdir>/sluice-<uid>.sock.

import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brief } from '../quote.js';

/** Largest request body the control API takes by default (control.maxBodyBytes). */
export const DEFAULT_MAX_BODY = 1 << 20;

export type ControlAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The default control socket of this user. */
export function defaultControl(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime) return `unix:${join(runtime, 'sluice.sock')}`;
  const uid = process.getuid?.() ?? -1;
  return `unix:${uid === 0 ? '/run/sluice.sock' : join(tmpdir(), `sluice-${uid}.sock`)}`;
}

/** Parse a control address; the string is the problem when it is not one (never throws). */
export function parseControl(s: string): ControlAddress | string {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    if (path.length === 0) return '"unix:" needs a socket path, e.g. "unix:/run/sluice.sock"';
    if (Buffer.byteLength(path) > 107) return `unix socket path is ${Buffer.byteLength(path)} bytes (the kernel allows 107)`;
    return { kind: 'unix', path };
  }
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) return `${brief(s)} is not "unix:PATH", "IP:PORT" or "off"`;
  const host = m[1];
  const v = isIP(host);
  if (v === 0) return `${brief(host)} is not an IP address (host names are refused: a DNS answer could point the API anywhere)`;
  if (!(v === 4 ? host.startsWith('127.') : host === '::1')) return `${host} is not a loopback address: a TCP control API listens on 127.0.0.0/8 or ::1 only`;
  return { kind: 'tcp', host, port: Number(m[2]) };
}
