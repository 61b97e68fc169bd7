// Order-keeping moves (src/nic/flow-move.ts, SoftNic.move): a flow changes queue while it
// sends, and a consumer that serves the new queue first — the order a second thread, or the
// same thread serving its queues in turn, may take — still sees its frames in order; the same
// consumer reorders them when the filter is simply added (the check can fail). Frames the
// move holds wait for every frame queued before it to be freed, by any thread; a move that
// does not drain in time, or whose flow sends more than HOLD_MAX frames meanwhile, is given up
// and keeps the order too. Ring-full drops count as freed. An RSS entry moves the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOLD_MAX, MOVE_TIMEOUT_MS } from '../../src/nic/flow-move.js';
import { PacketPool } from '../../src/nic/pool.js';
import { SoftNic } from '../../src/nic/soft-nic.js';
import { TupleFilter } from '../../src/nic/steering.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

const SEQ_AT = 14 + 20 + 8; // Ethernet, IPv4, UDP

function rig(ringSize = 1024) {
  const pool = new PacketPool(4096, 2048), keys = Object.assign(new FlowKeys(4096), { last: -1 });
  const clock = { ms: 0 };
  const nic = new SoftNic(pool, keys, { queues: 2, ringSize, nowMs: () => clock.ms });
  const other = PacketPool.attach(pool.shared()); // a second thread's instance: frees count in its own row
  const out: number[] = [];
  const send = (sport: number, seq: number): number => {
    const payload = new Uint8Array(16);
    new DataView(payload.buffer).setUint32(0, seq);
    const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport, dport: 9 }, payload });
    const h = pool.allocFrom(f, 0, f.length);
    keys.last = h;
    return nic.receive(h, 0);
  };
  // Serve queue q: record the flow's sequence numbers, free every frame (half of them from the other thread).
  const serve = (q: number, sport: number) => {
    const batch = new Int32Array(2048), n = nic.rings[q].dequeueBurst(batch, batch.length);
    for (let i = 0; i < n; i++) {
      const h = batch[i], at = pool.start(h);
      if (((pool.data[at + 34] << 8) | pool.data[at + 35]) === sport) out.push(new DataView(pool.data.buffer, pool.data.byteOffset + at + SEQ_AT, 4).getUint32(0));
      (i % 2 ? other : pool).free(h);
    }
  };
  return { pool, nic, out, send, serve, clock, keys };
}
const F = 4000;
const filter = (queue: number): TupleFilter => ({ kind: 'tuple', proto: 'udp', src: '10.0.0.1', dst: '10.0.0.2', sport: F, dport: 9, queue });
const tot = (nic: SoftNic, c: 'flowsMovedIn' | 'flowsMovedOut' | 'entriesMovedIn' | 'movesGivenUp' | 'framesHeld') => nic.counters.total(c);
const inOrder = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

test('a flow moved while it sends keeps its order; simply adding the filter does not', () => {
  for (const careful of [true, false]) {
    const { nic, out, send, serve } = rig();
    let seq = 0;
    const qOld = send(F, seq++);
    for (; seq < 10; seq++) { send(F, seq); send(5000 + seq, 0); }
    nic.flush();
    const qNew = 1 - qOld;
    if (careful) nic.move({ filter: filter(qNew), remove: false }); else nic.steering.add(filter(qNew));
    for (; seq < 20; seq++) assert.equal(send(F, seq), careful ? -1 : qNew, careful ? 'held while the old queue drains' : 'straight to the new queue');
    nic.flush();
    serve(qNew, F); // the new queue first
    if (careful) { nic.poll(); assert.ok(nic.moving, 'not drained: the old queue still holds frames'); }
    serve(qOld, F);
    nic.poll();
    assert.equal(nic.moving, null);
    for (; seq < 30; seq++) send(F, seq);
    nic.flush();
    serve(qNew, F);
    assert.equal(out.length, 30);
    if (careful) {
      assert.deepEqual(out, Array.from({ length: 30 }, (_, i) => i), 'in order');
      assert.deepEqual([tot(nic, 'flowsMovedIn'), tot(nic, 'movesGivenUp'), tot(nic, 'framesHeld')], [1, 0, 10]);
      assert.equal(nic.steering.list().length, 1);
      // And back to RSS, the old queue (now qNew) served last this time.
      nic.move({ filter: filter(qNew), remove: true });
      for (; seq < 40; seq++) send(F, seq);
      nic.flush();
      serve(qOld, F);
      serve(qNew, F);
      nic.poll();
      serve(qOld, F);
      assert.ok(inOrder(out) && (out.length as number) === 40, `back to RSS in order: ${out.slice(30)}`);
      assert.equal(nic.steering.list().length, 0);
      assert.equal(tot(nic, 'flowsMovedOut'), 1);
      // Moves asked for while one is under way wait their turn (frames in flight: the first waits).
      for (let i = 0; i < 3; i++) send(F, seq++);
      nic.flush();
      nic.move({ filter: filter(qNew), remove: false }); nic.move({ filter: filter(qNew), remove: true });
      assert.ok(nic.moving);
      for (let i = 0; i < 3; i++) send(F, seq++);
      for (let i = 0; i < 4; i++) { serve(qNew, F); serve(qOld, F); nic.poll(); }
      assert.deepEqual([nic.moving, tot(nic, 'flowsMovedIn'), tot(nic, 'flowsMovedOut')], [null, 2, 2]);
      assert.ok(inOrder(out) && (out.length as number) === 46, `${out.slice(40)}`);
    } else {
      assert.ok(!inOrder(out), 'the plain filter change reorders the flow for this consumer: the check can fail');
    }
  }
});

test('a move that does not drain in time, or holds too many frames, is given up in order; ring-full drops count as freed', () => {
  {
    const { nic, out, send, serve, clock } = rig();
    const qOld = send(F, 0);
    nic.flush();
    nic.move({ filter: filter(1 - qOld), remove: false });
    for (let s = 1; s < 5; s++) send(F, s);
    assert.equal(nic.unflushed, 4, 'held frames count as not yet published (a stop waits for them)');
    clock.ms = MOVE_TIMEOUT_MS - 1;
    nic.poll();
    assert.ok(nic.moving);
    clock.ms = MOVE_TIMEOUT_MS;
    nic.poll();
    assert.deepEqual([nic.moving, tot(nic, 'flowsMovedIn'), tot(nic, 'movesGivenUp')], [null, 0, 1]);
    serve(1 - qOld, F); serve(qOld, F);
    assert.deepEqual(out, [0, 1, 2, 3, 4], 'the held frames went the old way, after the older ones');
    assert.equal(nic.steering.list().length, 0, 'the filter stayed as it was');
  }
  {
    const { nic, out, send, serve } = rig(4096);
    const qOld = send(F, 0);
    nic.flush();
    nic.move({ filter: filter(1 - qOld), remove: false });
    for (let s = 1; s <= HOLD_MAX + 1; s++) send(F, s);
    assert.deepEqual([nic.moving, tot(nic, 'movesGivenUp'), tot(nic, 'framesHeld')], [null, 1, HOLD_MAX]);
    nic.flush();
    serve(1 - qOld, F); serve(qOld, F);
    assert.deepEqual(out, Array.from({ length: HOLD_MAX + 2 }, (_, i) => i));
  }
  {
    // A 16-entry ring: of 40 frames 24 are dropped at the ring (freed by the NIC itself, counted).
    const { nic, out, send, serve } = rig(16);
    const qOld = send(F, 0);
    for (let s = 1; s < 40; s++) send(F, s);
    nic.flush();
    nic.move({ filter: filter(1 - qOld), remove: false });
    send(F, 40);
    nic.poll();
    assert.ok(nic.moving, 'the 16 queued frames are not freed yet');
    serve(qOld, F);
    nic.poll();
    assert.deepEqual([nic.moving, tot(nic, 'flowsMovedIn')], [null, 1]);
    nic.flush();
    serve(1 - qOld, F);
    assert.ok(inOrder(out) && out.at(-1) === 40, `${out}`);
  }
});

test('an RSS entry pointed at another queue keeps the order of the flows hashing to it', () => {
  const { nic, out, send, serve, keys } = rig();
  const qOld = send(F, 0), b = nic.rss.bucketOf(keys.hash[keys.last]), qNew = 1 - qOld;
  for (let s = 1; s < 10; s++) send(F, s);
  nic.flush();
  nic.move({ bucket: b, queue: qNew });
  for (let s = 10; s < 20; s++) assert.equal(send(F, s), -1, 'held');
  nic.flush();
  serve(qNew, F);
  nic.poll();
  assert.ok(nic.moving, 'not drained yet');
  serve(qOld, F);
  nic.poll();
  for (let s = 20; s < 25; s++) assert.equal(send(F, s), qNew);
  nic.flush();
  serve(qNew, F);
  assert.deepEqual(out, Array.from({ length: 25 }, (_, i) => i));
  assert.equal(nic.rss.indirection[b], qNew);
  assert.deepEqual([tot(nic, 'entriesMovedIn'), tot(nic, 'framesHeld')], [1, 10]);
  assert.throws(() => nic.move({ bucket: nic.rss.indirection.length, queue: 0 }), /^RangeError: entry: /);
  assert.throws(() => nic.move({ bucket: 0, queue: 2 }), /^RangeError: queue: /);
});

test('every worker the configuration allows (64) has drain codes of its own', () => {
  const pool = new PacketPool(64, 2048), keys = new FlowKeys(64);
  for (const producer of [0, 1, 64]) assert.doesNotThrow(() => new SoftNic(pool, keys, { queues: 2, ringSize: 16, producer }));
  assert.throws(() => new SoftNic(pool, keys, { queues: 2, ringSize: 16, producer: 127 }), /producer must be 0\.\.126/);
});
