// Fuzzing the control API of a running switch while it forwards: 10,000 requests with random
// methods, paths, headers, bodies, nesting depths and sizes (seeded, reproducible). Holds when
// no request gets a 500 or kills the switch, its resident memory stays bounded, and every
// frame sent through it during the storm arrives (forwarding uninterrupted). Issue 10.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { CLI, sleep, start } from '../helpers/processes.js';
import { raw } from '../helpers/http.js';

const REQUESTS = 10_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)] };
}
type R = ReturnType<typeof rng>;

function nested(r: R, depth: number): unknown {
  if (depth <= 0) return r.pick([1, 'x', null, true, -0.5, '\u00e9\\"']);
  return r.next() < 0.5 ? [nested(r, depth - 1)] : { [r.pick(['a', 'value', 'add', 'del', 'order'])]: nested(r, depth - 1) };
}

// A rule that can never match the test's UDP traffic (TCP only), so forwarding goes on.
const rule = (r: R) => ({ ...(r.next() < 0.7 ? { id: `f${r.int(200)}` } : {}), layer: r.pick(['acl', 'forward', 'qos', 'nope']), priority: r.pick([1, 5, -1, 1e9, 'x']),
  match: r.pick([{ proto: 'tcp' }, { proto: 'tcp', dstPort: r.int(70000) }, { proto: 'tcp', srcIp: r.pick(['10.0.0.0/8', '1.2.3.4/99', 'x']) }, { proto: 'tcp', tcpFlags: 'syn,!ack' }]),
  actions: r.pick([[{ drop: true }], [{ count: true }], [{ setDscp: r.int(80) }], [{ output: ['p3'] }], [{ bogus: 1 }], []]) });

function body(r: R): string | Buffer | undefined {
  switch (r.int(12)) {
    case 0: return undefined;
    case 1: return '';
    case 2: return JSON.stringify(nested(r, r.int(100)));
    case 3: return Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256)));
    case 4: return JSON.stringify({ add: Array.from({ length: r.int(20) }, () => rule(r)) });
    case 5: return JSON.stringify({ del: Array.from({ length: r.int(5) }, () => `f${r.int(200)}`) });
    case 6: return JSON.stringify({ value: nested(r, r.int(40)) });
    case 7: return JSON.stringify({ order: r.pick([['noop'], [1], 'x', null]) });
    case 8: return r.pick(['null', '[]', '{', '{"add":', '"', '1e999', '{"add":null,"del":null}', '{"value":1,"value":2}']);
    case 9: return Buffer.alloc(r.pick([1 << 10, 1 << 16, (1 << 20) + 1, 3 << 20]), r.pick([0x20, 0x5b, 0x7b, 0x30]));
    case 10: return JSON.stringify({ add: [rule(r)], del: ['x'.repeat(r.pick([10, 100_000]))] });
    default: return JSON.stringify({ value: 'x'.repeat(r.int(5000)) });
  }
}

const PATHS = ['/rules', '/rules/f1', '/rules/%E0%A4%A', '/rules/' + 'y'.repeat(3000), '/stats', '/extensions', '/extensions/noop/enable', '/extensions/noop/disable',
  '/extensions/nope/enable', '/extensions/order', '/properties/x', '/properties/x?port=p3', '/properties/x?port=nope', '/properties/%', '/ports/p3/connect',
  '/ports/p3/disconnect', '/ports/nope/connect', '/', '/../../etc/passwd', '/rules?x=%', '//rules', '/stats/', '/properties/', '*'];

function headers(r: R, len: number | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  const ct = r.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '', 'APPLICATION/JSON', 'application/jsonx']);
  if (ct) h['content-type'] = ct;
  if (r.next() < 0.05) h.origin = r.pick(['http://attacker.example', 'null']);
  if (r.next() < 0.05) h.host = r.pick(['attacker.example', '', 'localhost:1']);
  if (r.next() < 0.05) h['x-junk'] = 'z'.repeat(r.int(8000));
  if (len !== undefined && r.next() < 0.03) h['content-length'] = String(len + r.pick([-1, 5]));
  return h;
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

test(`control API fuzz: ${REQUESTS} random requests while forwarding`, { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
  const socketPath = join(dir, 'ctl.sock');
  const cfg = join(dir, 'fuzz.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: `unix:${socketPath}` },
    ports: [1, 2, 3].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4660${n}`, remote: `127.0.0.1:5660${n}` } })),
    extensions: [{ module: 'noop' }],
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  await sw.waitLine(/control API on/);
  const pid = sw.child.pid!;

  // Traffic: p1 -> p2 (and p3, flooded), 1,000 frames a second for the whole storm.
  const tx = dgram.createSocket('udp4'), rx = dgram.createSocket('udp4'), sink = dgram.createSocket('udp4');
  let received = 0;
  rx.on('message', () => { received++; });
  await Promise.all([new Promise<void>((r) => tx.bind(56601, '127.0.0.1', r)), new Promise<void>((r) => rx.bind(56602, '127.0.0.1', r)), new Promise<void>((r) => sink.bind(56603, '127.0.0.1', r))]);
  const frame = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 7000 }, payload: 18 });
  let sent = 0;
  const pump = setInterval(() => { tx.send(frame, 46601, '127.0.0.1'); sent++; }, 1);

  const r = rng(SEED);
  const statuses = new Map<number, number>();
  const fives: string[] = [];
  let socketErrors = 0, socketErrorsUnexpected = 0;
  const rss0 = rssKb(pid);
  let rssMax = rss0;
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    let next = 0;
    const workerLoop = async () => {
      for (let i; (i = next++) < REQUESTS;) {
        const method = r.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']);
        let path = r.pick(PATHS);
        if (r.next() < 0.1) path = '/' + Array.from({ length: r.int(40) }, () => String.fromCharCode(33 + r.int(90))).join('').replace(/[#?\s]/g, '');
        const b = body(r);
        const len = b === undefined ? undefined : Buffer.byteLength(b);
        const big = len !== undefined && len > (1 << 20);
        try {
          const res = await new Promise<Awaited<ReturnType<typeof raw>>>((resolve, reject) => {
            raw({ socketPath }, method, path, { headers: headers(r, len), body: b }).then(resolve, reject);
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) console.log(`# 5xx: ${method} ${path.slice(0, 60)} ${JSON.stringify(headers)} -> ${res.body.slice(0, 300)}`);
          if (res.status >= 500) fives.push(`${method} ${path.slice(0, 60)} -> ${res.status} ${res.body.slice(0, 200)}`);
        } catch (e) {
          socketErrors++;
          // A body the server refused mid-upload, or a lying content-length, may end in a reset.
          if (!big && !/ECONNRESET|EPIPE|socket hang up|Parse Error/.test(String(e))) { socketErrorsUnexpected++; console.log(`# broken: ${method} ${path.slice(0, 40)} len ${len} ${String(e)}`); }
        }
        if (i % 500 === 0) rssMax = Math.max(rssMax, rssKb(pid));
      }
    };
    await Promise.all([workerLoop(), workerLoop(), workerLoop(), workerLoop()]);
    void agent;
  } finally {
    clearInterval(pump);
  }
  await sleep(500);
  rssMax = Math.max(rssMax, rssKb(pid));
  const summary = `seed ${SEED}; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; socket errors ${socketErrors}; RSS ${rss0} -> max ${rssMax} kB; frames sent ${sent}, received ${received}`;
  console.log(`# ${summary}`);
  try {
    assert.equal(sw.child.exitCode, null, 'the switch is still running');
    assert.deepEqual(fives, [], '5xx answers');
    assert.equal(socketErrorsUnexpected, 0, 'connections broken for a request that was not oversized');
    assert.ok([...statuses.values()].reduce((a, b) => a + b, 0) + socketErrors >= REQUESTS);
    assert.ok(rssMax - rss0 < 200 * 1024, `resident memory grew by ${rssMax - rss0} kB`);
    assert.equal(received, sent, 'every frame sent during the storm was forwarded');
  } finally {
    agent.destroy();
    tx.close(); rx.close(); sink.close();
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
  assert.ok(sw.lines.some((l) => l.includes('"ports"')), 'final counters printed on SIGINT');
});
