// SteeringTable: the NIC's receive filters, with a hardware-like capacity.
//
// Two kinds, as NICs offer them: VMQ-style filters on destination MAC (+ optional VLAN id)
// and ntuple-style filters on an exact 5-tuple. Each sends matching frames to a chosen
// receive queue. Lookup order: 5-tuple, then MAC+VLAN, then MAC on any VLAN; no match
// means RSS decides. Both kinds share one capacity (default 64 entries); a full table
// refuses a new filter with an error naming the capacity.
// Where it sits: SoftNic.receive() consults it for every parsed frame, before RSS.

import { parseIpv4, parseIpv6, parseMac } from '../wire/bytes.js';
import { FlowKeys } from '../wire/flow-key.js';
import { MAX_VLAN_TAGS } from '../wire/ethernet.js';
import { ExactTable } from './exact-table.js';

export const DEFAULT_FILTER_CAPACITY = 64;
const ANY_VLAN = 0xffff;
const MAC_WORDS = 2;
const TUPLE_WORDS = 10; // (ipVersion<<8 | proto), src[4], dst[4], (sport<<16 | dport)

export interface MacFilter { kind: 'mac'; mac: string; vlan?: number; queue: number }
export interface TupleFilter {
  kind: 'tuple'; proto: 'tcp' | 'udp' | number; src: string; dst: string; sport: number; dport: number; queue: number;
}
export type SteeringFilter = MacFilter | TupleFilter;

/** A bad filter or a full table; `field`: the filter's field at fault ("filters" for a full table). */
export class SteeringError extends Error {
  readonly field: string;
  constructor(message: string) { super(message); this.field = /^filter\.(\w+):/.exec(message)?.[1] ?? 'filters'; }
}

export class SteeringTable {
  readonly capacity: number;
  readonly queues: number;
  private readonly macs: ExactTable;
  private readonly tuples: ExactTable;
  private readonly key = new Uint32Array(TUPLE_WORDS);
  private readonly installed = new Map<string, SteeringFilter>();

  constructor(queues: number, capacity = DEFAULT_FILTER_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > 65536) throw new RangeError(`filter capacity must be 0..65536, got ${capacity}`);
    this.capacity = capacity;
    this.queues = queues;
    this.macs = new ExactTable(Math.max(capacity, 1), MAC_WORDS);
    this.tuples = new ExactTable(Math.max(capacity, 1), TUPLE_WORDS);
  }

  get size(): number { return this.installed.size; }

  /** Installed filters, for reports. */
  list(): SteeringFilter[] { return [...this.installed.values()]; }

  // Fill this.key from a filter description; returns the table it belongs to.
  private encode(f: SteeringFilter): ExactTable {
    const k = this.key;
    if (f.kind === 'mac') {
      const m = parseMac(f.mac);
      if (!m) throw new SteeringError(`filter.mac: "${f.mac}" is not a MAC address`);
      if (f.vlan !== undefined && (!Number.isInteger(f.vlan) || f.vlan < 0 || f.vlan > 4095)) throw new SteeringError(`filter.vlan: ${f.vlan} is not a VLAN id (0..4095)`);
      k[0] = (((f.vlan ?? ANY_VLAN) << 16) | (m[0] << 8) | m[1]) >>> 0;
      k[1] = ((m[2] << 24) | (m[3] << 16) | (m[4] << 8) | m[5]) >>> 0;
      return this.macs;
    }
    const proto = f.proto === 'tcp' ? 6 : f.proto === 'udp' ? 17 : f.proto;
    if (!Number.isInteger(proto) || proto < 0 || proto > 255) throw new SteeringError(`filter.proto: ${String(f.proto)} is not tcp, udp or 0..255`);
    for (const [name, v] of [['sport', f.sport], ['dport', f.dport]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new SteeringError(`filter.${name}: ${v} is not a port (0..65535)`);
    }
    const s4 = parseIpv4(f.src), d4 = parseIpv4(f.dst);
    k.fill(0);
    if (s4 !== null && d4 !== null) {
      k[0] = (4 << 8) | proto; k[1] = s4; k[5] = d4;
    } else {
      const s6 = parseIpv6(f.src), d6 = parseIpv6(f.dst);
      if (!s6) throw new SteeringError(`filter.src: "${f.src}" is not an IPv4 or IPv6 address`);
      if (!d6) throw new SteeringError(`filter.dst: "${f.dst}" is not an IPv4 or IPv6 address`);
      k[0] = (6 << 8) | proto; k.set(s6, 1); k.set(d6, 5);
    }
    k[9] = ((f.sport << 16) | f.dport) >>> 0;
    return this.tuples;
  }

  private static id(f: SteeringFilter): string {
    return f.kind === 'mac' ? `mac ${f.mac.toLowerCase()} vlan ${f.vlan ?? 'any'}` : `tuple ${f.proto} ${f.src}:${f.sport} > ${f.dst}:${f.dport}`;
  }

  /** Install (or re-target) a filter. Throws SteeringError when invalid or the table is full. */
  add(f: SteeringFilter): void {
    const table = this.prepare(f, true);
    table.set(this.key, f.queue);
    this.installed.set(SteeringTable.id(f), { ...f });
  }

  /** Throw SteeringError unless `f` is a valid filter and — `adding` — the table has room for it (installed already, or below capacity). */
  check(f: SteeringFilter, adding: boolean): void { this.prepare(f, adding); }

  // check(), returning the table `f` belongs to (this.key holds its key).
  private prepare(f: SteeringFilter, adding: boolean): ExactTable {
    if (!Number.isInteger(f.queue) || f.queue < 0 || f.queue >= this.queues) throw new SteeringError(`filter.queue: ${f.queue} is not a receive queue (0..${this.queues - 1})`);
    const table = this.encode(f);
    if (adding && !this.installed.has(SteeringTable.id(f)) && this.installed.size >= this.capacity) {
      throw new SteeringError(`steering table full: ${this.capacity} of ${this.capacity} filters in use; remove one first`);
    }
    return table;
  }

  /** The installed filter with the same match as `f` (its queue may differ), or undefined. */
  find(f: SteeringFilter): SteeringFilter | undefined { return this.installed.get(SteeringTable.id(f)); }

  /** Remove a filter; false when it was not installed. */
  remove(f: SteeringFilter): boolean {
    const table = this.encode(f);
    const id = SteeringTable.id(f);
    if (!this.installed.delete(id)) return false;
    table.delete(this.key);
    return true;
  }

  /** Queue chosen by a filter for the parsed frame of handle h, or -1 (then RSS decides). */
  lookup(k: FlowKeys, h: number): number {
    const key = this.key;
    if (this.tuples.count !== 0 && k.ipVersion[h] !== 0) {
      const a = h * 4;
      key[0] = (k.ipVersion[h] << 8) | k.proto[h];
      key[1] = k.src[a]; key[2] = k.src[a + 1]; key[3] = k.src[a + 2]; key[4] = k.src[a + 3];
      key[5] = k.dst[a]; key[6] = k.dst[a + 1]; key[7] = k.dst[a + 2]; key[8] = k.dst[a + 3];
      key[9] = ((k.srcPort[h] << 16) | k.dstPort[h]) >>> 0;
      const q = this.tuples.get(key);
      if (q >= 0) return q;
    }
    if (this.macs.count !== 0) {
      const vid = k.vlanCount[h] !== 0 ? k.vlanTci[h * MAX_VLAN_TAGS] & 0xfff : 0;
      key[0] = ((vid << 16) | k.dstMacHi[h]) >>> 0;
      key[1] = k.dstMacLo[h];
      let q = this.macs.get(key);
      if (q >= 0) return q;
      key[0] = ((ANY_VLAN << 16) | k.dstMacHi[h]) >>> 0;
      q = this.macs.get(key);
      if (q >= 0) return q;
    }
    return -1;
  }
}

