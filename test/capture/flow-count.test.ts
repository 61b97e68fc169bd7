// FlowCounter counts bidirectional 5-tuples the way the capture collection's SOURCES.md
// defines them (the figure `sluice replay --json` reports as `flows`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowCounter } from '../../src/capture/flow-count.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';

const M = { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02' };
const count = (frames: Uint8Array[]) => { const c = new FlowCounter(); for (const f of frames) c.addFrame(f, 0, f.length); return c.count; };
const f = (s: Partial<FrameSpec>) => buildFrame({ ...M, ...s } as FrameSpec);

test('both directions are one flow; the VLAN is not part of the key; non-IP is not counted', () => {
  assert.equal(count([
    f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 53 } }),
    f({ ipv4: { src: '10.0.0.2', dst: '10.0.0.1' }, udp: { sport: 53, dport: 1000 } }),
    f({ vlans: [{ vid: 7 }], ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 53 } }),
    f({ arp: { op: 1, spa: '10.0.0.1', tpa: '10.0.0.2' } }),
  ]), 1);
  assert.equal(count([
    f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 53 } }),
    f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1001, dport: 53 } }),
    f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1000, dport: 53 } }),
    f({ ipv6: { src: '2001:db8::1', dst: '2001:db8::2' }, udp: { sport: 1000, dport: 53 } }),
  ]), 4);
});

test('ports are 0 for ICMP and for later fragments; the first fragment carries them', () => {
  // Two pings of different ids are one flow (no ports for ICMP).
  assert.equal(count([f({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2' }, icmp: { type: 8, code: 0 } }), f({ ipv4: { src: '2.2.2.2', dst: '1.1.1.1' }, icmp: { type: 0, code: 0 } })]), 1);
  const first = f({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', mf: true }, udp: { sport: 5, dport: 6 } });
  const later = f({ ipv4: { src: '1.1.1.1', dst: '2.2.2.2', fragOffset: 185, proto: 17 }, payload: 16 });
  assert.equal(count([first, later]), 2, 'the first fragment is (udp, 5, 6); a later one (udp, 0, 0)');
});

test('the EtherType decides the IP version: a header with a wrong version nibble still counts', () => {
  const g = f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 53 } });
  g[14] = 0x65; // version 6 in an IPv4 frame, as in corrupted captures
  const c = new FlowCounter();
  c.addFrame(g, 0, g.length);
  assert.equal(c.count, 1);
});

test('a record cut after the IP header counts with ports 0; one cut inside it does not count', () => {
  const g = f({ ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1000, dport: 53 } });
  const c = new FlowCounter();
  c.addFrame(g, 0, 14 + 20 + 2); // two bytes of UDP captured
  assert.equal(c.count, 1);
  c.addFrame(g, 0, g.length); // the same flow with its ports: another key
  assert.equal(c.count, 2);
  c.addFrame(g, 0, 14 + 10);
  assert.equal(c.count, 2);
});

test('thousands of flows: the set grows and every flow is counted once', () => {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 5000; i++) frames.push(f({ ipv4: { src: `10.${i >> 8}.${i & 255}.1`, dst: '10.200.0.1' }, tcp: { sport: 1024 + i, dport: 80 } }));
  assert.equal(count([...frames, ...frames]), 5000);
});
