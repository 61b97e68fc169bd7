// Software segmentation of GSO TCP frames and completion of partial checksums (wire/gso.ts),
// as a NIC's TSO would do it: every segment carries the headers with its own lengths, id,
// sequence number and flags, and checksums a receiver accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketPool, VNET_HDR } from '../../src/nic/pool.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { finishFrame } from '../../src/nic/gso.js';
import { inetChecksum } from '../../src/wire/ipv4.js';
import { GSO_TCPV4, GSO_UDP, VNET_F_NEEDS_CSUM } from '../../src/nic/vnet-hdr.js';

function header(pool: PacketPool, h: number, flags: number, gsoType: number, gsoSize: number, csumStart: number, csumOffset: number): void {
  const v = new DataView(pool.vnet.buffer, pool.vnet.byteOffset + h * VNET_HDR, VNET_HDR);
  v.setUint8(0, flags); v.setUint8(1, gsoType); v.setUint16(4, gsoSize, true); v.setUint16(6, csumStart, true); v.setUint16(8, csumOffset, true);
}

function checksumsOk(f: Uint8Array): boolean {
  const total = (f[16] << 8) | f[17], tcpLen = total - 20;
  let pseudo = 6 + tcpLen;
  for (let o = 26; o < 34; o += 2) pseudo += (f[o] << 8) | f[o + 1];
  return inetChecksum(f, 14, 20) === 0 && inetChecksum(f, 34, tcpLen, pseudo) === 0;
}

const PAYLOAD = 1000 * 7 + 123;
const payload = Uint8Array.from({ length: PAYLOAD }, (_, i) => (i * 13) & 0xff);

function gsoFrame(pool: PacketPool): number {
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 40000, dport: 5201 }, payload: PAYLOAD });
  f.set(payload, 54);
  f[18] = 0x12; f[19] = 0x34; // IP id
  f[38] = 0; f[39] = 0; f[40] = 0x10; f[41] = 0; // seq 0x1000
  f[47] = 0x18 | 0x01 | 0x80; // ACK PSH FIN CWR
  const h = pool.allocFrom(f, 0, f.length);
  header(pool, h, VNET_F_NEEDS_CSUM, GSO_TCPV4, 1000, 34, 16);
  return h;
}

test('a GSO TCPv4 frame becomes MTU-sized segments with their own lengths, ids, sequence numbers, flags and checksums', () => {
  const pool = new PacketPool(32, 16384), out = new Int32Array(128);
  const h = gsoFrame(pool);
  const n = finishFrame(pool, h, out);
  assert.equal(n, 8, '7 full segments and one of 123 bytes');
  const joined: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = pool.frame(out[i]), chunk = i < 7 ? 1000 : 123;
    assert.equal(f.length, 54 + chunk);
    assert.equal((f[16] << 8) | f[17], 40 + chunk, 'IPv4 total length');
    assert.equal((f[18] << 8) | f[19], 0x1234 + i, 'IPv4 id');
    assert.equal(((f[38] << 24) | (f[39] << 16) | (f[40] << 8) | f[41]) >>> 0, 0x1000 + i * 1000, 'sequence number');
    assert.equal(f[47] & 0x01, i === 7 ? 1 : 0, 'FIN on the last only');
    assert.equal(f[47] & 0x08, i === 7 ? 8 : 0, 'PSH on the last only');
    assert.equal(f[47] & 0x80, i === 0 ? 0x80 : 0, 'CWR on the first only');
    assert.ok(checksumsOk(f), `segment ${i} checksums`);
    assert.equal(pool.refs[out[i]], 1);
    joined.push(...f.subarray(54));
  }
  assert.deepEqual(Uint8Array.from(joined), payload, 'the payload, in order, once');
});

test('a partial checksum is completed in place; an unsegmentable kind is refused; an empty pool frees what it made', () => {
  const pool = new PacketPool(6, 16384), out = new Int32Array(128);
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1, dport: 2 }, payload: 300 });
  const h = pool.allocFrom(f, 0, f.length);
  // As the kernel leaves it: the TCP checksum field holds the pseudo-header sum, not inverted.
  let pseudo = 6 + 320;
  for (let o = 26; o < 34; o += 2) pseudo += (f[o] << 8) | f[o + 1];
  while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
  const s = pool.start(h);
  pool.data[s + 50] = pseudo >> 8; pool.data[s + 51] = pseudo & 0xff;
  header(pool, h, VNET_F_NEEDS_CSUM, 0, 0, 34, 16);
  assert.equal(finishFrame(pool, h, out), 1);
  assert.equal(out[0], h);
  assert.ok(checksumsOk(pool.frame(h)));
  assert.deepEqual([...pool.vnet.subarray(h * VNET_HDR, (h + 1) * VNET_HDR)], new Array(VNET_HDR).fill(0), 'nothing left to do');
  const u = pool.allocFrom(f, 0, f.length);
  header(pool, u, 0, GSO_UDP, 500, 34, 6);
  assert.equal(finishFrame(pool, u, out), 0, 'UDP fragmentation offload is not segmented');
  const g = gsoFrame(pool);
  const before = pool.available;
  assert.equal(finishFrame(pool, g, out), -1, '8 segments do not fit in what is left');
  assert.equal(pool.available, before, 'the segments made are back');
});
