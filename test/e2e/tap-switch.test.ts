// Two network namespaces attached to `sluice run` through tap ports: they ping each other and
// run iperf3 TCP and UDP through the switch; every frame is counted and every handle comes
// back. Needs root, /dev/net/tun, the native module and iperf3 (skipped, with the reason,
// where the machine lacks one; CI has them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { addNs, delNs, have, inNs, inNsAsync, ping, plug } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';

const NS = ['sl-tap-a', 'sl-tap-b'], TAPS = ['sltap-a', 'sltap-b'], IPS = ['10.93.0.1', '10.93.0.2'];
const skip = requireRoot() || requireNative() || (!existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false) || (!have('iperf3') || !have('ping') ? 'iperf3 or ping is not installed (apt-get install iperf3 iputils-ping)' : false);

test('two namespaces on tap ports ping each other and run iperf3 TCP and UDP through sluice', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tap-'));
  const cfg = join(dir, 'taps.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: 'off' },
    ports: TAPS.map((name, i) => ({ name: `vm${i + 1}`, endpoint: { type: 'tap', name } })),
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    assert.ok(sw.lines.some((l) => /I\/O: vm1 native tap readv\/writev, vm2 native tap readv\/writev/.test(l)), sw.lines.join('\n'));
    NS.forEach((ns, i) => { addNs(ns); plug(ns, TAPS[i], `${IPS[i]}/24`); });
    const p = ping(NS[0], IPS[1], 20, 0.05);
    assert.equal(p.received, 20, `ping: ${JSON.stringify(p)}`);
    // TCP for 2 s, then UDP at 50 Mbit/s for 2 s; the server answers one test each time.
    for (const udp of [false, true]) {
      const server = inNsAsync(NS[1], ['iperf3', '-s', '-1', '-B', IPS[1], '-p', '5299']);
      await sleep(300);
      const out = JSON.parse(inNs(NS[0], ['iperf3', '-c', IPS[1], '-p', '5299', '-t', '2', '-J', ...(udp ? ['-u', '-b', '50M', '-l', '1200'] : [])], 30000));
      await server.done;
      if (udp) {
        const s = out.end.sum;
        assert.ok(s.packets > 5000, `udp packets sent: ${s.packets}`);
        assert.ok(s.lost_percent < 5, `udp loss ${s.lost_percent}%`);
      } else {
        const bytes = out.end.sum_received.bytes;
        assert.ok(bytes > 10_000_000, `tcp bytes received: ${bytes}`);
      }
    }
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const report = JSON.parse(sw.lines.filter((l) => l.startsWith('{')).pop()!);
    const [a, b] = report.ports.map((x: { counters: Record<string, number> }) => x.counters);
    assert.ok(a.rxPackets > 20000 && b.rxPackets > 1000, `rx ${a.rxPackets} / ${b.rxPackets}`);
    assert.equal(a.rxErrors + b.rxErrors + a.txErrors + b.txErrors, 0, 'no read or write failed');
    assert.equal(report.pool.free, report.pool.slots, 'every handle is back in the pool');
  } finally {
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
  }
});
