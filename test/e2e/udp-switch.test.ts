// End to end: `sluice run` in its own process, each UDP peer in its own process, real sockets
// on 127.0.0.1. Proves flooding, learning, VLAN isolation, no frame back to its source, a
// vanished peer counted as errors, and a clean SIGINT with final counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { CLI, Peer, receive, sleep, start } from '../helpers/processes.js';

const MAC = (n: number) => `02:00:00:00:00:0${n}`;
const BCAST = 'ff:ff:ff:ff:ff:ff';
const frame = (dst: string, src: string, tag?: number) => buildFrame({ dst, src, vlans: tag ? [{ vid: tag }] : undefined, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 2000 }, payload: 18 });

test('default configuration (npm start): flood, learn, unicast, never back to the source', async () => {
  const sw = start([CLI, 'run', '--stats-interval', '0', '--json']);
  await sw.waitLine(/switch up/);
  const peers = [1, 2, 3].map((n) => new Peer(`127.0.0.1:5000${n}`, `127.0.0.1:4000${n}`));
  await Promise.all(peers.map((p) => p.ready()));
  try {
    peers[0].send(frame(BCAST, MAC(1)));
    let got = await receive(peers, [0, 1, 1]);
    assert.deepEqual(got.map((g) => g.length), [0, 1, 1], 'broadcast floods to p2 and p3 only');
    assert.deepEqual(got[1][0], frame(BCAST, MAC(1)), 'byte for byte');
    peers[1].send(frame(MAC(1), MAC(2)));
    got = await receive(peers, [1, 0, 0]);
    assert.deepEqual(got.map((g) => g.length), [1, 0, 0], 'learned MAC1: only p1');
    peers[0].send(frame(MAC(2), MAC(1)));
    peers[0].send(frame(MAC(9), MAC(1)));
    got = await receive(peers, [0, 2, 1]);
    assert.deepEqual(got.map((g) => g.length), [0, 2, 1], 'known MAC2 to p2; unknown MAC9 floods to p2, p3');
  } finally {
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0, 'SIGINT: exit 0');
    await Promise.all(peers.map((p) => p.close()));
  }
  const stats = JSON.parse(sw.lines.find((l) => l.startsWith('{'))!);
  assert.equal(stats.ports[0].counters.rxPackets, 3);
  assert.equal(stats.ports[1].counters.txPackets, 3);
  assert.equal(stats.pool.free, stats.pool.slots, 'every handle back in the pool after drain');
});

test('VLAN isolation across access and trunk ports; a missing peer is counted, not fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-'));
  const cfg = join(dir, 'vlan.json');
  const port = (n: number, vlan: object) => ({ name: `v${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4110${n}`, remote: `127.0.0.1:5110${n}` }, vlan });
  writeFileSync(cfg, JSON.stringify({
    workers: 2, nic: { queues: 2 }, stats: { intervalSeconds: 0 },
    ports: [port(1, { mode: 'access', vlan: 10 }), port(2, { mode: 'access', vlan: 10 }), port(3, { mode: 'access', vlan: 20 }),
      port(4, { mode: 'trunk', allowed: [10, 20] }), port(5, { mode: 'access', vlan: 10 })],
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  await sw.waitLine(/switch up/);
  // v5 has no peer: its frames meet a closed port.
  const peers = [1, 2, 3, 4].map((n) => new Peer(`127.0.0.1:5110${n}`, `127.0.0.1:4110${n}`));
  await Promise.all(peers.map((p) => p.ready()));
  try {
    peers[0].send(frame(BCAST, MAC(1)));
    let got = await receive(peers, [0, 1, 0, 1]);
    assert.deepEqual(got.map((g) => g.length), [0, 1, 0, 1], 'VLAN 10 broadcast: v2 and the trunk, never v3 (VLAN 20)');
    assert.deepEqual(got[3][0], frame(BCAST, MAC(1), 10), 'trunk copy carries tag 10');
    peers[3].send(frame(BCAST, MAC(4), 20));
    got = await receive(peers, [0, 0, 1, 0]);
    assert.deepEqual(got.map((g) => g.length), [0, 0, 1, 0], 'tagged VLAN 20 from the trunk reaches v3 only');
    assert.deepEqual(got[2][0], frame(BCAST, MAC(4)), 'untagged on the access port');
    peers[2].send(frame(MAC(1), MAC(3)));
    got = await receive(peers, [0, 0, 0, 1]);
    assert.deepEqual(got.map((g) => g.length), [0, 0, 0, 1], 'MAC1 is known only in VLAN 10: VLAN 20 floods, to the trunk only');
    for (let i = 0; i < 5; i++) { peers[0].send(frame(BCAST, MAC(1))); await sleep(20); }
    got = await receive(peers, [0, 5, 0, 5]);
    assert.equal(got[1].length, 5, 'switch keeps forwarding while v5 has no peer');
  } finally {
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    await Promise.all(peers.map((p) => p.close()));
  }
  const stats = JSON.parse(sw.lines.find((l) => l.startsWith('{'))!);
  const v5 = stats.ports[4].counters;
  assert.ok(v5.txErrors + v5.peerUnreachable > 0, `v5 counts its vanished peer (ECONNREFUSED): ${JSON.stringify(v5)}`);
  assert.equal(v5.txPackets + v5.txErrors + v5.txDropPeerDown, stats.ports[0].counters.flooded, 'every flooded copy for v5 is sent, failed or held back (peer down)');
  assert.equal(stats.pool.free, stats.pool.slots);
});

test('invalid configuration: every problem named by its field path, pool sizes checked against memory, exit code 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-'));
  const cases: [unknown, RegExp][] = [
    [{ ports: [{ name: 'a', endpoint: { type: 'udp', local: '127.0.0.1:99999', remote: '127.0.0.1:1' } }] }, /ports\[0\]\.endpoint\.local: "127\.0\.0\.1:99999" is not "IP:port"/],
    [{ ports: [{ name: 'a', endpoint: { type: 'udp', local: '127.0.0.1:4000', remote: '999.1.1.1:50002' } }] }, /ports\[0\]\.endpoint\.remote: "999\.1\.1\.1:50002" is not "IP:port" with an IP address literal/],
    [{ ports: [{ name: 'a', endpoint: { type: 'udp', local: '127.0.0.1:4000', remote: 'peer.example:50002' } }] }, /ports\[0\]\.endpoint\.remote: "peer\.example:50002" is not "IP:port"/],
    [{ ports: [{ name: 'a', endpoint: { type: 'memory' } }], control: { listen: '127.attacker.example:7400' } }, /control\.listen: "127\.attacker\.example" is not an IP address/],
    [{ ports: [] }, /ports: needs at least 1 item/],
    [{ nic: { queues: 65 }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }, /nic\.queues: 65 is out of range 1\.\.64/],
    [{ ports: [{ name: 'a', endpoint: { type: 'memory' }, vlan: { mode: 'trunk' } }] }, /ports\[0\]\.vlan\.allowed: a trunk needs/],
    [{ ports: [{ name: 'a', endpoint: { type: 'memory' } }], nic: { filters: [{ kind: 'mac', mac: '02:00:00:00:00:01', queue: 7 }] } }, /nic\.filters\[0\]\.queue: 7 is not a queue/],
    [{ ports: [{ name: 'a', endpoint: { type: 'memory' }, colour: 'red' }] }, /ports\[0\]\.colour: unknown field/],
    [{ nic: { ringSize: 1000 }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }, /nic\.ringSize: 1000 is not a power of two/],
    [{ pool: { slots: 524288, slotSize: 9216 }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }, /pool: slots x slotSize = 524288 x 9216 = 4\.5 GiB, over the 4\.0 GiB one pool can hold/],
    [{ pool: { slots: 1048576, slotSize: 65663 }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }, /pool: slots x slotSize = 1048576 x 65663 = 64\.1 GiB/],
    [{ pool: { slots: 460000, slotSize: 9216 }, workers: 64, nic: { queues: 64 }, flow: { cacheEntries: 1 << 24 }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }, /pool: this configuration needs about [\d.]+ GiB of shared memory \(pool 3\.9 GiB\), over 75% of this host's/],
  ];
  for (const [i, [doc, re]] of cases.entries()) {
    const file = join(dir, `bad${i}.json`);
    writeFileSync(file, JSON.stringify(doc));
    const p = start([CLI, 'run', '--config', file]);
    const code = await p.exit;
    assert.equal(code, 2, `case ${i} exit code`);
    const err = p.lines.filter((l) => l.startsWith('stderr: '));
    assert.equal(err.length, 1, `one message: ${err.join(' / ')}`);
    assert.match(err[0], re);
  }
  // Every problem at once, one line each under a count.
  writeFileSync(join(dir, 'many.json'), JSON.stringify({ workers: 99, nic: { queues: 0, colour: 1 }, ports: [{ name: 'a b', endpoint: { type: 'udp', local: 'x' } }, { name: 'c', endpoint: { type: 'udp', local: '127.0.0.1:1', remote: '999.1.1.1:50002' } }] }));
  const many = start([CLI, 'run', '--config', join(dir, 'many.json')]);
  assert.equal(await many.exit, 2);
  const text = many.lines.join('\n');
  assert.match(text, /invalid configuration in .*many\.json: 6 problems:/);
  for (const re of [/workers: 99 is out of range/, /nic\.colour: unknown field/, /nic\.queues: 0 is out of range/, /ports\[0\]\.name: use 1-32/, /ports\[0\]\.endpoint\.local: "x" is not "IP:port"/, /ports\[1\]\.endpoint\.remote: "999\.1\.1\.1:50002"/]) assert.match(text, re);
  // Cross-field problems are collected too.
  writeFileSync(join(dir, 'cross.json'), JSON.stringify({ workers: 8, nic: { queues: 4, filters: [{ kind: 'mac', mac: '02:00:00:00:00:01', queue: 9 }] }, ports: [{ name: 'a', endpoint: { type: 'memory' } }, { name: 'a', endpoint: { type: 'memory' } }] }));
  const cross = start([CLI, 'run', '--config', join(dir, 'cross.json')]);
  assert.equal(await cross.exit, 2);
  assert.match(cross.lines.join('\n'), /3 problems:[^]*ports\[1\]\.name: duplicate[^]*nic\.filters\[0\]\.queue: 9 is not a queue[^]*workers: 8 workers for 4 queues/);
  // A file that is not there is named in words, not as an errno code.
  const gone = start([CLI, 'run', '--config', join(dir, 'missing.json')]);
  assert.equal(await gone.exit, 2);
  assert.deepEqual(gone.lines, [`stderr: sluice: cannot read ${join(dir, 'missing.json')}: no such file`]);
  writeFileSync(join(dir, 'syntax.json'), '{"ports": [');
  const p = start([CLI, 'run', '--config', join(dir, 'syntax.json')]);
  assert.equal(await p.exit, 2);
  assert.match(p.lines.join('\n'), /is not valid JSON/);
});

test('--print-config round-trips through --config; --help teaches', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-'));
  const pc = start([CLI, 'run', '--print-config', '--workers', '1']);
  assert.equal(await pc.exit, 0);
  const doc = JSON.parse(pc.lines.join('\n'));
  assert.equal(doc.workers, 1);
  assert.equal(doc.ports.length, 3);
  assert.equal(doc.ports[1].endpoint.local, '127.0.0.1:40002');
  writeFileSync(join(dir, 'c.json'), JSON.stringify(doc));
  const again = start([CLI, 'run', '--config', join(dir, 'c.json'), '--print-config']);
  assert.equal(await again.exit, 0);
  assert.deepEqual(JSON.parse(again.lines.join('\n')), doc);
  const h = start([CLI, 'run', '--help']);
  assert.equal(await h.exit, 0);
  assert.match(h.lines.join('\n'), /127\.0\.0\.1:50001/);
  const top = start([CLI, '--help']);
  assert.equal(await top.exit, 0);
  assert.match(top.lines.join('\n'), /sluice run/);
  const bad = start([CLI, 'run', '--bogus']);
  assert.equal(await bad.exit, 2);
});

test('sluice run --json writes only JSON to stdout; --version; flags as --name=value; prop/port help and "not JSON"', async () => {
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-'));
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({ workers: 1, nic: { queues: 1 }, control: { listen: 'off' }, ports: [{ name: 'a', endpoint: { type: 'memory' } }] }));
  const child = spawn(process.execPath, [CLI, 'run', `--config=${cfg}`, '--workers=0', '--stats-interval=1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (b) => { out += b; });
  child.stderr.on('data', (b) => { err += b; });
  while (!err.includes('Ctrl-C stops')) await sleep(20);
  await sleep(1300); // past one live-rate interval: not a terminal, so nothing is drawn
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0, err);
  const doc = JSON.parse(out) as { ports: { name: string }[] };
  assert.equal(doc.ports[0].name, 'a', 'stdout is exactly one JSON document');
  assert.match(err, /switch up — 1 ports, 1 RX queues, 0 workers/);
  assert.doesNotMatch(err, /live rates/, 'no live rates when standard error is not a terminal');
  const run = (args: string[]) => new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '', e = '';
    c.stdout.on('data', (b) => { o += b; });
    c.stderr.on('data', (b) => { e += b; });
    c.on('exit', (x) => resolve({ code: x ?? -1, out: o, err: e }));
  });
  const v = await run(['--version']);
  assert.match(v.out, /^sluice \d+\.\d+\.\d+ \(node v\d+/);
  assert.match((await run(['prop', '--help'])).out, /usage: sluice prop <set\|del>/);
  assert.match((await run(['port', '--help'])).out, /usage: sluice port <connect\|disconnect>/);
  const nj = await run(['prop', 'set', 'x', 'notjson']);
  assert.equal(nj.code, 2);
  assert.match(nj.err, /"notjson" is not JSON/);
  const unknown = await run(['run', '--bogus']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /Unknown option '--bogus'/);
});
