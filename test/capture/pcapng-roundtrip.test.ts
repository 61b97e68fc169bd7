// pcapng written by sluice (src/capture/pcapng-writer.ts) reads back identically — packets
// and nanosecond timestamps — through sluice's reader and through tshark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/capture/capture-reader.js';
import { DIRECTION_INBOUND, epbLength, interfaceDescription, sectionHeader, writePacket } from '../../src/capture/pcapng-writer.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

test('pcapng written by sluice round-trips through sluice and tshark with identical packets and timestamps', (t) => {
  const frames = Array.from({ length: 50 }, (_, i) => buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: `10.0.1.${i}` }, udp: { sport: 1000 + i, dport: 53 }, payload: i * 7 }));
  const stamps = frames.map((_, i) => [1_700_000_000 + i * 13, (i * 123_456_789) % 1_000_000_000] as const);
  const parts: Buffer[] = [sectionHeader(), interfaceDescription('p1')];
  frames.forEach((f, i) => {
    const b = Buffer.alloc(epbLength(f.length, i % 2 ? DIRECTION_INBOUND : 0));
    writePacket(b, 0, 0, stamps[i][0], stamps[i][1], f, 0, f.length, f.length, i % 2 ? DIRECTION_INBOUND : 0);
    parts.push(b);
  });
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-rt-')), 'rt.pcapng');
  writeFileSync(file, Buffer.concat(parts));

  const r = CaptureReader.open(file);
  let i = 0;
  while (r.next()) {
    assert.deepEqual(r.data.slice(r.off, r.off + r.caplen), frames[i], `packet ${i}`);
    assert.deepEqual([r.tsSec, r.tsNsec], stamps[i], `timestamp ${i}`);
    i++;
  }
  r.close();
  assert.equal(i, frames.length);

  let json: string;
  try { json = execFileSync('tshark', ['-r', file, '-x', '-T', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }); } catch {
    if (process.env.CI) assert.fail('tshark missing in CI');
    t.skip('tshark is not installed (CI installs it from Debian)');
    return;
  }
  const pkts = JSON.parse(json) as { _source: { layers: { frame: Record<string, string>; frame_raw: string[] } } }[];
  assert.equal(pkts.length, frames.length);
  pkts.forEach((p, k) => {
    const epoch = p._source.layers.frame['frame.time_epoch'];
    assert.equal(epoch, `${stamps[k][0]}.${String(stamps[k][1]).padStart(9, '0')}`, `tshark timestamp ${k}`);
    assert.equal(p._source.layers.frame_raw[0], Buffer.from(frames[k]).toString('hex'), `tshark bytes ${k}`);
  });
});
