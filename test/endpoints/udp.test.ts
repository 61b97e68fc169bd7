// UDP endpoint on real sockets: kernel receive-buffer overflows are read back from the
// kernel and every datagram sent is accounted for (taken or counted as a kernel drop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Dataplane } from '../../src/datapath/dataplane.js';
import { parseHostPort, udpEndpoint, UdpIo } from '../../src/endpoints/udp.js';
import { requireNative } from '../helpers/native.js';
import { MemoryEndpoint } from '../../src/endpoints/memory.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

for (const io of ['native', 'dgram'] as UdpIo[]) {
const skip = io === 'native' ? requireNative() : false;
const base = io === 'native' ? 0 : 100;

test(`${io}: receive-buffer overflow is counted as rxKernelDrops; taken + dropped = sent`, { skip }, async () => {
  const ep = udpEndpoint(parseHostPort(`127.0.0.1:${43001 + base}`)!, parseHostPort(`127.0.0.1:${53001 + base}`)!, 65536, io);
  const dp = new Dataplane({
    poolSlots: 8192, slotSize: 2048, queues: 1, ringSize: 8192, txRingSize: 1024, workers: 0, filterCapacity: 4,
    macTableSize: 64, macAgingSeconds: 300,
    ports: [{ name: 'u', endpoint: ep, vlan: { mode: 'access', vlan: 1 } }, { name: 'm', endpoint: new MemoryEndpoint(0), vlan: { mode: 'access', vlan: 1 } }],
  });
  await dp.start();
  const tx = dgram.createSocket('udp4');
  await new Promise<void>((r) => tx.bind(53001 + base, '127.0.0.1', () => r()));
  const f = Buffer.from(buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', payload: 1000 }));
  // The event loop is busy in this loop, so sluice cannot read: the small buffer overflows.
  const N = 3000;
  for (let i = 0; i < N; i++) tx.send(f, 43001 + base, '127.0.0.1');
  const end = Date.now() + 5000;
  let s = dp.stats().ports[0].counters;
  while (s.rxPackets + s.rxKernelDrops < N && Date.now() < end) { await new Promise((r) => setTimeout(r, 20)); s = dp.stats().ports[0].counters; }
  tx.close();
  await dp.stop();
  assert.ok(s.rxKernelDrops > 0, `kernel drops seen: ${JSON.stringify(s)}`);
  assert.equal(s.rxPackets + s.rxKernelDrops, N, 'every datagram is either taken or counted as dropped by the kernel');
  assert.equal(dp.pool.available, dp.pool.slots);
});

test(`${io}: a port that cannot bind fails with the address in the message`, { skip }, async () => {
  const a = dgram.createSocket('udp4');
  await new Promise<void>((r) => a.bind(43002 + base, '127.0.0.1', () => r()));
  const ep = udpEndpoint(parseHostPort(`127.0.0.1:${43002 + base}`)!, parseHostPort(`127.0.0.1:${53002 + base}`)!, undefined, io);
  const dp = new Dataplane({ poolSlots: 256, slotSize: 2048, queues: 1, ringSize: 64, txRingSize: 64, workers: 0, filterCapacity: 4, macTableSize: 64, macAgingSeconds: 300, ports: [{ name: 'u', endpoint: ep, vlan: { mode: 'access' } }] });
  await assert.rejects(dp.start(), new RegExp(`cannot open udp 127\\.0\\.0\\.1:${43002 + base}: EADDRINUSE`));
  a.close();
  await dp.stop(10);
});
}
