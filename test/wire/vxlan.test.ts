// VXLAN encapsulation helpers: the outer IPv4/UDP header a raw-socket uplink writes (golden
// bytes, with a sentinel fill that catches bytes never written), and the inner flow hash that
// picks the source port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { innerFlowHash, writeOuterIpv4 } from '../../src/wire/vxlan.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

test('writeOuterIpv4 writes every byte of the outer IPv4 and UDP headers', () => {
  const b = new Uint8Array(32).fill(0xee);
  const rec = new Uint8Array(24);
  rec[0] = 4; rec[2] = 0x12; rec[3] = 0xb5; rec.set([10, 0, 0, 9], 4); // 10.0.0.9:4789
  writeOuterIpv4(b, 2, Uint8Array.of(10, 0, 0, 1), rec, 0, 0xc001, 100);
  assert.deepEqual([...b], [
    0xee, 0xee,
    0x45, 0, 0, 136, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 9, // IPv4: total 20 + 8 + 8 + 100
    0xc0, 0x01, 0x12, 0xb5, 0, 116, 0, 0, // UDP: 49153 -> 4789, length 8 + 8 + 100, checksum 0
    0xee, 0xee,
  ]);
});

test('innerFlowHash: one value per flow (IPv4, IPv6, tagged), ports count for TCP and UDP only, MACs otherwise', () => {
  const udp = (sport: number, vlans?: { vid: number }[]) => buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', vlans, ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport, dport: 53 }, payload: 10 });
  const h = (f: Uint8Array) => innerFlowHash(f, 0, f.length);
  assert.equal(h(udp(1000)), h(udp(1000)));
  assert.notEqual(h(udp(1000)), h(udp(1001)));
  assert.equal(h(udp(1000, [{ vid: 5 }])), h(udp(1000)), 'a VLAN tag does not change the flow');
  const v6 = (sport: number) => buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv6: { src: 'fd00::1', dst: 'fd00::2' }, tcp: { sport, dport: 80 }, payload: 10 });
  assert.notEqual(h(v6(1)), h(v6(2)));
  const icmp = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, icmp: { type: 8, code: 0 }, payload: 10 });
  const icmp2 = icmp.slice(); icmp2[34] = 0; // a different ICMP type: no ports, same flow
  assert.equal(h(icmp), h(icmp2));
  const arp = (src: string) => buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src, arp: { op: 1, spa: '10.0.0.1', tpa: '10.0.0.2' } });
  assert.notEqual(h(arp('02:00:00:00:00:01')), h(arp('02:00:00:00:00:03')));
  // Spread: 256 flows over 64 buckets leave few empty.
  const buckets = new Set<number>();
  for (let i = 0; i < 256; i++) buckets.add(h(udp(2000 + i)) % 64);
  assert.ok(buckets.size > 48, `256 flows in ${buckets.size} of 64 buckets`);
});
