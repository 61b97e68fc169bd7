// The example third-party extension (examples/block-list.mjs), loaded by path as a user
// would: configured addresses are blocked, a property replaces the list (cached flow
// decisions are forgotten), a malformed list is vetoed and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { VetoError } from '../../src/vswitch/ext/host.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';

// The repository root: examples/ is not compiled, it is plain JavaScript.
const ROOT = dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url)))));
const udp = (dst: string) => buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src: '10.0.0.1', dst }, udp: { sport: 1, dport: 2 }, payload: 18 });

test('examples/block-list.mjs: blocks, updates through a property, vetoes a bad list', async () => {
  const s = await memorySwitch([{}, {}], {
    extensionBaseDir: ROOT,
    extensions: [{ module: './examples/block-list.mjs', enabled: true, failMode: 'open', config: { addresses: ['10.0.0.9'] } }],
  });
  s.send(1, buildFrame({ dst: BCAST, src: MAC(2), etherType: 0x88b5, payload: 46 }));
  s.got();
  const delivered = (dst: string) => { for (let i = 0; i < 3; i++) s.send(0, udp(dst)); return s.got()[1].length; };
  assert.equal(delivered('10.0.0.9'), 0);
  assert.equal(delivered('10.0.0.8'), 3);
  s.dp.setProperty('block-list', ['10.0.0.8']);
  assert.equal(delivered('10.0.0.9'), 3, 'the cached "blocked" decision was forgotten');
  assert.equal(delivered('10.0.0.8'), 0);
  assert.throws(() => s.dp.setProperty('block-list', ['not an address']), (e: unknown) => e instanceof VetoError && e.extension === 'block-list');
  assert.equal(delivered('10.0.0.8'), 0, 'the vetoed list changed nothing');
  s.dp.deleteProperty('block-list');
  assert.equal(delivered('10.0.0.9'), 0, 'back to the configured list');
  const r = s.dp.extensionReport()[0];
  assert.equal(r.cacheable, true);
  assert.deepEqual(r.dropReasons, { blocked: 12 });
  assert.ok(r.counters.cacheHits > 0);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});
