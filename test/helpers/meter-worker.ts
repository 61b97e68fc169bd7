// A thread that publishes FlowMeter periods as fast as it can (flow-meter.test.ts): every frame
// of flow f is f bytes long, so in any consistent table a flow's bytes are its packets times its
// source port. Stops when the test sets the stop word.
import { workerData } from 'node:worker_threads';
import { FlowMeter, MeterShare, PERIOD_MS } from '../../src/nic/flow-meter.js';
import { KEY_STRIDE } from '../../src/wire/flow-key.js';

const d = workerData as { share: MeterShare; stop: SharedArrayBuffer };
const m = new FlowMeter(d.share, 7), stop = new Int32Array(d.stop), key = new Uint32Array(KEY_STRIDE);
key[1] = ((0x0800 << 16) | (17 << 8) | (4 << 4)) >>> 0;
let now = 0;
m.tick(now);
for (let round = 0; Atomics.load(stop, 0) === 0; round++) {
  for (let i = 0; i < 400; i++) {
    const f = 1 + ((i * 7 + round) % 50);
    key[5] = 0x0a000000 + f; key[13] = (f << 16) | 9;
    m.count(key, 0, f, -1, f % 4);
  }
  now += PERIOD_MS;
  m.tick(now);
}
