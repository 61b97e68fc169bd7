// FlowCounter: counts distinct bidirectional 5-tuples in captured traffic, as the shared
// capture collection's SOURCES.md defines them: on the outermost IPv4/IPv6 header after
// Ethernet and any number of 802.1Q/802.1ad tags, key = (IP version, protocol,
// {address:port, address:port} unordered); ports are 0 for protocols other than TCP, UDP and
// SCTP and for non-first fragments; the IPv6 extension-header chain (HBH, Routing, Fragment,
// DstOpts, AH) is walked; the VLAN is not part of the key; frames that are not IP are not
// counted. A record cut by the capture's snapshot length still counts when the headers the
// key needs were captured (the switch's own parser, which checks lengths, would drop it).
// A growable open-addressing set over typed arrays: no object per packet; it doubles when
// half full.

const WORDS = 10;
const EMPTY = 0xffffffff;
const isTpid = (t: number) => t === 0x8100 || t === 0x88a8 || t === 0x9100;
const isExt = (n: number) => n === 0 || n === 43 || n === 44 || n === 60 || n === 51;
const u16 = (d: Uint8Array, p: number) => (d[p] << 8) | d[p + 1];
const u32 = (d: Uint8Array, p: number) => ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;

export class FlowCounter {
  count = 0;
  private size = 1024;
  private keys = new Uint32Array(this.size * WORDS).fill(EMPTY);
  private readonly k = new Uint32Array(WORDS);
  private readonly a = new Uint32Array(4);
  private readonly b = new Uint32Array(4);

  /** Count the flow of the Ethernet frame d[off..off+caplen) (if it is IP). */
  addFrame(d: Uint8Array, off: number, caplen: number): void {
    const end = off + caplen;
    if (caplen < 14) return;
    let type = u16(d, off + 12), p = off + 14;
    while (isTpid(type)) { if (p + 4 > end) return; type = u16(d, p + 2); p += 4; }
    const a = this.a, b = this.b;
    let version: number, proto: number, later = false, l4: number;
    if (type === 0x0800) {
      if (p + 20 > end) return; // the EtherType decides, not the version nibble (as SOURCES.md counts)
      version = 4; proto = d[p + 9];
      a[0] = u32(d, p + 12); a[1] = 0; a[2] = 0; a[3] = 0;
      b[0] = u32(d, p + 16); b[1] = 0; b[2] = 0; b[3] = 0;
      later = (u16(d, p + 6) & 0x1fff) !== 0;
      l4 = p + (d[p] & 15) * 4;
    } else if (type === 0x86dd) {
      if (p + 40 > end) return;
      version = 6;
      for (let i = 0; i < 4; i++) { a[i] = u32(d, p + 8 + 4 * i); b[i] = u32(d, p + 24 + 4 * i); }
      proto = d[p + 6];
      let q = p + 40;
      for (let n = 0; isExt(proto) && n < 64; n++) {
        if (q + 8 > end) { l4 = end; break; }
        if (proto === 44) { if ((u16(d, q + 2) & 0xfff8) !== 0) later = true; proto = d[q]; q += 8; continue; }
        const len = proto === 51 ? (d[q + 1] + 2) * 4 : (d[q + 1] + 1) * 8;
        proto = d[q]; q += len;
      }
      l4 = q;
    } else return;
    const ported = (proto === 6 || proto === 17 || proto === 132) && !later && l4 + 4 <= end;
    const sp = ported ? u16(d, l4) : 0, dp = ported ? u16(d, l4 + 2) : 0;
    this.add(version, proto, a, sp, b, dp);
  }

  private add(version: number, proto: number, a: Uint32Array, sp: number, b: Uint32Array, dp: number): void {
    // Order the two endpoints so both directions give one key.
    let aFirst = sp <= dp;
    for (let i = 0; i < 4; i++) if (a[i] !== b[i]) { aFirst = a[i] < b[i]; break; }
    const k = this.k;
    k[0] = (version << 8) | proto;
    for (let i = 0; i < 4; i++) { k[1 + i] = aFirst ? a[i] : b[i]; k[5 + i] = aFirst ? b[i] : a[i]; }
    k[9] = aFirst ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
    if (this.insert(k)) { this.count++; if (this.count * 2 > this.size) this.grow(); }
  }

  private slot(k: Uint32Array): number {
    let x = 0x811c9dc5;
    for (let i = 0; i < WORDS; i++) { x = Math.imul(x ^ k[i], 0x01000193); x ^= x >>> 15; }
    return (x >>> 0) & (this.size - 1);
  }

  // true when k was new.
  private insert(k: Uint32Array): boolean {
    const keys = this.keys, mask = this.size - 1;
    for (let e = this.slot(k); ; e = (e + 1) & mask) {
      const b = e * WORDS;
      if (keys[b] === EMPTY) { keys.set(k, b); return true; }
      let i = 0;
      while (i < WORDS && keys[b + i] === k[i]) i++;
      if (i === WORDS) return false;
    }
  }

  private grow(): void {
    const old = this.keys, oldSize = this.size;
    this.size *= 2;
    this.keys = new Uint32Array(this.size * WORDS).fill(EMPTY);
    for (let e = 0; e < oldSize; e++) if (old[e * WORDS] !== EMPTY) this.insert(old.subarray(e * WORDS, (e + 1) * WORDS));
  }
}
