// Two network namespaces behind veth pairs, their host ends attached to `sluice run` as
// netdev ports (AF_PACKET with vnet headers): they ping each other and run iperf3 TCP and
// UDP through the switch, TSO frames crossing it whole. Needs root, the native module and
// iperf3 (skipped, with the reason, where the machine lacks one; CI has them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { addNs, delNs, have, inNs, inNsAsync, ping, sh } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';

const NS = ['sl-nd-a', 'sl-nd-b'], HOST = ['slnd-a', 'slnd-b'], IPS = ['10.94.0.1', '10.94.0.2'];
const skip = requireRoot() || requireNative() || (!have('iperf3') || !have('ping') ? 'iperf3 or ping is not installed (apt-get install iperf3 iputils-ping)' : false);

test('two namespaces behind veth pairs on netdev ports ping and run iperf3 TCP and UDP; TSO frames pass whole', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-netdev-'));
  const cfg = join(dir, 'netdev.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: 'off' }, idleSpinMicros: 0,
    pool: { slots: 4096, slotSize: 65536 + 2048 },
    ports: HOST.map((name, i) => ({ name: `c${i + 1}`, endpoint: { type: 'netdev', interface: name, vnetHdr: true } })),
  }));
  let sw: ReturnType<typeof start> | null = null;
  try {
    NS.forEach((ns, i) => {
      addNs(ns);
      try { sh('ip', ['link', 'del', HOST[i]]); } catch { /* not there */ }
      sh('ip', ['link', 'add', HOST[i], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['link', 'set', HOST[i], 'up']);
      inNs(ns, ['ip', 'addr', 'add', `${IPS[i]}/24`, 'dev', 'eth0']);
      inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    });
    sw = start([CLI, 'run', '--config', cfg, '--json']);
    await sw.waitLine(/Ctrl-C stops/);
    assert.ok(sw.lines.some((l) => /I\/O: c1 native AF_PACKET recvmmsg\/sendmmsg, c2 native AF_PACKET/.test(l)), sw.lines.join('\n'));
    const p = ping(NS[0], IPS[1], 20, 0.05);
    assert.equal(p.received, 20, `ping: ${JSON.stringify(p)}`);
    for (const udp of [false, true]) {
      const server = inNsAsync(NS[1], ['iperf3', '-s', '-1', '-B', IPS[1], '-p', '5298']);
      await sleep(300);
      const out = JSON.parse(inNs(NS[0], ['iperf3', '-c', IPS[1], '-p', '5298', '-t', '2', '-J', ...(udp ? ['-u', '-b', '50M', '-l', '1200'] : [])], 30000));
      await server.done;
      if (udp) assert.ok(out.end.sum.packets > 5000 && out.end.sum.lost_percent < 5, `udp: ${out.end.sum.packets} packets, ${out.end.sum.lost_percent}% lost`);
      else assert.ok(out.end.sum_received.bytes > 10_000_000, `tcp bytes received: ${out.end.sum_received.bytes}`);
    }
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const report = JSON.parse(sw.lines.filter((l) => l.startsWith('{')).pop()!) as { ports: { counters: Record<string, number> }[]; pool: { free: number; slots: number } };
    const [a, b] = report.ports.map((x) => x.counters);
    assert.ok(a.rxGsoFrames > 100, `GSO frames from c1's veth: ${a.rxGsoFrames}`);
    assert.equal(b.txGsoFrames, a.rxGsoFrames, 'every GSO frame left through c2 whole');
    assert.equal(a.rxErrors + b.rxErrors + a.txErrors + b.txErrors + a.rxDropOversize, 0);
    assert.equal(report.pool.free, report.pool.slots, 'every handle is back in the pool');
  } finally {
    if (sw && sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
    for (const h of HOST) { try { sh('ip', ['link', 'del', h]); } catch { /* gone with its namespace */ } }
  }
});

test('a netdev whose interface goes away is counted, and attached again when it comes back', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-netdev-'));
  const cfg = join(dir, 'netdev.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, stats: { intervalSeconds: 0 }, control: { listen: 'off' }, idleSpinMicros: 0,
    ports: HOST.map((name, i) => ({ name: `c${i + 1}`, endpoint: { type: 'netdev', interface: name } })),
  }));
  // The namespace end keeps its MAC across the re-creation, as a restarted VM keeps its own.
  const veth = (i: number) => {
    sh('ip', ['link', 'add', HOST[i], 'type', 'veth', 'peer', 'name', 'eth0', 'address', `02:00:00:00:b0:0${i + 1}`, 'netns', NS[i]]);
    sh('ip', ['link', 'set', HOST[i], 'up']);
    inNs(NS[i], ['ip', 'addr', 'add', `${IPS[i]}/24`, 'dev', 'eth0']);
    inNs(NS[i], ['ip', 'link', 'set', 'eth0', 'up']);
  };
  let sw: ReturnType<typeof start> | null = null;
  try {
    NS.forEach((ns, i) => { addNs(ns); try { sh('ip', ['link', 'del', HOST[i]]); } catch { /* not there */ } veth(i); });
    sw = start([CLI, 'run', '--config', cfg, '--json']);
    await sw.waitLine(/Ctrl-C stops/);
    assert.equal(ping(NS[0], IPS[1], 5, 0.05).received, 5);
    sh('ip', ['link', 'del', HOST[1]]); // the container side goes away (its veth with it)
    await sleep(1500);
    assert.equal(ping(NS[0], IPS[1], 3, 0.1).received, 0, 'nothing answers while it is gone');
    veth(1); // and comes back under the same name
    await sleep(1500);
    const back = ping(NS[0], IPS[1], 10, 0.1);
    assert.ok(back.received >= 8, `pings after it came back: ${back.received}/10`);
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const report = JSON.parse(sw.lines.filter((l) => l.startsWith('{')).pop()!) as { ports: { counters: Record<string, number> }[]; pool: { free: number; slots: number } };
    const c2 = report.ports[1].counters;
    assert.equal(c2.linkLost, 1);
    assert.equal(c2.linkRestored, 1);
    assert.ok(c2.txDropLinkDown > 0, `frames for the gone interface counted: ${c2.txDropLinkDown}`);
    assert.equal(report.pool.free, report.pool.slots);
  } finally {
    if (sw && sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
    for (const h of HOST) { try { sh('ip', ['link', 'del', h]); } catch { /* gone with its namespace */ } }
  }
});
