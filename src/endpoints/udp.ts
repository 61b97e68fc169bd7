// The udp endpoint kind: one Ethernet frame per UDP datagram — the encapsulation QEMU's
// `-netdev dgram` and `-netdev socket,udp=` backends use — between a local and a remote
// address:port. Two implementations with one configuration: the native I/O module
// (udp-native.ts: recvmmsg/sendmmsg, the default where the module loaded) and Node's dgram
// (udp-dgram.ts: the fallback). `io` picks one; "auto" takes native when it is there.
//
// By default the socket is connected to `remote`, as on a point-to-point link: sends skip a
// per-packet address lookup, a vanished peer shows up as ECONNREFUSED (peerUnreachable, and
// the peer-down period of peer-down.ts), and the kernel takes only the peer's datagrams —
// datagrams from any other source are dropped by the kernel, uncounted by sluice (`sluice run`
// says so). `anySource: true` leaves it unconnected: datagrams from any source are taken, sends
// name `remote`, and a vanished peer is no longer noticed.

import { Endpoint } from './endpoint.js';
import { HostPort, parseHostPort } from './host-port.js';
import { EndpointConfig, EndpointKind } from './registry.js';
import { DgramUdpEndpoint } from './udp-dgram.js';
import { NativeUdpEndpoint } from './udp-native.js';
import { native, nativeMissing } from '../native/io.js';
import { brief } from '../quote.js';
import type { Field } from '../schema.js';

export const DEFAULT_SOCKET_BUFFER = 4 << 20;
export type UdpIo = 'auto' | 'native' | 'dgram';
/** The `io` field of the UDP-carried kinds (udp, vxlan). */
export const UDP_IO_FIELD: Field = { schema: { type: 'string', enum: ['auto', 'native', 'dgram'] }, doc: 'I/O path: "native" (recvmmsg/sendmmsg through the native module), "dgram" (Node), "auto" (native when the module loaded)', default: 'auto' };

/** A udp endpoint on the I/O path `io` asks for ("native" throws when the module is missing). */
export function udpEndpoint(local: HostPort, remote: HostPort, bufferBytes = DEFAULT_SOCKET_BUFFER, io: UdpIo = 'auto', anySource = false): Endpoint {
  if (io === 'native' && native === null) throw new Error(`udp io "native": ${nativeMissing}`);
  if (io === 'dgram' || native === null) return new DgramUdpEndpoint(local, remote, bufferBytes, anySource);
  return new NativeUdpEndpoint(local, remote, bufferBytes, anySource);
}

const hostPort = (s: string) => (parseHostPort(s) ? null : `${brief(s)} is not "IP:port" with an IP address literal (e.g. "127.0.0.1:40001")`);
type UdpConfig = EndpointConfig & { local: string; remote: string; socketBuffer: number; io: UdpIo; anySource: boolean };

/** The `udp` endpoint kind: configuration fields, factory, how a peer attaches. */
export const UDP_KIND: EndpointKind = {
  type: 'udp',
  doc: 'one Ethernet frame per datagram (QEMU dgram/socket backends)',
  fields: {
    local: { schema: { type: 'string', check: hostPort }, doc: 'address:port this port listens on' },
    remote: { schema: { type: 'string', check: hostPort }, doc: 'address:port of the peer it sends to (the only source it accepts unless anySource)' },
    socketBuffer: { schema: { type: 'integer', min: 65536, max: 1 << 30, doc: 'bytes' }, doc: 'kernel send/receive buffer asked for (capped by net.core.rmem_max/wmem_max unless root)', default: DEFAULT_SOCKET_BUFFER },
    io: UDP_IO_FIELD,
    anySource: { schema: { type: 'boolean' }, doc: 'take datagrams from any source (unconnected socket; a vanished peer is not noticed)', default: false },
  },
  check(e, bad, taken) {
    const u = e as UdpConfig;
    if (!u.local) bad('local', 'is required for a udp endpoint');
    if (!u.remote) bad('remote', 'is required for a udp endpoint');
    if (u.local && taken.has(u.local)) bad('local', `${u.local} is already used by another port`);
    if (u.io === 'native' && native === null) bad('io', `"native" needs the native I/O module: ${nativeMissing}`);
    taken.add(u.local);
  },
  create(e) { const u = e as UdpConfig; return udpEndpoint(parseHostPort(u.local)!, parseHostPort(u.remote)!, u.socketBuffer, u.io, u.anySource); },
  attach(e) { const u = e as UdpConfig; return `udp listen ${u.local} -> send ${u.remote}   (a peer binds ${u.remote} and sends to ${u.local})`; },
  example(e, name) {
    const u = e as UdpConfig, l = parseHostPort(u.local)!, r = parseHostPort(u.remote)!;
    return [`attach a QEMU VM to ${name}:`,
      `  -netdev dgram,id=n0,local.type=inet,local.host=${r.host},local.port=${r.port},remote.type=inet,remote.host=${l.host},remote.port=${l.port} -device virtio-net-pci,netdev=n0`];
  },
  notes(ep, e) {
    const u = e as UdpConfig, out: string[] = [];
    const got = ep instanceof NativeUdpEndpoint || ep instanceof DgramUdpEndpoint ? ep.recvBufferSize : u.socketBuffer;
    if (got < u.socketBuffer) out.push(`got a ${got}-byte receive buffer (asked ${u.socketBuffer}); raise net.core.rmem_max to absorb bursts`);
    if (!u.anySource) out.push(`takes datagrams from ${u.remote} only; the kernel drops others uncounted (anySource: true takes any source)`);
    return out;
  },
};

export { parseHostPort };
export type { HostPort };
