// The 1 ms rate trace end to end: a switch with two datapath workers and native UDP ports, and a
// third port on the main thread's dgram path; `sluice qos --trace FILE` runs while frames of
// several flows (spread by RSS over both workers) go from one port to another. The file's bins
// add up, port by port and each way, to exactly the bytes the ports counted, the traffic sits in
// the bins of the time it was sent, and the untraced port is named (needs the native module).
// A switch whose workers run no port is refused, and no file is left behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { requireNative } from '../helpers/native.js';
import { raw } from '../helpers/http.js';
import type { DataplaneStats } from '../../src/datapath/dataplane-stats.js';

const P = 47940, A = '02:00:00:00:00:1a', B = '02:00:00:00:00:1b';

test('sluice qos --trace: 1 ms bins that add up to the ports\' byte counters, in the time the frames were sent', { skip: requireNative(), timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-trace-'));
  const cfg = join(dir, 'trace.json'), control = join(dir, 'control.sock'), csv = join(dir, 'trace.csv');
  const udp = (n: number, io: string) => ({ type: 'udp', local: `127.0.0.1:${P + 2 * n}`, remote: `127.0.0.1:${P + 2 * n + 1}`, io });
  writeFileSync(cfg, JSON.stringify({
    workers: 2, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: `unix:${control}` },
    ports: [{ name: 'a', endpoint: udp(0, 'native') }, { name: 'b', endpoint: udp(1, 'native') }, { name: 'slow', endpoint: udp(2, 'dgram') }],
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  const a = dgram.createSocket('udp4'), b = dgram.createSocket('udp4');
  let gotB = 0;
  b.on('message', () => { gotB++; });
  try {
    await sw.waitLine(/Ctrl-C stops/);
    await new Promise<void>((r) => a.bind(P + 1, '127.0.0.1', () => r()));
    await new Promise<void>((r) => b.bind(P + 3, '127.0.0.1', () => r()));
    // b first, so that a's frames to B are forwarded, not flooded.
    b.send(Buffer.from(buildFrame({ dst: A, src: B, ipv4: { src: '10.0.0.2', dst: '10.0.0.1' }, udp: { sport: 9, dport: 9 }, payload: 50 })), P + 2, '127.0.0.1');
    await sleep(200);
    const tracer = start([CLI, 'qos', '--trace', csv, '--seconds', '2.5', '--control', `unix:${control}`]);
    await sleep(600);
    const sentFrom = Date.now();
    let frames = 0;
    for (let round = 0; round < 20; round++) {
      for (let f = 0; f < 16; f++, frames++) a.send(Buffer.from(buildFrame({ dst: B, src: A, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 20000 + f * 13, dport: 9 }, payload: 100 + 37 * f })), P, '127.0.0.1');
      await sleep(20);
    }
    const sentTo = Date.now();
    assert.equal(await tracer.exit, 0, tracer.lines.join('\n'));
    assert.match(tracer.lines.join('\n'), /not traced \(not run by a datapath worker\): slow/);
    const st = JSON.parse((await raw({ socketPath: control }, 'GET', '/stats')).body) as DataplaneStats;
    const counters = (name: string) => st.ports.find((p) => p.name === name)!.counters;
    const [head, ...rows] = readFileSync(csv, 'utf8').trim().split('\n');
    assert.deepEqual(head.split(','), ['ms', 'a.rxBytes', 'a.txBytes', 'b.rxBytes', 'b.txBytes']);
    const bins = rows.map((l) => l.split(',').map(Number));
    for (let i = 1; i < bins.length; i++) assert.equal(bins[i][0], bins[i - 1][0] + 1, 'one row per millisecond, none missing or repeated');
    const sum = (col: number) => bins.reduce((s, r) => s + r[col], 0);
    t.diagnostic(`${frames} frames sent, ${gotB} received; ${bins.length} bins; a.rx ${sum(1)} B, b.tx ${sum(4)} B; counters a.rx ${counters('a').rxBytes}, b.tx ${counters('b').txBytes}`);
    assert.equal(sum(1), counters('a').rxBytes, 'a\'s bytes in, every one in a bin');
    assert.equal(sum(2), counters('a').txBytes);
    assert.equal(sum(3), counters('b').rxBytes, 'b\'s learning frame');
    assert.equal(sum(4), counters('b').txBytes, 'what reached b');
    assert.ok(counters('b').txBytes > 0 && gotB === frames, `b received ${gotB} of ${frames}`);
    // The traffic lies within the time it was sent (the clocks are one: Unix ms), spread over many bins.
    const busy = bins.filter((r) => r[1] > 0).map((r) => r[0]);
    assert.ok(busy[0] >= sentFrom - 5 && busy[busy.length - 1] <= sentTo + 50, `bins with traffic ${busy[0]}..${busy[busy.length - 1]}, sent ${sentFrom}..${sentTo}`);
    assert.ok(busy.length >= 15, `${busy.length} bins with traffic for 20 rounds 20 ms apart`);
  } finally {
    a.close(); b.close();
    if (sw.child.exitCode === null) { sw.child.kill('SIGINT'); await sw.exit; }
  }
});

test('sluice qos --trace on a switch whose workers run no port says so, and writes no file', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-trace-'));
  const cfg = join(dir, 'inline.json'), control = join(dir, 'control.sock'), csv = join(dir, 'trace.csv');
  writeFileSync(cfg, JSON.stringify({
    workers: 0, stats: { intervalSeconds: 0 }, control: { listen: `unix:${control}` },
    ports: [{ name: 'a', endpoint: { type: 'udp', local: `127.0.0.1:${P + 10}`, remote: `127.0.0.1:${P + 11}`, io: 'dgram' } }],
  }));
  const sw = start([CLI, 'run', '--config', cfg]);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    const tracer = start([CLI, 'qos', '--trace', csv, '--seconds', '1', '--control', `unix:${control}`]);
    assert.equal(await tracer.exit, 1);
    assert.match(tracer.lines.join('\n'), /no port to trace: the datapath workers run none .*not traced: a\)/);
    assert.equal(existsSync(csv), false, 'no empty file left behind');
  } finally {
    if (sw.child.exitCode === null) { sw.child.kill('SIGINT'); await sw.exit; }
  }
});
