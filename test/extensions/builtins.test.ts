// Built-in extensions in the in-memory switch, for the cases the UDP end-to-end test does not
// reach: storm-limit's multicast and unknown-unicast classes, port-mirror's "sent" direction,
// DHCPv6 and ICMPv4 router advertisements, and configuration errors naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionSpec } from '../../src/vswitch/ext/host.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';

const spec = (module: string, config: object): ExtensionSpec => ({ module, enabled: true, failMode: 'open', config });
const counts = (got: Uint8Array[][]) => got.map((g) => g.length);
const frame = (dst: string, src: string, l: Partial<FrameSpec> = {}) => buildFrame({ dst, src, etherType: 0x88b5, payload: 46, ...l } as FrameSpec);

async function sw(extensions: ExtensionSpec[]) {
  const s = await memorySwitch([{}, {}, {}], { extensions });
  for (let p = 0; p < 3; p++) s.send(p, frame(BCAST, MAC(p + 1)));
  s.got();
  return s;
}

test('storm-limit: multicast and unknown unicast are capped per 100 ms window; known unicast is not', async () => {
  const s = await sw([spec('storm-limit', { ports: ['p1'], multicastPps: 10, unknownUnicastPps: 10 })]);
  const t0 = Date.now();
  for (let i = 0; i < 30; i++) s.send(0, frame('01:00:5e:00:00:01', MAC(1)));
  for (let i = 0; i < 30; i++) s.send(0, frame(MAC(9), MAC(1)));
  for (let i = 0; i < 30; i++) s.send(0, frame(MAC(2), MAC(1)));
  const windows = Math.ceil((Date.now() - t0) / 100) + 1;
  const g = s.got();
  const multicast = g[2].filter((f) => f[0] === 0x01).length, unknown = g[2].filter((f) => f[5] === 9).length;
  assert.ok(multicast >= 1 && multicast <= windows, `${multicast} multicast frames in ${windows} windows (1 per window)`);
  assert.ok(unknown >= 1 && unknown <= windows, `${unknown} unknown-unicast frames in ${windows} windows`);
  assert.equal(g[1].filter((f) => f[5] === 2).length, 30, 'known unicast is not limited');
  const r = s.dp.extensionReport()[0];
  assert.equal(r.dropReasons.multicastStorm, 30 - multicast);
  assert.equal(r.dropReasons.unknownUnicastStorm, 30 - unknown);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('port-mirror: "sent" copies what the source port is sent, not what it sends', async () => {
  const s = await sw([spec('port-mirror', { source: ['p1'], destination: 'p3', direction: 'sent' })]);
  s.send(0, frame(MAC(2), MAC(1)));
  assert.deepEqual(counts(s.got()), [0, 1, 0], 'p1 sending: no copy');
  const f = frame(MAC(1), MAC(2));
  s.send(1, f);
  const g = s.got();
  assert.deepEqual(counts(g), [1, 0, 1]);
  assert.deepEqual(g[2][0], f);
  await s.dp.stop();
});

test('dhcp-guard drops DHCPv6 server replies; router-guard drops ICMPv4 router advertisements', async () => {
  const s = await sw([spec('dhcp-guard', {}), spec('router-guard', { ports: ['p1'] })]);
  s.send(0, buildFrame({ dst: MAC(2), src: MAC(1), ipv6: { src: 'fe80::1', dst: 'fe80::2' }, udp: { sport: 547, dport: 546 }, payload: 20 }));
  s.send(0, buildFrame({ dst: MAC(2), src: MAC(1), ipv6: { src: 'fe80::1', dst: 'fe80::2' }, udp: { sport: 546, dport: 547 }, payload: 20 }));
  s.send(0, buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, icmp: { type: 9, code: 0 } }));
  s.send(1, buildFrame({ dst: MAC(1), src: MAC(2), ipv4: { src: '10.0.0.2', dst: '10.0.0.1' }, icmp: { type: 9, code: 0 } }));
  assert.deepEqual(counts(s.got()), [1, 1, 0], 'the client request passes; p2 is not guarded by router-guard');
  const [d, r] = s.dp.extensionReport();
  assert.deepEqual(d.dropReasons, { dhcpv6Server: 1 });
  assert.deepEqual(r.dropReasons, { routerAdvertisement: 1 });
  await s.dp.stop();
});

test('built-in configuration errors fail the start and name the field', async () => {
  const bad = (e: ExtensionSpec, re: RegExp) => assert.rejects(memorySwitch([{}, {}], { extensions: [e] }), re);
  await bad(spec('mac-guard', { ports: { p1: ['zz:00'] } }), /mac-guard: config\.ports\.p1: "zz:00" is not a MAC address/);
  await bad(spec('storm-limit', { broadcastPps: -1 }), /storm-limit: config\.broadcastPps must be a whole number/);
  await bad(spec('port-mirror', { source: ['p1'], destination: 'p1' }), /the destination p1 cannot also be a source/);
  await bad(spec('capture', {}), /capture: config\.directory .* is required/);
  await bad(spec('dhcp-guard', { ports: ['p7'] }), /dhcp-guard: config\.ports: unknown port "p7"/);
});

test('capture: a relative directory is relative to the configuration file\'s folder, not the current directory', async () => {
  const { mkdtempSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const base = mkdtempSync(join(tmpdir(), 'sluice-capdir-'));
  const sw = await memorySwitch([{}, {}], { extensions: [{ module: 'capture', enabled: true, failMode: 'open', config: { directory: 'caps' } }], extensionBaseDir: base });
  await sw.dp.stop();
  assert.ok(existsSync(join(base, 'caps', 'p1.pcapng')), 'written under the configuration folder');
  assert.ok(!existsSync(join(process.cwd(), 'caps')), 'nothing in the current directory');
});
