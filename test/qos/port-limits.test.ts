// A port's maximum rates as configured: refusals name the field (no thread to pace them, a
// non-native endpoint, a queue smaller than a slot, an uplink already shaped), and PortLimits
// builds one shared bucket per direction with counters for every thread.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig } from '../../src/control/config.js';
import { ConfigError } from '../../src/schema.js';
import { PortLimits } from '../../src/qos/port-limits.js';
import { LinkShare } from '../../src/endpoints/link.js';

const udp = (n: number, io = 'auto') => ({ type: 'udp', local: `127.0.0.1:${46100 + n}`, remote: `127.0.0.1:${46200 + n}`, io });
const problems = (d: unknown): string[] => {
  try { checkConfig(d); } catch (e) { assert.ok(e instanceof ConfigError); return e.problems.map((p) => `${p.path}: ${p.problem}`); }
  return [];
};

test('qos limits are refused, naming the field, where nothing could pace them', () => {
  const doc = (workers: number, endpoint: unknown, qos: unknown) => ({ workers, control: { listen: 'off' }, ports: [{ name: 'vm', endpoint, qos }, { name: 'b', endpoint: udp(2) }] });
  assert.deepEqual(problems(doc(1, udp(1), { maxRxMbps: 100, maxTxMbps: 50 })), []);
  assert.deepEqual(problems(doc(0, udp(1), { maxRxMbps: 100 })), ['ports[0].qos: maximum rates are paced by a datapath worker thread: set workers >= 1']);
  assert.deepEqual(problems(doc(1, { type: 'memory' }, { maxTxMbps: 100 })), ['ports[0].qos: maximum rates need a native endpoint: a memory port is not run by a datapath thread']);
  assert.deepEqual(problems(doc(1, udp(1, 'dgram'), { maxTxMbps: 100 })), ['ports[0].qos: maximum rates need a native endpoint: a udp port on the dgram I/O path is not run by a datapath thread']);
  assert.deepEqual(problems(doc(1, udp(1), { maxTxMbps: 100, queueBytes: 4096 })), [], 'a queue of two default slots');
  assert.deepEqual(problems({ ...doc(1, udp(1), { maxTxMbps: 100, queueBytes: 1024 }), pool: { slotSize: 2048 } }), ['ports[0].qos.queueBytes: 1024 bytes do not hold one 2048-byte pool slot']);
  const vx = { type: 'vxlan', local: '127.0.0.1:46300', vni: 5, remotes: ['127.0.0.2'], rateMbps: 100 };
  assert.deepEqual(problems(doc(1, vx, { maxRxMbps: 10 })), ['ports[0].qos: this uplink already has an emulated access link (endpoint.rateMbps): shape it there']);
  assert.match(problems(doc(1, udp(1), { maxRxMbps: 0 }))[0], /^ports\[0\]\.qos\.maxRxMbps: /);
  assert.deepEqual(problems(doc(0, udp(1), {})), [], 'an empty qos limits nothing');
});

test('PortLimits: one shared bucket per limited direction, counters per thread, only limited ports\' links shaped', () => {
  const native = Uint8Array.from([1, 1, 0]);
  const l = new PortLimits([{ name: 'vm', qos: { maxTxMbps: 50 } }, { name: 'b' }, { name: 'mem' }], 3, native);
  assert.ok(l.any);
  const s = l.shapes[0]!;
  assert.equal(s.rx, null);
  assert.equal(s.tx!.rateMbps, 50);
  assert.equal(s.tx!.stats.length, 3, 'one stats block per worker');
  assert.ok(s.tx!.bucket instanceof SharedArrayBuffer);
  assert.equal(s.tx!.catchUp, false, 'a limiter keeps no tokens through a stall');
  assert.equal(s.tx!.burstUs, 1000);
  const links = [0, 0, 1].map((port, i): LinkShare => ({ type: 'udp', port, fd: 10 + i, to: null, tunnel: null, vnetHdr: 0 }));
  l.attach(links);
  assert.equal(links[0].shape, s);
  assert.equal(links[1].shape, s, 'every descriptor of the port draws on the same shapes');
  assert.equal(links[2].shape, undefined);
  assert.deepEqual(Object.keys(l.report(0)!), ['tx']);
  assert.equal(l.report(1), null);
  assert.throws(() => new PortLimits([{ name: 'mem', qos: { maxRxMbps: 5 } }], 1, Uint8Array.from([0])), /port "mem" qos: maximum rates need a native endpoint/);
  assert.throws(() => new PortLimits([{ name: 'vm', qos: { maxRxMbps: 5 } }], 0, Uint8Array.from([1])), /port "vm" qos: .* set workers >= 1/);
});

test('shapedSpinMicros: default 40 µs, a chosen value kept, out of range refused naming the field', () => {
  const doc = (more: object) => ({ workers: 1, control: { listen: 'off' }, ports: [{ name: 'vm', endpoint: udp(1), qos: { maxRxMbps: 10 } }], ...more });
  assert.equal(checkConfig(doc({})).shapedSpinMicros, 40);
  assert.equal(checkConfig(doc({ shapedSpinMicros: 200 })).shapedSpinMicros, 200);
  assert.match(problems(doc({ shapedSpinMicros: 20000 }))[0], /^shapedSpinMicros: /);
  assert.match(problems(doc({ shapedSpinMicros: -1 }))[0], /^shapedSpinMicros: /);
});
