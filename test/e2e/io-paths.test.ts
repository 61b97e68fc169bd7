// Which I/O path each port uses, said at start, and the fallback: with the native module
// turned off (SLUICE_NATIVE=off, as when it did not build) UDP ports run on Node dgram and
// forward as before, and a tap port refuses to start with a message naming what is missing.
// `npm test` also runs the UDP end-to-end tests a second time with the module off.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { CLI, Peer, receive, start } from '../helpers/processes.js';
import { native } from '../../src/native/io.js';

function config(dir: string, ports: object[]): string {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify({ workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: 'off' }, ports }));
  return f;
}

const udpPorts = [1, 2].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4461${n}`, remote: `127.0.0.1:5461${n}` } }));

test('sluice run names each port\'s I/O path and forwards on it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-io-'));
  const sw = start([CLI, 'run', '--config', config(dir, udpPorts), '--json']);
  const peers = [1, 2].map((n) => new Peer(`127.0.0.1:5461${n}`, `127.0.0.1:4461${n}`));
  try {
    await sw.waitLine(/Ctrl-C stops/);
    const line = sw.lines.find((l) => /I\/O: /.test(l))!;
    if (native === null) assert.match(line, /p1 Node dgram, p2 Node dgram \(native module not used: /);
    else assert.match(line, /I\/O: p1 native recvmmsg\/sendmmsg, p2 native recvmmsg\/sendmmsg$/);
    await Promise.all(peers.map((p) => p.ready()));
    for (let i = 0; i < 20; i++) peers[0].send(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: 0x88b5, payload: 46 + i }));
    const [, got] = await receive(peers, [0, 20]);
    assert.equal(got.length, 20);
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
});

test('without the native module a tap port refuses to start and says what is missing', { skip: native !== null ? 'the native module is loaded (npm run test:fallback runs this with SLUICE_NATIVE=off)' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-io-'));
  const sw = start([CLI, 'run', '--config', config(dir, [{ name: 'vm', endpoint: { type: 'tap', name: 'sl-never' } }])]);
  assert.equal(await sw.exit, 1);
  assert.ok(sw.lines.some((l) => /tap sl-never cannot start: (SLUICE_NATIVE=off|the native I\/O addon did not load)/.test(l)), sw.lines.join('\n'));
});
