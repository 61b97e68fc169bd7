// The endpoint registry: a kind registered from the test folder only (helpers/endpoints/
// probe.ts) is configured by JSON (its fields checked, errors naming ports[i].endpoint.field),
// built, started, counted on both the bytes path (receive) and the filled-slots path
// (receiveBurst), and stopped — with no edit under src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probes } from '../helpers/endpoints/probe.js';
import { checkConfig } from '../../src/control/config.js';
import { buildDataplane } from '../../src/control/build.js';
import { endpointKind } from '../../src/endpoints/kinds.js';
import { ConfigError } from '../../src/schema.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

const doc = (a: unknown, b: unknown) => ({ workers: 0, pool: { slots: 1024 }, control: { listen: 'off' }, ports: [{ name: 'a', endpoint: a }, { name: 'b', endpoint: b }] });

test('a registered kind is checked by its own rules; errors name the port and field', () => {
  const bad = (d: unknown) => { try { checkConfig(d); } catch (e) { assert.ok(e instanceof ConfigError); return e.problems.map((p) => `${p.path}: ${p.problem}`); } assert.fail('accepted'); };
  assert.deepEqual(bad(doc({ type: 'probe' }, { type: 'probe', label: 'B' })), ['ports[0].endpoint.label: is required for a probe endpoint']);
  assert.deepEqual(bad(doc({ type: 'probe', label: 'A' }, { type: 'probe', label: 'A' })), ['ports[1].endpoint.label: probe A is already used by another port']);
  const unknown = bad(doc({ type: 'prob', label: 'A' }, { type: 'memory' }));
  assert.equal(unknown.length, 1);
  assert.match(unknown[0], /^ports\[0\]\.endpoint\.type: .*"probe"/, 'the known kinds are listed, the test kind among them');
  assert.equal(endpointKind('probe').attach({ type: 'probe', label: 'A' }), 'probe A');
});

test('a registered kind is built, started, counted on both receive paths, and stopped', async () => {
  const c = checkConfig(doc({ type: 'probe', label: 'A' }, { type: 'probe', label: 'B' }));
  const dp = buildDataplane(c);
  await dp.start();
  try {
    const a = probes.get('A')!, b = probes.get('B')!;
    assert.ok(a && b, 'both probes started');
    const x = '02:00:00:00:00:0a', y = '02:00:00:00:00:0b';
    // A sends to an unknown address (flooded to B) on the filled-slots path; B answers on the bytes path.
    const fromA = [buildFrame({ src: x, dst: y, payload: 100 }), buildFrame({ src: x, dst: y, payload: 200 })];
    assert.equal(a.feedBurst(fromA), 2);
    dp.poll();
    assert.equal(b.feed(buildFrame({ src: y, dst: x, payload: 50 })), true);
    dp.poll();
    assert.equal(b.sent.length, 2);
    assert.equal(a.sent.length, 1);
    const st = dp.stats();
    const port = (n: string) => st.ports.find((p) => p.name === n)!;
    assert.equal(port('a').endpoint, 'probe A');
    assert.equal(port('a').counters.rxPackets, 2);
    assert.equal(port('a').counters.rxBytes, fromA[0].length + fromA[1].length);
    assert.deepEqual(b.sent, fromA, 'B got A\'s frames as they were');
    assert.equal(port('b').counters.txPackets, 2);
    assert.equal(port('b').counters.rxPackets, 1);
    assert.equal(port('a').counters.txPackets, 1);
  } finally {
    await dp.stop();
  }
  assert.equal(probes.size, 0, 'both probes closed');
  assert.equal(dp.poolFree, 1024, 'every slot is back');
});
