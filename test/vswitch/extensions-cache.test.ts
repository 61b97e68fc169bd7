// Flow-cacheable extensions: their decisions are made once per flow and replayed from the
// flow cache — the same outcome as calling them for every packet, with no call on a hit;
// any change to the extension stack invalidates the cached decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExtensionSpec } from '../../src/vswitch/ext/host.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';
import { ScriptedConfig } from '../helpers/extensions/scripted.js';

const SCRIPTED = new URL('../helpers/extensions/scripted.js', import.meta.url).href;
const ext = (c: ScriptedConfig, o: Partial<ExtensionSpec> = {}): ExtensionSpec => ({ module: SCRIPTED, enabled: true, failMode: 'open', config: c, ...o });
const udp = (src: number, dst: number, dport: number, sport = 1000) => buildFrame({ dst: MAC(dst), src: MAC(src), ipv4: { src: `10.0.0.${src}`, dst: `10.0.0.${dst}` }, udp: { sport, dport }, payload: 18 });
const counts = (got: Uint8Array[][]) => got.map((g) => g.length);

async function sw(extensions: ExtensionSpec[], rules = false) {
  const s = await memorySwitch([{}, {}, {}, {}], { extensions, ...(rules ? { rules: { add: [{ layer: 'qos', priority: 1, match: { proto: 'udp' }, actions: [{ count: true }] }] } } : {}) });
  for (let p = 0; p < 4; p++) s.send(p, buildFrame({ dst: BCAST, src: MAC(p + 1), etherType: 0x88b5, payload: 46 }));
  s.got();
  return s;
}

test('a cacheable filter is called once per flow; later packets get the same drop and exclusions from the cache', async () => {
  const s = await sw([ext({ name: 'f', kind: 'filter', cacheable: true, dropDport: 666, excludePort: 2 })]);
  const calls0 = s.dp.extensionReport()[0].counters.calls;
  for (let i = 0; i < 10; i++) s.send(0, udp(1, 2, 666)); // dropped
  for (let i = 0; i < 10; i++) s.send(0, udp(1, 9, 53)); // unknown unicast: flooded, p3 excluded
  const g = s.got();
  assert.deepEqual(counts(g), [0, 10, 0, 10]);
  const r = s.dp.extensionReport()[0];
  assert.equal(r.counters.calls - calls0, 3, 'one ingress call per flow (2) and one egress call for the flow that lives');
  assert.equal(r.counters.dropped, 10);
  assert.equal(r.counters.excluded, 10 + 3, '10 from this flow, 3 learning broadcasts flooded towards p3');
  assert.ok(r.counters.cacheHits >= 18);
  assert.equal(s.dp.stats().ports[0].counters.dropExtension, 10);
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('a cacheable forwarding extension chooses destinations once per flow', async () => {
  const s = await sw([ext({ name: 'fw', kind: 'forward', cacheable: true, destinations: [3, 2] })]);
  const c0 = s.dp.extensionReport()[0].counters.calls;
  for (let i = 0; i < 5; i++) s.send(0, udp(1, 2, 53));
  assert.deepEqual(counts(s.got()), [0, 0, 5, 5]);
  assert.equal(s.dp.extensionReport()[0].counters.calls - c0, 2, 'one ingress and one egress call, for the first packet');
  await s.dp.stop();
});

for (const mixed of [true, false]) test(`cached and uncached extensions give the same outcome on random traffic${mixed ? ' (with a non-cacheable one interleaved)' : ' (all cacheable: plain batches call nothing)'}; disabling one invalidates its cached decisions`, async () => {
  const specs = (cacheable: boolean) => [
    ext({ name: 'cap', kind: 'capture', cacheable }),
    ext({ name: 'f1', kind: 'filter', cacheable, dropDport: 7 }),
    ext({ name: 'f2', kind: 'filter', cacheable, excludePort: 1 }),
    ext({ name: 'f3', kind: 'filter', cacheable: !mixed && cacheable, dropDport: 9 }), // mixed: never cacheable
  ];
  const a = await sw(specs(true), true), b = await sw(specs(false), true);
  let seed = 17;
  const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const total = [0, 0, 0, 0];
  for (let step = 0; step < 600; step++) {
    if (step === 300) for (const s of [a, b]) s.dp.extensions.setEnabled('f1', false);
    if (step === 450) for (const s of [a, b]) { s.dp.extensions.setEnabled('f1', true); s.dp.extensions.reorder(['f2', 'f1']); }
    const src = rnd(4), dst = rnd(6); // dst 4,5: unknown, flooded
    const f = udp(src + 1, dst + 1, [7, 9, 53, 80][rnd(4)]); // 96 flows
    a.send(src, f); b.send(src, f);
    const ga = counts(a.got()), gb = counts(b.got());
    assert.deepEqual(ga, gb, `step ${step}`);
    ga.forEach((x, i) => { total[i] += x; });
  }
  const ra = a.dp.extensionReport(), rb = b.dp.extensionReport();
  for (let e = 0; e < 4; e++) {
    assert.equal(ra[e].counters.dropped, rb[e].counters.dropped, `${ra[e].name} drops`);
    assert.equal(ra[e].counters.excluded, rb[e].counters.excluded, `${ra[e].name} exclusions`);
    // Every frame an extension would have seen was either given to it or decided from the cache.
    if (ra[e].cacheable) assert.ok(ra[e].counters.entries + ra[e].counters.cacheHits >= rb[e].counters.entries, `${ra[e].name} accounted for`);
  }
  assert.ok(ra[1].counters.cacheHits > 200 && ra[1].counters.calls < rb[1].counters.calls * 0.7, `cached f1 called ${ra[1].counters.calls} times (${ra[1].counters.cacheHits} decided from the cache), uncached ${rb[1].counters.calls}`);
  assert.ok(total[0] > 20 && total[2] > 20 && total[3] > 20 && total[1] === 0, `traffic reached every port but p2, which f2 excludes: ${total}`);
  assert.ok(ra[1].counters.dropped > 0 && ra[2].counters.excluded > 0 && ra[3].counters.dropped > 0);
  for (const s of [a, b]) { await s.dp.stop(); assert.equal(s.dp.pool.available, s.dp.pool.slots); }
});

test('a cacheable extension may not modify packets (violation, no effect)', async () => {
  const s = await sw([ext({ name: 'f', kind: 'filter', cacheable: true, setTtl: 1 })]);
  const v0 = s.dp.extensionReport()[0].counters.violations;
  s.send(0, udp(1, 2, 53));
  const [, [f]] = s.got();
  assert.equal(f[14 + 8], 64, 'TTL unchanged');
  assert.equal(s.dp.extensionReport()[0].counters.violations - v0, 1);
  await s.dp.stop();
});

test('a cacheable extension may not mirror packets (violation, no copy); a non-cacheable one may', async () => {
  for (const cacheable of [true, false]) {
    const s = await sw([ext({ name: 'm', kind: 'capture', cacheable, mirrorTo: 3 })]);
    const v0 = s.dp.extensionReport()[0].counters.violations;
    for (let i = 0; i < 4; i++) s.send(0, udp(1, 2, 53));
    assert.deepEqual(counts(s.got()), [0, 4, 0, cacheable ? 0 : 4], cacheable ? 'no copies' : 'a copy of every packet');
    assert.equal(s.dp.extensionReport()[0].counters.violations - v0, cacheable ? 1 : 0, 'one refused call: the flow\'s first packet');
    await s.dp.stop();
    assert.equal(s.dp.pool.available, s.dp.pool.slots);
  }
});

test('the flow cache keeps TCP flags in the key for a cacheable extension that reads them (flowFields), and only then', async () => {
  const tcp = (flags: number) => buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 4000, dport: 80, flags } });
  // The same flow: SYN, then ACK, SYN+ACK-less data (PSH+ACK), and another SYN.
  const flows = [0x02, 0x10, 0x18, 0x02];
  // Declared, or left undeclared (taken as read): the ACKs pass and both SYNs drop. Declared
  // wrongly as reading neither, the ACKs take the SYN's cached drop: the cache trusts the declaration.
  for (const [fields, delivered, dropped] of [[undefined, 2, 2], [['tcpFlags'], 2, 2], [[], 0, 4]] as const) {
    const s = await sw([ext({ name: 'nosyn', kind: 'filter', cacheable: true, dropSyn: true, ...(fields ? { flowFields: [...fields] } : {}) })]);
    for (const f of flows) s.send(0, tcp(f));
    assert.equal(s.got()[1].length, delivered, `flowFields ${JSON.stringify(fields)}: frames delivered`);
    assert.equal(s.dp.stats().ports[0].counters.dropExtension, dropped, `flowFields ${JSON.stringify(fields)}: frames dropped`);
    await s.dp.stop();
  }
});
