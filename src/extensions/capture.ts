// Built-in "capture" (capture): writes the traffic of ports to pcapng files, one per port
// (<directory>/<port>.pcapng, Wireshark/tshark-readable), frames received from the port
// marked inbound and frames sent to it outbound, with nanosecond timestamps.
// Datapath threads copy each frame (up to `snaplen` bytes) into a ring of their own in shared
// memory; the main thread drains the rings every 20 ms and writes the files. A full ring
// loses the copy, not the packet: such copies are counted and reported at stop.
// Configuration: { name?: string, directory: string, ports?: [port names] (default all),
//   snaplen?: number (default 65535), ringBytes?: power of two (default 4 MiB per thread),
//   direction?: "both" (default) | "received" (frames from the port) | "sent" (frames to it) }.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EgressBatch, ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { DIRECTION_INBOUND, DIRECTION_OUTBOUND, epbLength, interfaceDescription, sectionHeader, writePacket } from '../capture/pcapng-writer.js';
import { portFlags } from './common.js';

interface Config { name?: string; directory?: string; ports?: string[]; snaplen?: number; ringBytes?: number; direction?: 'both' | 'received' | 'sent' }

// Ring header words: [0] head (bytes written, free-running), [1] tail (bytes read), [2] copies lost.
const HEAD = 0, TAIL = 1, LOST = 2;
const HDR_BYTES = 16;
// Record: u32 length (padded to 4) | u16 port | u8 direction | u8 0 | f64 wall-clock ms |
// u32 original length | u32 captured length | frame bytes.
const REC = 24;
const SKIP = 0xffff;

function settings(config: Config, name: string) {
  const snaplen = config.snaplen ?? 65535;
  const ringBytes = config.ringBytes ?? 4 << 20;
  if (typeof config.directory !== 'string' || config.directory === '') throw new Error(`${name}: config.directory (where the .pcapng files go) is required`);
  if (!Number.isInteger(snaplen) || snaplen < 14 || snaplen > 262144) throw new Error(`${name}: config.snaplen must be 14..262144`);
  if (!Number.isInteger(ringBytes) || ringBytes < 65536 || (ringBytes & (ringBytes - 1)) !== 0) throw new Error(`${name}: config.ringBytes must be a power of two of at least 65536`);
  const direction = config.direction ?? 'both';
  if (!['both', 'received', 'sent'].includes(direction)) throw new Error(`${name}: config.direction must be "both", "received" or "sent"`);
  return { snaplen, ringBytes, directory: config.directory, received: direction !== 'sent', sent: direction !== 'received' };
}

export default function capture(config: Config = {}): ExtensionDefinition {
  const name = config.name ?? 'capture';
  let files: number[] = [];
  let rings: { words: Int32Array; data: Uint8Array; view: DataView }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let written = 0;
  let scratch = new Uint8Array(65536 + 64);
  let log: (m: string) => void = () => undefined;

  // Main thread: move every complete record of every ring into its port's file.
  const drain = () => {
    for (const r of rings) {
      const size = r.data.length;
      let tail = Atomics.load(r.words, TAIL) >>> 0;
      const head = Atomics.load(r.words, HEAD) >>> 0;
      while (tail !== head) {
        const at = tail % size;
        const len = r.view.getUint32(at, true);
        const port = r.view.getUint16(at + 4, true);
        if (port !== SKIP) {
          const dir = r.data[at + 6];
          const ms = r.view.getFloat64(at + 8, true);
          const orig = r.view.getUint32(at + 16, true), caplen = r.view.getUint32(at + 20, true);
          const sec = Math.floor(ms / 1000), nsec = Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6));
          const need = epbLength(caplen, dir);
          if (scratch.length < need) scratch = new Uint8Array(need * 2);
          const n = writePacket(scratch, 0, 0, sec, nsec, r.data, at + REC, caplen, orig, dir);
          writeSync(files[port], scratch, 0, n);
          written++;
        }
        tail = (tail + len) >>> 0;
      }
      Atomics.store(r.words, TAIL, tail | 0);
    }
  };

  let outDir = '';
  return {
    name, kind: 'capture',
    start(ctx) {
      const s = settings(config, name);
      s.directory = outDir = ctx.resolvePath(s.directory); // relative to the configuration file's folder
      const flags = portFlags(config.ports, ctx.ports, name);
      log = ctx.log;
      mkdirSync(s.directory, { recursive: true });
      files = ctx.ports.map((p, i) => {
        if (!flags[i]) return -1;
        const fd = openSync(join(s.directory, `${p}.pcapng`), 'w');
        const head = Buffer.concat([sectionHeader(`sluice capture of port ${p}`), interfaceDescription(p, 1, s.snaplen)]);
        writeSync(fd, head);
        return fd;
      });
      const buffers: SharedArrayBuffer[] = [];
      rings = [];
      for (let t = 0; t < ctx.threads; t++) {
        const sab = new SharedArrayBuffer(HDR_BYTES + s.ringBytes);
        buffers.push(sab);
        rings.push({ words: new Int32Array(sab, 0, 4), data: new Uint8Array(sab, HDR_BYTES), view: new DataView(sab, HDR_BYTES) });
      }
      timer = setInterval(drain, 20);
      timer.unref();
      return { shared: buffers };
    },
    stop() {
      if (timer) clearInterval(timer);
      drain();
      let lost = 0;
      for (const r of rings) lost += Atomics.load(r.words, LOST);
      for (const fd of files) if (fd >= 0) closeSync(fd);
      log(`wrote ${written} packets to ${outDir}${lost ? `; ${lost} copies lost to a full ring (raise ringBytes)` : ''}`);
      files = []; rings = [];
    },
    datapath(ctx) {
      const s = settings(config, name);
      const flags = portFlags(config.ports, ctx.ports, name);
      const sab = (ctx.shared as SharedArrayBuffer[])[ctx.thread];
      const words = new Int32Array(sab, 0, 4), data = new Uint8Array(sab, HDR_BYTES), view = new DataView(sab, HDR_BYTES);
      const size = data.length;
      // Copy one frame into the ring; a full ring counts a lost copy.
      const put = (pool: IngressBatch['pool'], h: number, port: number, dir: number, ms: number) => {
        const frameLen = pool.len[h];
        const cap = frameLen < s.snaplen ? frameLen : s.snaplen;
        const len = (REC + cap + 3) & ~3;
        let head = Atomics.load(words, HEAD) >>> 0;
        const tail = Atomics.load(words, TAIL) >>> 0;
        let at = head % size;
        const skip = at + len > size ? size - at : 0; // a record never wraps: skip to the start
        if (((head - tail) >>> 0) + skip + len > size) { Atomics.add(words, LOST, 1); return; }
        if (skip) { view.setUint32(at, skip, true); view.setUint16(at + 4, SKIP, true); head = (head + skip) >>> 0; at = 0; }
        view.setUint32(at, len, true); view.setUint16(at + 4, port, true); data[at + 6] = dir; data[at + 7] = 0;
        view.setFloat64(at + 8, ms, true); view.setUint32(at + 16, frameLen, true); view.setUint32(at + 20, cap, true);
        const start = pool.start(h);
        data.set(pool.data.subarray(start, start + cap), at + REC);
        Atomics.store(words, HEAD, ((head + len) >>> 0) | 0);
      };
      return {
        ingress: s.received ? (b: IngressBatch) => {
          const ms = performance.timeOrigin + performance.now();
          for (let j = 0; j < b.count; j++) { const p = b.inPort(j); if (flags[p]) put(b.pool, b.handle(j), p, DIRECTION_INBOUND, ms); }
        } : undefined,
        egress: s.sent ? (b: EgressBatch) => {
          const ms = performance.timeOrigin + performance.now();
          for (let j = 0; j < b.count; j++) { const p = b.outPort(j); if (flags[p]) put(b.pool, b.handle(j), p, DIRECTION_OUTBOUND, ms); }
        } : undefined,
      };
    },
  };
}
