// Rate notices: what a receiving host sends a sending host to set the rate one of its VMs may
// send to one of the receiver's VMs (docs/qos.md: the wire format). A UDP datagram on the
// underlay between the hosts — not inside the tunnel, where a VM could forge one — 64 bytes:
//   0  magic "SLRN" (4)
//   4  version (1) = 1
//   5  flags (1): bit 0 — an HMAC follows the body
//   6  reserved (2) = 0
//   8  sequence (32): per (receiver VM, sender VM) pair, increasing
//   12 rate (32): kbit/s (up to 4.29 Tbit/s)
//   16 VNI (32): the network both VMs are in (its low 24 bits)
//   20 receiver VM's MAC (6)
//   26 sender VM's MAC (6)
//   32 HMAC-SHA256 of bytes 0..32 with the hosts' shared key, first 16 bytes (or zeros)
//   48 zero padding to 64
// One length check up front, then plain accessors; NoticeRepr is the value type.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const NOTICE_LEN = 64;
export const NOTICE_VERSION = 1;
const MAGIC = [0x53, 0x4c, 0x52, 0x4e]; // "SLRN"
const VERSION = 4, FLAGS = 5, SEQ = 8, RATE = 12, VNI = 16, RECEIVER = 20, SENDER = 26, MAC_AT = 32, BODY = 32, MAC_LEN = 16;
const F_HMAC = 1;

export interface NoticeRepr {
  seq: number;
  /** The granted rate, bits per second (carried in kbit/s). */
  rateBps: number;
  vni: number;
  receiver: Uint8Array;
  sender: Uint8Array;
}

/** Why a datagram is not a notice we accept. */
export type NoticeError = 'truncated' | 'magic' | 'version' | 'auth';

function hmac(key: Uint8Array, b: Uint8Array, o: number): Buffer {
  return createHmac('sha256', key).update(b.subarray(o, o + BODY)).digest().subarray(0, MAC_LEN);
}

/** Write notice `n` at b[o .. o+64), signed with `key` when given. */
export function writeNotice(b: Uint8Array, o: number, n: NoticeRepr, key?: Uint8Array): number {
  b.fill(0, o, o + NOTICE_LEN);
  b.set(MAGIC, o);
  b[o + VERSION] = NOTICE_VERSION;
  b[o + FLAGS] = key ? F_HMAC : 0;
  const put32 = (at: number, v: number) => { b[o + at] = v >>> 24; b[o + at + 1] = v >>> 16; b[o + at + 2] = v >>> 8; b[o + at + 3] = v; };
  put32(SEQ, n.seq >>> 0);
  put32(RATE, Math.min(0xffffffff, Math.round(n.rateBps / 1000)) >>> 0);
  put32(VNI, n.vni & 0xffffff);
  b.set(n.receiver, o + RECEIVER);
  b.set(n.sender, o + SENDER);
  if (key) b.set(hmac(key, b, o), o + MAC_AT);
  return NOTICE_LEN;
}

/** Parse the notice at b[o .. o+len), checking its HMAC when `key` is given (an unsigned notice then fails 'auth'). */
export function parseNotice(b: Uint8Array, o: number, len: number, key?: Uint8Array): NoticeRepr | NoticeError {
  if (len < NOTICE_LEN) return 'truncated';
  for (let i = 0; i < 4; i++) if (b[o + i] !== MAGIC[i]) return 'magic';
  if (b[o + VERSION] !== NOTICE_VERSION) return 'version';
  if (key) {
    if ((b[o + FLAGS] & F_HMAC) === 0) return 'auth';
    if (!timingSafeEqual(hmac(key, b, o), b.subarray(o + MAC_AT, o + MAC_AT + MAC_LEN))) return 'auth';
  }
  const get32 = (at: number) => ((b[o + at] << 24) | (b[o + at + 1] << 16) | (b[o + at + 2] << 8) | b[o + at + 3]) >>> 0;
  return {
    seq: get32(SEQ), rateBps: get32(RATE) * 1000, vni: get32(VNI) & 0xffffff,
    receiver: b.slice(o + RECEIVER, o + RECEIVER + 6), sender: b.slice(o + SENDER, o + SENDER + 6),
  };
}
