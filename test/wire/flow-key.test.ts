// Flow key extraction: golden frames of every format, truncation at every header boundary,
// bogus lengths, deep extension-header chains, and random bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowKeys, FRAG_FIRST, FRAG_LATER, PARSE_REASONS } from '../../src/wire/flow-key.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { put16 } from '../../src/wire/bytes.js';
import { vxlanVni, vxlanValid, writeVxlan } from '../../src/wire/vxlan.js';
import { KEY_STRIDE, KEY_WORDS, packKey } from '../../src/flow/key.js';

const M = { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02' };
const keys = new FlowKeys(8);
const reason = (f: Uint8Array, h = 0) => PARSE_REASONS[keys.extract(f, 0, f.length, h)];

test('IPv4/TCP: every key field', () => {
  const f = buildFrame({ ...M, vlans: [{ vid: 100, pcp: 3, tpid: 0x88a8 }, { vid: 200 }], ipv4: { src: '10.0.0.1', dst: '192.168.1.2' }, tcp: { sport: 1234, dport: 80, flags: 0x12 }, payload: 10 });
  assert.equal(reason(f, 3), 'ok');
  assert.equal(keys.dstMacHi[3], 0x0200); assert.equal(keys.dstMacLo[3], 0x00000001);
  assert.equal(keys.srcMacLo[3], 2);
  assert.equal(keys.vlanCount[3], 2);
  assert.equal(keys.vlanTci[3 * 4], (3 << 13) | 100);
  assert.equal(keys.vlanTci[3 * 4 + 1], 200);
  assert.equal(keys.etherType[3], 0x0800);
  assert.equal(keys.l3Off[3], 22); assert.equal(keys.l4Off[3], 42);
  assert.equal(keys.ipVersion[3], 4); assert.equal(keys.proto[3], 6);
  assert.equal(keys.src[12], 0x0a000001); assert.equal(keys.dst[12], 0xc0a80102);
  assert.equal(keys.srcPort[3], 1234); assert.equal(keys.dstPort[3], 80);
  assert.equal(keys.tcpFlags[3], 0x12);
});

test('IPv6/UDP, ICMP, ICMPv6, ARP, three stacked tags', () => {
  let f = buildFrame({ ...M, ipv6: { src: '2001:db8::1', dst: 'fe80::2' }, udp: { sport: 53, dport: 5353 }, payload: 4 });
  assert.equal(reason(f), 'ok');
  assert.deepEqual([...keys.src.subarray(0, 4)], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...keys.dst.subarray(0, 4)], [0xfe800000, 0, 0, 2]);
  assert.equal(keys.proto[0], 17); assert.equal(keys.dstPort[0], 5353);
  f = buildFrame({ ...M, ipv4: { src: '1.2.3.4', dst: '5.6.7.8' }, icmp: { type: 8, code: 0 } });
  assert.equal(reason(f), 'ok'); assert.equal(keys.srcPort[0], 8);
  f = buildFrame({ ...M, ipv6: { src: '::1', dst: '::2' }, icmp: { type: 135, code: 0 } });
  assert.equal(reason(f), 'ok'); assert.equal(keys.proto[0], 58); assert.equal(keys.srcPort[0], 135);
  f = buildFrame({ ...M, arp: { op: 1, spa: '10.0.0.1', tpa: '10.0.0.2' } });
  assert.equal(reason(f), 'ok'); assert.equal(keys.etherType[0], 0x0806); assert.equal(keys.src[0], 0x0a000001); assert.equal(keys.dst[0], 0x0a000002);
  f = buildFrame({ ...M, vlans: [{ vid: 1, tpid: 0x88a8 }, { vid: 2, tpid: 0x8100 }, { vid: 3 }], ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } });
  assert.equal(reason(f), 'ok'); assert.equal(keys.vlanCount[0], 3); assert.equal(keys.vlanTci[2], 3);
  f = buildFrame({ ...M, vlans: [1, 2, 3, 4, 5].map((vid) => ({ vid })), payload: 10 });
  assert.equal(reason(f), 'vlanTooDeep');
});

test('IPv4 fragments: only the first carries ports', () => {
  let f = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', mf: true }, udp: { sport: 7, dport: 9 }, payload: 100 });
  put16(f, 14 + 20 + 4, 1000); // UDP length of the whole datagram, longer than this fragment
  assert.equal(reason(f), 'ok'); assert.equal(keys.frag[0], FRAG_FIRST); assert.equal(keys.dstPort[0], 9);
  f = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 100, proto: 17 }, payload: 3 });
  assert.equal(reason(f), 'ok'); assert.equal(keys.frag[0], FRAG_LATER); assert.equal(keys.dstPort[0], 0); assert.equal(keys.l4Off[0], 0);
});

test('IPv6 extension headers are walked; a later fragment has no ports; 100 stacked headers are refused', () => {
  const ext = (next: number[], last: number, l4: Uint8Array) => {
    // Build IPv6 with hop-by-hop/dest-opts chain of 8-byte headers.
    const base = buildFrame({ ...M, ipv6: { src: '::1', dst: '::2', next: next.length ? next[0] : last } });
    const chain = new Uint8Array(next.length * 8);
    for (let i = 0; i < next.length; i++) chain[i * 8] = i + 1 < next.length ? next[i + 1] : last;
    const f = new Uint8Array(base.length + chain.length + l4.length);
    f.set(base); f.set(chain, base.length); f.set(l4, base.length + chain.length);
    put16(f, 14 + 4, chain.length + l4.length);
    return f;
  };
  const udp = Uint8Array.from([0, 1, 0, 2, 0, 8, 0, 0]);
  let f = ext([0, 60, 43], 17, udp);
  assert.equal(reason(f), 'ok'); assert.equal(keys.proto[0], 17); assert.equal(keys.dstPort[0], 2); assert.equal(keys.l4Off[0], 14 + 40 + 24);
  const frag = Uint8Array.from([17, 0, 0x00, 0x08 | 0, 0, 0, 0, 1]); // offset 1 (x8 bytes), later fragment
  f = ext([], 44, frag);
  assert.equal(reason(f), 'ok'); assert.equal(keys.frag[0], FRAG_LATER); assert.equal(keys.proto[0], 17); assert.equal(keys.dstPort[0], 0);
  f = ext(new Array(100).fill(60), 17, udp);
  assert.equal(reason(f), 'ipv6ExtTooMany');
});

test('truncation at every byte of every header is a named reason, never a throw', () => {
  const specs: FrameSpec[] = [
    { ...M, vlans: [{ vid: 5 }], ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 } },
    { ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 4789 }, payload: 8 },
    { ...M, ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2 } },
    { ...M, ipv6: { src: '::1', dst: '::2' }, icmp: { type: 128, code: 0 } },
    { ...M, arp: { op: 2, spa: '1.1.1.1', tpa: '2.2.2.2' } },
  ];
  const seen = new Set<string>();
  for (const spec of specs) {
    const full = buildFrame(spec);
    assert.equal(reason(full), 'ok');
    for (let n = 0; n < full.length; n++) {
      const r = reason(full.subarray(0, n));
      assert.notEqual(r, 'ok', `${n}-byte prefix of ${JSON.stringify(spec)} must not parse`);
      assert.ok(r !== undefined);
      seen.add(r);
    }
  }
  // A cut frame is shorter than its IP header says, so the IP check fires before L4's.
  for (const r of ['ethTruncated', 'vlanTruncated', 'ipv4Truncated', 'ipv6Truncated', 'arpTruncated']) assert.ok(seen.has(r), r);
});

test('bogus lengths and versions', () => {
  const f = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2 } });
  const g = f.slice(); g[14] = 0x55; assert.equal(reason(g), 'ipv4BadVersion');
  const h = f.slice(); h[14] = 0x44; assert.equal(reason(h), 'ipv4BadHeaderLength');
  const i = f.slice(); put16(i, 16, 10); assert.equal(reason(i), 'ipv4BadTotalLength');
  const j = f.slice(); put16(j, 16, 9000); assert.equal(reason(j), 'ipv4Truncated');
  const k = f.slice(); k[14 + 20 + 12] = 0x20; assert.equal(reason(k), 'tcpBadDataOffset');
  k[14 + 20 + 12] = 0xf0; assert.equal(reason(k), 'tcpTruncated', 'data offset past the segment');
  const u = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 } });
  const u1 = u.slice(); put16(u1, 14 + 20 + 4, 4); assert.equal(reason(u1), 'udpBadLength');
  const u2 = u.slice(); put16(u2, 14 + 20 + 4, 400); assert.equal(reason(u2), 'udpTruncated');
  const v6 = buildFrame({ ...M, ipv6: { src: '::1', dst: '::2' }, udp: { sport: 1, dport: 2 } });
  const v1 = v6.slice(); v1[14] = 0x40; assert.equal(reason(v1), 'ipv6BadVersion');
  const v2 = v6.slice(); put16(v2, 18, 500); assert.equal(reason(v2), 'ipv6Truncated');
  const vx = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 4789 }, payload: 4 });
  assert.equal(reason(vx), 'vxlanTruncated');
  const ic = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', proto: 1 }, payload: 2 });
  assert.equal(reason(ic), 'icmpTruncated');
  const tt = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, payload: 12 });
  assert.equal(reason(tt), 'tcpTruncated');
  // Ethernet padding after a short IP packet is fine.
  const padded = buildFrame({ ...M, ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, udp: { sport: 1, dport: 2 }, padTo: 60 });
  assert.equal(padded.length, 60); assert.equal(reason(padded), 'ok');
});

test('random bytes never throw and always give a known reason', () => {
  let seed = 12345;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
  const buf = new Uint8Array(256);
  const counts = new Map<string, number>();
  for (let i = 0; i < 100000; i++) {
    const n = rnd() % 257;
    for (let j = 0; j < n; j++) buf[j] = rnd() & 255;
    // Bias toward real EtherTypes so deeper parsers get exercised.
    if (n > 14 && (i & 1)) { const t = [0x0800, 0x86dd, 0x8100, 0x0806][i & 3 ? (i >> 1) & 3 : 0]; buf[12] = t >> 8; buf[13] = t & 255; if (t === 0x0800) buf[14] = 0x45; if (t === 0x86dd) buf[14] = 0x60; }
    const r = PARSE_REASONS[keys.extract(buf, 0, n, 5)];
    assert.ok(r !== undefined);
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  assert.ok(counts.size >= 8, `many distinct outcomes: ${[...counts.keys()].join(',')}`);
});

test('the packed key the parser writes equals packKey of the parsed fields, for every outcome', () => {
  const k = new FlowKeys(16);
  const want = new Uint32Array(KEY_WORDS);
  // The parser skips stores it can prove redundant (an IPv4 key's zero address words after a
  // non-IPv6 key), so a handle is checked across a sequence of frames of every kind, and the
  // zero words of IPv4 and ARP keys are checked in the fields themselves.
  const check = (f: Uint8Array, n: number, h: number, port: number, what: string) => {
    k.inPort[h] = port;
    k.extract(f, 0, n, h);
    packKey(k, h, want, 0);
    for (let w = 0; w < KEY_WORDS; w++) assert.equal(k.packed[h * KEY_STRIDE + w], want[w], `${what}: word ${w}`);
    if (k.ipVersion[h] !== 6) for (let j = 1; j < 4; j++) assert.ok(k.src[h * 4 + j] === 0 && k.dst[h * 4 + j] === 0, `${what}: address word ${j}`);
  };
  const golden: FrameSpec[] = [
    { ...M, vlans: [{ vid: 100, pcp: 3, tpid: 0x88a8 }, { vid: 200 }], ipv4: { src: '10.0.0.1', dst: '192.168.1.2' }, tcp: { sport: 1234, dport: 80, flags: 0x12 }, payload: 10 },
    { ...M, ipv6: { src: '2001:db8::1', dst: 'fe80::2' }, udp: { sport: 53, dport: 5353 }, payload: 4 },
    { ...M, ipv4: { src: '1.2.3.4', dst: '5.6.7.8', tos: 0x2e }, icmp: { type: 8, code: 0 } },
    { ...M, vlans: [{ vid: 7 }], arp: { op: 1, spa: '10.0.0.1', tpa: '10.0.0.2' } },
  ];
  golden.forEach((g, i) => { const f = buildFrame(g); check(f, f.length, i + 1, 3 + i, `golden ${i}`); });
  // IPv6 then IPv4, ARP, non-IP and a runt on one handle: no word of the IPv6 key survives.
  for (const [i, g] of [golden[1], golden[0], golden[1], golden[3], golden[1], { ...M, etherType: 0x88cc, payload: 8 } as FrameSpec].entries()) {
    const f = buildFrame(g); check(f, f.length, 7, 1, `sequence ${i}`);
  }
  const f6 = buildFrame(golden[1]); check(f6, f6.length, 7, 1, 'sequence ipv6'); check(f6, 10, 7, 1, 'sequence runt');
  for (let j = 0; j < 4; j++) assert.ok(k.src[7 * 4 + j] === 0 && k.dst[7 * 4 + j] === 0, `runt after IPv6: address word ${j}`);
  // Every outcome of random bytes, including the ones that stop early, a handle reused each time.
  let seed = 99;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed >>> 8; };
  const buf = new Uint8Array(200);
  for (let i = 0; i < 20000; i++) {
    const n = rnd() % 201;
    for (let j = 0; j < n; j++) buf[j] = rnd() & 255;
    if (n > 14 && (i & 1)) { const t = [0x0800, 0x86dd, 0x8100, 0x0806][(i >> 1) & 3]; buf[12] = t >> 8; buf[13] = t & 255; if (t === 0x0800) buf[14] = 0x45; if (t === 0x86dd) buf[14] = 0x60; }
    check(buf, n, 9, rnd() & 0xff, `random ${i} (${n} bytes)`);
  }
});

test('VXLAN header view', () => {
  const b = new Uint8Array(8);
  writeVxlan(b, 0, 0x123456);
  assert.equal(vxlanVni(b, 0), 0x123456);
  assert.ok(vxlanValid(b, 0));
});
