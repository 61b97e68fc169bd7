// mac-flood: one VM that looks like many, for experiment 6 — UDP frames from --macs distinct
// source MACs (02:01:00:00:hi:lo), round robin, to one destination MAC, written to an AF_PACKET
// socket on --dev (inside the VM's namespace: into its tap, so the sluice host reads them as the
// VM's) in bursts through the native module, at --pps frames per second (paced to the
// millisecond) or as fast as it goes (--pps 0), for --seconds. The destination IP is --dst-ip (an address no one has: the
// receiving VM's kernel drops the frames, nothing answers). Prints {"sent","failed","seconds"}.
//
//   node dist/scripts/mac-flood.js --dev DEV --dst-mac MAC --dst-ip IP --macs 1000 [--len 1000] [--pps 40000] [--seconds 5]

import { native, NATIVE_BURST } from '../src/native/io.js';
import { PacketPool } from '../src/nic/pool.js';
import { poolBinding } from '../src/nic/pool-binding.js';
import { buildFrame } from '../src/wire/frame-builder.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(name);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (def === undefined) { console.error(`mac-flood: ${name} is required`); process.exit(2); }
  return def;
}

const n = native;
if (n === null) { console.error('mac-flood: needs the native module (npm install)'); process.exit(2); }
const dev = arg('--dev'), dstMac = arg('--dst-mac'), dstIp = arg('--dst-ip'), macs = Number(arg('--macs', '1000'));
const len = Number(arg('--len', '1000')), pps = Number(arg('--pps', '0')), seconds = Number(arg('--seconds', '5'));
if (!(macs >= 1 && macs <= 65535) || !(len >= 64 && len <= 1514)) { console.error('mac-flood: --macs 1..65535, --len 64..1514'); process.exit(2); }
const ifindex = n.linkInfo(dev, 0, 0);
if (ifindex < 0) { console.error(`mac-flood: --dev ${dev}: ${n.strerror(-ifindex)}`); process.exit(1); }
const fd = n.packetOpen(ifindex, false, 0, true, 4 << 20);
if (fd < 0) { console.error(`mac-flood: AF_PACKET on ${dev}: ${n.strerror(-fd)}`); process.exit(1); }

// One slot per source MAC, built once; the slots are sent again and again (never freed).
const pool = new PacketPool(macs, 2048), bind = poolBinding(n, pool), slots = new Int32Array(macs);
const hex = (v: number) => v.toString(16).padStart(2, '0');
for (let i = 0; i < macs; i++) {
  const f = buildFrame({ dst: dstMac, src: `02:01:00:00:${hex(i >> 8)}:${hex(i & 255)}`, ipv4: { src: `10.101.${i >> 8}.${i & 255}`, dst: dstIp }, udp: { sport: 40000, dport: 9 }, padTo: len });
  slots[i] = pool.allocFrom(f, 0, f.length);
}
const handles = new Int32Array(NATIVE_BURST);
const perMs = pps > 0 ? pps / 1000 : Infinity;
const t0 = performance.now(), end = t0 + seconds * 1000;
let sent = 0, failed = 0, next = 0, owed = 0, last = t0;
while (performance.now() < end) {
  const now = performance.now();
  owed = Math.min(owed + perMs * (now - last), NATIVE_BURST);
  last = now;
  const k = Math.floor(owed);
  if (k === 0) continue;
  for (let i = 0; i < k; i++) { handles[i] = slots[next]; next = next + 1 === macs ? 0 : next + 1; }
  const r = n.sendBatch(bind, fd, handles, 0, k, null, 0);
  if (r < 0) { failed += k; owed = 0; continue; }
  sent += r; failed += k - r; owed -= k;
}
n.closeFd(fd);
console.log(JSON.stringify({ sent, failed, seconds: (performance.now() - t0) / 1000 }));
