// Gap meter for socket benchmarks, in its own process so the benchmark's own work (building
// and uploading a 13 MB request) cannot delay its clock: sends two frames every millisecond
// from one UDP socket and timestamps arrivals on another. stdin: "mark" resets the longest
// gap and the count of gaps over 10 ms; "read" prints `gap <ms> over10 <n> sent <n>
// received <n>`; "exit" ends it.
// argv: localSend remoteIn localRecv (host:port each).
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { buildFrame } from '../../src/wire/frame-builder.js';

const hp = (s: string) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) });
const [from, to, at] = process.argv.slice(2).map(hp);
const tx = dgram.createSocket('udp4'), rx = dgram.createSocket('udp4');
const frame = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 7000 }, payload: 18 });
let sent = 0, received = 0, last = 0, gap = 0, over10 = 0;
rx.on('message', () => {
  const t = performance.now();
  if (last !== 0) { const g = t - last; if (g > gap) gap = g; if (g > 10) over10++; }
  last = t; received++;
});
await new Promise<void>((r) => tx.bind(from.port, from.host, r));
await new Promise<void>((r) => rx.bind(at.port, at.host, r));
const pump = setInterval(() => { tx.send(frame, to.port, to.host); tx.send(frame, to.port, to.host); sent += 2; }, 1);
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l === 'mark') { gap = 0; over10 = 0; }
  if (l === 'read') process.stdout.write(`gap ${gap.toFixed(2)} over10 ${over10} sent ${sent} received ${received}\n`);
  if (l === 'stop') clearInterval(pump);
  if (l === 'exit') { clearInterval(pump); tx.close(); rx.close(); process.exit(0); }
}).on('close', () => process.exit(0)); // the benchmark went away: do not keep its ports
process.stdout.write('ready\n');
