// Big-endian byte accessors over a Uint8Array, plus MAC and IPv4 text helpers for control code.
// Hot-path callers check lengths once up front (see flow-key.ts); these do no bounds checks.

/** Read a big-endian u16 at `o`. */
export function u16(b: Uint8Array, o: number): number { return (b[o] << 8) | b[o + 1]; }
/** Read a big-endian u32 at `o` (as an unsigned number). */
export function u32(b: Uint8Array, o: number): number { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }
/** Write a big-endian u16 at `o`. */
export function put16(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 8; b[o + 1] = v; }
/** Write a big-endian u32 at `o`. */
export function put32(b: Uint8Array, o: number, v: number): void { b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v; }

/** Parse "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes; null if malformed. */
export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) return null;
  return Uint8Array.from(m.slice(1).map((x) => parseInt(x, 16)));
}

/** Format 6 bytes at `o` as "aa:bb:cc:dd:ee:ff". */
export function formatMac(b: Uint8Array, o = 0): string {
  const p: string[] = [];
  for (let i = 0; i < 6; i++) p.push(b[o + i].toString(16).padStart(2, '0'));
  return p.join(':');
}

/** Parse dotted-quad IPv4 into a u32; null if malformed. */
export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) >>> 0;
}

/** Parse an IPv6 address into four u32 words (network order); null if malformed. */
export function parseIpv6(s: string): Uint32Array | null {
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const w = parseIpv4(v4[1]);
    if (w === null) return null;
    tail.push(w >>> 16, w & 0xffff);
    text = text.slice(0, -v4[1].length) + (text.endsWith('::' + v4[1]) ? '' : '0');
    if (!text.endsWith(':')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0].replace(/:$/, ''));
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !rest) return null;
  const groups = halves.length === 2
    ? [...head, ...new Array(8 - head.length - rest.length - tail.length).fill(0), ...rest, ...tail]
    : [...head, ...tail];
  if (groups.length !== 8 || (halves.length === 2 && head.length + rest.length + tail.length > 7)) return null;
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return w;
}
