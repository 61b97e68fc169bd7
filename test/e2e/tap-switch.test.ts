// Two network namespaces attached to `sluice run` through tap ports: they ping each other and
// run iperf3 TCP and UDP through the switch; every frame is counted and every handle comes
// back. Needs root, /dev/net/tun, the native module and iperf3 (skipped, with the reason,
// where the machine lacks one; CI has them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, sleep, start } from '../helpers/processes.js';
import { addNs, delNs, have, inNs, inNsAsync, ping, plug } from '../helpers/netns.js';
import { requireNative, requireRoot } from '../helpers/native.js';
import { interfaceDescription, sectionHeader, writePacket } from '../../src/capture/pcapng-writer.js';
import { inetChecksum } from '../../src/wire/ipv4.js';
import { raw } from '../helpers/http.js';

const CONTROL_PORT = 44731;

const NS = ['sl-tap-a', 'sl-tap-b'], TAPS = ['sltap-a', 'sltap-b'], IPS = ['10.93.0.1', '10.93.0.2'];
const skip = requireRoot() || requireNative() || (!existsSync('/dev/net/tun') ? 'no /dev/net/tun' : false) || (!have('iperf3') || !have('ping') ? 'iperf3 or ping is not installed (apt-get install iperf3 iputils-ping)' : false);

function tapConfig(vnetHdr: boolean, more: { ports?: object[]; rules?: object[]; control?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tap-'));
  const cfg = join(dir, 'taps.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: more.control ?? 'off' }, idleSpinMicros: 0,
    ...(vnetHdr ? { pool: { slots: 4096, slotSize: 65536 + 2048 } } : {}),
    ports: [...TAPS.map((name, i) => ({ name: `vm${i + 1}`, endpoint: { type: 'tap', name, vnetHdr } })), ...(more.ports ?? [])],
    rules: more.rules ?? [],
  }));
  return cfg;
}

type Counters = Record<string, number>;
function finalReport(lines: string[]): { ports: { counters: Counters }[]; pool: { free: number; slots: number } } {
  return JSON.parse(lines.filter((l) => l.startsWith('{')).pop()!);
}

test('two namespaces on tap ports ping each other and run iperf3 TCP and UDP through sluice', { skip, timeout: 120_000 }, async () => {
  const sw = start([CLI, 'run', '--config', tapConfig(false), '--json']);
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
    const report = finalReport(sw.lines);
    const [a, b] = report.ports.map((x) => x.counters);
    assert.ok(a.rxPackets > 20000 && b.rxPackets > 1000, `rx ${a.rxPackets} / ${b.rxPackets}`);
    assert.equal(a.rxErrors + b.rxErrors + a.txErrors + b.txErrors, 0, 'no read or write failed');
    assert.equal(report.pool.free, report.pool.slots, 'every handle is back in the pool');
  } finally {
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
  }
});

test('between vnet-header taps TSO frames pass unsegmented: GSO frames in, GSO frames out, TCP at full size', { skip, timeout: 120_000 }, async () => {
  const sw = start([CLI, 'run', '--config', tapConfig(true), '--json']);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    assert.ok(sw.lines.some((l) => /note: vm1 TSO and checksum offload on/.test(l)), sw.lines.join('\n'));
    NS.forEach((ns, i) => { addNs(ns); plug(ns, TAPS[i], `${IPS[i]}/24`); });
    assert.equal(ping(NS[0], IPS[1], 5, 0.05).received, 5);
    const server = inNsAsync(NS[1], ['iperf3', '-s', '-1', '-B', IPS[1], '-p', '5299']);
    await sleep(300);
    const out = JSON.parse(inNs(NS[0], ['iperf3', '-c', IPS[1], '-p', '5299', '-t', '2', '-J'], 30000));
    await server.done;
    assert.ok(out.end.sum_received.bytes > 10_000_000, `tcp bytes received: ${out.end.sum_received.bytes}`);
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const report = finalReport(sw.lines);
    const [a, b] = report.ports.map((x) => x.counters);
    // The sender's stack handed vm1 GSO frames (gso_type set), each carrying many MTU-sized
    // segments (gso_size), and vm2's tap took them as they came, header and all.
    assert.ok(a.rxGsoFrames > 100, `GSO frames from vm1: ${a.rxGsoFrames}`);
    assert.ok(a.rxGsoSegments > 4 * a.rxGsoFrames, `segments per GSO frame: ${a.rxGsoSegments} / ${a.rxGsoFrames}`);
    assert.equal(b.txGsoFrames, a.rxGsoFrames, 'every GSO frame left through vm2 unsegmented');
    assert.ok(a.rxBytes / a.rxPackets > 3000, `mean frame ${Math.round(a.rxBytes / a.rxPackets)} bytes: larger than any MTU frame`);
    assert.equal(a.txErrors + b.txErrors + a.rxErrors + b.rxErrors, 0);
    assert.equal(report.pool.free, report.pool.slots, 'every handle is back in the pool');
  } finally {
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
  }
});

// A TCP frame's IPv4 header and TCP checksums, checked by the identity that the sum over the
// covered bytes, checksum included, is zero. null when the frame is not IPv4/TCP.
function tcpChecksumsOk(f: Uint8Array): { ip: boolean; tcp: boolean } | null {
  if (f.length < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return null;
  const ihl = (f[14] & 15) * 4, total = (f[16] << 8) | f[17], tcpLen = total - ihl;
  let pseudo = 6 + tcpLen;
  for (let o = 26; o < 34; o += 2) pseudo += (f[o] << 8) | f[o + 1];
  return { ip: inetChecksum(f, 14, ihl) === 0, tcp: 14 + total <= f.length && inetChecksum(f, 14 + ihl, tcpLen, pseudo) === 0 };
}

test('GSO frames mirrored to a UDP port arrive segmented, MTU-sized, with valid IP and TCP checksums (tshark agrees)', { skip, timeout: 120_000 }, async () => {
  const MON = 44721, PEER = 44722;
  const rx = dgram.createSocket({ type: 'udp4', recvBufferSize: 32 << 20 });
  const got: Buffer[] = [];
  rx.on('message', (m) => { if (got.length < 20000) got.push(m); });
  await new Promise<void>((r) => rx.bind(PEER, '127.0.0.1', r));
  const sw = start([CLI, 'run', '--config', tapConfig(true, {
    ports: [{ name: 'mon', endpoint: { type: 'udp', local: `127.0.0.1:${MON}`, remote: `127.0.0.1:${PEER}` } }],
    rules: [{ id: 'watch', layer: 'qos', priority: 1, match: { proto: 'tcp' }, actions: [{ mirror: 'mon' }] }],
    control: `127.0.0.1:${CONTROL_PORT}`,
  }), '--json']);
  try {
    await sw.waitLine(/Ctrl-C stops/);
    assert.ok(sw.lines.some((l) => /note: vm1 TSO and checksum offload on/.test(l)), 'a UDP port no longer keeps offloads off: sluice segments for it');
    NS.forEach((ns, i) => { addNs(ns); plug(ns, TAPS[i], `${IPS[i]}/24`); });
    const server = inNsAsync(NS[1], ['iperf3', '-s', '-1', '-B', IPS[1], '-p', '5299']);
    await sleep(300);
    inNs(NS[0], ['iperf3', '-c', IPS[1], '-p', '5299', '-t', '1', '-J'], 30000);
    await server.done;
    await sleep(300);
    const watch = (JSON.parse((await raw({ host: '127.0.0.1', port: CONTROL_PORT }, 'GET', '/rules')).body) as { rules: { id: string; packets: number }[] }).rules.find((r) => r.id === 'watch')!;
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
    const report = finalReport(sw.lines);
    const [a, b, mon] = report.ports.map((x) => x.counters);
    // The rule counts a GSO frame as the segments it carries: more packets than frames taken.
    assert.ok(watch.packets >= a.rxGsoSegments && watch.packets > a.rxPackets + b.rxPackets, `rule packets ${watch.packets}, GSO segments ${a.rxGsoSegments}, frames ${a.rxPackets + b.rxPackets}`);
    assert.ok(a.rxGsoFrames > 100, `GSO frames from vm1: ${a.rxGsoFrames}`);
    assert.ok(mon.txPackets > a.rxGsoFrames, `the mirror port sent segments (${mon.txPackets}) for ${a.rxGsoFrames} GSO frames`);
    assert.equal(mon.txGsoFrames + mon.txDropOffload, 0, 'no GSO frame left whole or was dropped unfinished');
    const tcp = got.map((f) => ({ f, ok: tcpChecksumsOk(f) })).filter((x) => x.ok !== null);
    assert.ok(tcp.length > 1000, `TCP frames received on the UDP port: ${tcp.length}`);
    for (const { f, ok } of tcp) {
      assert.ok(f.length <= 1514, `a frame of ${f.length} bytes: not segmented`);
      assert.ok(ok!.ip && ok!.tcp, `bad checksum in a ${f.length}-byte frame`);
    }
    assert.equal(report.pool.free, report.pool.slots, 'every handle is back in the pool');
    if (have('tshark')) {
      const file = join(mkdtempSync(join(tmpdir(), 'sluice-gso-')), 'mirrored.pcapng');
      const parts = [sectionHeader(), interfaceDescription('mon')];
      for (const { f } of tcp) { const rec = Buffer.alloc(f.length + 64); const n = writePacket(rec, 0, 0, 0, 0, f, 0, f.length, f.length); parts.push(rec.subarray(0, n)); }
      writeFileSync(file, Buffer.concat(parts));
      // One frame number per matching frame: a summary line can hold a newline when a heuristic
      // dissector prints the random payload, so lines of the summary are not frames.
      const count = (filter: string) => execFileSync('tshark', ['-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-Y', filter, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' }).split('\n').filter((l) => /^\d+$/.test(l.trim())).length;
      assert.equal(count('tcp'), tcp.length, 'tshark reads every frame as TCP');
      // Checksums only: the payload is iperf3's random bytes, which tshark's heuristic
      // dissectors (Thrift, JSON) sometimes try and flag.
      assert.equal(count('ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"'), 0, 'tshark finds no checksum error');
      assert.equal(count('ip.checksum.status == "Good" && tcp.checksum.status == "Good"'), tcp.length, 'tshark verified both checksums of every frame');
    }
  } finally {
    rx.close();
    if (sw.child.exitCode === null) { sw.child.kill('SIGKILL'); await sw.exit; }
    NS.forEach(delNs);
  }
});
