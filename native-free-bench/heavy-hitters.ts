// Heavy hitters: counting every frame's bytes against its flow, as the NIC stage would, on the
// bundled captures' flow keys (cip.pcap and tls2.pcap, parsed once beforehand) — HeavyHitters
// (Space-Saving, 256 entries, typed arrays, no allocation) beside the naive baseline: an exact
// Map from a string of the flow's key words to a count object, which grows with the flows.
// Checked before timing: both count every byte, and the flows of 1% of the bytes or more are
// tracked by HeavyHitters with their true bytes within [bytes − error, bytes].
import { Bench } from 'tinybench';
import { CaptureReader, LINKTYPE_ETHERNET } from '../src/capture/capture-reader.js';
import { HeavyHitters } from '../src/nic/heavy-hitters.js';
import { FlowKeys, KEY_STRIDE, PARSE_OK } from '../src/wire/flow-key.js';
import { figure, Figure, print, save } from './report.js';

const WORDS = [1, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const naiveId = (k: Uint32Array, off: number) => WORDS.map((w) => (w === 1 ? k[off + w] & 0xfffffff0 : k[off + w]) >>> 0).join('.');

function keysOf(files: string[]): { keys: Uint32Array; lens: Int32Array } {
  const ks: number[] = [], ls: number[] = [], fk = new FlowKeys(1);
  for (const f of files) {
    const r = CaptureReader.open(f);
    while (r.next()) {
      if (r.linkType !== LINKTYPE_ETHERNET) continue;
      fk.inPort[0] = 0;
      if (fk.extract(r.data, r.off, r.caplen, 0) !== PARSE_OK) continue;
      for (let w = 0; w < KEY_STRIDE; w++) ks.push(fk.packed[w]);
      ls.push(r.origLen);
    }
    r.close();
  }
  return { keys: Uint32Array.from(ks), lens: Int32Array.from(ls) };
}

export async function heavyHittersBench(): Promise<Figure[]> {
  const { keys, lens } = keysOf(['cip.pcap', 'tls2.pcap'].map((f) => `test/fixtures/pcaps/${f}`));
  const n = lens.length;
  const naive = (m: Map<string, { bytes: number; packets: number }>) => {
    for (let i = 0; i < n; i++) { const id = naiveId(keys, i * KEY_STRIDE); const c = m.get(id); if (c) { c.bytes += lens[i]; c.packets++; } else m.set(id, { bytes: lens[i], packets: 1 }); }
  };
  const hhRun = (hh: HeavyHitters) => { for (let i = 0; i < n; i++) hh.add(keys, i * KEY_STRIDE, lens[i]); };
  // Check.
  const exact = new Map<string, { bytes: number; packets: number }>(), hh = new HeavyHitters(256);
  naive(exact); hhRun(hh);
  const total = [...exact.values()].reduce((a, c) => a + c.bytes, 0);
  if (hh.total !== total) throw new Error(`heavy hitters check: ${hh.total} bytes counted, ${total} in the frames`);
  const tracked = new Map(hh.top().map((f) => [naiveId(f.key, 0), f]));
  for (const [id, c] of exact) {
    if (c.bytes < 0.01 * total) continue;
    const f = tracked.get(id);
    if (!f || f.bytes - f.error > c.bytes || f.bytes < c.bytes) throw new Error(`heavy hitters check: flow ${id} (${c.bytes} B) ${f ? `counted ${f.bytes} ± ${f.error}` : 'not tracked'}`);
  }
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  const live = new HeavyHitters(256);
  bench.add('HeavyHitters.add, 256 entries (Space-Saving)', () => { hhRun(live); });
  bench.add('baseline: exact Map from a key string to a count object', () => { naive(new Map()); });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
    return figure(t.name, n, (r.latency?.mean ?? r.mean!) / 1000, `${n} frames, ${exact.size} flows`);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await heavyHittersBench();
  print('per-flow byte counts of the bundled captures\' frames', figs);
  save('heavy-hitters', figs);
}
