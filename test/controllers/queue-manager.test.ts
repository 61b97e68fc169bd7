// The queue manager on a switch of memory ports (inline pipeline, manual clock; every period of
// virtual time (PERIOD_MS) the test sends a period's frames and runs the control tick): a heavy flow gets a
// queue of its own (a steering filter; its queue leaves the RSS table) and gives it back once
// idle for the hold time; its frames arrive in order across both moves; a port of weight 0
// never gets one, and a rule change to weight 0 takes the queue back; an `always` flow gets
// one at any rate; filters other than the manager's count against the capacity; a flow that
// flaps between heavy and idle every period does not move more than once per hold time; bad
// rules are refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { CompiledRules } from '../../src/controllers/queue-rules.js';
import { ConfigError } from '../../src/schema.js';
import { PERIOD_MS } from '../../src/nic/flow-meter.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';

const ELEPHANT = 'udp 10.0.0.1:1000 > 10.0.0.2:2000';
const SEQ_AT = 14 + 20 + 8;
const HOLD_MS = 3 * PERIOD_MS;

function frame(sport: number, seq: number, src = '10.0.0.1'): Uint8Array {
  const payload = new Uint8Array(64);
  new DataView(payload.buffer).setUint32(0, seq);
  return buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src, dst: '10.0.0.2' }, udp: { sport, dport: 2000 }, payload });
}

async function rig(manager: object, filterCapacity = 64) {
  const s = await memorySwitch([{}, {}], { queueManager: manager, filterCapacity, poolSlots: 4096, ringSize: 1024 });
  s.send(1, buildFrame({ dst: BCAST, src: MAC(2), payload: 46 })); // p2 learned: p1's frames to MAC(2) are forwarded
  s.got();
  const seqs: number[] = [];
  let seq = 0;
  /** One period: `heavy` frames of each heavy flow (source port -> count), 5 of each of 10 mice, then PERIOD_MS and a tick. */
  const period = (heavy: Record<number, number>) => {
    for (let i = 0; i < 200; i++) {
      for (const [sport, n] of Object.entries(heavy)) if (i < n) s.eps[0].inject(frame(Number(sport), Number(sport) === 1000 ? seq++ : 0));
      if (i % 4 === 0) s.eps[0].inject(frame(3000 + ((i / 4) % 10), 0));
      if (i % 8 === 0) s.dp.poll();
    }
    s.dp.poll();
    for (const f of s.got()[1]) if (((f[34] << 8) | f[35]) === 1000) seqs.push(new DataView(f.buffer, f.byteOffset).getUint32(SEQ_AT));
    s.clock.advance(PERIOD_MS / 1000);
    s.dp.tick.run();
    s.dp.poll(); // the moves asked for finish once what was queued has left
  };
  const m = s.dp.queueControl.manager;
  const held = () => m.report().flows;
  return { s, m, period, seqs, held };
}

test('a heavy flow gets a queue of its own and gives it back when idle, in order; its queue leaves the RSS table', async () => {
  const { s, m, period, seqs, held } = await rig({ minFramesPerSecond: 1000, holdMs: HOLD_MS });
  for (let i = 0; i < 4; i++) period({ 1000: 200 }); // 200 a period: at least 2,000 frames/s
  assert.deepEqual(held().map((f) => f.flow), [ELEPHANT], JSON.stringify(m.report()));
  const q = held()[0].queue, filters = s.dp.nic.steering.list();
  assert.ok(q !== 0, 'queue 0 stays shared');
  assert.deepEqual(filters.map((f) => f.kind === 'tuple' && `${f.src}:${f.sport} ${f.queue}`), [`10.0.0.1:1000 ${q}`]);
  assert.ok(!s.dp.nic.rss.indirection.includes(q), `no RSS entry points at queue ${q} any more`);
  const give = m.report().decisions.find((d) => d.kind === 'give');
  assert.match(give?.reason ?? '', /minimum rate for 1 period; queue \d left the RSS table/);
  assert.equal(give?.what, ELEPHANT);
  // Idle: after 3 periods (holdMs) it gives the queue back.
  for (let i = 0; i < 5; i++) period({});
  assert.deepEqual(held(), []);
  assert.equal(s.dp.nic.steering.size, 0);
  assert.match(m.report().decisions.at(-1)?.reason ?? '', /idle for 3 periods/);
  // Heavy again: a queue again; every frame of it arrived, in order.
  for (let i = 0; i < 3; i++) period({ 1000: 200 });
  assert.equal(held().length, 1);
  assert.equal(seqs.length, 7 * 200, 'every frame of the flow arrived');
  seqs.forEach((x, i) => assert.equal(x, i, `frame ${i} arrived as ${x}`));
  const c = m.counters;
  assert.equal(c.flowsGiven, 2); assert.equal(c.flowsTaken, 1); assert.equal(c.movesRefused, 0);
  await s.dp.stop();
});

test('weight 0 never gets a queue however heavy; a rule change to weight 0 takes it back; always gets one at any rate', async () => {
  const { s, m, period, held } = await rig({ minFramesPerSecond: 1000, ports: [{ port: 'p1', weight: 0 }] });
  for (let i = 0; i < 4; i++) period({ 1000: 200 });
  assert.deepEqual(held(), [], 'port p1 has weight 0');
  m.setRules(s.dp.queueControl.compile({ minFramesPerSecond: 1000 }));
  for (let i = 0; i < 2; i++) period({ 1000: 200 });
  assert.equal(held().length, 1, 'weight back to 100: the flow gets its queue');
  m.setRules(s.dp.queueControl.compile({ minFramesPerSecond: 1000, ports: [{ port: 'p1', weight: 0 }] }));
  period({ 1000: 200 });
  assert.deepEqual(held(), []);
  assert.match(m.report().decisions.at(-1)?.reason ?? '', /weight is 0/);
  // An always pattern: a mouse (50 frames/s) gets a queue; the weight-0 port still gets none.
  m.setRules(s.dp.queueControl.compile({ minFramesPerSecond: 1000, always: [{ proto: 'udp', sport: 3003, dst: '10.0.0.0/24' }] }));
  for (let i = 0; i < 2; i++) period({});
  assert.deepEqual(held().map((f) => f.flow), ['udp 10.0.0.1:3003 > 10.0.0.2:2000']);
  assert.match(m.report().decisions.at(-1)?.reason ?? '', /always rule/);
  // Turned off: its flows go back to RSS.
  m.setRules(s.dp.queueControl.compile({ enabled: false }));
  s.dp.poll();
  assert.equal(s.dp.nic.steering.size, 0);
  await s.dp.stop();
});

test('filters of others count against the capacity: one left, two heavy flows, one queue', async () => {
  const { s, period, held } = await rig({ minFramesPerSecond: 1000 }, 2);
  s.dp.move({ filter: { kind: 'tuple', proto: 'udp', src: '10.9.9.9', dst: '10.0.0.2', sport: 1, dport: 1, queue: 1 }, remove: false });
  for (let i = 0; i < 4; i++) period({ 1000: 200, 1001: 150 });
  assert.deepEqual(held().map((f) => f.flow), [ELEPHANT], 'the heavier flow holds the one filter left');
  assert.equal(s.dp.nic.steering.size, 2);
  await s.dp.stop();
});

test('a flow flapping between heavy and idle every period moves at most once per hold time', async () => {
  const { s, m, period } = await rig({ minFramesPerSecond: 1000, holdMs: HOLD_MS });
  for (let i = 0; i < 30; i++) period(i % 2 === 0 ? { 1000: 200 } : {});
  const moves = m.counters.flowsGiven + m.counters.flowsTaken;
  assert.ok(moves >= 1 && moves <= 30 / 3, `${moves} moves in 30 periods`);
  await s.dp.stop();
});

test('bad rules are refused naming the field', () => {
  const ports = ['p1', 'p2'];
  for (const [doc, path] of [[{ ports: [{ port: 'p9' }] }, 'x.ports[0].port'], [{ always: [{ dst: '10.0.0.0/33' }] }, 'x.always[0].dst'], [{ minFramesPerSecond: 0 }, 'x.minFramesPerSecond'], [{ bogus: 1 }, 'x.bogus'], [{ always: [{ port: 'nope' }] }, 'x.always[0].port']] as const) {
    assert.throws(() => new CompiledRules(doc, ports, 'x'), (e: unknown) => e instanceof ConfigError && e.path === path, JSON.stringify(doc));
  }
});
