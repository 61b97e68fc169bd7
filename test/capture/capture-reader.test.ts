// CaptureReader: record counts of real captures, both containers and byte orders, timestamp
// resolutions, and corrupt input reported with its byte offset (the valid prefix delivered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureError, CaptureReader } from '../../src/capture/capture-reader.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/pcaps/${name}`, import.meta.url));

function readAll(r: CaptureReader) {
  const out: { ts: string; len: number; first: number; iface: number; linkType: number }[] = [];
  while (r.next()) out.push({ ts: `${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}`, len: r.caplen, first: r.data[r.off], iface: r.iface, linkType: r.linkType });
  return out;
}

// Classic pcap bytes: header + records, in either byte order, µs or ns magic.
function pcap(le: boolean, ns: boolean, records: { sec: number; frac: number; data: number[] }[], o: { major?: number; snaplen?: number; incl?: number } = {}): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => { const b = Buffer.alloc(4); if (le) b.writeUInt32LE(v >>> 0); else b.writeUInt32BE(v >>> 0); parts.push(...b); };
  const u16 = (v: number) => { const b = Buffer.alloc(2); if (le) b.writeUInt16LE(v); else b.writeUInt16BE(v); parts.push(...b); };
  u32(ns ? 0xa1b23c4d : 0xa1b2c3d4); u16(o.major ?? 2); u16(4); u32(0); u32(0); u32(o.snaplen ?? 65535); u32(1);
  for (const r of records) { u32(r.sec); u32(r.frac); u32(o.incl ?? r.data.length); u32(r.data.length); parts.push(...r.data); }
  return Uint8Array.from(parts);
}

// pcapng bytes: SHB, one IDB (with if_tsresol), EPBs; either byte order.
function pcapng(le: boolean, tsresol: number, packets: { units: bigint; data: number[] }[]): Uint8Array {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    const w = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
    w(type, 0); w(len, 4); body.copy(b, 8); w(len, len - 4);
    blocks.push(b);
  };
  const shb = Buffer.alloc(16);
  if (le) { shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeUInt16LE(0, 6); } else { shb.writeUInt32BE(0x1a2b3c4d, 0); shb.writeUInt16BE(1, 4); shb.writeUInt16BE(0, 6); }
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  const idb = Buffer.alloc(8 + 8 + 4);
  if (le) { idb.writeUInt16LE(1, 0); idb.writeUInt32LE(0, 4); idb.writeUInt16LE(9, 8); idb.writeUInt16LE(1, 10); } else { idb.writeUInt16BE(1, 0); idb.writeUInt32BE(0, 4); idb.writeUInt16BE(9, 8); idb.writeUInt16BE(1, 10); }
  idb[12] = tsresol; // opt_endofopt follows (zeros)
  block(1, idb);
  block(0x0bad, Buffer.from('custom block, skipped'));
  for (const p of packets) {
    const body = Buffer.alloc(20 + p.data.length);
    const w = (v: number, at: number) => (le ? body.writeUInt32LE(v, at) : body.writeUInt32BE(v, at));
    w(0, 0); w(Number(p.units >> 32n), 4); w(Number(p.units & 0xffffffffn), 8); w(p.data.length, 12); w(p.data.length, 16);
    Buffer.from(p.data).copy(body, 20);
    block(6, body);
  }
  return new Uint8Array(Buffer.concat(blocks));
}

test('real captures: every record of cip.pcap and tls2.pcap, as counted by capinfos', () => {
  for (const [name, count] of [['cip.pcap', 26068], ['tls2.pcap', 7451]] as const) {
    const r = CaptureReader.open(fixture(name));
    const recs = readAll(r);
    r.close();
    assert.equal(recs.length, count, name);
    assert.equal(r.format, 'pcap');
    assert.ok(recs.every((x) => x.linkType === 1 && x.len >= 14));
  }
});

test('classic pcap in both byte orders, µs and ns, reads the same records', () => {
  const recs = [{ sec: 1_600_000_000, frac: 123456, data: [1, 2, 3] }, { sec: 1_600_000_001, frac: 999999, data: [4, 5, 6, 7] }];
  for (const le of [true, false]) {
    assert.deepEqual(readAll(CaptureReader.fromBuffer(pcap(le, false, recs))).map((x) => [x.ts, x.len, x.first]), [['1600000000.123456000', 3, 1], ['1600000001.999999000', 4, 4]]);
    const nsRecs = recs.map((r) => ({ ...r, frac: r.frac * 1000 + 7 }));
    assert.deepEqual(readAll(CaptureReader.fromBuffer(pcap(le, true, nsRecs))).map((x) => x.ts), ['1600000000.123456007', '1600000001.999999007']);
  }
  // A fraction out of range is normalised and counted.
  const r = CaptureReader.fromBuffer(pcap(true, true, [{ sec: 10, frac: 1_500_000_000, data: [0] }]));
  assert.deepEqual(readAll(r).map((x) => x.ts), ['11.500000000']);
  assert.equal(r.badTimestamps, 1);
});

test('pcapng in both byte orders with decimal and binary timestamp resolutions; unknown blocks skipped', () => {
  const t = 1_519_128_000n;
  for (const le of [true, false]) {
    // if_tsresol 6 (µs), 9 (ns), 0x88 (2^-8 s).
    assert.deepEqual(readAll(CaptureReader.fromBuffer(pcapng(le, 6, [{ units: t * 1_000_000n + 250_000n, data: [9, 9] }]))).map((x) => x.ts), ['1519128000.250000000']);
    assert.deepEqual(readAll(CaptureReader.fromBuffer(pcapng(le, 9, [{ units: t * 1_000_000_000n + 1n, data: [9] }]))).map((x) => x.ts), ['1519128000.000000001']);
    assert.deepEqual(readAll(CaptureReader.fromBuffer(pcapng(le, 0x88, [{ units: (t << 8n) + 50n, data: [9] }]))).map((x) => x.ts), ['1519128000.195312500']);
  }
});

test('corrupt input: error names the byte offset; records before it were delivered', () => {
  const whole = readFileSync(fixture('tls2.pcap'));
  assert.throws(() => CaptureReader.fromBuffer(whole.subarray(0, 3)), (e: unknown) => e instanceof CaptureError && e.truncated && /too short/.test(e.message));
  // Cut inside the 101st record.
  let cut = 24;
  for (let i = 0; i < 100; i++) cut += 16 + whole.readUInt32LE(cut + 8);
  const cutFile = whole.subarray(0, cut + 16 + 10);
  const rc = CaptureReader.fromBuffer(cutFile);
  let n = 0;
  assert.throws(() => { while (rc.next()) n++; }, (e: unknown) => e instanceof CaptureError && e.truncated && e.offset === cut && /file ends inside a record/.test(e.message));
  assert.equal(n, 100);

  assert.throws(() => CaptureReader.fromBuffer(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])), /byte offset 0: not a pcap or pcapng file \(magic 0x01020304\)/);
  assert.throws(() => CaptureReader.fromBuffer(pcap(true, false, [], { major: 1 })), /byte offset 4: pcap version 1\.4 is not supported/);
  const huge = CaptureReader.fromBuffer(pcap(true, false, [{ sec: 0, frac: 0, data: [1] }], { incl: 5_000_000 }));
  assert.throws(() => huge.next(), /byte offset 24: record claims 5000000 captured bytes/);
  const ng = pcapng(true, 6, [{ units: 1n, data: [1, 2, 3, 4] }]);
  const bad = Uint8Array.from(ng);
  bad[bad.length - 1] ^= 0x40; // trailing length of the EPB no longer matches
  const rb = CaptureReader.fromBuffer(bad);
  assert.throws(() => rb.next(), (e: unknown) => e instanceof CaptureError && !e.truncated && /trailing length/.test(e.message));
});

test('a capture much larger than the reader\'s buffer streams in bounded memory', () => {
  // 256 MiB of 1,514-byte records (cip.pcap's records would do as well; size is the point).
  const dir = mkdtempSync(join(tmpdir(), 'sluice-big-'));
  const file = join(dir, 'big.pcap');
  const rec = 16 + 1514, perChunk = 4096, chunks = Math.ceil((256 << 20) / (rec * perChunk));
  const chunk = Buffer.alloc(rec * perChunk);
  for (let i = 0; i < perChunk; i++) { chunk.writeUInt32LE(i, i * rec); chunk.writeUInt32LE(1514, i * rec + 8); chunk.writeUInt32LE(1514, i * rec + 12); chunk[i * rec + 16] = i & 255; }
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, pcap(true, false, []));
    for (let c = 0; c < chunks; c++) writeSync(fd, chunk);
  } finally { closeSync(fd); }
  const rss0 = process.memoryUsage().rss;
  let peak = rss0, n = 0, bytes = 0;
  const r = CaptureReader.open(file);
  try {
    while (r.next()) {
      if (r.data[r.off] !== (n % perChunk) % 256) throw new Error(`record ${n}: wrong bytes`);
      n++; bytes += r.caplen;
      if ((n & 16383) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
  } finally { r.close(); rmSync(dir, { recursive: true }); }
  assert.equal(n, chunks * perChunk);
  assert.ok(bytes > 250 << 20);
  assert.ok(peak - rss0 < 48 << 20, `resident memory grew ${((peak - rss0) / 1048576).toFixed(1)} MiB reading ${(bytes / 1048576).toFixed(0)} MiB`);
});
