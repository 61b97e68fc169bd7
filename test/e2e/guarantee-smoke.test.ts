// Experiment 1, short: a TCP tenant and a UDP tenant into one receiving host, three sluice hosts
// on the testbed with 100 Mb/s access links, weights 1:1 — the TCP VM's guarantee is γC/2 (47.5
// Mb/s on the wire, 42.8 of TCP payload). A UDP flood at the line rate from a third host into the
// other VM; TCP for 5 s. With the pillar on (guarantees on the uplinks) the receiving host's
// notices hold the flood at its sender, and TCP keeps its share: of the bytes the receiving host
// delivered to the two VMs while TCP ran, the TCP VM's are at least 85% of its weighted half.
// The share, not Mb/s, is asserted: it does not depend on how fast this machine is (a slower CI
// machine delivered 35.2 Mb/s where this one delivers 40-42.6; rates are the experiments' to
// report — scripts/guarantee-experiments.ts checks 10 ms windows against the guarantee). With the
// pillar off, the same run: the TCP VM's share is less than half of that. Needs root, the native
// module, iperf3.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { have, inNs } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';
import { Testbed } from '../../scripts/testbed.js';
import { sleep } from '../helpers/processes.js';
import { raw } from '../helpers/http.js';
import type { DataplaneStats } from '../../src/datapath/dataplane-stats.js';
import type { QueueReport } from '../../src/datapath/queue-report.js';

const RATE = 100, GOODPUT_SHARE = (0.95 * RATE / 2) * (1386 / 1538); // γC/2 in TCP payload (1,386 of 1,538 wire bytes a frame)
const skip = requireRoot() || requireNative() || (!have('iperf3') ? 'iperf3 is not installed' : false);

/** The receiving host's bytes sent to its VMs' ports `names` so far. */
async function delivered(control: string, names: string[]): Promise<number[]> {
  const st = JSON.parse((await raw({ socketPath: control }, 'GET', '/stats')).body) as DataplaneStats;
  return names.map((n) => st.ports.find((p) => p.name === n)!.counters.txBytes);
}

async function run(on: boolean): Promise<{ tcp: number; share: number; notices: number; upStats: DataplaneStats['ports'][number]; manager: string }> {
  const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: 'gs', rateMbps: RATE, queueBytes: 65536, ...(on ? { guarantees: {} } : {}) });
  try {
    const [h1, h2, h3] = tb.hosts, T = h2.vms[0], U = h2.vms[1];
    for (const v of tb.vms) for (const w of tb.vms) if (v !== w) inNs(v.ns, ['ip', 'neigh', 'replace', w.ip, 'lladdr', w.mac, 'dev', v.dev]);
    for (const [a, b] of [[h1.vms[0], T], [h3.vms[0], U]]) inNs(a.ns, ['ping', '-c', '2', '-i', '0.2', '-W', '1', b.ip]); // MACs learned both ways
    const servers = [[T, 5701], [U, 5702]].map(([v, port]) => spawn('ip', ['netns', 'exec', (v as typeof T).ns, 'iperf3', '-s', '-1', '-B', (v as typeof T).ip, '-p', String(port)], { stdio: 'ignore' }));
    await sleep(400);
    const udp = spawn('ip', ['netns', 'exec', h3.vms[0].ns, 'iperf3', '-c', U.ip, '-p', '5702', '-u', '-b', `${RATE}M`, '-l', '1300', '-t', '8'], { stdio: 'ignore' });
    const udpDone = new Promise((r) => udp.on('exit', r));
    await sleep(1000);
    const before = await delivered(h2.control!, ['vm1', 'vm2']);
    const j = JSON.parse(inNs(h1.vms[0].ns, ['iperf3', '-c', T.ip, '-p', '5701', '-t', '5', '-J'], 30000)) as { end: { sum_received: { bits_per_second: number } } };
    const after = await delivered(h2.control!, ['vm1', 'vm2']);
    const [dT, dU] = [after[0] - before[0], after[1] - before[1]];
    await udpDone;
    for (const s of servers) s.kill();
    const st = JSON.parse((await raw({ socketPath: h2.control! }, 'GET', '/stats')).body) as DataplaneStats;
    const up = st.ports.find((p) => p.name === 'uplink')!;
    // What each host's queue manager did (a diagnostic: its moves hold frames of the moving flow).
    const manager = (await Promise.all(tb.hosts.map(async (h) => {
      const q = JSON.parse((await raw({ socketPath: h.control! }, 'GET', '/queues')).body) as QueueReport, c = q.manager.counters;
      const held = q.queues.reduce((a, x) => a + (x.counters.framesHeld ?? 0), 0), gaveUp = q.queues.reduce((a, x) => a + (x.counters.movesGivenUp ?? 0), 0);
      return `${h.name}: ${c.flowsGiven} given, ${c.flowsTaken} taken, ${c.entriesMoved} entries, ${gaveUp} given up, ${held} frames held`;
    }))).join('; ');
    return { tcp: j.end.sum_received.bits_per_second / 1e6, share: dT / (dT + dU), notices: up.tunnels?.watch?.counters.noticesSent ?? 0, upStats: up, manager };
  } finally {
    const codes = await tb.down();
    assert.deepEqual(codes, [0, 0, 0], 'every sluice host stopped cleanly');
  }
}

test('a TCP tenant keeps its guarantee beside a UDP flood with the pillar on, and not with it off', { skip, timeout: 180_000 }, async (t) => {
  const off = await run(false);
  const on = await run(true);
  const w = on.upStats.tunnels!.watch!.counters;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  t.diagnostic(`TCP goodput: pillar off ${off.tcp.toFixed(1)} Mb/s, on ${on.tcp.toFixed(1)} Mb/s (guarantee ${GOODPUT_SHARE.toFixed(1)} of payload); TCP VM's share of the bytes delivered while it ran: off ${pct(off.share)}, on ${pct(on.share)} (weighted half 50%); receiving host sent ${on.notices} notices, ${(100 * w.noticeBytes / w.dataBytes).toFixed(3)}% of the data bytes; queue managers (on run) ${on.manager}`);
  assert.ok(on.share >= 0.85 * 0.5, `pillar on: the TCP VM got ${pct(on.share)} of the delivered bytes, below 85% of its half`);
  assert.ok(off.share < 0.5 * on.share, `pillar off: the TCP VM got ${pct(off.share)}, not less than half of ${pct(on.share)}: the flood did not hurt it, the test shows nothing`);
  assert.ok(on.notices > 0 && w.noticeBytes / w.dataBytes <= 0.005, 'notices flowed, within 0.5% of the data bytes');
});
