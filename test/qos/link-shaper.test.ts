// An emulated access link with an injected time: frames wait rather than drop, leave at the
// rate (every 1 s window of the trace within 1% under overload), the queue never holds more
// than queueBytes (the rest is refused, drop-tail), order and tags are kept, and ECN-capable
// packets are marked CE above the threshold with a valid IPv4 checksum.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinkShaper } from '../../src/qos/link-shaper.js';
import { PacketPool } from '../../src/nic/pool.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

const OVERHEAD = 74;

test('overloaded 2x for 5 s: every whole second passes the rate within 1%, the queue stays within its bytes, the excess is refused', () => {
  const pool = new PacketPool(4096, 2048);
  const rateMbps = 100, queueBytes = 65536, sh = new LinkShaper({ rateMbps, queueBytes, overhead: OVERHEAD, maxFrame: pool.maxFrame });
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', payload: 1400 }), wire = f.length + OVERHEAD;
  const offeredPerUs = (2 * rateMbps) / 8 / wire; // frames per µs at twice the rate
  const out = new Int32Array(256);
  let owed = 0, refused = 0, offered = 0, left = 0, maxDepth = 0;
  // 5 s from t = 1 s, a turn every 7 µs (a busy datapath loop).
  for (let now = 1e6; now < 6e6; now += 7) {
    for (owed += offeredPerUs * 7; owed >= 1; owed--) {
      const h = pool.allocFrom(f, 0, f.length);
      offered++;
      if (!sh.offer(pool, h, h)) { pool.free(h); refused++; }
    }
    maxDepth = Math.max(maxDepth, sh.depthBytes);
    const k = sh.release(now, out, out.length, undefined);
    for (let i = 0; i < k; i++) pool.free(out[i]);
    left += k;
  }
  assert.ok(maxDepth <= queueBytes, `the queue held ${maxDepth} bytes at most`);
  assert.ok(refused > 1000, `${refused} frames refused`);
  const r = LinkShaper.report(rateMbps, queueBytes, sh.stats);
  assert.equal(r.maxDepthBytes, maxDepth);
  assert.equal(r.droppedPackets, refused);
  const whole = r.perSecond.filter((w) => w.second >= 2 && w.second <= 5); // seconds 2..5 are whole and overloaded
  assert.equal(whole.length, 4);
  for (const w of whole) {
    const err = Math.abs(w.bytes * 8 - rateMbps * 1e6) / (rateMbps * 1e6);
    assert.ok(err < 0.01, `second ${w.second}: ${(w.bytes * 8 / 1e6).toFixed(3)} Mb/s, ${(err * 100).toFixed(3)}% off`);
  }
  assert.equal(left + refused + sh.queued, offered, 'every frame offered left, was refused or still waits');
  assert.equal(r.passedPackets, left);
});

test('frames wait, keep their order and tags; a lone frame leaves at once', () => {
  const pool = new PacketPool(64, 2048);
  const sh = new LinkShaper({ rateMbps: 10, queueBytes: 100000, overhead: OVERHEAD, maxFrame: pool.maxFrame });
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', payload: 1000 });
  const hs = Array.from({ length: 10 }, () => pool.allocFrom(f, 0, f.length));
  hs.forEach((h, i) => assert.ok(sh.offer(pool, h, 100 + i)));
  const out = new Int32Array(16), tags = new Int32Array(16);
  const first = sh.release(0, out, 16, tags);
  assert.ok(first >= 1 && first < 10, `${first} left at once (the burst)`);
  let got = [...out.subarray(0, first)], gotTags = [...tags.subarray(0, first)];
  // 10 Mb/s = 1.25 bytes/µs: a 1088-byte wire frame every ~870 µs.
  for (let t = 100; got.length < 10 && t < 20000; t += 100) {
    const k = sh.release(t, out, 16, tags);
    got = got.concat([...out.subarray(0, k)]); gotTags = gotTags.concat([...tags.subarray(0, k)]);
  }
  assert.deepEqual(got, hs);
  assert.deepEqual(gotTags, hs.map((_, i) => 100 + i));
});

test('ECN: above the threshold ECT packets are marked CE (IPv4 checksum still right); not-ECT and shared frames are not', () => {
  const pool = new PacketPool(64, 2048);
  const sh = new LinkShaper({ rateMbps: 10, queueBytes: 100000, overhead: OVERHEAD, ecnBytes: 2000, maxFrame: pool.maxFrame }); // a, b: 1,116 wire bytes each
  const ect = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2', tos: 0x02 }, udp: { sport: 1, dport: 2 }, payload: 1000 });
  const plain = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2', tos: 0 }, udp: { sport: 1, dport: 2 }, payload: 1000 });
  const v6 = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv6: { src: 'fd00::1', dst: 'fd00::2', trafficClass: 0x01 }, udp: { sport: 1, dport: 2 }, payload: 1000 });
  const a = pool.allocFrom(ect, 0, ect.length), b = pool.allocFrom(ect, 0, ect.length), c = pool.allocFrom(ect, 0, ect.length);
  const d = pool.allocFrom(plain, 0, plain.length), e = pool.allocFrom(v6, 0, v6.length), shared = pool.allocFrom(ect, 0, ect.length);
  pool.refs[shared] = 2;
  for (const h of [a, b, c, d, e, shared]) assert.ok(sh.offer(pool, h));
  const tos = (h: number) => pool.data[pool.start(h) + 15];
  assert.equal(tos(a) & 3, 2, 'below the threshold: not marked');
  assert.equal(tos(b) & 3, 2, 'below the threshold: not marked');
  assert.equal(tos(c) & 3, 3, 'above it: CE');
  assert.equal(tos(d) & 3, 0, 'not ECN-capable: left');
  assert.equal((pool.data[pool.start(e) + 15] >>> 4) & 3, 3, 'IPv6 ECT(1): CE');
  assert.equal(tos(shared) & 3, 2, 'a frame other ports send too is not edited');
  // The IPv4 header still sums to 0xffff.
  let sum = 0;
  const s = pool.start(c) + 14;
  for (let i = 0; i < 20; i += 2) sum += (pool.data[s + i] << 8) | pool.data[s + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
  assert.equal(LinkShaper.report(10, 100000, sh.stats).ecnMarked, 2);
});

test('a queue that cannot hold one frame, or a rate that is not positive, is refused by name', () => {
  assert.throws(() => new LinkShaper({ rateMbps: 0, queueBytes: 100000, overhead: OVERHEAD }), /rateMbps/);
  assert.throws(() => new LinkShaper({ rateMbps: 10, queueBytes: 1000, overhead: OVERHEAD, maxFrame: 1518 }), /queueBytes/);
});

test('the trace tells a link that fell short from a source that stopped: bytes = rate x (1 s - idle) within 1%, in on/off seconds', () => {
  const pool = new PacketPool(4096, 2048);
  const rateMbps = 50, sh = new LinkShaper({ rateMbps, queueBytes: 65536, overhead: OVERHEAD, maxFrame: pool.maxFrame });
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', payload: 1000 }), wire = f.length + OVERHEAD;
  const out = new Int32Array(256);
  let owed = 0;
  // 4 s from t = 1 s; in each second the source offers twice the rate for the first 300 ms only.
  for (let now = 1e6; now < 5e6; now += 9) {
    const on = now % 1e6 < 300_000;
    for (owed += on ? ((2 * rateMbps) / 8 / wire) * 9 : 0; owed >= 1; owed--) {
      const h = pool.allocFrom(f, 0, f.length);
      if (!sh.offer(pool, h, 0, now)) pool.free(h);
    }
    const k = sh.release(now, out, out.length);
    for (let i = 0; i < k; i++) pool.free(out[i]);
  }
  const secs = LinkShaper.report(rateMbps, 65536, sh.stats).perSecond.filter((w) => w.second >= 2 && w.second <= 3);
  assert.equal(secs.length, 2);
  for (const w of secs) {
    const expect = (rateMbps / 8) * (1e6 - w.idleUs);
    assert.ok(w.idleUs > 600_000 && w.idleUs < 700_000, `second ${w.second}: idle ${w.idleUs} µs (the source stops at 300 ms; the queue drains ~10 ms later)`);
    assert.ok(Math.abs(w.bytes - expect) <= 0.01 * (rateMbps / 8) * 1e6, `second ${w.second}: ${w.bytes} bytes, rate x busy time ${expect.toFixed(0)}`);
  }
});

test('a 15 ms stall of the serving thread under overload: the link catches up on what waited, and the second still carries its rate (traced at link time, never above it)', () => {
  const pool = new PacketPool(8192, 2048);
  const rateMbps = 100, sh = new LinkShaper({ rateMbps, queueBytes: 65536, overhead: OVERHEAD, maxFrame: pool.maxFrame });
  const f = buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', payload: 1400 }), wire = f.length + OVERHEAD;
  const perUsFrames = (2 * rateMbps) / 8 / wire, out = new Int32Array(256);
  let owed = 0;
  const serve = (now: number) => { for (let k; (k = sh.release(now, out, out.length)) !== 0;) for (let i = 0; i < k; i++) pool.free(out[i]); };
  // Like VxlanLink.deliver: a frame the full queue refuses is offered again after a release.
  const offer = (now: number, h: number) => { if (sh.offer(pool, h, 0, now, true)) return; serve(now); if (!sh.offer(pool, h, 0, now)) pool.free(h); };
  for (let now = 1e6; now < 4e6; now += 7) {
    // At 2.5 s the thread stops for 15 ms: nothing is served or read; what arrives waits (socket buffer).
    if (now >= 2_500_000 && now < 2_515_000) { owed += perUsFrames * 7; continue; }
    for (owed += perUsFrames * 7; owed >= 1; owed--) offer(now, pool.allocFrom(f, 0, f.length));
    serve(now);
  }
  const secs = LinkShaper.report(rateMbps, 65536, sh.stats).perSecond.filter((w) => w.second >= 2 && w.second <= 3);
  for (const w of secs) {
    assert.ok(Math.abs(w.bytes * 8 - rateMbps * 1e6) <= 0.01 * rateMbps * 1e6, `second ${w.second}: ${(w.bytes * 8 / 1e6).toFixed(2)} Mb/s`);
    assert.ok(w.bytes * 8 <= rateMbps * 1e6 * 1.001 + 8 * 2 * 2048, `second ${w.second} above the rate`);
  }
});

test('a limiter keeps no tokens through a stall, and traces the time lost as stalled (not an idle link\'s saved burst)', () => {
  const pool = new PacketPool(256, 2048), out = new Int32Array(256);
  const sh = new LinkShaper({ rateMbps: 8, queueBytes: 200_000, maxFrame: 1000, burstUs: 1000, catchUp: false }); // 1 byte/µs, burst 2,000 bytes
  const put = (n: number) => { for (let i = 0; i < n; i++) { const h = pool.alloc(); pool.len[h] = 1000; assert.ok(sh.offer(pool, h)); } };
  const take = (now: number) => { const k = sh.release(now, out, out.length); for (let i = 0; i < k; i++) pool.free(out[i]); return k; };
  // Idle for 5 s, then one frame: it goes at once, and nothing counts as stalled.
  take(1_000_000);
  put(1);
  assert.equal(take(6_000_000), 1);
  // A backlog of 100 frames; served at 6.010 s, then not again until 6.030 s (a 20 ms stall of the thread).
  put(100);
  assert.equal(take(6_010_000), 2, 'the burst: two frames');
  const sent = take(6_030_000);
  assert.equal(sent, 2, 'after the stall, again only the burst');
  const w = LinkShaper.report(8, 200_000, sh.stats).perSecond.find((x) => x.second === 6)!;
  assert.ok(Math.abs(w.stalledUs - 18_000) <= 1000, `stalled ${w.stalledUs} µs: the 20 ms gap less the 2 ms burst the bucket kept`);
  assert.equal(LinkShaper.report(8, 200_000, sh.stats).perSecond.find((x) => x.second === 1)?.stalledUs ?? 0, 0, 'the idle second is not a stall');
  const rest: number[] = [];
  sh.drain(rest);
  for (const h of rest) pool.free(h);
});
