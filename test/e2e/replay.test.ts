// `sluice replay` as a user runs it: packet and flow counts of real captures equal the
// values their SOURCES.md gives; a corrupt capture replays its valid prefix, names the byte
// offset and exits 1; --out writes per-port pcapng files that read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureReader } from '../../src/capture/capture-reader.js';
import dgram from 'node:dgram';
import { CLI, start } from '../helpers/processes.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/pcaps/${name}`, import.meta.url));

function memoryConfig(dir: string): string {
  const cfg = join(dir, 'replay.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 0, control: { listen: 'off' },
    ports: [1, 2, 3].map((n) => ({ name: `p${n}`, endpoint: { type: 'memory' } })),
  }));
  return cfg;
}

async function run(args: string[]): Promise<{ code: number; json: Record<string, unknown> | null; lines: string[] }> {
  const p = start([CLI, 'replay', ...(args.includes('--port') || args.includes('--map') ? [] : ['--map', 'interface']), ...args]);
  const code = await p.exit;
  const line = p.lines.find((l) => l.startsWith('{'));
  return { code, json: line ? JSON.parse(line) : null, lines: p.lines };
}

test('replaying the bundled captures gives the packet and flow counts of SOURCES.md', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
  const cfg = memoryConfig(dir);
  for (const [name, packets, flows] of [
    ['cip.pcap', 26068, 3017], ['tls2.pcap', 7451, 334], ['ip4_fragments.pcap', 53, 2], ['ip6_fragments.pcap', 36, 4],
    ['frag_with_padding.pcap', 8, 2], ['ipv6-http-atomic-frag.pcap', 38, 6], ['vlan-qinqinq.pcap', 14, 1], ['icmpv4-4vlanQinQ-id-8-10-20-30.pcap', 91, 4],
  ] as const) {
    const r = await run(['--config', cfg, '--topspeed', '--json', fixture(name)]);
    assert.equal(r.code, 0, r.lines.join('\n'));
    assert.equal(r.json!.packets, packets, `${name} packets`);
    assert.equal(r.json!.flows, flows, `${name} flows`);
    const ports = r.json!.ports as { rx: number }[];
    assert.equal(ports[0].rx, packets, 'every record entered p1 (capture interface 0)');
    const st = r.json!.stats as { pool: { free: number; slots: number } };
    assert.equal(st.pool.free, st.pool.slots);
  }
});

test('a capture cut mid-record: the prefix is replayed, the byte offset named, exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
  const whole = readFileSync(fixture('tls2.pcap'));
  let cut = 24;
  for (let i = 0; i < 1000; i++) cut += 16 + whole.readUInt32LE(cut + 8);
  const file = join(dir, 'cut.pcap');
  writeFileSync(file, whole.subarray(0, cut + 16 + 100));
  const r = await run(['--config', memoryConfig(dir), '--topspeed', '--json', file]);
  assert.equal(r.code, 1);
  assert.equal(r.json!.packets, 1000);
  assert.ok(r.lines.some((l) => l.includes(`byte offset ${cut}: file ends inside a record`)), r.lines.join('\n'));
  const bad = join(dir, 'bad.pcap');
  writeFileSync(bad, Buffer.from('this is not a capture at all'));
  const b = await run(['--config', memoryConfig(dir), '--topspeed', '--json', bad]);
  assert.equal(b.code, 1);
  assert.ok(b.lines.some((l) => /byte offset 0: not a pcap or pcapng file/.test(l)));
});

test('--out writes what each port sends as pcapng that sluice reads back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
  const cfg = join(dir, 'two.json');
  // p1 receives the capture; a rule sends IPv6 out of p3, everything else out of p2.
  writeFileSync(cfg, JSON.stringify({
    workers: 0, control: { listen: 'off' }, ports: [1, 2, 3].map((n) => ({ name: `p${n}`, endpoint: { type: 'memory' } })),
    rules: [{ layer: 'forward', priority: 1, match: {}, actions: [{ output: ['p2'] }] }, { layer: 'forward', priority: 2, match: { etherType: 'ipv6' }, actions: [{ output: ['p3'] }] }],
  }));
  const out = join(dir, 'out');
  const r = await run(['--config', cfg, '--topspeed', '--json', '--out', out, fixture('tls2.pcap')]);
  assert.equal(r.code, 0, r.lines.join('\n'));
  const ports = r.json!.ports as { name: string; tx: number }[];
  for (const p of ports) {
    const rd = CaptureReader.open(join(out, `${p.name}.pcapng`));
    let n = 0;
    while (rd.next()) n++;
    rd.close();
    assert.equal(n, p.tx, `${p.name}: ${n} packets written, ${p.tx} sent`);
  }
  assert.equal(ports[1].tx, 3011, 'the IPv4 frames of tls2.pcap');
  assert.equal(ports[2].tx, 4440, 'the IPv6 frames');
});

test('pacing: --pps 10000 for 3 s delivers within 2% of 30,000 packets to a real UDP receiver', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-replay-'));
  const cfg = join(dir, 'paced.json');
  // Records enter p1; a rule sends them all out of p2, a UDP port whose peer counts them.
  writeFileSync(cfg, JSON.stringify({
    workers: 0, control: { listen: 'off' },
    ports: [{ name: 'p1', endpoint: { type: 'memory' } }, { name: 'p2', endpoint: { type: 'udp', local: '127.0.0.1:46002', remote: '127.0.0.1:56002' } }],
    rules: [{ layer: 'forward', priority: 1, match: {}, actions: [{ output: ['p2'] }] }],
  }));
  const sock = dgram.createSocket('udp4');
  let received = 0;
  sock.on('message', () => { received++; });
  await new Promise<void>((r) => sock.bind(56002, '127.0.0.1', () => r()));
  try {
    const r = await run(['--config', cfg, '--pps', '10000', '--duration', '3', '--loop', '10', '--json', fixture('tls2.pcap')]);
    assert.equal(r.code, 0, r.lines.join('\n'));
    await new Promise((res) => setTimeout(res, 200));
    const sent = r.json!.packets as number;
    t.diagnostic(`sent ${sent}, received ${received}`);
    assert.ok(Math.abs(sent - 30000) <= 600, `replay sent ${sent} packets in 3 s at 10,000 pps`);
    assert.ok(Math.abs(received - 30000) <= 600, `the receiver counted ${received}`);
  } finally {
    sock.close();
  }
});

test('with the default settings replay forwards every parsable frame of the bundled captures', async () => {
  // No --config, no --map: the replay default switch and the conversation split. Every
  // frame comes out once (two ports) unless it is malformed or has a group source address.
  const notForwardable = (reason: string) => reason.startsWith('malformed.') || reason === 'dropSrcMacGroup';
  for (const name of ['cip.pcap', 'tls2.pcap', 'ip4_fragments.pcap', 'ip6_fragments.pcap', 'frag_with_padding.pcap', 'ipv6-http-atomic-frag.pcap', 'vlan-qinqinq.pcap', 'icmpv4-4vlanQinQ-id-8-10-20-30.pcap']) {
    const p = start([CLI, 'replay', '--topspeed', '--json', fixture(name)]);
    assert.equal(await p.exit, 0, p.lines.join('\n'));
    const s = JSON.parse(p.lines.find((l) => l.startsWith('{'))!) as { packets: number; dropsByReason: Record<string, number>; ports: { rx: number; tx: number }[] };
    const rx = s.ports.reduce((a, x) => a + x.rx, 0), tx = s.ports.reduce((a, x) => a + x.tx, 0);
    const unparsable = Object.entries(s.dropsByReason).filter(([k]) => notForwardable(k)).reduce((a, [, v]) => a + v, 0);
    assert.deepEqual(Object.keys(s.dropsByReason).filter((k) => !notForwardable(k)), [], `${name}: drops ${JSON.stringify(s.dropsByReason)}`);
    assert.equal(rx, s.packets, `${name}: every record entered`);
    assert.equal(tx, rx - unparsable, `${name}: every parsable frame left once`);
  }
});

test('replay: --duration is kept when paced; a missing file is one line and exit 1; flags as --name=value', async () => {
  const paced = await run(['--pps=20', '--duration=1', '--json', fixture('tls2.pcap')]);
  assert.equal(paced.code, 0, paced.lines.join('\n'));
  assert.ok((paced.json!.packets as number) <= 21, `--pps 20 --duration 1 sent ${String(paced.json!.packets)}`);
  const missing = start([CLI, 'replay', '/nonexistent/x.pcap']);
  assert.equal(await missing.exit, 1);
  assert.deepEqual(missing.lines, ['stderr: sluice replay: /nonexistent/x.pcap: no such file']);
  const both = start([CLI, 'replay', '--pps', '10', '--topspeed', fixture('tls2.pcap')]);
  assert.equal(await both.exit, 2);
  assert.match(both.lines.join('\n'), /give one pacing option, not --topspeed and --pps/);
});
