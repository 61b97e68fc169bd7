// End to end: the built-in extensions on a running `sluice run` with UDP peers in their own
// processes — MAC-spoofing, DHCP and router guards, the storm limit, port mirroring — and the
// capture extension's pcapng files read back by tshark and by sluice's own reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/capture/capture-reader.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { CLI, Peer, receive, start } from '../helpers/processes.js';

const MAC = (n: number) => `02:00:00:00:00:0${n}`;
const BCAST = 'ff:ff:ff:ff:ff:ff';
const ip = (src: number, dst: number, l4: Partial<FrameSpec>, srcMac = MAC(src)) => buildFrame({ dst: MAC(dst), src: srcMac, ipv4: { src: `10.0.0.${src}`, dst: `10.0.0.${dst}` }, payload: 18, ...l4 } as FrameSpec);

function tshark(): string | null {
  try { execFileSync('tshark', ['--version'], { stdio: 'ignore' }); return 'tshark'; } catch { return null; }
}

test('built-in extensions act on real UDP traffic; capture files read back by tshark', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-ext-'));
  const cfg = join(dir, 'ext.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 2, nic: { queues: 4 }, stats: { intervalSeconds: 0 }, control: { listen: '127.0.0.1:45400' },
    ports: [1, 2, 3, 4].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4500${n}`, remote: `127.0.0.1:5500${n}` } })),
    extensions: [
      { module: 'capture', config: { directory: join(dir, 'pcap'), ports: ['p1', 'p2'] } },
      { module: 'port-mirror', config: { source: ['p1'], destination: 'p4', direction: 'received' } },
      { module: 'mac-guard', config: { ports: { p1: [MAC(1)] } } },
      { module: 'dhcp-guard', config: { ports: ['p1', 'p2'] } },
      { module: 'router-guard', config: { ports: ['p1', 'p2'] } },
      { module: 'storm-limit', config: { ports: ['p2'], broadcastPps: 20 } },
      { module: 'port-acl', config: { rules: [
        { port: 'p3', direction: 'out', action: 'deny', weight: 5, protocol: 'udp', remotePort: 99 },
        { port: 'p3', direction: 'out', action: 'allow', weight: 10, protocol: 'udp', remotePort: 53, stateful: true },
        { port: 'p3', direction: 'in', action: 'deny', weight: 1, protocol: 'udp' },
      ] } },
    ],
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  await sw.waitLine(/control API on/);
  const peers = [1, 2, 3, 4].map((n) => new Peer(`127.0.0.1:5500${n}`, `127.0.0.1:4500${n}`));
  await Promise.all(peers.map((p) => p.ready()));
  const n = (g: Uint8Array[][]) => g.map((x) => x.length);
  try {
    for (let p = 0; p < 4; p++) peers[p].send(buildFrame({ dst: BCAST, src: MAC(p + 1), etherType: 0x88b5, payload: 46 }));
    await receive(peers, [3, 3, 3, 3]);

    // mac-guard: p1 may send only from MAC(1), and only ARP claiming MAC(1).
    peers[0].send(ip(1, 2, { udp: { sport: 1, dport: 2 } }, '02:00:00:00:00:09'));
    peers[0].send(buildFrame({ dst: BCAST, src: MAC(1), arp: { op: 1, spa: '10.0.0.1', tpa: '10.0.0.2' } }));
    const spoofArp = buildFrame({ dst: BCAST, src: MAC(1), arp: { op: 2, spa: '10.0.0.3', tpa: '10.0.0.2' } });
    spoofArp.set([2, 0, 0, 0, 0, 9], 14 + 8); // sender hardware address: someone else's
    peers[0].send(spoofArp);
    let g = await receive(peers, [0, 1, 1, 1]);
    assert.deepEqual(n(g), [0, 1, 1, 1], 'only the honest ARP request is flooded (p4 has it once, not mirrored twice)');

    // dhcp-guard: a DHCP offer from guarded p1 is dropped, from unguarded p3 it passes.
    peers[0].send(ip(1, 2, { udp: { sport: 67, dport: 68 } }));
    peers[2].send(ip(3, 2, { udp: { sport: 67, dport: 68 } }));
    g = await receive(peers, [0, 1, 0, 0]);
    assert.deepEqual(n(g), [0, 1, 0, 0]);

    // router-guard: router advertisement and redirect from p2 dropped; an echo passes.
    peers[1].send(buildFrame({ dst: MAC(1), src: MAC(2), ipv6: { src: 'fe80::2', dst: 'ff02::1' }, icmp: { type: 134, code: 0 } }));
    peers[1].send(ip(2, 1, { icmp: { type: 5, code: 1 } }));
    peers[1].send(ip(2, 1, { icmp: { type: 8, code: 0 } }));
    g = await receive(peers, [1, 0, 0, 0]);
    assert.deepEqual(n(g), [1, 0, 0, 0], 'only the echo reaches p1');

    // port-acl on p3: outbound udp/99 denied; udp/53 allowed and stateful, so its reply gets
    // in although inbound udp is denied; an unsolicited datagram does not.
    peers[2].send(ip(3, 1, { udp: { sport: 4000, dport: 99 } }));
    peers[2].send(ip(3, 1, { udp: { sport: 4000, dport: 53 } }));
    g = await receive(peers, [1, 0, 0, 0]);
    assert.deepEqual(n(g), [1, 0, 0, 0], 'only the DNS query leaves p3');
    assert.equal(g[0][0][14 + 20 + 3], 53);
    peers[0].send(ip(1, 3, { udp: { sport: 53, dport: 4000 } }));
    peers[0].send(ip(1, 3, { udp: { sport: 54, dport: 4000 } }));
    g = await receive(peers, [0, 0, 1, 1]);
    assert.deepEqual(n(g), [0, 0, 1, 1], 'the reply gets in (and p1\'s mirror copy to p4), the unsolicited one does not');
    assert.equal(g[2][0][14 + 20 + 1], 53, 'and it is the reply (source port 53)');

    // port-mirror: what p1 sends is copied to p4, byte for byte.
    const f = ip(1, 2, { udp: { sport: 5, dport: 6 } });
    peers[0].send(f);
    g = await receive(peers, [0, 1, 0, 1]);
    assert.deepEqual(n(g), [0, 1, 0, 1]);
    assert.deepEqual(g[3][0], f);

    // storm-limit: 40 broadcasts from p2 in a burst; at most 2 per 100 ms window pass.
    const t0 = Date.now();
    for (let i = 0; i < 40; i++) peers[1].send(buildFrame({ dst: BCAST, src: MAC(2), etherType: 0x88b5, payload: 46 + i }));
    g = await receive(peers, [1, 0, 1, 1]);
    const windows = Math.ceil((Date.now() - t0) / 100) + 1;
    const got = g[0].length;
    assert.equal(g[2].length, got, 'p3 got the same broadcasts');
    assert.ok(got >= 1 && got <= 2 * windows, `${got} broadcasts passed in ${windows} windows`);
  } finally {
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    await Promise.all(peers.map((p) => p.close()));
  }
  const stats = JSON.parse(sw.lines.find((l) => l.startsWith('{'))!);
  const ext = (name: string) => stats.extensions.find((e: { name: string }) => e.name === name);
  assert.deepEqual(ext('mac-guard').dropReasons, { spoofedMac: 1, spoofedArp: 1 });
  assert.deepEqual(ext('dhcp-guard').dropReasons, { dhcpServer: 1 });
  assert.deepEqual(ext('router-guard').dropReasons, { routerAdvertisement: 1, redirect: 1 });
  assert.ok(ext('storm-limit').dropReasons.broadcastStorm >= 40 - 2 * 10);
  assert.deepEqual(ext('port-acl').dropReasons, { aclDeny: 2 });
  assert.equal(stats.pool.free, stats.pool.slots);

  // capture: every frame received from or sent to p1 and p2, as the port counters say.
  for (const [i, port] of [[0, 'p1'], [1, 'p2']] as const) {
    const c = stats.ports[i].counters;
    const expected = c.rxPackets + c.txPackets;
    const file = join(dir, 'pcap', `${port}.pcapng`);
    const r = CaptureReader.open(file);
    let count = 0;
    while (r.next()) count++;
    r.close();
    assert.equal(count, expected, `${port}: sluice reads back ${count} of ${expected}`);
    const ts = tshark();
    if (!ts) { t.diagnostic(`tshark not installed: ${port}.pcapng read back by sluice only (CI installs tshark)`); if (process.env.CI) assert.fail('tshark missing in CI'); continue; }
    const out = execFileSync(ts, ['-r', file, '-T', 'fields', '-e', 'frame.len'], { encoding: 'utf8' });
    assert.equal(out.trim().split('\n').filter(Boolean).length, expected, `${port}: tshark reads ${expected} packets`);
  }
});
