// The native I/O module on real sockets: recvmmsg/sendmmsg straight into and out of pool
// slots, peer addresses, cut datagrams, errors as errno values, poll + eventfd, and the
// pool's memory kept alive by the binding alone (an FFI prototype lost it to GC mid-run).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { ADDR_REC, errnoName, native, nativeMissing, PoolBinding } from '../../src/native/io.js';
import { poolBinding } from '../../src/nic/pool-binding.js';
import { HEADROOM, PacketPool } from '../../src/nic/pool.js';
import { requireNative } from '../helpers/native.js';

const skip = requireNative();

function frame(i: number, len: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let k = 0; k < len; k++) f[k] = (i * 7 + k) & 0xff;
  return f;
}

function openPair(): { a: number; b: number; pa: number; pb: number } {
  const io = native!;
  const a = io.udpOpen('127.0.0.1', 0, null, 0, 1 << 20);
  const b = io.udpOpen('127.0.0.1', 0, null, 0, 1 << 20);
  assert.ok(a >= 0 && b >= 0, `udpOpen: ${errnoName(a)} ${errnoName(b)}`);
  return { a, b, pa: io.sockInfo(a, 2), pb: io.sockInfo(b, 2) };
}

function addrTo(port: number, rec: Uint8Array, i: number): void {
  rec.fill(0, i * ADDR_REC, (i + 1) * ADDR_REC);
  rec[i * ADDR_REC] = 4; rec[i * ADDR_REC + 2] = port >> 8; rec[i * ADDR_REC + 3] = port & 0xff;
  rec.set([127, 0, 0, 1], i * ADDR_REC + 4);
}

test('sendBatch/recvBatch move a burst between pool slots, with peer addresses', { skip }, () => {
  const io = native!, pool = new PacketPool(512, 2048), bind = poolBinding(io, pool);
  const { a, b, pa, pb } = openPair();
  const n = 200, out = new Int32Array(n), addrs = new Uint8Array(n * ADDR_REC);
  for (let i = 0; i < n; i++) {
    out[i] = pool.allocFrom(frame(i, 60 + i), 0, 60 + i);
    addrTo(pb, addrs, i);
  }
  assert.equal(io.sendBatch(bind, a, out, 0, n, addrs, 0), n);
  const inn = new Int32Array(n), got = new Uint8Array(n * ADDR_REC);
  for (let i = 0; i < n; i++) inn[i] = pool.alloc();
  let r = 0;
  for (let tries = 0; r < n && tries < 1000; tries++) r += Math.max(0, io.recvBatch(bind, b, inn, r, n - r, got.subarray(r * ADDR_REC), 0));
  assert.equal(r, n);
  for (let i = 0; i < n; i++) {
    assert.equal(pool.off[inn[i]], HEADROOM);
    assert.deepEqual(pool.frame(inn[i]), frame(i, 60 + i), `datagram ${i}`);
    assert.equal(got[i * ADDR_REC], 4);
    assert.equal((got[i * ADDR_REC + 2] << 8) | got[i * ADDR_REC + 3], pa, 'peer port');
  }
  assert.equal(io.recvBatch(bind, b, inn, 0, 1, null, 0), 0, 'nothing left: 0, not an error');
  io.closeFd(a); io.closeFd(b);
});

test('a datagram larger than the slot reads as longer than the slot can hold', { skip }, () => {
  const io = native!, pool = new PacketPool(4, 256), bind = poolBinding(io, pool);
  const { a, b, pb } = openPair();
  const big = new PacketPool(1, 4096), bigBind = poolBinding(io, big);
  const h = big.allocFrom(frame(1, 1000), 0, 1000);
  const addrs = new Uint8Array(ADDR_REC); addrTo(pb, addrs, 0);
  assert.equal(io.sendBatch(bigBind, a, Int32Array.of(h), 0, 1, addrs, 0), 1);
  const inn = Int32Array.of(pool.alloc());
  let r = 0;
  for (let tries = 0; r === 0 && tries < 1000; tries++) r = io.recvBatch(bind, b, inn, 0, 1, null, 0);
  assert.equal(r, 1);
  assert.ok(pool.len[inn[0]] > pool.maxFrame, `len ${pool.len[inn[0]]} > ${pool.maxFrame}`);
  io.closeFd(a); io.closeFd(b);
});

test('failures are errno values: a refused peer, a closed descriptor, a bad handle throws', { skip }, async () => {
  const io = native!, pool = new PacketPool(8, 2048), bind = poolBinding(io, pool);
  // A connected socket to a port nobody listens on: the ICMP refusal comes back on a later call.
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const dead = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const fd = io.udpOpen('127.0.0.1', 0, '127.0.0.1', dead, 1 << 16);
  const h = Int32Array.of(pool.allocFrom(frame(0, 64), 0, 64));
  assert.equal(io.sendBatch(bind, fd, h, 0, 1, null, 0), 1);
  let seen = 0;
  for (let i = 0; i < 200 && seen === 0; i++) {
    const r = io.sendBatch(bind, fd, h, 0, 1, null, 0);
    if (r < 0) seen = r;
    await new Promise((res) => setTimeout(res, 1));
  }
  assert.equal(errnoName(seen), 'ECONNREFUSED');
  io.closeFd(fd);
  assert.equal(errnoName(io.recvBatch(bind, fd, h, 0, 1, null, 0)), 'EBADF');
  assert.throws(() => io.sendBatch(bind, 0, Int32Array.of(99), 0, 1, null, 0), /outside the pool/);
  assert.throws(() => io.recvBatch({} as PoolBinding, 0, h, 0, 1, null, 0), /pool binding/);
});

test('pollIn waits for a readable descriptor; an eventfd wakes it', { skip }, () => {
  const io = native!;
  const ev = io.eventfdOpen();
  const { a, b, pb } = openPair();
  const fds = Int32Array.of(ev, b), ready = new Uint8Array(2);
  assert.equal(io.pollIn(fds, 2, 0, ready), 0, 'nothing readable');
  assert.equal(io.eventfdSignal(ev), 1);
  assert.equal(io.pollIn(fds, 2, 1000, ready), 1);
  assert.deepEqual([...ready], [1, 0]);
  assert.equal(io.eventfdDrain(ev), 1);
  assert.equal(io.pollIn(fds, 2, 0, ready), 0, 'drained');
  const pool = new PacketPool(2, 2048), bind = poolBinding(io, pool), addrs = new Uint8Array(ADDR_REC);
  addrTo(pb, addrs, 0);
  io.sendBatch(bind, a, Int32Array.of(pool.allocFrom(frame(2, 64), 0, 64)), 0, 1, addrs, 0);
  assert.equal(io.pollIn(fds, 2, 1000, ready), 1);
  assert.deepEqual([...ready], [0, 1]);
  for (const fd of [ev, a, b]) io.closeFd(fd);
});

test('the binding alone keeps the pool memory alive through garbage collection', { skip: skip || (typeof globalThis.gc !== 'function' ? 'needs --expose-gc' : false) }, async () => {
  const io = native!;
  const { a, b, pb } = openPair();
  // Only the binding survives this function: no typed array of this pool stays reachable from JS.
  const make = () => {
    const pool = new PacketPool(64, 2048);
    const hs = new Int32Array(32);
    for (let i = 0; i < 32; i++) hs[i] = pool.alloc();
    return { bind: poolBinding(io, pool), hs };
  };
  const { bind, hs } = make();
  for (let round = 0; round < 5; round++) {
    globalThis.gc!();
    const junk: ArrayBuffer[] = [];
    for (let i = 0; i < 200; i++) junk.push(new ArrayBuffer(1 << 16));
    await new Promise((r) => setImmediate(r));
  }
  // Datagrams into the unreachable pool's slots, then out of them again to a Node socket.
  const sink = dgram.createSocket('udp4');
  const back: Buffer[] = [];
  sink.on('message', (m) => back.push(m));
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const src = dgram.createSocket('udp4');
  for (let i = 0; i < 32; i++) src.send(frame(i, 100), pb, '127.0.0.1');
  let r = 0;
  for (let tries = 0; r < 32 && tries < 2000; tries++) {
    r += Math.max(0, io.recvBatch(bind, b, hs, r, 32 - r, null, 0));
    await new Promise((res) => setImmediate(res));
  }
  assert.equal(r, 32);
  globalThis.gc!();
  const addrs = new Uint8Array(32 * ADDR_REC);
  for (let i = 0; i < 32; i++) addrTo(sink.address().port, addrs, i);
  assert.equal(io.sendBatch(bind, a, hs, 0, 32, addrs, 0), 32);
  for (let tries = 0; back.length < 32 && tries < 200; tries++) await new Promise((res) => setTimeout(res, 5));
  assert.equal(back.length, 32);
  const sorted = back.map((m) => m[0]).sort((x, y) => x - y);
  for (let i = 0; i < 32; i++) assert.deepEqual(new Uint8Array(back.find((m) => m[0] === sorted[i])!), frame(i, 100));
  src.close(); sink.close(); io.closeFd(a); io.closeFd(b);
});

test('the module reports why it is missing', () => {
  assert.equal(native === null, nativeMissing !== null);
});

test('sendEncap sends each message as its own header then the frame past a skip, the slot untouched; bad arguments throw', { skip }, () => {
  const io = native!, pool = new PacketPool(64, 2048), bind = poolBinding(io, pool);
  const { a, b, pb } = openPair();
  const f = frame(3, 100), h = pool.allocFrom(f, 0, 100), before = pool.frame(h);
  const hs = Int32Array.of(h, h), addrs = new Uint8Array(2 * ADDR_REC), stride = 16;
  addrTo(pb, addrs, 0); addrTo(pb, addrs, 1);
  const heads = new Uint8Array(2 * stride);
  heads.set([1, 2, 3], 0); heads.set([9, 8, 7, 6, 5], stride);
  assert.equal(io.sendEncap(bind, a, hs, 0, 2, addrs, heads, stride, Uint8Array.of(3, 5), Uint8Array.of(0, 16)), 2);
  const inn = Int32Array.of(pool.alloc(), pool.alloc());
  let r = 0;
  for (let tries = 0; r < 2 && tries < 1000; tries++) r += Math.max(0, io.recvBatch(bind, b, inn, r, 2 - r, null, 0));
  assert.equal(r, 2);
  assert.deepEqual([...pool.frame(inn[0])], [1, 2, 3, ...f]);
  assert.deepEqual([...pool.frame(inn[1])], [9, 8, 7, 6, 5, ...f.subarray(16)]);
  assert.deepEqual(pool.frame(h), before, 'the slot was not written');
  assert.throws(() => io.sendEncap(bind, a, hs, 0, 2, addrs, heads, stride, Uint8Array.of(3, 17), Uint8Array.of(0, 0)), /header past its stride/);
  assert.throws(() => io.sendEncap(bind, a, hs, 0, 2, addrs, heads, stride, Uint8Array.of(3, 3), Uint8Array.of(0, 101)), /skip past its end/);
  assert.throws(() => io.sendEncap(bind, a, hs, 0, 2, addrs, heads.subarray(0, 20), stride, Uint8Array.of(3, 3), Uint8Array.of(0, 0)), /n \* stride bytes/);
  io.closeFd(a); io.closeFd(b);
});
