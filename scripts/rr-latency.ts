// rr-latency: a request/response service for the experiments, memcached-like — a client sends a
// small request (64 bytes) and waits for a 6 KB response, one at a time, over one TCP connection;
// it prints the latencies' percentiles (µs) as JSON when done.
//
//   node dist/scripts/rr-latency.js server --listen IP:PORT [--seconds 30]
//   node dist/scripts/rr-latency.js client --to IP:PORT [--requests 5000] [--delay 0]

import net from 'node:net';

const REQUEST = 64, RESPONSE = 6144;
const arg = (name: string, def: string) => { const i = process.argv.indexOf(name); return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def; };
const hostPort = (s: string) => { const i = s.lastIndexOf(':'); return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }; };

if (process.argv[2] === 'server') {
  const { host, port } = hostPort(arg('--listen', '127.0.0.1:7000')), response = Buffer.alloc(RESPONSE, 0x61);
  const server = net.createServer((c) => {
    c.setNoDelay(true);
    let have = 0;
    c.on('data', (d) => { have += d.length; for (; have >= REQUEST; have -= REQUEST) c.write(response); });
    c.on('error', () => { /* the client went */ });
  });
  server.listen(port, host);
  setTimeout(() => process.exit(0), Number(arg('--seconds', '30')) * 1000).unref();
  server.on('listening', () => console.log('ready'));
} else if (process.argv[2] === 'client') {
  const { host, port } = hostPort(arg('--to', '127.0.0.1:7000')), n = Number(arg('--requests', '5000'));
  const request = Buffer.alloc(REQUEST, 0x72), lat: number[] = [];
  setTimeout(() => {
    const c = net.connect(port, host, () => { c.setNoDelay(true); t0 = performance.now(); c.write(request); });
    let got = 0, t0 = 0;
    c.on('data', (d) => {
      got += d.length;
      if (got < RESPONSE) return;
      got -= RESPONSE;
      lat.push((performance.now() - t0) * 1000);
      if (lat.length === n) {
        c.end();
        const s = [...lat].sort((a, b) => a - b), q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]);
        console.log(JSON.stringify({ requests: n, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: Math.round(s[s.length - 1]) }));
        return;
      }
      t0 = performance.now();
      c.write(request);
    });
    c.on('error', (e) => { console.error(`rr-latency client: ${e.message}`); process.exit(1); });
  }, Number(arg('--delay', '0')));
} else {
  console.log('usage: rr-latency server --listen IP:PORT [--seconds S] | client --to IP:PORT [--requests N] [--delay MS]');
  process.exitCode = 2;
}
