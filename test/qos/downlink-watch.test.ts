// The receiving side in virtual time: frames counted per VM and per (sender, receiver) pair; a
// pair gets a notice once its budget of data bytes arrived (so notices stay within 0.5% of the
// data), never two within MIN_GAP_US, carrying its VM's grant and a sequence number that only
// grows; a flood into one VM beside a greedy one is granted its share, not the line rate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DownlinkWatch, NOTICE_BUDGET, MIN_GAP_US, watchReport } from '../../src/qos/downlink-watch.js';
import { NOTICE_LEN, parseNotice } from '../../src/wire/rate-notice.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

test('notices: one per budget of data bytes per pair, at least MIN_GAP_US apart, growing sequence, the VM\'s grant; under 0.5% of the data', () => {
  const stats = new Float64Array(64);
  const got: { vtep: number; seq: number; rate: number; receiver: string; sender: string }[] = [];
  const hex = (m: Uint8Array) => Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');
  const w = new DownlinkWatch({ weights: [1, 1, 1], downlinkBps: 100e6, gamma: 0.95, intervalUs: 500, maxPairs: 16, key: null }, stats, (notes, vteps, n) => {
    for (let i = 0; i < n; i++) {
      const p = parseNotice(notes, i * NOTICE_LEN, NOTICE_LEN);
      assert.notEqual(typeof p, 'string');
      const r = p as Exclude<typeof p, string>;
      got.push({ vtep: vteps[i], seq: r.seq, rate: r.rateBps, receiver: hex(r.receiver), sender: hex(r.sender) });
    }
  });
  const toA = buildFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:aa', payload: 1400 }); // for port 0, from VTEP 3
  const toB = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:bb', payload: 1400 }); // for port 1, from VTEP 4
  const wire = toA.length + 74;
  // 1 s: A's sender at 40 Mb/s, B's flood at 100 Mb/s (more than the link: the detector sees congestion).
  let dataBytes = 0, tA = 0, tB = 0;
  for (let now = 0; now < 1_000_000; now += 10) {
    for (; tA <= now; tA += (wire * 8) / 40) { w.arrive(toA, 0, wire, 0, 42, 3, now); dataBytes += wire; }
    for (; tB <= now; tB += (wire * 8) / 100) { w.arrive(toB, 0, wire, 1, 42, 4, now); dataBytes += wire; }
    w.tick(now);
  }
  const a = got.filter((g) => g.vtep === 3), b = got.filter((g) => g.vtep === 4);
  assert.ok(a.every((g) => g.receiver === '02:00:00:00:00:01' && g.sender === '02:00:00:00:00:aa'));
  assert.ok(b.every((g) => g.receiver === '02:00:00:00:00:02' && g.sender === '02:00:00:00:00:bb'));
  // A's 40 Mb/s for 1 s is 5 MB: at most one notice per 21,200 bytes; a notice waits for the
  // next interval (up to 500 µs more data), so somewhat fewer.
  const expectA = (40e6 / 8) / NOTICE_BUDGET;
  assert.ok(a.length <= expectA + 1 && a.length >= 0.85 * expectA, `${a.length} notices to A's sender, ${expectA.toFixed(1)} budgets`);
  const seqs = got.map((g) => g.seq);
  assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), 'sequence numbers only grow');
  const overhead = (got.length * (NOTICE_LEN + 42)) / dataBytes;
  assert.ok(overhead <= 0.005, `notices are ${(overhead * 100).toFixed(3)}% of the data bytes`);
  // Once congested, B's sender is granted less than its share, not the line rate (it does not
  // slow down here, so its grant keeps falling, to the lowest grant, C/1000).
  const late = b.slice(-10).map((g) => g.rate / 1e6);
  assert.ok(late.every((r) => r < 60 && r >= 0.1), `B's last grants ${late.map((r) => r.toFixed(1)).join(' ')} Mb/s`);
  const rep = watchReport(stats, 3);
  assert.equal(rep.counters.noticesSent, got.length);
  assert.equal(rep.counters.pairs, 2);
  assert.ok(rep.counters.congestedIntervals > 0);
});

test('a pair is not sent two notices within MIN_GAP_US, however fast its data comes', () => {
  const times: number[] = [];
  let now = 0;
  const w = new DownlinkWatch({ weights: [1], downlinkBps: 10e9, gamma: 0.95, intervalUs: 10, maxPairs: 4, key: null }, new Float64Array(64), (_n, _v, n) => { for (let i = 0; i < n; i++) times.push(now); });
  const f = buildFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:aa', payload: 9000 });
  for (now = 0; now < 10_000; now += 10) { for (let k = 0; k < 10; k++) w.arrive(f, 0, 9000, 0, 1, 0, now); w.tick(now); }
  assert.ok(times.length > 50, `${times.length} notices`);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= MIN_GAP_US, `notices at ${times[i - 1]} and ${times[i]} µs`);
});
