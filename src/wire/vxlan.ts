// VXLAN (RFC 7348): 8-byte header after the outer UDP header on port 4789.
// flags(1: I bit 0x08) reserved(3) VNI(3) reserved(1).
import { u32 } from './bytes.js';

export const VXLAN_PORT = 4789;
export const VXLAN_FLAGS = 0;
export const VXLAN_VNI = 4;
export const VXLAN_HEADER_LEN = 8;
export const VXLAN_FLAG_I = 0x08;

/** VNI of the VXLAN header at `o`. */
export function vxlanVni(b: Uint8Array, o: number): number { return u32(b, o + VXLAN_VNI) >>> 8; }
/** True when the I flag (VNI valid) is set. */
export function vxlanValid(b: Uint8Array, o: number): boolean { return (b[o + VXLAN_FLAGS] & VXLAN_FLAG_I) !== 0; }
/** Write a VXLAN header with `vni` at `o`. */
export function writeVxlan(b: Uint8Array, o: number, vni: number): void {
  b[o] = VXLAN_FLAG_I; b[o + 1] = 0; b[o + 2] = 0; b[o + 3] = 0;
  b[o + 4] = vni >>> 16; b[o + 5] = vni >>> 8; b[o + 6] = vni; b[o + 7] = 0;
}
