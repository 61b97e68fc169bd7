// MAC table fairness (issue 10, defect 8): each port keeps a reserved share of the table, so a
// port that floods source addresses (or whose macLimit was raised) cannot starve the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEARN_TABLE_FULL, MacTable } from '../../src/vswitch/mac-table.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { memorySwitch } from '../helpers/switch.js';

test('reserves: one port takes at most its reserve plus the shared part; the others still learn theirs', () => {
  const t = new MacTable(64, 4, 300); // 50%: reserve 8 per port, 32 shared
  assert.equal(t.reserve, 8);
  assert.equal(t.sharedCapacity, 32);
  let learned = 0, refused = 0;
  for (let i = 0; i < 200; i++) (t.learn(1, 0x0200, i, 0, 0) >= 0 ? learned++ : refused++);
  assert.equal(learned, 40, 'port 0: reserve 8 + shared 32');
  assert.equal(refused, 160);
  assert.equal(t.learn(1, 0x0200, 999, 0, 0), LEARN_TABLE_FULL);
  assert.equal(t.counter('sharedFull'), 161);
  assert.equal(t.sharedInUse, 32);
  for (let p = 1; p < 4; p++) for (let i = 0; i < 8; i++) assert.ok(t.learn(1, 0x0300 + p, i, p, 0) >= 0, `port ${p} learns its reserve (entry ${i})`);
  assert.equal(t.count, 64, 'the table is exactly full');
  assert.ok(t.learn(1, 0x0301, 100, 1, 0) < 0, 'past its reserve port 1 finds the shared part full');
  // Aging gives the shared part back: port 0's 40 go, port 1 may now grow past its reserve.
  assert.equal(t.age(1000), 64);
  assert.equal(t.sharedInUse, 0);
  for (let i = 0; i < 40; i++) assert.ok(t.learn(1, 0x0301, i, 1, 2000) >= 0);
  assert.equal(t.sharedInUse, 32);
});

test('moves keep the shared count: an entry moving from a port past its reserve to one within it frees a shared entry', () => {
  const t = new MacTable(64, 4, 300);
  for (let i = 0; i < 10; i++) t.learn(1, 0x0200, i, 0, 0); // port 0: 8 reserved + 2 shared
  assert.equal(t.sharedInUse, 2);
  t.learn(1, 0x0200, 9, 1, 0); // moves to port 1 (within its reserve)
  assert.equal(t.sharedInUse, 1);
  assert.equal(t.learnedOn(0), 9);
  assert.equal(t.learnedOn(1), 1);
  assert.equal(t.counter('moved'), 1);
  assert.equal(t.flushPort(0), 9);
  assert.equal(t.sharedInUse, 0);
});

test('a MAC flood on one port does not make the switch flood everyone else\'s unicast', async () => {
  const sw = await memorySwitch([{ macLimit: 100000 }, {}, {}, {}], { macTableSize: 64 });
  const f = (dst: string, src: string) => buildFrame({ dst, src, etherType: 0x88b5, payload: 46 });
  const mac = (hi: number, lo: number) => `02:00:00:${hi.toString(16).padStart(2, '0')}:${(lo >> 8).toString(16).padStart(2, '0')}:${(lo & 255).toString(16).padStart(2, '0')}`;
  // p1 sends from 1,000 source addresses (its macLimit raised far past the table).
  for (let i = 0; i < 1000; i++) sw.send(0, f(mac(1, 2), mac(0xaa, i)));
  sw.got();
  // p2, p3, p4 announce themselves; then p4 talks to p2 and p3 unicast.
  for (const p of [1, 2, 3]) sw.send(p, f('ff:ff:ff:ff:ff:ff', mac(p + 1, 1)));
  sw.got();
  sw.send(3, f(mac(2, 1), mac(4, 1)));
  sw.send(3, f(mac(3, 1), mac(4, 1)));
  const got = sw.got().map((g) => g.length);
  assert.deepEqual(got, [0, 1, 1, 0], 'each unicast reaches its port only, not flooded');
  const m = sw.dp.stats().macTable;
  assert.ok(m.entries <= 64);
  assert.equal(sw.dp.macs.learnedOn(0), 64 - 3 * sw.dp.macs.reserve, 'p1 holds at most the table less the others\' reserves');
  assert.ok(m.sharedFull > 0);
  await sw.dp.stop();
});

test('remote MACs: a MAC seen from another VTEP of the same port has moved; static entries neither move nor age', () => {
  const t = new MacTable(64, 4, 10);
  const s = t.learn(1, 0x0200, 0xb, 3, 100, 1);
  assert.equal(t.tunnelAt(s), 1);
  const g = t.generation;
  assert.equal(t.tunnelMoved(s, 1), false);
  assert.equal(t.tunnelMoved(s, 2), true);
  assert.equal(t.learn(1, 0x0200, 0xb, 3, 101, 2), s);
  assert.equal(t.tunnelAt(s), 2);
  assert.equal(t.counter('moved'), 1);
  assert.ok(t.generation > g, 'a move between VTEPs changes what lookups answer');
  t.learn(1, 0x0200, 0xb, 3, 101, 2);
  assert.equal(t.counter('moved'), 1, 'seen again from the same VTEP: no move');

  t.addStatic(1, 0x0200, 0x5, 3, 4);
  const st = t.locate(1, 0x0200, 0x5, 100);
  assert.equal(t.learn(1, 0x0200, 0x5, 0, 100, 0), st, 'learning from another port finds the static entry');
  assert.equal(t.portAt(st), 3); assert.equal(t.tunnelAt(st), 4);
  assert.equal(t.tunnelMoved(st, 0), false, 'a static entry never sends its flows back to learning');
  assert.equal(t.age(100_000), 1, 'only the learned entry ages');
  assert.equal(t.locate(1, 0x0200, 0x5, 100_000), st);
  assert.equal(t.flushPort(3), 0, 'a port going down keeps its static entries');
  assert.deepEqual(t.entries(100_000).map((e) => [e.mac, e.static, e.tunnel]), [['02:00:00:00:00:05', true, 4]]);
});
