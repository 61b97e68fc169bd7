// `npm run bench`: every benchmark, one after another; figures printed and written to
// bench-results/<name>.json (the README's tables come from these).
import { classifierBench } from './classifier.js';
import { flowCacheBench } from './flow-cache.js';
import { flowHitRateBench } from './flow-hit-rate.js';
import { extensionsBench } from './extensions.js';
import { pcapReadBench } from './pcap-read.js';
import { parseRssBench } from './parse-rss.js';
import { pipelineBench } from './pipeline.js';
import { Figure, print, save } from './report.js';
import { ringBench } from './ring-handoff.js';
import { socketBench } from './socket/udp-forwarding.js';

const benches: [string, string, () => Promise<Figure[]>][] = [
  ['pipeline', 'in-memory pipeline, 64-byte frames, 1024 flows', pipelineBench],
  ['extensions', 'pipeline with no-op extensions, 64-byte frames, 1024 flows, 1 thread', extensionsBench],
  ['pcap-read', 'reading captures from the page cache', pcapReadBench],
  ['parse-rss', 'parsing and RSS, tls2.pcap frames', parseRssBench],
  ['ring-handoff', 'ring handoff between two threads', ringBench],
  ['flow-cache', 'flow cache hit path, 10k active flows', flowCacheBench],
  ['flow-hit-rate', 'flow cache hit rate replaying captures (parse + pack + lookup, a miss inserts)', () => flowHitRateBench()],
  ['classifier', 'classifier miss path (Mpps = M classifications/s)', classifierBench],
  ['udp-forwarding', 'UDP forwarding on 127.0.0.1 (frames delivered per second)', socketBench],
];
for (const [name, title, run] of benches) {
  const figs = await run();
  print(title, figs);
  save(name, figs);
}
