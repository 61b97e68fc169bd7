// The virtio-net header kept per slot: zeroed for every new frame, copied with a flooded
// frame's private copy, moved with a VLAN tag push/pop, and read for the segment count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketPool, VNET_HDR } from '../../src/nic/pool.js';
import { applyTagOp, TAG_PUSH, TAG_STRIP } from '../../src/vswitch/egress-tag.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { GSO_TCPV4, gsoSegments, vnetHeader, vnetPending, VNET_F_NEEDS_CSUM } from '../../src/nic/vnet-hdr.js';

function setHeader(pool: PacketPool, h: number, f: { flags: number; gsoType: number; hdrLen: number; gsoSize: number; csumStart: number; csumOffset: number }): void {
  const v = new DataView(pool.vnet.buffer, pool.vnet.byteOffset + h * VNET_HDR, VNET_HDR);
  v.setUint8(0, f.flags); v.setUint8(1, f.gsoType);
  v.setUint16(2, f.hdrLen, true); v.setUint16(4, f.gsoSize, true); v.setUint16(6, f.csumStart, true); v.setUint16(8, f.csumOffset, true);
}

const tcp = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1, dport: 2 }, payload: 1448 * 10 });
const gso = { flags: VNET_F_NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };

test('a new frame has a zero header; a GSO frame counts its segments from csum_start and the TCP header', () => {
  const pool = new PacketPool(4, 65536);
  const h = pool.allocFrom(tcp, 0, tcp.length);
  assert.equal(vnetPending(pool, h), false);
  assert.equal(gsoSegments(pool, h), 1);
  setHeader(pool, h, gso);
  assert.equal(vnetPending(pool, h), true);
  assert.equal(gsoSegments(pool, h), 10, '14480 bytes of payload in 1448-byte segments');
  pool.free(h);
  const again = pool.alloc();
  assert.equal(again, h, 'the same slot comes back');
  assert.deepEqual([...pool.vnet.subarray(h * VNET_HDR, (h + 1) * VNET_HDR)], new Array(VNET_HDR).fill(0), 'alloc zeroes it');
});

test('a pushed VLAN tag moves csum_start and hdr_len by 4, a stripped one back; a flood copy keeps the header', () => {
  const pool = new PacketPool(4, 65536);
  const h = pool.allocFrom(tcp, 0, tcp.length);
  setHeader(pool, h, gso);
  pool.refs[h] = 1;
  assert.equal(applyTagOp(pool, h, TAG_PUSH | (5 << 4)), h);
  assert.deepEqual(vnetHeader(pool, h), { ...gso, csumStart: 38, hdrLen: 70 });
  assert.equal(gsoSegments(pool, h), 10, 'the count follows the tag');
  pool.refs[h] = 2; // flooded: the strip edits a private copy
  const t = applyTagOp(pool, h, TAG_STRIP);
  assert.notEqual(t, h);
  assert.deepEqual(vnetHeader(pool, t), gso);
  assert.deepEqual(vnetHeader(pool, h), { ...gso, csumStart: 38, hdrLen: 70 }, 'the original is untouched');
});
