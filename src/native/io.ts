// The native I/O module's JS side: loads src/native/build/Release/sluice_io.node (built by
// `npm install`, see package.json's install script) and says why when it did not load. The
// module itself only makes system calls (sluice_io.c); every decision and counter is here or
// in the endpoints that use it.
//
// `native` is null when the module is missing or SLUICE_NATIVE=off (which forces the Node
// fallbacks: UDP ports on dgram; tap and netdev ports refuse to start). `nativeMissing` says
// which. Calls return negative errno values on failure; errnoName() turns one into a name.

import { createRequire } from 'node:module';
import { constants } from 'node:os';

/** A pool bound to the module: it keeps the pool's memory alive while it lives. */
export type PoolBinding = { readonly __binding: unique symbol };

export interface NativeIo {
  bindPool(data: Uint8Array, off: Uint16Array, len: Uint32Array, vnet: Uint8Array | null, slotSize: number, headroom: number): PoolBinding;
  /**
   * Datagrams (or AF_PACKET frames) into handles[from..from+n), each after a vnetHdrLen-byte
   * header (0, 10 or 12) read into the slot's vnet metadata; count (0: none waiting) or -errno.
   * len > slot capacity: cut (drop it).
   */
  recvBatch(pool: PoolBinding, fd: number, handles: Int32Array, from: number, n: number, addrs: Uint8Array | null, vnetHdrLen: number): number;
  /** Datagrams from handles[from..from+n) (each after its vnet header); how many went (the first ones) or -errno for the first. */
  sendBatch(pool: PoolBinding, fd: number, handles: Int32Array, from: number, n: number, addrs: Uint8Array | null, vnetHdrLen: number): number;
  /**
   * Encapsulated datagrams: message i is heads[i*stride .. +headLens[i]] then frame
   * handles[from+i] without its first skips[i] bytes (gathered by the kernel: the slot is not
   * written); how many went (the first ones) or -errno for the first.
   */
  sendEncap(pool: PoolBinding, fd: number, handles: Int32Array, from: number, n: number, addrs: Uint8Array | null, heads: Uint8Array, stride: number, headLens: Uint8Array, skips: Uint8Array): number;
  /** Frames from a tap (readv each, vnetHdrLen 0 or 12): count or -errno. */
  readBatch(pool: PoolBinding, fd: number, handles: Int32Array, from: number, n: number, vnetHdrLen: number): number;
  writeBatch(pool: PoolBinding, fd: number, handles: Int32Array, from: number, n: number, vnetHdrLen: number): number;
  udpOpen(localIp: string, localPort: number, remoteIp: string | null, remotePort: number, bufferBytes: number): number;
  /** A send-only raw IPv4 socket (IPPROTO_RAW: the caller writes the IP header): fd or -errno (EPERM without CAP_NET_RAW). */
  rawOpen(bufferBytes: number): number;
  /** what 0: receive buffer bytes; 1: send buffer bytes; 2: bound port. */
  sockInfo(fd: number, what: number): number;
  tapOpen(name: string, vnetHdr: boolean, multiQueue: boolean, offloadFlags: number, persist: boolean): number;
  /** what 0: TUNSETOFFLOAD; 1: TUNSETPERSIST. */
  tapControl(fd: number, what: number, value: number): number;
  /** what 0: ifindex; 1: flags; 2: MTU; 3: set MTU; 4: set up/down. */
  linkInfo(name: string, what: number, value: number): number;
  packetOpen(ifindex: number, vnetHdr: boolean, fanoutGroup: number, qdiscBypass: boolean, bufferBytes: number): number;
  /** Bind an AF_PACKET socket to interface `ifindex` again; 0 or -errno. */
  packetBind(fd: number, ifindex: number): number;
  /** Blocks until one of fds[0..n) is readable or timeoutUs microseconds pass (-1: no limit); ready[i] = 1 for each. */
  pollIn(fds: Int32Array, n: number, timeoutUs: number, ready: Uint8Array): number;
  /** This thread's timer slack (ns): how late a timed sleep may end. 0 or -errno. */
  timerSlack(ns: number): number;
  eventfdOpen(): number;
  eventfdSignal(fd: number): number;
  eventfdDrain(fd: number): number;
  closeFd(fd: number): number;
  strerror(errno: number): string;
}

/** Most frames one native call moves. */
export const NATIVE_BURST = 256;
/** Bytes per peer-address record in recvBatch/sendBatch's addrs. */
export const ADDR_REC = 24;

const ADDON = '../../../src/native/build/Release/sluice_io.node';

function load(): { io: NativeIo | null; why: string | null } {
  if (process.env.SLUICE_NATIVE === 'off') return { io: null, why: 'SLUICE_NATIVE=off' };
  try {
    return { io: createRequire(import.meta.url)(ADDON) as NativeIo, why: null };
  } catch (e) {
    return { io: null, why: `the native I/O addon did not load (${(e as Error).message.split('\n')[0]}); run npm install with a C compiler and python3 present` };
  }
}

const loaded = load();
/** The native module, or null (see nativeMissing). */
export const native: NativeIo | null = loaded.io;
/** Why `native` is null. */
export const nativeMissing: string | null = loaded.why;

const names = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));
/** "ECONNREFUSED" for -111 (or 111). */
export function errnoName(e: number): string { return names.get(Math.abs(e)) ?? `errno ${Math.abs(e)}`; }
