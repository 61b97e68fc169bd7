// The baseline for the socket benchmark: a plain Node dgram relay, one socket in, one out.
// argv: listenPort sendPort (127.0.0.1).
import dgram from 'node:dgram';
const [listen, to] = process.argv.slice(2).map(Number);
const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
const tx = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
tx.connect(to, '127.0.0.1');
rx.on('message', (m) => tx.send(m));
rx.bind(listen, '127.0.0.1', () => process.stdout.write('ready switch up\n'));
process.on('SIGINT', () => process.exit(0));
