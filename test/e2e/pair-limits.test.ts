// Predictable bandwidth's sending side on a real tunnel uplink: frames from a VM to a VM behind a
// remote VTEP wait in their pair's limiter, which starts at the line rate and takes the rate a
// notice from that VTEP grants (a flood at 40 Mb/s held to a 10 Mb/s grant). Notices that must not
// count — from a host that is not a configured peer, replayed, about a VM that is not this host's,
// naming a receiver not behind the sending peer, malformed — are refused, counted by reason, and
// change nothing. Needs the native module.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { NOTICE_LEN, writeNotice } from '../../src/wire/rate-notice.js';
import { parseMac } from '../../src/wire/bytes.js';
import { requireNative } from '../helpers/native.js';
import { raw } from '../helpers/http.js';
import type { DataplaneStats } from '../../src/datapath/dataplane-stats.js';

const P = 47920, VNI = 7, FRAME = 1000;
const VM = '02:00:00:00:07:0a', REMOTE = '02:00:00:00:07:0b', STRANGER = '02:00:00:00:07:0c';

function notice(seq: number, mbps: number, receiver: string, sender: string): Buffer {
  const b = Buffer.alloc(NOTICE_LEN);
  writeNotice(b, 0, { seq, rateBps: mbps * 1e6, vni: VNI, receiver: parseMac(receiver)!, sender: parseMac(sender)! });
  return b;
}

test('a pair limiter starts at the line rate, takes a peer\'s grant, and ignores spoofed, replayed and stray notices (counted)', { skip: requireNative(), timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pairs-'));
  const cfg = join(dir, 'pairs.json'), control = join(dir, 'control.sock');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 1 }, stats: { intervalSeconds: 0 }, control: { listen: `unix:${control}` },
    ports: [
      { name: 'vm', endpoint: { type: 'udp', local: `127.0.0.1:${P}`, remote: `127.0.0.1:${P + 1}`, io: 'native' } },
      { name: 'uplink', endpoint: { type: 'vxlan', local: `127.0.0.2:${P + 2}`, vni: VNI, remotes: ['127.0.0.4'], static: [{ mac: REMOTE, vtep: '127.0.0.4' }], sourcePorts: 'fixed', guarantees: { lineMbps: 100, floorMbps: 10 } } },
    ],
  }));
  const sw = start([CLI, 'run', '--config', cfg, '--json']);
  const vm = dgram.createSocket('udp4'), peer = dgram.createSocket('udp4'), stranger = dgram.createSocket('udp4');
  let bytes = 0;
  peer.on('message', (m) => { if (m[0] === 0x08) bytes += m.length - 8; });
  const stats = async () => JSON.parse((await raw({ socketPath: control }, 'GET', '/stats')).body) as DataplaneStats;
  const frame = Buffer.from(buildFrame({ dst: REMOTE, src: VM, ipv4: { src: '10.7.0.1', dst: '10.7.0.2' }, udp: { sport: 5000, dport: 9 }, payload: FRAME - 42 }));
  // Offer `mbps` from the VM for `ms`; the peer VTEP's inner Mb/s over the time after the first 300 ms.
  const flood = async (mbps: number, ms: number): Promise<number> => {
    const perTick = (mbps * 1e6 * 0.002) / 8 / FRAME, t0 = Date.now();
    let sent = 0, b0 = 0, m0 = 0;
    while (Date.now() - t0 < ms) {
      if (m0 === 0 && Date.now() - t0 >= 300) { b0 = bytes; m0 = Date.now(); }
      for (const due = ((Date.now() - t0) / 2 + 1) * perTick; sent < due; sent++) vm.send(frame, P, '127.0.0.1');
      await sleep(1);
    }
    await sleep(50);
    return ((bytes - b0) * 8) / ((Date.now() - m0) * 1000);
  };
  try {
    await sw.waitLine(/Ctrl-C stops/);
    await new Promise<void>((r) => vm.bind(P + 1, '127.0.0.1', () => r()));
    await new Promise<void>((r) => peer.bind(P + 2, '127.0.0.4', () => r()));
    await new Promise<void>((r) => stranger.bind(P + 2, '127.0.0.5', () => r()));
    const before = await flood(40, 1500);
    t.diagnostic(`before any notice: ${before.toFixed(2)} Mb/s`);
    assert.ok(before > 30, `a new pair runs at the line rate: ${before.toFixed(2)} Mb/s of 40 offered passed`);
    peer.send(notice(1, 10, REMOTE, VM), P + 2, '127.0.0.2');
    await sleep(100);
    const held = await flood(40, 2500);
    t.diagnostic(`after a 10 Mb/s grant: ${held.toFixed(2)} Mb/s`);
    assert.ok(held < 10.5 && held > 8.5, `the grant holds the pair: ${held.toFixed(2)} Mb/s of 40 offered`);
    // Notices that must change nothing, each for its own reason.
    stranger.send(notice(2, 100, REMOTE, VM), P + 2, '127.0.0.2'); // not a configured peer
    peer.send(notice(1, 100, REMOTE, VM), P + 2, '127.0.0.2'); // replayed sequence number
    peer.send(notice(3, 100, VM, STRANGER), P + 2, '127.0.0.2'); // the sender is not a VM of this host
    peer.send(notice(4, 100, STRANGER, VM), P + 2, '127.0.0.2'); // the receiver is not behind that peer
    peer.send(Buffer.from('SLRN-too-short'), P + 2, '127.0.0.2'); // malformed
    await sleep(100);
    const still = await flood(40, 2000);
    t.diagnostic(`after the refused notices: ${still.toFixed(2)} Mb/s`);
    assert.ok(still < 10.5, `refused notices changed nothing: ${still.toFixed(2)} Mb/s`);
    const n = (await stats()).ports[1].tunnels!.notices!;
    t.diagnostic(JSON.stringify(n));
    assert.deepEqual({ accepted: n.accepted, unknownPeer: n.unknownPeer, replayed: n.replayed, notOurVm: n.notOurVm, notTheirVm: n.notTheirVm, malformed: n.malformed },
      { accepted: 1, unknownPeer: 1, replayed: 1, notOurVm: 1, notTheirVm: 1, malformed: 1 });
    const metrics = (await raw({ socketPath: control }, 'GET', '/metrics')).body;
    assert.match(metrics, /sluice_notices_replayed_total\{port="uplink"\} 1\n/, 'the refusals are in /metrics');
    // sluice qos shows the pair's limiter at its grant, and the refusals.
    const q = start([CLI, 'qos', '--control', `unix:${control}`]);
    assert.equal(await q.exit, 0, q.lines.join('\n'));
    const text = q.lines.join('\n');
    t.diagnostic(text);
    assert.match(text, /sending: notices taken 1, refused malformed 1, unknownPeer 1, notOurVm 1, notTheirVm 1, replayed 1; 1 pair limiters/);
    assert.match(text, new RegExp(`vni ${VNI}  ${VM} -> ${REMOTE}  10\\.0 Mb/s`));
    const up = (await stats()).ports[1].counters;
    assert.equal(up.rxDropEncap, 0, 'notices are not counted as bad VXLAN datagrams');
    assert.ok(up.txDropQueue > 0, 'the flood over the grant overflowed the pair\'s queue: counted');
  } finally {
    vm.close(); peer.close(); stranger.close();
    if (sw.child.exitCode === null) { sw.child.kill('SIGINT'); await sw.exit; }
  }
});
