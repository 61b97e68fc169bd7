// Many hosts on one machine: scripts/testbed brings up two sluice hosts with two VMs each (taps
// in namespaces) and a Linux host (a namespace behind a kernel vxlan device), all on VNI 42.
// Every pair of VMs pings; iperf3 TCP runs sluice<->sluice and sluice<->Linux, both ways; tshark
// reads a capture of the tunnel traffic as VXLAN of VNI 42 with nothing malformed; and after
// Ctrl-C no namespace, link or sluice process of the testbed is left. Needs root, the native
// module, iperf3, ping, tcpdump and tshark.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../helpers/processes.js';
import { have, inNs, inNsAsync, ping, sh } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';
import { leftovers, TestbedHost } from '../../scripts/testbed.js';

const PREFIX = 'tbt';
const TESTBED = new URL('../../scripts/testbed.js', import.meta.url).pathname;
const missing = ['iperf3', 'ping', 'tcpdump', 'tshark', 'bridge'].filter((c) => !have(c));
const skip = requireRoot() || requireNative() || (missing.length ? `${missing.join(', ')} not installed` : false);

test('two sluice hosts and a Linux VXLAN host: every VM pair pings, iperf3 TCP crosses every kind of tunnel, tshark decodes it, nothing is left', { skip, timeout: 300_000 }, async (t) => {
  const tb = spawn(process.execPath, [TESTBED, 'up', '--hosts', '2', '--vms', '2', '--linux', '--prefix', PREFIX, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  tb.stdout.on('data', (d) => { out += d; });
  tb.stderr.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((r) => tb.on('exit', (c) => r(c)));
  let capture: ReturnType<typeof spawn> | null = null;
  try {
    const end = Date.now() + 60_000;
    while (!/testbed up/.test(out)) {
      if (Date.now() > end || tb.exitCode !== null) throw new Error(`the testbed did not come up:\n${out}`);
      await sleep(100);
    }
    const layout = JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as { hosts: TestbedHost[] };
    const vms = layout.hosts.flatMap((h) => h.vms);
    assert.equal(vms.length, 5);

    // Capture the tunnel: between the sluice hosts (local deliveries: lo) and toward the Linux host.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-testbed-cap-'));
    const pcap = join(dir, 'tunnel.pcap');
    capture = spawn('tcpdump', ['-i', 'any', '-w', pcap, '-U', 'udp port 4789'], { stdio: 'ignore' });
    await sleep(1000);
    let pairs = 0;
    for (const a of vms) {
      for (const b of vms) {
        if (a === b) continue;
        const r = ping(a.ns, b.ip, 3, 0.05);
        assert.equal(r.received, 3, `${a.host} ${a.ip} -> ${b.host} ${b.ip}: ${r.received}/3`);
        pairs++;
      }
    }
    t.diagnostic(`ping: ${pairs} ordered VM pairs, 3 of 3 answered each`);
    await sleep(500);
    capture.kill('SIGINT');
    await new Promise((r) => capture!.on('exit', r));
    capture = null;
    const fields = sh('tshark', ['-r', pcap, '-d', 'udp.port==4789,vxlan', '-T', 'fields', '-e', 'vxlan.vni', '-e', 'ip.src', '-e', '_ws.malformed', '-e', '_ws.expert.severity', '-e', '_ws.expert.message', '-e', 'frame.protocols']).trim().split('\n').map((l) => l.split('\t'));
    const fromSluice = fields.filter((f) => f[1] === '10.200.0.11' || f[1] === '10.200.0.12');
    assert.ok(fromSluice.length >= 40, `datagrams from sluice hosts in the capture: ${fromSluice.length}`);
    assert.ok(fields.every((f) => f[0] === '42'), `every datagram decodes as VXLAN with VNI 42: ${[...new Set(fields.map((f) => f[0]))]}`);
    t.diagnostic(`tshark: ${fields.length} datagrams read as VXLAN, ${fromSluice.length} from the sluice hosts, VNIs ${[...new Set(fields.map((f) => f[0]))].join(',')}`);
    const bad = fields.filter((f) => f[2] !== '' || f[3].split(',').includes('error'));
    assert.equal(bad.length, 0, `no malformed packet, no error: ${bad.map((f) => f.join(' ')).join('; ')}`);

    // iperf3 TCP both ways between the sluice hosts, and between a sluice host and the Linux host.
    const [h1v1, h1v2, h2v1, h2v2] = vms.filter((v) => v.host !== 'linux');
    const linux = vms.find((v) => v.host === 'linux')!;
    let port = 5401;
    for (const [from, to] of [[h1v1, h2v1], [h2v2, h1v2], [h1v2, linux], [linux, h2v1]]) {
      const server = inNsAsync(to.ns, ['iperf3', '-s', '-1', '-B', to.ip, '-p', String(port)]);
      await sleep(300);
      try {
        const r = JSON.parse(inNs(from.ns, ['iperf3', '-c', to.ip, '-p', String(port), '-t', '2', '-J'], 30000));
        t.diagnostic(`TCP ${from.host} ${from.ip} -> ${to.host} ${to.ip}: ${(r.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s`);
        assert.ok(r.end.sum_received.bytes > 2_000_000, `TCP ${from.host} -> ${to.host}: ${r.end.sum_received.bytes} bytes`);
      } finally { server.kill(); }
      port++;
    }
  } finally {
    capture?.kill('SIGKILL');
    if (tb.exitCode === null) tb.kill('SIGINT');
  }
  assert.equal(await exited, 0, `the testbed's hosts stopped cleanly:\n${out.slice(-2000)}`);
  const left = leftovers(PREFIX);
  assert.deepEqual(left, { netns: [], links: [], processes: [] }, 'nothing of the testbed is left');
});
