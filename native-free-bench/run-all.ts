// `npm run bench`: every benchmark, one after another; figures printed and written to
// bench-results/*.json (the README's tables come from these).
import { classifierBench } from './classifier.js';
import { flowCacheBench } from './flow-cache.js';
import { pipelineBench } from './pipeline.js';
import { ringBench } from './ring-handoff.js';
import { print, save } from './report.js';
import { socketBench } from './socket/udp-forwarding.js';

const pipeline = await pipelineBench();
print('in-memory pipeline, 64-byte frames, 1024 flows', pipeline);
save('pipeline', pipeline);
const ring = await ringBench();
print('ring handoff between two threads', ring);
save('ring-handoff', ring);
const cache = await flowCacheBench();
print('flow cache hit path, 10k active flows', cache);
save('flow-cache', cache);
const cls = await classifierBench();
print('classifier miss path (Mpps = M classifications/s)', cls);
save('classifier', cls);
const sock = await socketBench();
print('UDP forwarding on 127.0.0.1 (frames delivered per second)', sock);
save('udp-forwarding', sock);
