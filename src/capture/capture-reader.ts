// CaptureReader: a streaming reader of classic pcap and pcapng files, record by record.
//
// Formats: pcap (µs magic a1b2c3d4 and ns magic a1b23c4d, either byte order, version 2.x);
// pcapng (RFC draft-ietf-opsawg-pcapng: SHB, IDB, EPB, SPB, the obsolete PB, and NRB, ISB,
// DSB, custom and unknown blocks skipped; several sections, each with its own byte order and
// interfaces; per-interface if_tsresol, decimal or binary, and if_tsoffset). Detection is by
// magic, not by file name.
// Output: next() advances to the next packet record and fills the public fields; `data` holds
// the record at [off, off + caplen) until the following next(). No object per record.
// Memory: one buffer (1 MiB, grown to fit the largest block, at most MAX_BLOCK) whatever the
// file size: files larger than RAM stream.
// Errors: a CaptureError naming the byte offset and what is wrong (bad magic, unsupported
// version, impossible lengths, a block or option that runs past its end, a file cut inside a
// record). Records before the error were delivered normally; `truncated` tells a cut file
// (the valid prefix is complete) from corrupt structure.
// Oddities are counted, not fatal: timestamp fractions out of range (normalised).

import { closeSync, openSync, readSync } from 'node:fs';
import { CaptureError } from './capture-error.js';
import { Iface, newIface, setTsresol, stampOf } from './pcapng-time.js';

export { CaptureError };

export const LINKTYPE_ETHERNET = 1;
/** Largest record libpcap accepts (its maximum snapshot length). */
export const MAX_RECORD = 262144;
/** Largest pcapng block accepted (libpcap's limit). */
export const MAX_BLOCK = 16 * 1024 * 1024;

const PCAP_US = 0xa1b2c3d4, PCAP_NS = 0xa1b23c4d, SHB = 0x0a0d0d0a, BOM = 0x1a2b3c4d;
const IDB = 1, OPB = 2, SPB = 3, EPB = 6;
const TWO32 = 4294967296;


/** Where bytes come from: a file descriptor (streamed) or a buffer already in memory. */
type Source = { fd: number; buf: null } | { fd: -1; buf: Uint8Array };

export class CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  // Current record.
  data: Uint8Array;
  off = 0;
  caplen = 0;
  origLen = 0;
  tsSec = 0;
  tsNsec = 0;
  linkType = 0;
  /** Interface index across the whole file (pcapng sections number theirs from 0 again). */
  iface = 0;
  /** Byte offset in the file of the current record. */
  recordOffset = 0;
  // Counts.
  records = 0;
  sections = 0;
  badTimestamps = 0;
  /** Interfaces seen (pcap: one). */
  readonly interfaces: { linkType: number; snaplen: number; section: number }[] = [];

  private readonly src: Source;
  private buf: Uint8Array;
  private view: DataView;
  private start = 0; // first unread byte in buf
  private end = 0; // bytes valid in buf
  private base = 0; // file offset of buf[0]
  private eof = false;
  private le = true;
  // pcap
  private pcapNs = false;
  private snaplen = 0;
  // pcapng
  private ifaces: Iface[] = [];
  private ifaceBase = 0;

  private constructor(src: Source) {
    this.src = src;
    if (src.buf) {
      this.buf = src.buf;
      this.end = src.buf.length;
      this.eof = true;
    } else {
      this.buf = new Uint8Array(1 << 20);
    }
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.data = this.buf;
    if (!this.need(4)) throw new CaptureError(0, `file is ${this.end} bytes: too short for a pcap or pcapng header`, true);
    const m = this.view.getUint32(0, false);
    if (m === SHB) { this.format = 'pcapng'; this.readShb(); }
    else if (m === PCAP_US || m === PCAP_NS || swap32(m) === PCAP_US || swap32(m) === PCAP_NS) { this.format = 'pcap'; this.readPcapHeader(); }
    else if ((m >>> 16) === 0x1f8b) throw new CaptureError(0, 'gzip-compressed (magic 1f 8b): decompress it first, e.g. `gunzip -k FILE` or `zcat FILE > FILE.pcap`');
    else throw new CaptureError(0, `not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')})`);
  }

  static open(path: string): CaptureReader {
    const fd = openSync(path, 'r');
    try { return new CaptureReader({ fd, buf: null }); } catch (e) { closeSync(fd); throw e; }
  }

  static fromBuffer(buf: Uint8Array): CaptureReader { return new CaptureReader({ fd: -1, buf }); }

  close(): void { if (this.src.fd >= 0) closeSync(this.src.fd); }

  // Make n bytes available from `start`; false when the file ends first.
  private need(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.eof) return false;
    if (n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(n, this.buf.length * 2));
      bigger.set(this.buf.subarray(this.start, this.end));
      this.buf = bigger; this.data = bigger;
      this.view = new DataView(bigger.buffer);
    } else if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
    }
    this.base += this.start;
    this.end -= this.start;
    this.start = 0;
    while (this.end < n && !this.eof) {
      const got = readSync(this.src.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end - this.start >= n;
  }

  private u32(at: number): number { return this.view.getUint32(at, this.le); }
  private u16(at: number): number { return this.view.getUint16(at, this.le); }
  private get pos(): number { return this.base + this.start; }

  private readPcapHeader(): void {
    if (!this.need(24)) throw new CaptureError(this.end, 'file ends inside the 24-byte pcap header', true);
    const m = this.view.getUint32(0, false);
    this.le = m !== PCAP_US && m !== PCAP_NS;
    this.pcapNs = m === PCAP_NS || swap32(m) === PCAP_NS;
    const major = this.u16(4), minor = this.u16(6);
    if (major !== 2) throw new CaptureError(4, `pcap version ${major}.${minor} is not supported (only 2.x)`);
    this.snaplen = this.u32(16);
    const lt = this.u32(20) & 0x03ffffff; // the top bits carry FCS information
    this.linkType = lt & 0xffff;
    this.interfaces.push({ linkType: this.linkType, snaplen: this.snaplen, section: 0 });
    this.sections = 1;
    this.start = 24;
  }

  /** Advance to the next packet record; false at the clean end of the file. */
  next(): boolean {
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  private nextPcap(): boolean {
    if (this.end - this.start === 0 && !this.need(1)) return false;
    const at = this.pos;
    if (!this.need(16)) throw new CaptureError(at, `file ends inside a record header (${this.end - this.start} of 16 bytes)`, true);
    const s = this.start;
    const incl = this.u32(s + 8), orig = this.u32(s + 12);
    const limit = Math.max(this.snaplen, MAX_RECORD);
    if (incl > limit) throw new CaptureError(at, `record claims ${incl} captured bytes, more than the snapshot length ${this.snaplen} and the ${MAX_RECORD}-byte limit`);
    if (!this.need(16 + incl)) throw new CaptureError(at, `file ends inside a record: ${incl} bytes claimed, ${this.end - this.start - 16} present`, true);
    const s2 = this.start; // need() may have moved the data
    let sec = this.u32(s2), frac = this.u32(s2 + 4);
    const unit = this.pcapNs ? 1e9 : 1e6;
    if (frac >= unit) { this.badTimestamps++; sec += Math.floor(frac / unit); frac %= unit; }
    this.tsSec = sec;
    this.tsNsec = this.pcapNs ? frac : frac * 1000;
    this.recordOffset = at;
    this.off = s2 + 16;
    this.caplen = incl;
    this.origLen = orig;
    this.iface = 0;
    this.start = s2 + 16 + incl;
    this.records++;
    return true;
  }

  // Section header at `start` (byte order from its magic).
  private readShb(): void {
    const at = this.pos;
    if (!this.need(28)) throw new CaptureError(at, 'file ends inside a section header block', true);
    const s = this.start;
    const bom = this.view.getUint32(s + 8, true);
    if (bom === BOM) this.le = true;
    else if (bom === swap32(BOM)) this.le = false;
    else throw new CaptureError(at + 8, `section header byte-order magic is 0x${bom.toString(16)}, not 1a2b3c4d`);
    const major = this.u16(s + 12), minor = this.u16(s + 14);
    if (major !== 1 || minor !== 0) throw new CaptureError(at + 12, `pcapng section version ${major}.${minor} is not supported (only 1.0)`);
    const len = this.blockLength(at, s);
    const b = this.start;
    this.walkOptions(at, b + 24, b + len - 4, 'section header', () => undefined);
    this.ifaceBase += this.ifaces.length;
    this.ifaces = [];
    this.sections++;
    this.start = b + len;
  }

  // Validate the block at buffer position s (file offset at): length sane, whole block
  // present, trailing length equal. Returns the total length.
  private blockLength(at: number, s: number): number {
    const len = this.u32(s + 4);
    if (len < 12 || len % 4 !== 0) throw new CaptureError(at + 4, `block length ${len} is not a multiple of 4 of at least 12`);
    if (len > MAX_BLOCK) throw new CaptureError(at + 4, `block length ${len} is over the ${MAX_BLOCK}-byte limit`);
    if (!this.need(len)) throw new CaptureError(at, `file ends inside a ${len}-byte block (${this.end - this.start} bytes present)`, true);
    const trail = this.u32(this.start + len - 4); // need() may have moved the block to start
    void s;
    if (trail !== len) throw new CaptureError(at + len - 4, `block's trailing length ${trail} differs from its leading length ${len}`);
    return len;
  }

  // Options in [o, end): code(2) length(2) value padded to 4; stops at opt_endofopt.
  private walkOptions(blockAt: number, o: number, end: number, what: string, each: (code: number, at: number, len: number) => void): void {
    while (o + 4 <= end) {
      const code = this.u16(o), len = this.u16(o + 2);
      if (code === 0) return;
      if (o + 4 + len > end) throw new CaptureError(blockAt + (o - this.start), `${what} option ${code} of length ${len} runs past the end of its block`);
      each(code, o + 4, len);
      o += 4 + ((len + 3) & ~3);
    }
  }

  private nextPcapng(): boolean {
    for (;;) {
      if (this.end - this.start === 0 && !this.need(1)) return false;
      const at = this.pos;
      if (!this.need(12)) throw new CaptureError(at, `file ends inside a block header (${this.end - this.start} bytes)`, true);
      let s = this.start;
      const type = this.view.getUint32(s, this.le);
      if (this.view.getUint32(s, false) === SHB) { this.readShb(); continue; }
      const len = this.blockLength(at, s);
      s = this.start;
      const blockEnd = s + len - 4;
      if (type === IDB) {
        if (len < 20) throw new CaptureError(at, `interface description block of ${len} bytes is too short`);
        const f = newIface(this.u16(s + 8), this.u32(s + 12));
        this.walkOptions(at, s + 16, blockEnd, 'interface description', (code, o, olen) => {
          if (code === 9 && olen >= 1) setTsresol(f, this.buf[o], at); // if_tsresol
          else if (code === 14 && olen >= 8) f.offsetSec = this.u32(o + (this.le ? 4 : 0)) * TWO32 + this.u32(o + (this.le ? 0 : 4)); // if_tsoffset, seconds
        });
        this.ifaces.push(f);
        this.interfaces.push({ linkType: f.linkType, snaplen: f.snaplen, section: this.sections - 1 });
        this.start = s + len;
        continue;
      }
      if (type === EPB || type === OPB) {
        if (len < 32) throw new CaptureError(at, `packet block of ${len} bytes is too short`);
        const id = type === EPB ? this.u32(s + 8) : this.u16(s + 8);
        const f = this.ifaces[id];
        if (f === undefined) throw new CaptureError(at + 8, `packet names interface ${id}, but the section has ${this.ifaces.length}`);
        const cap = this.u32(s + 20);
        if (cap > len - 32) throw new CaptureError(at + 20, `captured length ${cap} runs past the end of its ${len}-byte block`);
        stampOf(f, this.u32(s + 12), this.u32(s + 16), this);
        return this.deliver(at, s + 28, cap, this.u32(s + 24), id, s + len);
      }
      if (type === SPB) {
        if (len < 16) throw new CaptureError(at, `simple packet block of ${len} bytes is too short`);
        const f = this.ifaces[0];
        if (f === undefined) throw new CaptureError(at, 'simple packet block before any interface description');
        const orig = this.u32(s + 8);
        let cap = Math.min(orig, len - 16);
        if (f.snaplen > 0) cap = Math.min(cap, f.snaplen);
        this.tsSec = 0; this.tsNsec = 0; // SPBs carry no timestamp
        return this.deliver(at, s + 12, cap, orig, 0, s + len);
      }
      // NRB, ISB, DSB, custom and unknown blocks: skipped whole.
      this.start = s + len;
    }
  }

  private deliver(at: number, off: number, cap: number, orig: number, id: number, next: number): boolean {
    this.recordOffset = at;
    this.off = off;
    this.caplen = cap;
    this.origLen = orig;
    this.iface = this.ifaceBase + id;
    this.linkType = this.ifaces[id].linkType;
    this.start = next;
    this.records++;
    return true;
  }
}

function swap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}
