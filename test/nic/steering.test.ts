// Steering filters override RSS; the table has a capacity and refuses beyond it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketPool } from '../../src/nic/pool.js';
import { SoftNic } from '../../src/nic/soft-nic.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

function nic(filterCapacity = 64, ringSize = 1024) {
  const pool = new PacketPool(2048, 2048);
  const keys = new FlowKeys(2048);
  const n = new SoftNic(pool, keys, { queues: 4, ringSize, filterCapacity });
  const rx = (f: Uint8Array, port = 0) => { const h = pool.allocFrom(f, 0, f.length); const q = n.receive(h, port); n.flush(); return q; };
  return { pool, keys, n, rx };
}
const tcp = (sport: number, vid?: number) => buildFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', vlans: vid ? [{ vid }] : undefined, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport, dport: 80 } });

test('RSS spreads flows; a 5-tuple filter moves one flow to the chosen queue', () => {
  const { n, rx } = nic();
  const queues = new Set<number>();
  for (let p = 1000; p < 1064; p++) queues.add(rx(tcp(p)));
  assert.equal(queues.size, 4, 'RSS uses all four queues');
  const rssQ = rx(tcp(1000));
  const target = (rssQ + 1) % 4;
  n.steering.add({ kind: 'tuple', proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, queue: target });
  assert.equal(rx(tcp(1000)), target);
  assert.equal(rx(tcp(1001)), rx(tcp(1001)), 'other flows still by RSS');
  assert.ok(n.steering.remove({ kind: 'tuple', proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 80, queue: target }));
  assert.equal(rx(tcp(1000)), rssQ, 'removed filter: back to RSS');
  assert.ok(n.counters.total('byFilter') >= 1);
});

test('MAC+VLAN filters, VLAN-specific before any-VLAN; unparseable frames go to queue 0', () => {
  const { n, rx } = nic();
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:01', queue: 2 });
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:01', vlan: 7, queue: 3 });
  assert.equal(rx(tcp(5)), 2);
  assert.equal(rx(tcp(5, 7)), 3);
  assert.equal(rx(tcp(5, 8)), 2);
  assert.equal(rx(new Uint8Array(10)), 0);
  assert.equal(n.counters.get('unparsed', 0), 1);
});

test('a full filter table refuses with a clear error; bad filters name the field', () => {
  const { n } = nic(2);
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:01', queue: 1 });
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:02', queue: 1 });
  assert.throws(() => n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:03', queue: 1 }), /steering table full: 2 of 2/);
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:02', queue: 3 }); // re-target is not a new entry
  assert.throws(() => n.steering.add({ kind: 'mac', mac: 'zz', queue: 1 }), /filter\.mac/);
  assert.throws(() => n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:09', queue: 9 }), /filter\.queue: 9/);
  assert.throws(() => n.steering.add({ kind: 'tuple', proto: 'tcp', src: '1.2.3', dst: '1.1.1.1', sport: 1, dport: 2, queue: 0 }), /filter\.src/);
});

test('a full receive ring drops, counts and frees; a burst is published with one flush', () => {
  const { n, pool } = nic(64, 16);
  n.steering.add({ kind: 'mac', mac: '02:00:00:00:00:01', queue: 1 });
  for (let i = 0; i < 20; i++) { const f = tcp(i); n.receive(pool.allocFrom(f, 0, f.length), 0); }
  assert.equal(n.rings[1].count, 0, 'nothing visible before flush');
  assert.equal(n.unflushed, 20);
  n.flush();
  assert.equal(n.rings[1].count, 16);
  assert.equal(n.counters.get('dropRingFull', 1), 4);
  assert.equal(n.counters.get('packets', 1), 16);
  assert.equal(pool.available, 2048 - 16, 'the 4 dropped slots are free again');
});
