// Over a million frames through `sluice run` on the native paths — UDP ports with recvmmsg/
// sendmmsg, and tap ports between two namespaces — every handle is back in the pool at the
// end, and every frame taken is accounted for: forwarded or counted where it was dropped.
// The tap run needs root, /dev/net/tun and iperf3 (skipped with the reason otherwise).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { addNs, delNs, have, inNs, inNsAsync, plug } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';
import { native, NATIVE_BURST } from '../../src/native/io.js';
import { poolBinding } from '../../src/nic/pool-binding.js';
import { PacketPool } from '../../src/nic/pool.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { raw } from '../helpers/http.js';

const MILLION = 1_000_000;
type Report = { ports: { counters: Record<string, number> }[]; queues: { counters: Record<string, number> }[]; pool: { free: number; slots: number } };

const CONTROL = { host: '127.0.0.1', port: 44810 };

function config(ports: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-leak-'));
  const f = join(dir, 'leak.json');
  writeFileSync(f, JSON.stringify({ workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: `${CONTROL.host}:${CONTROL.port}` }, idleSpinMicros: 0, ports }));
  return f;
}

/** Frames port `i` has taken so far (GET /stats of the running switch). */
async function taken(i: number): Promise<number> {
  return (JSON.parse((await raw(CONTROL, 'GET', '/stats')).body) as Report).ports[i].counters.rxPackets;
}

async function finish(sw: ReturnType<typeof start>): Promise<Report> {
  sw.child.kill('SIGINT');
  assert.equal(await sw.exit, 0);
  return JSON.parse(sw.lines.filter((l) => l.startsWith('{')).pop()!) as Report;
}

// Every frame a port took went through the pipeline or was dropped at a queue; every frame
// the pipeline sent to a port was sent or counted as dropped on the way.
function accounted(r: Report): void {
  const ports = r.ports.map((p) => p.counters);
  const taken = ports.reduce((s, c) => s + c.rxPackets, 0), processed = ports.reduce((s, c) => s + c.processed, 0);
  const ringDrops = r.queues.reduce((s, q) => s + q.counters.dropRingFull + q.counters.dropUnserved, 0);
  assert.equal(taken, processed + ringDrops, `taken ${taken} = processed ${processed} + dropped at the queues ${ringDrops}`);
  const out = ports.reduce((s, c) => s + c.forwarded + c.flooded * (ports.length - 1), 0);
  const left = ports.reduce((s, c) => s + c.txPackets + c.txErrors + c.txDropPeerDown + c.txDropLinkDown + c.txRingFull + c.txDropPoolEmpty, 0);
  assert.equal(left, out, `frames for the ports ${out} = sent or dropped on the way ${left}`);
}

test('UDP ports on the native path: a million frames, every handle back, every frame accounted for', { skip: requireNative(), timeout: 120_000 }, async () => {
  const io = native!;
  const [IN, OUT, SRC, DST] = [44801, 44802, 44803, 44804];
  const sw = start([CLI, 'run', '--json', '--config', config([
    { name: 'in', endpoint: { type: 'udp', local: `127.0.0.1:${IN}`, remote: `127.0.0.1:${SRC}` } },
    { name: 'out', endpoint: { type: 'udp', local: `127.0.0.1:${OUT}`, remote: `127.0.0.1:${DST}` } },
  ])]);
  const tx = io.udpOpen('127.0.0.1', SRC, '127.0.0.1', IN, 4 << 20), sink = io.udpOpen('127.0.0.1', DST, '127.0.0.1', OUT, 1 << 16);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    const pool = new PacketPool(NATIVE_BURST, 2048), bind = poolBinding(io, pool), hs = new Int32Array(NATIVE_BURST);
    const frame = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 1, dport: 2 }, padTo: 64 });
    for (let i = 0; i < NATIVE_BURST; i++) hs[i] = pool.allocFrom(frame, 0, frame.length);
    // Send in bursts, yielding now and then, until the switch has taken a million frames
    // (it may take fewer than were sent: the kernel drops what its socket buffer cannot hold).
    let sent = 0;
    for (let round = 1; sent < 20 * MILLION; round++) {
      for (let k = 0; k < 8; k++) sent += Math.max(0, io.sendBatch(bind, tx, hs, 0, NATIVE_BURST, null, 0));
      await sleep(2);
      if (round % 100 === 0 && await taken(0) >= MILLION) break;
    }
    await sleep(300);
    const r = await finish(sw);
    const [inp, out] = r.ports.map((p) => p.counters);
    assert.ok(inp.rxPackets >= MILLION, `frames taken: ${inp.rxPackets} of ${sent} sent`);
    assert.equal(inp.rxPackets + inp.rxKernelDrops, sent, 'every datagram sent was taken or counted as a kernel drop');
    assert.ok(out.txPackets > 0.9 * inp.rxPackets, `sent on: ${out.txPackets} of ${inp.rxPackets}`);
    accounted(r);
    assert.equal(r.pool.free, r.pool.slots, 'every handle is back in the pool');
  } finally {
    io.closeFd(tx); io.closeFd(sink);
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
  }
});

const NS = ['sl-lk-a', 'sl-lk-b'], TAPS = ['sllk-a', 'sllk-b'], IPS = ['10.95.0.1', '10.95.0.2'];
const tapSkip = requireRoot() || requireNative() || (!existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false) || (!have('iperf3') ? 'iperf3 is not installed' : false);

test('tap ports: a million frames between two namespaces, every handle back, every frame accounted for', { skip: tapSkip, timeout: 180_000 }, async () => {
  const sw = start([CLI, 'run', '--json', '--config', config(TAPS.map((name, i) => ({ name: `vm${i + 1}`, endpoint: { type: 'tap', name } })))]);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    NS.forEach((ns, i) => { addNs(ns); plug(ns, TAPS[i], `${IPS[i]}/24`); });
    inNs(NS[0], ['ping', '-c', '2', '-i', '0.1', IPS[1]]);
    // 64-byte UDP frames as fast as iperf3 sends them, until a million have crossed.
    for (let round = 0; round < 10 && await taken(0) < MILLION; round++) {
      const server = inNsAsync(NS[1], ['iperf3', '-s', '-1', '-B', IPS[1], '-p', '5296']);
      await sleep(300);
      inNs(NS[0], ['iperf3', '-c', IPS[1], '-p', '5296', '-u', '-l', '18', '-b', '0', '-t', '4', '-J'], 60000);
      await server.done;
    }
    const r = await finish(sw);
    const [a] = r.ports.map((p) => p.counters);
    assert.ok(a.rxPackets >= MILLION, `frames taken from vm1: ${a.rxPackets}`);
    accounted(r);
    assert.equal(r.pool.free, r.pool.slots, 'every handle is back in the pool');
  } finally {
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
  }
});
