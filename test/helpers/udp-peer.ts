// A UDP peer in its own process, standing in for a VM attached to a sluice port.
// argv: bindHost:port remoteHost:port. stdin lines: "send <hex>" | "exit".
// stdout lines: "ready", "recv <hex>".
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const [bind, remote] = process.argv.slice(2);
const [bh, bp] = [bind.slice(0, bind.lastIndexOf(':')), Number(bind.slice(bind.lastIndexOf(':') + 1))];
const [rh, rp] = [remote.slice(0, remote.lastIndexOf(':')), Number(remote.slice(remote.lastIndexOf(':') + 1))];
// A large receive buffer: this process prints each frame as a hex line and can fall behind a
// burst; with the default (~208 KB) the kernel dropped some of 300 frames a test streams (the
// switch's counters showed them sent). The kernel caps it at net.core.rmem_max.
const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
sock.on('message', (m) => process.stdout.write(`recv ${m.toString('hex')}\n`));
sock.bind(bp, bh, () => process.stdout.write('ready\n'));
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.split(' ');
  if (cmd === 'send') sock.send(Buffer.from(arg, 'hex'), rp, rh);
  if (cmd === 'exit') sock.close(() => process.exit(0));
});
