// udp-pattern: a UDP source with a time pattern, for the experiments — at --mbps while "on",
// silent while "off", in bursts of --on ms every --on + --off ms (or on throughout: --off 0),
// starting after --delay ms and stopping after --seconds. Datagrams of --len bytes, paced to the
// millisecond (a busy loop on the monotonic clock: Node's timers are too coarse for 5 ms bursts).
// Prints the times (ms since its start) each burst began, as JSON, when done.
//
//   node dist/scripts/udp-pattern.js --to IP:PORT --mbps 100 [--on 5 --off 20] [--len 1300] [--delay 0] [--seconds 3]

import dgram from 'node:dgram';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(name);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (def === undefined) { console.error(`udp-pattern: ${name} is required`); process.exit(2); }
  return def;
}

const [host, portText] = arg('--to').split(':');
const mbps = Number(arg('--mbps')), onMs = Number(arg('--on', '1000000')), offMs = Number(arg('--off', '0'));
const len = Number(arg('--len', '1300')), delayMs = Number(arg('--delay', '0')), seconds = Number(arg('--seconds', '3'));
const sock = dgram.createSocket('udp4');
const payload = Buffer.alloc(len);
const perMs = (mbps * 1e3) / 8 / (len + 42); // datagrams per ms at the rate, on the wire as Ethernet frames
const t0 = performance.now(), starts: number[] = [];
let owed = 0, last = t0 + delayMs, wasOn = false;
const tick = (): void => {
  const now = performance.now(), t = now - t0 - delayMs;
  if (t >= seconds * 1000) { sock.close(); console.log(JSON.stringify({ starts: starts.map((s) => Math.round(s + delayMs)) })); return; }
  if (t >= 0) {
    const phase = offMs === 0 ? 0 : t % (onMs + offMs), on = phase < onMs;
    if (on && !wasOn) starts.push(t);
    wasOn = on;
    if (on) {
      owed += perMs * (now - last);
      for (; owed >= 1; owed--) sock.send(payload, Number(portText), host);
    } else owed = 0;
  }
  last = now;
  setImmediate(tick);
};
setImmediate(tick);
