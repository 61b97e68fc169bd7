// A UDP load generator and sink on the native I/O module, for the socket benchmark: a Node
// dgram sender cannot offer enough load (one syscall and one Buffer per datagram).
//   send PORT TO SIZE SECONDS        sendmmsg bursts of 256 identical frames from 127.0.0.1:PORT
//                                    to 127.0.0.1:TO for SECONDS; prints {"sent":N}
//   mix PORT TO SIZE SECONDS AT      the same with skewed traffic: 512 UDP flows (source ports
//                                    1000..1511) with Zipf (s = 1.1) shares of the frames, and
//                                    from AT seconds on an elephant (source port 7) taking 30%
//                                    of them, its frames numbered (4 bytes after the UDP header);
//                                    prints {"sent":N,"elephantAtMs":Unix ms it started}
//   sink PORT ANNOUNCE SIZE SECONDS  recvmmsg on 127.0.0.1:PORT; first sends one broadcast frame
//                                    to 127.0.0.1:ANNOUNCE (0: none) so a switch learns this MAC;
//                                    counts datagrams until SECONDS have passed and none came for
//                                    0.3 s (or none at all for 3 s more); prints {"got":N,"intact":bool} (every datagram the
//                                    frame the sender sends, checked by length and first bytes),
//                                    and "behind": elephant frames that arrived after a later one.
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

/** Frames the mix cycles through (16 bursts), and where an elephant frame's number sits. */
const MIX_FRAMES = 16 * NATIVE_BURST, SEQ_AT = 14 + 20 + 8, FLOWS = 512;

const putU32 = (d: Uint8Array, o: number, v: number) => { d[o] = v >>> 24; d[o + 1] = (v >>> 16) & 255; d[o + 2] = (v >>> 8) & 255; d[o + 3] = v & 255; };

// The mix's frames, drawn once (a fixed seed): flows by Zipf shares, the elephant 30% when on.
function mixFrames(pool: PacketPool, size: number, elephant: boolean): { hs: Int32Array; elephant: Uint8Array } {
  const w = Array.from({ length: FLOWS }, (_, i) => 1 / (i + 1) ** 1.1), total = w.reduce((a, x) => a + x, 0);
  let x = 0x2545f491;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
  const hs = new Int32Array(MIX_FRAMES), el = new Uint8Array(MIX_FRAMES);
  for (let i = 0; i < MIX_FRAMES; i++) {
    let sport = 7;
    if (!elephant || rnd() >= 0.3) { let t = rnd() * total, f = 0; while (f < FLOWS - 1 && (t -= w[f]) > 0) f++; sport = 1000 + f; }
    const frame = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport, dport: 2 }, padTo: size });
    hs[i] = pool.allocFrom(frame, 0, frame.length); el[i] = sport === 7 ? 1 : 0;
  }
  return { hs, elephant: el };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const io = native;
  if (io === null) throw new Error('the native I/O module is not loaded');
  const [mode, a, b, c, d, e] = process.argv.slice(2);
  const port = Number(a), other = Number(b), size = Number(c), seconds = Number(d);
  const frame = benchFrame(size);
  const pool = new PacketPool(2 * MIX_FRAMES + 2 * NATIVE_BURST, 2048), bind = poolBinding(io, pool), hs = new Int32Array(NATIVE_BURST);
  const fd = io.udpOpen('127.0.0.1', port, mode !== 'sink' ? '127.0.0.1' : null, mode !== 'sink' ? other : 0, 8 << 20);
  if (fd < 0) throw new Error(`udp 127.0.0.1:${port}: ${errnoName(fd)}`);
  process.stdout.write('ready\n');
  if (mode === 'mix') {
    const [before, after] = [false, true].map((elephant) => mixFrames(pool, size, elephant));
    const at = performance.now() + Number(e) * 1000, end = performance.now() + seconds * 1000;
    let sent = 0, seq = 0, elephantAtMs = 0;
    for (let b = 0; performance.now() < end; b = (b + 1) % (MIX_FRAMES / NATIVE_BURST)) {
      const on = performance.now() >= at;
      if (on && elephantAtMs === 0) elephantAtMs = performance.timeOrigin + performance.now();
      const set = on ? after : before, off = b * NATIVE_BURST;
      if (on) for (let i = 0; i < NATIVE_BURST; i++) if (set.elephant[off + i]) putU32(pool.data, pool.start(set.hs[off + i]) + SEQ_AT, seq++);
      const r = io.sendBatch(bind, fd, set.hs, off, NATIVE_BURST, null, 0);
      if (r > 0) sent += r; // frames not sent leave gaps in the numbers, never repeats
    }
    process.stdout.write(JSON.stringify({ sent, elephantAtMs }) + '\n');
  } else if (mode === 'send') {
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
    let got = 0, intact = true, last = 0, behind = 0, top = -1;
    const end = performance.now() + seconds * 1000;
    for (;;) {
      const r = io.recvBatch(bind, fd, hs, 0, NATIVE_BURST, null, 0);
      if (r > 0) {
        const h = hs[0], s = pool.start(h);
        if (pool.len[h] !== frame.length || pool.data[s + 12] !== frame[12] || pool.data[s + 30] !== frame[30]) intact = false;
        for (let i = 0; i < r; i++) {
          const x = pool.start(hs[i]);
          if (pool.data[x + 34] !== 0 || pool.data[x + 35] !== 7) continue; // not the elephant (source port 7)
          const o = x + SEQ_AT, n = ((pool.data[o] << 24) | (pool.data[o + 1] << 16) | (pool.data[o + 2] << 8) | pool.data[o + 3]) >>> 0;
          if (n <= top) behind++; else top = n;
        }
        got += r; last = performance.now();
        continue;
      }
      const now = performance.now();
      if (now > end && (got > 0 ? now - last > 300 : now - end > 3000)) break;
      io.pollIn(fds, 1, 50, ready);
    }
    process.stdout.write(JSON.stringify({ got, intact, behind }) + '\n');
  }
  io.closeFd(fd);
}
