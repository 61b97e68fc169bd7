// RSS: the 16 values of Microsoft's "Verifying the RSS Hash Calculation" table
// (vectors copied in test/fixtures/rss-toeplitz.md, with their source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MICROSOFT_RSS_KEY, Rss, toeplitzNaive } from '../../src/nic/rss.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { parseIpv4, parseIpv6 } from '../../src/wire/bytes.js';

const V4: [string, number, string, number, number, number][] = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
];
const V6: [string, number, string, number, number, number][] = [
  ['3ffe:2501:200:3::1', 1766, '3ffe:2501:200:1fff::7', 2794, 0x2cc18cd5, 0x40207d3d],
  ['ff02::1', 4739, '3ffe:501:8::260:97ff:fe40:efab', 14230, 0x0f0c461c, 0xdde51bbf],
  ['fe80::200:f8ff:fe21:67cf', 38024, '3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 0x4b61e985, 0x02d1feef],
];

function input(src: Uint8Array, dst: Uint8Array, sport?: number, dport?: number): Uint8Array {
  const ports = sport === undefined ? [] : [sport >> 8, sport & 255, dport! >> 8, dport! & 255];
  return Uint8Array.from([...src, ...dst, ...ports]);
}
const v4b = (s: string) => { const w = parseIpv4(s)!; return Uint8Array.from([w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]); };
const v6b = (s: string) => { const w = parseIpv6(s)!; const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, w[0]); new DataView(b.buffer).setUint32(4, w[1]); new DataView(b.buffer).setUint32(8, w[2]); new DataView(b.buffer).setUint32(12, w[3]); return b; };

test('naive Toeplitz reproduces all 16 verification values', () => {
  let checked = 0;
  for (const [dst, dport, src, sport, ipOnly, withPorts] of V4) {
    assert.equal(toeplitzNaive(MICROSOFT_RSS_KEY, input(v4b(src), v4b(dst))), ipOnly, `${src} -> ${dst}`);
    assert.equal(toeplitzNaive(MICROSOFT_RSS_KEY, input(v4b(src), v4b(dst), sport, dport)), withPorts);
    checked += 2;
  }
  for (const [dst, dport, src, sport, ipOnly, withPorts] of V6) {
    assert.equal(toeplitzNaive(MICROSOFT_RSS_KEY, input(v6b(src), v6b(dst))), ipOnly, `${src} -> ${dst}`);
    assert.equal(toeplitzNaive(MICROSOFT_RSS_KEY, input(v6b(src), v6b(dst), sport, dport)), withPorts);
    checked += 2;
  }
  assert.equal(checked, 16);
});

test('table Toeplitz over parsed frames matches all 16 values', () => {
  const rss = new Rss(4);
  const keys = new FlowKeys(4);
  const run = (frameSpec: Parameters<typeof buildFrame>[0], want: number) => {
    const f = buildFrame(frameSpec);
    assert.equal(keys.extract(f, 0, f.length, 1), 0);
    assert.equal(rss.hashKey(keys, 1), want);
  };
  const mac = { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02' };
  for (const [dst, dport, src, sport, ipOnly, withPorts] of V4) {
    run({ ...mac, ipv4: { src, dst }, icmp: { type: 8, code: 0 } }, ipOnly);
    run({ ...mac, ipv4: { src, dst }, tcp: { sport, dport } }, withPorts);
  }
  for (const [dst, dport, src, sport, ipOnly, withPorts] of V6) {
    run({ ...mac, ipv6: { src, dst }, icmp: { type: 128, code: 0 } }, ipOnly);
    run({ ...mac, ipv6: { src, dst }, udp: { sport, dport } }, withPorts);
  }
});

test('hashBytes agrees with the naive hash on random inputs', () => {
  const rss = new Rss(8);
  for (let i = 0; i < 500; i++) {
    const n = 1 + Math.floor(Math.random() * 36);
    const b = Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256));
    assert.equal(rss.hashBytes(b, n), toeplitzNaive(MICROSOFT_RSS_KEY, b));
  }
});

test('indirection maps hash low bits to queues and rejects bad tables', () => {
  const rss = new Rss(4);
  assert.equal(rss.indirection.length, 128);
  assert.equal(rss.queueOf(0x51ccc178), (0x51ccc178 & 127) % 4);
  assert.throws(() => new Rss(4, MICROSOFT_RSS_KEY, [0, 1, 2]), /power of two/);
  assert.throws(() => new Rss(2, MICROSOFT_RSS_KEY, [0, 1, 2, 3]), /indirection\[2\] = 2/);
});
