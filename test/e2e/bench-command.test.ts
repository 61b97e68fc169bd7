// `sluice bench` runs the whole switch in memory and reports what it promises: --json with
// mpps and nsPerPacket, per-queue balance, the flow-cache hit rate; every packet accounted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { CLI, start } from '../helpers/processes.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/pcaps/${name}`, import.meta.url));

async function bench(args: string[]) {
  const p = start([CLI, 'bench', '--seconds', '1', '--json', ...args]);
  assert.equal(await p.exit, 0, p.lines.join('\n'));
  return JSON.parse(p.lines.find((l) => l.startsWith('{'))!) as { mpps: number; nsPerPacket: number; packets: number; seconds: number; flowCacheHitRate: number; queueShare: number[]; node: string };
}

test('synthetic traffic: Mpps and ns/packet agree with the packet count; RSS spreads 1024 flows over 4 queues', async () => {
  const r = await bench(['--flows', '1024', '--size', '64,1518', '--workers', '1']);
  assert.ok(r.packets > 1000, `${r.packets} packets`);
  assert.ok(Math.abs(r.mpps - r.packets / r.seconds / 1e6) < 1e-9);
  assert.ok(Math.abs(r.nsPerPacket - 1e3 / r.mpps) < 1e-6);
  assert.equal(r.queueShare.length, 4);
  assert.ok(Math.abs(r.queueShare.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(r.queueShare.every((q) => q > 0.2 && q < 0.3), `balance ${r.queueShare}`);
  assert.equal(r.node, process.version);
});

test('a capture in memory with rules and cacheable extensions: every flow decision comes from the cache after the first pass', async () => {
  const r = await bench(['--pcap', fixture('tls2.pcap'), '--rules', '50', '--extensions', '4', '--cacheable', '--workers', '0']);
  assert.ok(r.packets > 7451, 'the capture was pushed more than once');
  assert.ok(r.flowCacheHitRate > 0.99, `hit rate ${r.flowCacheHitRate}`);
});

test('bad options are refused with exit code 2', async () => {
  const p = start([CLI, 'bench', '--size', '12']);
  assert.equal(await p.exit, 2);
  assert.ok(p.lines.some((l) => /--size expects frame sizes 60\.\.1518/.test(l)));
});
