// Figures that must tell the truth (issue 10, defect 6): frames for a peer that is gone are not
// counted as sent, and the final report carries the kernel's receive-buffer drops that were
// read while the sockets were still open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { CLI, sleep, start } from '../helpers/processes.js';
import { raw } from '../helpers/http.js';

const frame = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: 0x88b5, payload: 46 });

function config(dir: string, base: number, socketBuffer: number) {
  const cfg = join(dir, 'c.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 1 }, stats: { intervalSeconds: 0 }, control: { listen: `unix:${join(dir, 'ctl.sock')}` },
    ports: [1, 2].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:${base + n}`, remote: `127.0.0.1:${base + 5 + n}`, socketBuffer } })),
  }));
  return cfg;
}

test('frames for a dead peer are held back and counted as txDropPeerDown, not as sent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fig-'));
  const base = 47300;
  const sw = start([CLI, 'run', '--config', config(dir, base, 4 << 20), '--json']);
  await sw.waitLine(/Ctrl-C stops/);
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(base + 6, '127.0.0.1', r));
  // p2 has no peer: every frame flooded to it meets a closed port.
  const N = 3000;
  for (let i = 0; i < N; i++) { tx.send(frame, base + 1, '127.0.0.1'); if (i % 100 === 99) await sleep(5); }
  await sleep(300);
  sw.child.kill('SIGINT');
  assert.equal(await sw.exit, 0);
  tx.close();
  const stats = JSON.parse(sw.lines.find((l) => l.startsWith('{"ports"'))!);
  const p1 = stats.ports[0].counters, p2 = stats.ports[1].counters;
  assert.equal(p1.rxPackets + p1.rxKernelDrops, N, 'every frame sent to p1 was taken or counted as a kernel drop');
  assert.equal(p1.flooded, p1.rxPackets, 'every frame taken was flooded (p2 is the only other port)');
  assert.equal(p2.txPackets + p2.txErrors + p2.txDropPeerDown, p1.flooded, 'every frame for p2 is sent, failed or held back');
  assert.ok(p1.flooded > 100, `frames flooded: ${p1.flooded}`);
  assert.ok(p2.txPackets < p1.flooded / 10, `only probes go out to a dead peer: ${p2.txPackets} of ${p1.flooded} counted as sent`);
  assert.ok(p2.txDropPeerDown > p1.flooded / 2, `held back: ${p2.txDropPeerDown}`);
  assert.equal(stats.pool.free, stats.pool.slots);
});

test('the final report keeps the kernel drops /stats showed while running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-fig-'));
  const base = 47320;
  const sw = start([CLI, 'run', '--config', config(dir, base, 65536), '--json']);
  await sw.waitLine(/Ctrl-C stops/);
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(base + 6, '127.0.0.1', r));
  // A stopped switch reads nothing: a 64 KiB receive buffer overflows.
  sw.child.kill('SIGSTOP');
  let sent = 0;
  for (let i = 0; i < 4000; i++) tx.send(frame, base + 1, '127.0.0.1', () => { sent++; });
  for (let i = 0; i < 200 && sent < 4000; i++) await sleep(5);
  sw.child.kill('SIGCONT');
  await sleep(300);
  const live = JSON.parse((await raw({ socketPath: join(dir, 'ctl.sock') }, 'GET', '/stats')).body);
  const during = live.ports[0].counters.rxKernelDrops;
  assert.ok(during > 0, `kernel drops while running: ${during}`);
  sw.child.kill('SIGINT');
  assert.equal(await sw.exit, 0);
  tx.close();
  const final = JSON.parse(sw.lines.find((l) => l.startsWith('{"ports"'))!);
  assert.equal(final.ports[0].counters.rxKernelDrops, during, 'final rxKernelDrops = what /stats showed');
  assert.equal(final.ports[0].counters.rxPackets + during, 4000, 'every datagram was received or counted as a kernel drop');
});
