// Each class of broken capture from the shared collection (copied into test/fixtures/pcaps):
// `sluice replay` names the byte offset and what is wrong, replays the valid prefix, exits
// non-zero — within a bounded time (the test runner's timeout) and without reading a claimed
// multi-megabyte record; files that are odd but valid replay cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureReader } from '../../src/capture/capture-reader.js';
import { CLI, start } from '../helpers/processes.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/pcaps/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-corrupt-'));
const cfg = join(dir, 'mem.json');
writeFileSync(cfg, JSON.stringify({ workers: 0, control: { listen: 'off' }, ports: [{ name: 'p1', endpoint: { type: 'memory' } }, { name: 'p2', endpoint: { type: 'memory' } }] }));

async function replay(name: string) {
  const p = start([CLI, 'replay', '--config', cfg, '--topspeed', '--json', fixture(name)], { node: ['--max-old-space-size=256'] });
  const code = await p.exit;
  const line = p.lines.find((l) => l.startsWith('{'));
  return { code, json: line ? JSON.parse(line) as { packets: number; errors: { message: string }[] } : null, text: p.lines.join('\n') };
}

for (const [name, packets, message] of [
  ['fuzz.pcap', 1, /byte offset 228: record claims 1409179648 captured bytes, more than the snapshot length 65535/],
  ['tls_DER-incomplete-header.pcap', 6, /byte offset 5035: record claims 4325376 captured bytes/],
  ['pcap-invalid-version-1.pcap', 0, /byte offset 4: pcap version 1\.4 is not supported \(only 2\.x\)/],
  ['pcapng-invalid-vers-1.pcapng', 0, /byte offset 12: pcapng section version 0\.1 is not supported/],
  ['shb-option-too-long.pcapng', 0, /byte offset 48: block's trailing length 808464432 differs from its leading length 52/],
] as const) {
  test(`${name}: ${packets} valid record(s) replayed, the error named with its byte offset, exit 1`, async () => {
    const r = await replay(name);
    assert.equal(r.code, 1, r.text);
    assert.equal(r.json!.packets, packets);
    assert.match(r.json!.errors[0].message, message);
    assert.match(r.text, message, 'the message is printed too');
  });
}

test('empty captures (both formats) replay nothing and exit 0', async () => {
  for (const name of ['empty.pcap', 'empty.pcapng']) {
    const r = await replay(name);
    assert.equal(r.code, 0, r.text);
    assert.equal(r.json!.packets, 0);
  }
});

test('odd but valid: big-endian multi-section pcapng with a NULL interface; a 2^-8 s resolution', async () => {
  const r = await replay('test202_be.pcapng');
  assert.equal(r.code, 0, r.text);
  assert.equal(r.json!.packets, 6, 'the six Ethernet records');
  assert.match(r.text, /skipping records of link type 0/);
  const rd = CaptureReader.open(fixture('test902.pcapng'));
  assert.ok(rd.next());
  assert.equal(`${rd.tsSec}.${rd.tsNsec}`, '1519128000.195312500');
  rd.close();
});
