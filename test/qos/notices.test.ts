// Congestion notifications on the wire: 802.1Qau CNM PDUs round-trip field for field (golden
// bytes, a sentinel fill that catches bytes never written), rate notices round-trip with and
// without an HMAC, and the sending host's gate ignores and counts what it must: garbage, a bad
// or missing HMAC, an unknown host, a notice about a VM that is not ours, one naming a receiver
// that does not live behind its sender, and replayed or older sequence numbers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CNM_HEADER_LEN, CnmRepr, parseCnm, writeCnm } from '../../src/wire/cnm.js';
import { NOTICE_LEN, NoticeRepr, parseNotice, writeNotice } from '../../src/wire/rate-notice.js';
import { NoticeFilter, NoticeWorld } from '../../src/qos/notice-filter.js';
import { parseMac } from '../../src/wire/bytes.js';

const mac = (s: string) => parseMac(s)!;

test('CNM PDUs: golden bytes, and every field round-trips (negative offsets, a 64-byte MSDU, none)', () => {
  const r: CnmRepr = {
    version: 0, quantizedFeedback: 37, cpid: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), qOffset: -300, qDelta: 1234,
    encapsulatedPriority: 5, encapsulatedDestination: mac('02:00:00:00:00:0b'), encapsulatedMsdu: Uint8Array.of(0xde, 0xad),
  };
  const b = new Uint8Array(CNM_HEADER_LEN + 4).fill(0xee);
  assert.equal(writeCnm(b, 1, r), CNM_HEADER_LEN + 2);
  assert.deepEqual([...b], [
    0xee,
    0x00, 37, 1, 2, 3, 4, 5, 6, 7, 8, // version 0 | reserved | feedback 37; CPID
    0xfe, 0xd4, 0x04, 0xd2, 0x00, 0x05, // qOffset -300, qDelta 1234, priority 5
    0x02, 0, 0, 0, 0, 0x0b, 0x00, 0x02, 0xde, 0xad, // destination, MSDU length 2, MSDU
    0xee,
  ]);
  assert.deepEqual(parseCnm(b, 1, CNM_HEADER_LEN + 2), r);
  for (const msdu of [new Uint8Array(64).map((_, i) => i), new Uint8Array(0)]) {
    const x = { ...r, qOffset: -32768, qDelta: 32767, quantizedFeedback: 63, encapsulatedMsdu: msdu };
    const buf = new Uint8Array(CNM_HEADER_LEN + 64);
    const n = writeCnm(buf, 0, x);
    assert.deepEqual(parseCnm(buf, 0, n), x);
  }
  assert.equal(parseCnm(b, 1, 23), 'truncated');
  assert.equal(parseCnm(b, 1, CNM_HEADER_LEN + 1), 'msduLength', 'an MSDU longer than the PDU');
  const v1 = b.slice(); v1[1] = 0x10;
  assert.equal(parseCnm(v1, 1, CNM_HEADER_LEN + 2), 'version');
  assert.throws(() => writeCnm(b, 0, { ...r, quantizedFeedback: 64 }), /6 bits/);
});

const notice: NoticeRepr = { seq: 7, rateBps: 123_456_000, vni: 42, receiver: mac('02:00:00:00:00:0a'), sender: mac('02:00:00:00:00:0b') };
const KEY = new TextEncoder().encode('shared secret of the two hosts');

test('rate notices round-trip, signed and not; a changed byte or a missing signature fails authentication', () => {
  const b = new Uint8Array(NOTICE_LEN + 2).fill(0xee);
  assert.equal(writeNotice(b, 1, notice), NOTICE_LEN);
  assert.equal(b[0], 0xee); assert.equal(b[NOTICE_LEN + 1], 0xee);
  assert.deepEqual(parseNotice(b, 1, NOTICE_LEN), notice);
  assert.equal(parseNotice(b, 1, NOTICE_LEN, KEY), 'auth', 'unsigned, but the hosts share a key');
  writeNotice(b, 1, notice, KEY);
  assert.deepEqual(parseNotice(b, 1, NOTICE_LEN, KEY), notice);
  const t = b.slice(); t[1 + 12] ^= 1; // the rate
  assert.equal(parseNotice(t, 1, NOTICE_LEN, KEY), 'auth');
  assert.equal(parseNotice(b, 1, NOTICE_LEN - 1), 'truncated');
  const m = b.slice(); m[1] = 0;
  assert.equal(parseNotice(m, 1, NOTICE_LEN), 'magic');
});

test('the gate takes a notice only from a peer, about our VM, naming a VM behind that peer, with a newer sequence number; the rest is counted', () => {
  const R = notice.receiver, S = notice.sender, PEER = '10.0.0.2';
  const world: NoticeWorld = {
    isPeer: (h) => h === PEER || h === '10.0.0.3',
    isLocalVm: (vni, m) => vni === 42 && m.every((x, i) => x === S[i]),
    hostOf: (vni, m) => (vni === 42 && m.every((x, i) => x === R[i]) ? PEER : null),
  };
  const f = new NoticeFilter(world, KEY);
  const wire = (n: NoticeRepr, key: Uint8Array | null = KEY) => { const b = new Uint8Array(NOTICE_LEN); writeNotice(b, 0, n, key ?? undefined); return b; };
  assert.deepEqual(f.accept(PEER, wire(notice), 0, NOTICE_LEN), notice);
  assert.equal(f.accept(PEER, wire(notice), 0, NOTICE_LEN), null, 'the same sequence number again');
  assert.equal(f.accept(PEER, wire({ ...notice, seq: 3 }), 0, NOTICE_LEN), null, 'an older one');
  assert.equal(f.accept('10.9.9.9', wire({ ...notice, seq: 8 }), 0, NOTICE_LEN), null, 'not a peer');
  assert.equal(f.accept('10.0.0.3', wire({ ...notice, seq: 8 }), 0, NOTICE_LEN), null, 'a peer speaking for a VM that lives behind another');
  assert.equal(f.accept(PEER, wire({ ...notice, seq: 8, sender: mac('02:00:00:00:00:99') }), 0, NOTICE_LEN), null, 'about a VM that is not ours');
  assert.equal(f.accept(PEER, wire({ ...notice, seq: 8 }, null), 0, NOTICE_LEN), null, 'unsigned');
  assert.equal(f.accept(PEER, new Uint8Array(10), 0, 10), null, 'garbage');
  assert.deepEqual(f.accept(PEER, wire({ ...notice, seq: 8 }), 0, NOTICE_LEN), { ...notice, seq: 8 });
  assert.deepEqual(f.counts, { accepted: 2, malformed: 1, badAuth: 1, unknownPeer: 1, notOurVm: 1, notTheirVm: 1, replayed: 2, pairsFull: 0 });
});
