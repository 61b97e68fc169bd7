// The switch's own decisions compiled into the flow cache: a switch replaying cached
// decisions forwards, drops and counts exactly like one that decides every packet, on random
// traffic with learning, moves, aging, VLANs, MAC limits, port disconnects and rules, in
// batches of mixed flows (a batch that learns something switches its cached flows afresh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleSpec } from '../../src/flow/rule.js';
import { DatapathThreads } from '../../src/datapath/threads.js';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch, TestPort } from '../helpers/switch.js';

const PORTS: TestPort[] = [
  { vlan: { mode: 'access', vlan: 10 } },
  { vlan: { mode: 'access', vlan: 10 } },
  { vlan: { mode: 'access', vlan: 20 } },
  { vlan: { mode: 'trunk', allowed: [10, 20], native: 10 } },
  { vlan: { mode: 'access', vlan: 10 }, macLimit: 3 },
];
// MACs 1..14; each lives on a port (VLAN 10 hosts on p1, p2, p4 untagged or p5; VLAN 20 on p3 or p4 tagged).
const HOMES10 = [0, 1, 3, 4], HOMES20 = [2, 3];

// A rule that forwards nothing differently puts the flow stage (and so the compiled switch
// decisions) in the path; the other rule sets add rule outcomes to the decisions.
const COUNT_ONLY: RuleSpec[] = [{ id: 'count', layer: 'qos', priority: 1, match: {}, actions: [{ count: true }] }];
const RULES: RuleSpec[] = [
  ...COUNT_ONLY,
  { id: 'nodns', layer: 'acl', priority: 5, match: { proto: 'udp', dstPort: 53 }, actions: [{ drop: true }] },
  { id: 'to-p3', layer: 'forward', priority: 5, match: { dstIp: '10.9.0.0/16' }, actions: [{ output: ['p3', 'p2'] }] },
  { id: 'fl', layer: 'forward', priority: 4, match: { proto: 'udp', dstPort: 7 }, actions: [{ flood: true }] },
  { id: 'mir', layer: 'qos', priority: 6, match: { proto: 'udp', srcPort: 99 }, actions: [{ mirror: 'p5' }, { setDscp: 10 }] },
  { id: 'v20', layer: 'forward', priority: 3, match: { proto: 'udp', dstPort: 2020 }, actions: [{ setVlan: 20 }] },
];

interface Step { kind: 'batch'; frames: [number, Uint8Array][] }
interface Ctl { kind: 'tick' | 'age' | 'down' | 'up'; port?: number; seconds?: number; frames?: undefined }

function scenario(seed: number, steps: number): (Step | Ctl)[] {
  let s = seed;
  const rnd = (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; };
  const home = new Map<number, number>();
  const vlanOf = (m: number) => (m <= 9 ? 10 : 20);
  for (let m = 1; m <= 14; m++) home.set(m, vlanOf(m) === 10 ? HOMES10[rnd(4)] : HOMES20[rnd(2)]);
  const out: (Step | Ctl)[] = [];
  const up = [true, true, true, true, true];
  // A fixed set of flows, so flows repeat (and hit) between the changes.
  const flows: { src: number; spec: FrameSpec }[] = [];
  for (let f = 0; f < 70; f++) {
    const src = 1 + rnd(14), v = vlanOf(src);
    const dstPick = rnd(10);
    const dst = dstPick === 0 ? BCAST : dstPick === 1 ? '33:33:00:00:00:01' : dstPick === 2 ? MAC(0x40 + rnd(4)) /* never sends */ : MAC(v === 10 ? 1 + rnd(9) : 10 + rnd(5));
    flows.push({ src, spec: {
      dst, src: f === 0 ? '03:00:00:00:00:09' /* a group source address */ : MAC(src),
      ipv4: { src: `10.0.${v}.${src}`, dst: rnd(8) === 0 ? `10.9.0.${rnd(3)}` : `10.0.${v}.${rnd(15)}` },
      udp: { sport: [99, 1000, 1001, 1002][rnd(4)], dport: [53, 7, 2020, 80, 81, 82][rnd(6)] }, payload: 18,
    } });
  }
  for (let step = 0; step < steps; step++) {
    const r = rnd(100);
    // Time passes (entries expire: lookups stop answering them) and, now and then, the control
    // thread's aging sweep removes them.
    if (r < 4) { out.push({ kind: 'tick', seconds: 40 + rnd(200) }); continue; }
    if (r < 6) { out.push({ kind: 'age', seconds: rnd(60) }); continue; }
    if (r < 8) { const p = rnd(5); up[p] = !up[p]; out.push({ kind: up[p] ? 'up' : 'down', port: p }); continue; }
    if (r < 11) { const m = 1 + rnd(14); home.set(m, vlanOf(m) === 10 ? HOMES10[rnd(4)] : HOMES20[rnd(2)]); } // a move, seen from the next batch
    const frames: [number, Uint8Array][] = [];
    const n = 1 + rnd(24);
    for (let j = 0; j < n; j++) {
      const f = flows[rnd(flows.length)];
      const p = home.get(f.src)!, v = vlanOf(f.src);
      const spec: FrameSpec = { ...f.spec, vlans: p === 3 && v === 20 ? [{ vid: 20 }] : undefined };
      frames.push([p, buildFrame(spec)]);
    }
    out.push({ kind: 'batch', frames });
  }
  return out;
}

async function run(plan: (Step | Ctl)[], rules: RuleSpec[], neverHit: boolean) {
  const s = await memorySwitch(PORTS, rules.length ? { rules: { add: rules } } : {});
  const inline = (s.dp as unknown as { threads: DatapathThreads }).threads.inlinePipeline!;
  // The reference decides every packet afresh: its flow cache never answers.
  if (neverHit) inline.flow!.cache.lookup = () => -1;
  const received: string[][] = PORTS.map(() => []);
  for (const st of plan) {
    if (st.kind === 'tick') { s.clock.advance(st.seconds!); continue; }
    if (st.kind === 'age') { s.clock.advance(st.seconds!); s.dp.macs.age(s.clock.now); continue; }
    if (st.kind === 'down' || st.kind === 'up') { s.dp.setConnected(`p${st.port! + 1}`, st.kind === 'up'); continue; }
    for (const [p, f] of st.frames!) s.eps[p].inject(f);
    s.dp.poll();
    s.got().forEach((g, p) => { for (const f of g) received[p].push(Buffer.from(f).toString('hex')); });
  }
  const stats = s.dp.stats();
  const cache = inline.flow!.cache;
  const out = { received, ports: stats.ports.map((p) => p.counters), macs: ['learned', 'moved', 'aged', 'tableFull', 'portLimit'].map((c) => s.dp.macs.counter(c as 'learned')), hits: cache.hits, misses: cache.misses };
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots, 'every handle came back');
  return out;
}

for (const [name, rules, reference] of [
  ['learning switch: cached decisions == the switch without a flow stage', COUNT_ONLY, 'bare'],
  ['with rules: cached decisions == rules and switch deciding every packet', RULES, 'fresh'],
] as const) {
  test(name, async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const plan = scenario(seed * 7919, 300);
      const cached = await run(plan, rules, false);
      const ref = reference === 'bare' ? await run(plan, [], false) : await run(plan, rules, true);
      assert.ok(cached.hits > cached.misses, `seed ${seed}: the cache did the work (${cached.hits} hits, ${cached.misses} misses)`);
      for (let p = 0; p < PORTS.length; p++) {
        assert.equal(cached.received[p].length, ref.received[p].length, `seed ${seed}: frames out of p${p + 1}`);
        assert.deepEqual(cached.received[p], ref.received[p], `seed ${seed}: bytes out of p${p + 1}`);
      }
      for (let p = 0; p < PORTS.length; p++) {
        const a = { ...cached.ports[p] }, b = { ...ref.ports[p] };
        assert.deepEqual(a, b, `seed ${seed}: counters of p${p + 1}`);
      }
      assert.deepEqual(cached.macs, ref.macs, `seed ${seed}: MAC table counters`);
      const total = cached.received.reduce((x, r) => x + r.length, 0);
      assert.ok(total > 1000, `seed ${seed}: enough traffic got through (${total})`);
    }
  });
}

test('the frames of a new flow arriving in one batch miss the cache once; the rest take its verdict (batchRepeats)', async () => {
  const s = await memorySwitch([{}, {}, {}], { rules: { add: [{ id: 'web', layer: 'acl', priority: 1, match: { etherType: 'ipv4', proto: 'udp', dstPort: 80 }, actions: [{ drop: true }] }] } });
  for (let p = 0; p < 3; p++) s.send(p, buildFrame({ dst: BCAST, src: MAC(p + 1), etherType: 0x88b5, payload: 46 }));
  s.got();
  const cache = (s.dp as unknown as { threads: DatapathThreads }).threads.inlinePipeline!.flow!.cache;
  const m0 = cache.misses, r0 = cache.counters.values[cache.counters.at.batchRepeats], h00 = cache.hits;
  const flow = (dport: number, i: number) => buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport: 5000, dport }, payload: 20 + i });
  // One batch: 12 frames of a flow to port 53 and 12 of a flow to port 80 (dropped by the rule), interleaved.
  for (let i = 0; i < 12; i++) { s.eps[0].inject(flow(53, i)); s.eps[0].inject(flow(80, i)); }
  s.dp.poll();
  assert.equal(s.got()[1].length, 12, 'the port-53 flow delivered whole');
  assert.equal(cache.misses - m0, 2, 'one miss per flow');
  // The forwarded flow's decision is filed after the batch: its other 11 frames repeat the miss.
  // A flow the rules drop is filed at once: its other 11 frames hit.
  assert.equal(cache.counters.values[cache.counters.at.batchRepeats] - r0, 11, 'the forwarded flow\'s other frames repeated its miss');
  assert.equal(cache.hits - h00, 11, 'the dropped flow\'s other frames hit');
  assert.equal(s.dp.stats().ports[0].counters.dropRule, 12, 'every frame of the dropped flow dropped by the rule');
  // The next batch hits.
  for (let i = 0; i < 4; i++) s.eps[0].inject(flow(53, i));
  const h0 = cache.hits;
  s.dp.poll();
  assert.equal(cache.hits - h0, 4);
  await s.dp.stop();
});
