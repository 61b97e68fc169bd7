// Reading captures from the page cache: records per second of sluice's streaming
// CaptureReader (src/capture/capture-reader.ts) beside `pcap-parser` (the design card's
// choice), on the bundled real captures. Each pass reads the whole file and touches every
// record's length. Checked before timing: both readers count the records capinfos counts.
// pcap-parser is event-driven (a stream, an object per packet), so each figure times whole
// passes with its own loop rather than tinybench.
import { createRequire } from 'node:module';
import { CaptureReader } from '../src/capture/capture-reader.js';
import { figure, Figure, print, save } from './report.js';

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(file: string): NodeJS.EventEmitter };

const FILES: [string, number][] = [['test/fixtures/pcaps/cip.pcap', 26068], ['test/fixtures/pcaps/tls2.pcap', 7451]];

function sluicePass(file: string): number {
  const r = CaptureReader.open(file);
  let n = 0, bytes = 0;
  while (r.next()) { n++; bytes += r.caplen; }
  r.close();
  return bytes >= 0 ? n : 0;
}

function parserPass(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0, bytes = 0;
    const p = pcapParser.parse(file);
    p.on('packet', (pkt: { data: Buffer }) => { n++; bytes += pkt.data.length; });
    p.on('end', () => resolve(bytes >= 0 ? n : 0));
    p.on('error', reject);
  });
}

async function timeit(pass: () => number | Promise<number>, minMs = 1500): Promise<{ records: number; seconds: number }> {
  let records = 0;
  const t0 = performance.now();
  do records += await pass(); while (performance.now() - t0 < minMs);
  return { records, seconds: (performance.now() - t0) / 1000 };
}

export async function pcapReadBench(): Promise<Figure[]> {
  const figs: Figure[] = [];
  for (const [file, want] of FILES) {
    const a = sluicePass(file), b = await parserPass(file);
    if (a !== want || b !== want) throw new Error(`${file}: sluice read ${a}, pcap-parser ${b}, capinfos says ${want}`);
    await timeit(() => sluicePass(file), 300); // warm up
    const name = file.split('/').pop();
    const s = await timeit(() => sluicePass(file));
    figs.push(figure(`sluice CaptureReader, ${name}`, s.records, s.seconds, 'records (Mpps = M records/s)'));
    const p = await timeit(() => parserPass(file));
    figs.push(figure(`pcap-parser 0.2.1, ${name}`, p.records, p.seconds, 'records'));
  }
  return figs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await pcapReadBench();
  print('reading captures from the page cache', figs);
  save('pcap-read', figs);
}
