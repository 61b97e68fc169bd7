// IEEE 802.1Qau Congestion Notification Message (CNM) PDUs, EtherType 0x22E7: the alternate
// format predictable bandwidth can speak toward equipment that understands it. After the
// EtherType (offsets from the PDU's start):
//   0  version (4 bits, 0) | reserved (6 bits) | quantized feedback (6 bits)
//   2  CPID: congestion point identifier (8 bytes)
//   10 cnmQOffset (signed 16): queue size minus its set point at the sampling
//   12 cnmQDelta (signed 16): queue size change since the previous sampling
//   14 encapsulated priority (16)
//   16 encapsulated destination MAC address (6 bytes)
//   22 encapsulated MSDU length (16)
//   24 encapsulated MSDU (0..64 bytes: the start of the sampled frame's MSDU)
// One length check up front, then plain accessors; CnmRepr is the value type control code and
// tests use (writeCnm / parseCnm round-trip it field for field).

export const ETHERTYPE_CNM = 0x22e7;
export const CNM_HEADER_LEN = 24;
export const CNM_MAX_MSDU = 64;
const QFB = 0, CPID = 2, QOFFSET = 10, QDELTA = 12, PRIO = 14, DST = 16, MSDU_LEN = 22, MSDU = 24;

export interface CnmRepr {
  version: number;
  /** 6 bits: how congested the congestion point is. */
  quantizedFeedback: number;
  /** 8 bytes. */
  cpid: Uint8Array;
  qOffset: number;
  qDelta: number;
  encapsulatedPriority: number;
  /** 6 bytes. */
  encapsulatedDestination: Uint8Array;
  /** The sampled frame's MSDU start (0..64 bytes); its length is encapsulatedMsduLength. */
  encapsulatedMsdu: Uint8Array;
}

/** Why a PDU did not parse. */
export type CnmError = 'truncated' | 'version' | 'msduLength';

/** Write the PDU of `r` at b[o..); its length. Throws on a field out of range (control code). */
export function writeCnm(b: Uint8Array, o: number, r: CnmRepr): number {
  if (r.version < 0 || r.version > 15 || r.quantizedFeedback < 0 || r.quantizedFeedback > 63) throw new RangeError('cnm: version is 4 bits, quantizedFeedback 6 bits');
  if (r.cpid.length !== 8 || r.encapsulatedDestination.length !== 6 || r.encapsulatedMsdu.length > CNM_MAX_MSDU) throw new RangeError('cnm: cpid is 8 bytes, the destination 6, the MSDU at most 64');
  const v = (r.version << 12) | r.quantizedFeedback;
  b[o + QFB] = v >>> 8; b[o + QFB + 1] = v;
  b.set(r.cpid, o + CPID);
  b[o + QOFFSET] = (r.qOffset >> 8) & 0xff; b[o + QOFFSET + 1] = r.qOffset & 0xff;
  b[o + QDELTA] = (r.qDelta >> 8) & 0xff; b[o + QDELTA + 1] = r.qDelta & 0xff;
  b[o + PRIO] = r.encapsulatedPriority >>> 8; b[o + PRIO + 1] = r.encapsulatedPriority;
  b.set(r.encapsulatedDestination, o + DST);
  const n = r.encapsulatedMsdu.length;
  b[o + MSDU_LEN] = n >>> 8; b[o + MSDU_LEN + 1] = n;
  b.set(r.encapsulatedMsdu, o + MSDU);
  return CNM_HEADER_LEN + n;
}

/** Parse the PDU at b[o .. o+len): its value, or why not. */
export function parseCnm(b: Uint8Array, o: number, len: number): CnmRepr | CnmError {
  if (len < CNM_HEADER_LEN) return 'truncated';
  const v = (b[o + QFB] << 8) | b[o + QFB + 1];
  if (v >>> 12 !== 0) return 'version';
  const n = (b[o + MSDU_LEN] << 8) | b[o + MSDU_LEN + 1];
  if (n > CNM_MAX_MSDU || CNM_HEADER_LEN + n > len) return 'msduLength';
  const s16 = (x: number) => (x << 16) >> 16;
  return {
    version: v >>> 12,
    quantizedFeedback: v & 63,
    cpid: b.slice(o + CPID, o + CPID + 8),
    qOffset: s16((b[o + QOFFSET] << 8) | b[o + QOFFSET + 1]),
    qDelta: s16((b[o + QDELTA] << 8) | b[o + QDELTA + 1]),
    encapsulatedPriority: (b[o + PRIO] << 8) | b[o + PRIO + 1],
    encapsulatedDestination: b.slice(o + DST, o + DST + 6),
    encapsulatedMsdu: b.slice(o + MSDU, o + MSDU + n),
  };
}
