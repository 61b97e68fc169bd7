// The rate trace (rate-trace.ts) driven by hand: two "threads" (writers over their own port
// counters) on a virtual clock, turning, counting bytes, sleeping and waking at random, with a
// reader taking bins as it goes. Bins once given never change, none is lost or given twice, and
// each holds exactly the bytes counted in the turns that began in its millisecond.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PORT_COUNTERS } from '../../src/endpoints/endpoint.js';
import { RateTrace, TRACE_RING_MS, traceShare, TraceWriter } from '../../src/datapath/rate-trace.js';
import { prng as rng } from '../helpers/qos-sim.js';

const ROW = PORT_COUNTERS.length, RX = PORT_COUNTERS.indexOf('rxBytes'), TX = PORT_COUNTERS.indexOf('txBytes');
const T0 = 1_800_000_000_000; // ms on the shared time line

interface Sim { w: TraceWriter; c: Float64Array; asleep: boolean }

test('bins given are final, none lost or repeated, each with the bytes of the turns begun in it (300 random schedules)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed), ports = 1 + Math.floor(r() * 3);
    const shares = [traceShare(ports), traceShare(ports)];
    let now = T0 + r() * 5;
    const sims: Sim[] = shares.map((s) => { const c = new Float64Array(ports * ROW); return { w: new TraceWriter(s, c, now), c, asleep: false }; });
    // Port 0 on the workers' native path; the last port not (main-thread I/O).
    const traced = Array.from({ length: ports }, (_, p) => ports === 1 || p < ports - 1);
    const trace = new RateTrace(shares, Array.from({ length: ports }, (_, p) => `p${p}`), traced);
    const start = trace.read(now, Math.floor(now) - 3);
    assert.equal(start.bins, 3, 'the milliseconds before the threads began are complete');
    assert.ok(start.rxBytes.flat().concat(start.txBytes.flat()).every((x) => x === 0), '…and empty');
    let next = start.fromMs;
    const given: number[][] = [];
    const counted = new Float64Array(ports * 2);
    const byMs = new Map<number, number>(); // port 0's rx bytes by the millisecond their turn began in
    for (let step = 0; step < 400; step++) {
      now += r() < 0.1 ? r() * 20 : r() * 0.4; // mostly short steps, now and then a long one (a sleep, a stall)
      const s = sims[Math.floor(r() * 2)];
      const what = r();
      if (s.asleep) { s.w.awake(() => now); s.asleep = false; continue; }
      if (what < 0.6) {
        s.w.turn(now);
        for (let p = 0; p < ports; p++) { const a = Math.floor(r() * 3000), b = Math.floor(r() * 3000); s.c[p * ROW + RX] += a; s.c[p * ROW + TX] += b; if (traced[p]) { counted[2 * p] += a; counted[2 * p + 1] += b; } if (p === 0) byMs.set(Math.floor(now), (byMs.get(Math.floor(now)) ?? 0) + a); }
      } else if (what < 0.75) { s.w.turn(now); s.w.asleep(now); s.asleep = true; } else {
        const b = trace.read(now, next);
        assert.equal(b.fromMs, next, 'the reader is never more than a ring behind here');
        assert.ok(b.fromMs + b.bins <= Math.floor(now), 'no bin of the current millisecond');
        for (let i = 0; i < b.bins; i++) given.push(b.rxBytes.flatMap((x, p) => [x[i], b.txBytes[p][i]]));
        next += b.bins;
      }
    }
    // Everyone turns and sleeps; a read a little later takes the rest.
    for (const s of sims) { if (s.asleep) s.w.awake(() => now); s.w.turn(now); s.w.asleep(now); }
    now += 3;
    const tail = trace.read(now, next);
    for (let i = 0; i < tail.bins; i++) given.push(tail.rxBytes.flatMap((x, p) => [x[i], tail.txBytes[p][i]]));
    assert.deepEqual(tail.untraced, ports === 1 ? [] : [`p${ports - 1}`]);
    // One read of the whole span gives the same bins: none changed after it was given.
    const whole = trace.read(now, start.fromMs);
    assert.equal(whole.bins, given.length, `seed ${seed}`);
    for (let i = 0; i < whole.bins; i++) assert.deepEqual(whole.rxBytes.flatMap((x, p) => [x[i], whole.txBytes[p][i]]), given[i], `seed ${seed} bin ${i}`);
    for (let i = 0; i < given.length; i++) assert.equal(given[i][0], byMs.get(start.fromMs + i) ?? 0, `seed ${seed}: port 0 rx in ms ${i}`);
    const tracedPorts = traced.flatMap((t, p) => (t ? [p] : []));
    for (let k = 0; k < tracedPorts.length; k++) {
      const p = tracedPorts[k];
      assert.equal(given.reduce((a, g) => a + g[2 * k], 0), counted[2 * p], `seed ${seed}: port ${p} rx`);
      assert.equal(given.reduce((a, g) => a + g[2 * k + 1], 0), counted[2 * p + 1], `seed ${seed}: port ${p} tx`);
    }
  }
});

test('bytes counted in a turn land in that turn\'s millisecond; a sleeping thread holds nothing back; an awake one does', () => {
  const share = traceShare(1), c = new Float64Array(ROW);
  const w = new TraceWriter(share, c, T0 + 0.2);
  const trace = new RateTrace([share], ['vm'], [true]);
  w.turn(T0 + 0.3); c[TX] += 100;
  w.turn(T0 + 1.1); c[TX] += 50; c[RX] += 7;
  w.turn(T0 + 1.5); c[TX] += 25;
  w.turn(T0 + 4.2);
  let b = trace.read(T0 + 4.9, T0);
  assert.deepEqual(b.txBytes, [[100, 75, 0, 0]], 'ms 0: 100; ms 1: 50 + 25; nothing in ms 2 and 3');
  assert.deepEqual(b.rxBytes, [[0, 7, 0, 0]]);
  assert.equal(b.fromMs + b.bins, T0 + 4, 'ms 4 is still open: the thread is awake in it');
  // Asleep in ms 4 after counting 9 bytes: ms 4 completes as time passes, the thread sleeping on.
  c[TX] += 9; w.asleep(T0 + 4.6);
  b = trace.read(T0 + 9.5, T0 + 4);
  assert.deepEqual(b.txBytes, [[9, 0, 0, 0, 0]]);
  // Woken within the millisecond it stamped ahead (ms 10): ms 9 is complete, ms 10 is not.
  w.asleep(T0 + 9.6); w.awake(() => T0 + 9.8);
  b = trace.read(T0 + 10.2, T0 + 9);
  assert.equal(b.bins, 0, 'ms 9 waits: the thread woke in it and may count more there');
  c[TX] += 4; w.turn(T0 + 10.3);
  b = trace.read(T0 + 10.4, T0 + 9);
  assert.deepEqual(b.txBytes, [[4]], 'what it counted after waking in ms 9');
});

test('a reader more than a ring behind is told how many milliseconds it lost', () => {
  const share = traceShare(1), c = new Float64Array(ROW);
  const w = new TraceWriter(share, c, T0);
  const trace = new RateTrace([share], ['vm'], [true]);
  for (let ms = 0; ms < TRACE_RING_MS + 500; ms++) { w.turn(T0 + ms); c[RX] += 1; }
  const b = trace.read(T0 + TRACE_RING_MS + 499.5, T0);
  assert.ok(b.lostMs > 500, `lost ${b.lostMs} ms`);
  assert.equal(b.fromMs, T0 + b.lostMs);
  assert.ok(b.rxBytes[0].every((x) => x === 1), 'each millisecond held is whole');
});
