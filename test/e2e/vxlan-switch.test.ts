// A VXLAN uplink that interoperates with Linux: a namespace on a sluice tap port and a
// namespace behind a Linux kernel `vxlan` device (VNI 42 on Linux's legacy port 8472; the
// testbed test uses 4789), joined through sluice's vxlan port, ping each other and run iperf3
// TCP. Needs root, the native module and iperf3.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { addNs, delNs, have, inNs, inNsAsync, ping, plug, sh } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

const VM = 'sl-vx-a', LINUX = 'sl-vx-l', TAP = 'slvx-tap', HOST = 'slvx-r';
const skip = requireRoot() || requireNative() || (!have('iperf3') || !have('ping') || !have('ethtool') ? 'iperf3, ping or ethtool is not installed' : false);

test('a namespace on a tap port and one behind a Linux vxlan device ping and run TCP through sluice\'s VXLAN uplink', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-vxlan-'));
  const cfg = join(dir, 'vxlan.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, stats: { intervalSeconds: 0 }, control: { listen: 'off' }, idleSpinMicros: 0,
    ports: [
      { name: 'vm', endpoint: { type: 'tap', name: TAP } },
      { name: 'uplink', endpoint: { type: 'vxlan', local: '10.99.0.1:8472', vni: 42, remotes: ['10.99.0.2'] } },
    ],
  }));
  let sw: ReturnType<typeof start> | null = null;
  let server: ReturnType<typeof inNsAsync> | null = null;
  try {
    // The Linux host: its own namespace, a veth to this one, a kernel VTEP on it.
    addNs(LINUX);
    try { sh('ip', ['link', 'del', HOST]); } catch { /* not there */ }
    sh('ip', ['link', 'add', HOST, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', LINUX]);
    sh('ip', ['addr', 'add', '10.99.0.1/24', 'dev', HOST]);
    sh('ip', ['link', 'set', HOST, 'up']);
    inNs(LINUX, ['ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0']);
    inNs(LINUX, ['ip', 'link', 'set', 'eth0', 'up']);
    inNs(LINUX, ['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '8472', 'local', '10.99.0.2', 'remote', '10.99.0.1', 'dev', 'eth0']);
    inNs(LINUX, ['ip', 'addr', 'add', '10.98.0.2/24', 'dev', 'vx0']);
    inNs(LINUX, ['ip', 'link', 'set', 'vx0', 'up']);
    // Over a veth nothing ever fills in a checksum the stack left to the "hardware": a physical
    // NIC would. Have the Linux host's stack compute its inner checksums itself.
    inNs(LINUX, ['ethtool', '-K', 'vx0', 'tx', 'off']);
    sw = start([CLI, 'run', '--config', cfg, '--json']);
    await sw.waitLine(/Ctrl-C stops/);
    addNs(VM);
    plug(VM, TAP, '10.98.0.1/24');
    inNs(VM, ['ip', 'link', 'set', TAP, 'mtu', '1450']); // room for the 50 bytes of encapsulation
    const there = ping(VM, '10.98.0.2', 10, 0.05), back = ping(LINUX, '10.98.0.1', 10, 0.05);
    assert.equal(there.received, 10, `tap -> Linux VTEP: ${there.received}/10`);
    assert.equal(back.received, 10, `Linux VTEP -> tap: ${back.received}/10`);
    // Three datagrams that are not this network's VXLAN: counted and dropped, nothing else.
    const bogus = dgram.createSocket('udp4');
    const inner = buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:0b:0b', payload: 46 });
    for (const head of [[0x08, 0, 0, 0, 0, 0, 43, 0], [0, 0, 0, 0, 0, 0, 42, 0]]) bogus.send(Buffer.concat([Buffer.from(head), inner]), 8472, '10.99.0.1');
    bogus.send(Buffer.from([0x08, 0, 0, 0, 0, 0, 42, 0, 1, 2]), 8472, '10.99.0.1'); // shorter than an Ethernet header
    await sleep(300);
    bogus.close();
    server = inNsAsync(LINUX, ['iperf3', '-s', '-1', '-B', '10.98.0.2', '-p', '5295']);
    await sleep(300);
    const out = JSON.parse(inNs(VM, ['iperf3', '-c', '10.98.0.2', '-p', '5295', '-t', '2', '-J'], 30000));
    await server.done;
    assert.ok(out.end.sum_received.bytes > 5_000_000, `tcp bytes across the tunnel: ${out.end.sum_received.bytes}`);
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const r = JSON.parse(sw.lines.filter((l) => l.startsWith('{')).pop()!) as { ports: { counters: Record<string, number> }[]; pool: { free: number; slots: number } };
    const up = r.ports[1].counters;
    assert.ok(up.rxPackets > 1000 && up.txPackets > 1000, `uplink rx ${up.rxPackets}, tx ${up.txPackets}`);
    assert.equal(up.rxDropEncap, 3, 'another VNI, no I flag, too short');
    assert.equal(up.txErrors + up.rxErrors, 0);
    assert.equal(r.pool.free, r.pool.slots);
  } finally {
    server?.kill(); // a one-shot server whose client failed would keep this test's process alive
    if (sw && sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    delNs(VM); delNs(LINUX);
    try { sh('ip', ['link', 'del', HOST]); } catch { /* gone with its namespace */ }
  }
});
