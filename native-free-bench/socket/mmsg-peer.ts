// A UDP load generator and sink on the native I/O module, for the socket benchmark: a Node
// dgram sender cannot offer enough load (one syscall and one Buffer per datagram).
//   send PORT TO SIZE SECONDS        sendmmsg bursts of 256 identical frames from 127.0.0.1:PORT
//                                    to 127.0.0.1:TO for SECONDS; prints {"sent":N}
//   sink PORT ANNOUNCE SIZE SECONDS  recvmmsg on 127.0.0.1:PORT; first sends one broadcast frame
//                                    to 127.0.0.1:ANNOUNCE (0: none) so a switch learns this MAC;
//                                    counts datagrams until SECONDS have passed and none came for
//                                    0.3 s (or none at all for 3 s more); prints {"got":N,"intact":bool} (every datagram the
//                                    frame the sender sends, checked by length and first bytes).
// Both print "ready" once their socket is open.
import { ADDR_REC, errnoName, native, NATIVE_BURST } from '../../src/native/io.js';
import { poolBinding } from '../../src/nic/pool-binding.js';
import { PacketPool } from '../../src/nic/pool.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

export const benchFrame = (size: number) => buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, padTo: size });

function to(port: number): Uint8Array {
  const a = new Uint8Array(ADDR_REC * NATIVE_BURST);
  for (let i = 0; i < NATIVE_BURST; i++) { const o = i * ADDR_REC; a[o] = 4; a[o + 2] = port >> 8; a[o + 3] = port & 255; a.set([127, 0, 0, 1], o + 4); }
  return a;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const io = native;
  if (io === null) throw new Error('the native I/O module is not loaded');
  const [mode, a, b, c, d] = process.argv.slice(2);
  const port = Number(a), other = Number(b), size = Number(c), seconds = Number(d);
  const frame = benchFrame(size);
  const pool = new PacketPool(2 * NATIVE_BURST, 2048), bind = poolBinding(io, pool), hs = new Int32Array(NATIVE_BURST);
  const fd = io.udpOpen('127.0.0.1', port, mode === 'send' ? '127.0.0.1' : null, mode === 'send' ? other : 0, 8 << 20);
  if (fd < 0) throw new Error(`udp 127.0.0.1:${port}: ${errnoName(fd)}`);
  process.stdout.write('ready\n');
  if (mode === 'send') {
    for (let i = 0; i < NATIVE_BURST; i++) hs[i] = pool.allocFrom(frame, 0, frame.length);
    let sent = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) { const r = io.sendBatch(bind, fd, hs, 0, NATIVE_BURST, null, 0); if (r > 0) sent += r; }
    process.stdout.write(JSON.stringify({ sent }) + '\n');
  } else {
    if (other !== 0) {
      const ann = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:02', payload: 46 });
      io.sendBatch(bind, fd, Int32Array.of(pool.allocFrom(ann, 0, ann.length)), 0, 1, to(other), 0);
    }
    for (let i = 0; i < NATIVE_BURST; i++) hs[i] = pool.alloc();
    const fds = Int32Array.of(fd), ready = new Uint8Array(1);
    let got = 0, intact = true, last = 0;
    const end = performance.now() + seconds * 1000;
    for (;;) {
      const r = io.recvBatch(bind, fd, hs, 0, NATIVE_BURST, null, 0);
      if (r > 0) {
        const h = hs[0], s = pool.start(h);
        if (pool.len[h] !== frame.length || pool.data[s + 12] !== frame[12] || pool.data[s + 30] !== frame[30]) intact = false;
        got += r; last = performance.now();
        continue;
      }
      const now = performance.now();
      if (now > end && (got > 0 ? now - last > 300 : now - end > 3000)) break;
      io.pollIn(fds, 1, 50, ready);
    }
    process.stdout.write(JSON.stringify({ got, intact }) + '\n');
  }
  io.closeFd(fd);
}
