// MacTable: the learning switch's (VLAN, MAC) -> port table, shared by every datapath worker.
//
// Layout: one SharedArrayBuffer of Int32 slots, 8 ints (32 bytes) per slot:
// [state, keyHi = vlan<<16 | mac[0..1], keyLo = mac[2..5], port, stamp (seconds), tunnel,
// flags], open addressing with linear probing bounded by MAX_PROBE, capacity twice the entry
// limit. Per-port learned counts follow the slots.
//
// Remote MACs: behind a tunnel uplink (VXLAN) a MAC sits at a remote VTEP: `tunnel` is that
// VTEP's index + 1 in the uplink's VtepTable (0: a local port, or unknown: the flood list).
// A MAC seen again from another VTEP of the same port has moved (counted, generation bumped).
// Static entries (configured, F_STATIC) never age and learning never moves them: a frame
// claiming a static MAC from elsewhere is still forwarded, the entry stays.
//
// Concurrency: any worker may learn, the control thread ages. A slot is claimed with
// compareExchange (EMPTY or TOMB -> BUSY), filled, then published with Atomics.store(VALID);
// readers only trust VALID slots. A refreshed timestamp is a plain store of the same value
// most of the time and is skipped when unchanged, so hot entries do not bounce between cores.
// Known, accepted races: two workers learning the same new MAC in the same instant after a
// tombstone can leave a duplicate entry (lookups see the first; aging removes both), and a
// reader comparing keys while the control thread recycles that exact slot may get one stale
// answer. Neither loses a packet: the worst case is one frame flooded or sent to the old port.
//
// Fairness: each port has a reserved share of the entries (`reservedPercent` of the table,
// split evenly over the ports); the rest is shared, first come first served. A port past its
// reserve learns only while the shared part has room, so one port (a MAC flood, a raised
// macLimit) can take at most size - (ports - 1) * reserve entries and every other port can
// still learn its reserve. `sharedUsed` counts the entries held beyond the reserves. Two
// workers racing for the last shared entry may overshoot it by one; moves are never refused
// (they change where an entry points, not how many there are).
//
// Counters (shared, Atomics): learned, moved, aged, tableFull, portLimit, sharedFull.
//
// Generation (shared): bumped whenever what a lookup answers can change — an entry learned,
// moved, removed, or seen again after it had expired (not when a live timestamp is refreshed;
// an entry expiring with time is checked by whoever cached its answer). Flow caches hold
// switching decisions made from this table and start over when it moves. learn() returns the
// entry's slot, and refresh(slot) lets a cached decision keep its source address alive without
// learning it again; a refresh racing the control thread's recycling of that slot can keep
// another address alive one aging period longer.

const INTS_PER_SLOT = 8;
const ST = 0, HI = 1, LO = 2, PORT = 3, STAMP = 4, TUNNEL = 5, FLAGS = 6;
const F_STATIC = 1;
const EMPTY = 0, BUSY = 1, VALID = 2, TOMB = 3;
const MAX_PROBE = 32;

export const MAC_COUNTERS = ['learned', 'moved', 'aged', 'tableFull', 'portLimit', 'sharedFull'] as const;
const C_LEARNED = 0, C_MOVED = 1, C_AGED = 2, C_FULL = 3, C_LIMIT = 4, C_SHARED = 5;
/** Default share of the table reserved for the ports, split evenly (the rest is shared). */
export const DEFAULT_MAC_RESERVED_PERCENT = 50;

/** learn() refused: the port's learning limit is reached (the frame is dropped). */
export const LEARN_PORT_LIMIT = -1;
/** learn() could not store the address: the table is full (the frame is still forwarded). */
export const LEARN_TABLE_FULL = -2;

export interface MacTableShare { buffer: SharedArrayBuffer; maxEntries: number; maxPorts: number; agingSeconds: number; reservedPercent: number }
export interface MacEntry { vlan: number; mac: string; port: number; ageSeconds: number; tunnel: number; static: boolean }

function slotHash(hi: number, lo: number): number {
  let h = Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo, 0xc2b2ae35);
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 12;
  return h >>> 0;
}

export class MacTable {
  readonly maxEntries: number;
  readonly maxPorts: number;
  readonly agingSeconds: number;
  private readonly size: number;
  private readonly mask: number;
  private readonly t: Int32Array;
  /** Learned entries per port, then total entries, then counters. */
  private readonly perPort: Int32Array;
  private readonly total: Int32Array;
  readonly counters: Int32Array;
  /** Per-port MAC limit (plain config, same in every thread). */
  readonly portLimit: Int32Array;
  private readonly gen: Int32Array;
  /** Entries held beyond the ports' reserves. */
  private readonly sharedUsed: Int32Array;
  private readonly buffer: SharedArrayBuffer;
  readonly reservedPercent: number;
  /** Entries every port may learn whatever the others hold. */
  readonly reserve: number;
  /** Entries shared by all ports beyond their reserves. */
  readonly sharedCapacity: number;

  constructor(maxEntries = 8192, maxPorts = 256, agingSeconds = 300, buffer?: SharedArrayBuffer, reservedPercent = DEFAULT_MAC_RESERVED_PERCENT) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1 << 22) throw new RangeError(`MAC table size must be 1..4194304, got ${maxEntries}`);
    this.maxEntries = maxEntries;
    this.maxPorts = maxPorts;
    this.agingSeconds = agingSeconds;
    this.reservedPercent = reservedPercent;
    this.reserve = Math.floor((maxEntries * reservedPercent) / 100 / Math.max(1, maxPorts));
    this.sharedCapacity = maxEntries - this.reserve * maxPorts;
    let size = 16;
    while (size < maxEntries * 2) size <<= 1;
    this.size = size;
    this.mask = size - 1;
    const ints = size * INTS_PER_SLOT + maxPorts + 1 + MAC_COUNTERS.length + maxPorts + 2;
    this.buffer = buffer ?? new SharedArrayBuffer(ints * 4);
    this.t = new Int32Array(this.buffer, 0, size * INTS_PER_SLOT);
    let at = size * INTS_PER_SLOT * 4;
    this.perPort = new Int32Array(this.buffer, at, maxPorts); at += maxPorts * 4;
    this.total = new Int32Array(this.buffer, at, 1); at += 4;
    this.counters = new Int32Array(this.buffer, at, MAC_COUNTERS.length); at += MAC_COUNTERS.length * 4;
    this.portLimit = new Int32Array(this.buffer, at, maxPorts); at += maxPorts * 4;
    this.gen = new Int32Array(this.buffer, at, 1); at += 4;
    this.sharedUsed = new Int32Array(this.buffer, at, 1);
    if (!buffer) this.portLimit.fill(maxEntries);
  }

  static attach(s: MacTableShare): MacTable { return new MacTable(s.maxEntries, s.maxPorts, s.agingSeconds, s.buffer, s.reservedPercent); }
  shared(): MacTableShare { return { buffer: this.buffer, maxEntries: this.maxEntries, maxPorts: this.maxPorts, agingSeconds: this.agingSeconds, reservedPercent: this.reservedPercent }; }

  /** Entries held beyond the ports' reserves (at most sharedCapacity, give or take a race). */
  get sharedInUse(): number { return Atomics.load(this.sharedUsed, 0); }

  // Per-port count bookkeeping: an entry past the port's reserve sits in the shared part.
  private gain(port: number): void { if (Atomics.add(this.perPort, port, 1) >= this.reserve) Atomics.add(this.sharedUsed, 0, 1); }
  private lose(port: number): void { if (Atomics.sub(this.perPort, port, 1) > this.reserve) Atomics.sub(this.sharedUsed, 0, 1); }

  get count(): number { return Atomics.load(this.total, 0); }
  /** Moves whenever an entry is learned, moved, removed or seen again after it expired. */
  get generation(): number { return Atomics.load(this.gen, 0); }
  private changed(): void { Atomics.add(this.gen, 0, 1); }

  /** Mark the entry at `slot` (what learn() returned) seen at `now`, as learning it again would. */
  refresh(slot: number, now: number): void {
    if (slot >= 0 && this.t[slot + STAMP] !== now) this.stamp(slot, now);
  }

  // Set the entry's timestamp; an entry that had expired comes back to lookups: a change.
  private stamp(b: number, now: number): void {
    if (now - this.t[b + STAMP] > this.agingSeconds) this.changed();
    this.t[b + STAMP] = now;
  }
  learnedOn(port: number): number { return Atomics.load(this.perPort, port); }
  counter(name: (typeof MAC_COUNTERS)[number]): number { return Atomics.load(this.counters, MAC_COUNTERS.indexOf(name)); }

  // Slot index (in ints) of a VALID entry for the key, or -1.
  private find(hi: number, lo: number): number {
    const t = this.t;
    let s = slotHash(hi, lo) & this.mask;
    for (let n = 0; n < MAX_PROBE; n++, s = (s + 1) & this.mask) {
      const b = s * INTS_PER_SLOT;
      const st = Atomics.load(t, b + ST);
      if (st === EMPTY) return -1;
      if (st === VALID && t[b + HI] === hi && t[b + LO] === lo) return b;
    }
    return -1;
  }

  /** Port of (vlan, mac) or -1 when unknown or older than the aging time. */
  lookup(vlan: number, macHi: number, macLo: number, now: number): number {
    const b = this.locate(vlan, macHi, macLo, now);
    return b < 0 ? -1 : this.t[b + PORT];
  }

  /** Slot of (vlan, mac), or -1 when unknown or older than the aging time. */
  locate(vlan: number, macHi: number, macLo: number, now: number): number {
    const b = this.find((vlan << 16) | macHi, macLo | 0);
    if (b < 0 || this.expired(b, now)) return -1;
    return b;
  }

  /** Port of the entry at `slot` (from locate). */
  portAt(slot: number): number { return this.t[slot + PORT]; }
  /** Has the learned entry at `slot` (negative: none) been seen from another tunnel than `tunnel` (its MAC moved between remote VTEPs: learn again)? */
  tunnelMoved(slot: number, tunnel: number): boolean { return slot >= 0 && this.t[slot + TUNNEL] !== tunnel && this.t[slot + FLAGS] === 0; }
  /** Tunnel (remote VTEP index + 1, 0: none) of the entry at `slot`. */
  tunnelAt(slot: number): number { return this.t[slot + TUNNEL]; }

  /** Count a learning refusal replayed from a cached decision (as if learn() had refused again). */
  refusedByLimit(): void { Atomics.add(this.counters, C_LIMIT, 1); }

  /** Has the entry at `slot` gone unseen for longer than the aging time (lookups no longer answer it)? */
  expired(slot: number, now: number): boolean { return now - this.t[slot + STAMP] > this.agingSeconds && this.t[slot + FLAGS] === 0; }

  /**
   * Record that (vlan, mac) was seen on `port` (behind remote VTEP `tunnel` - 1; 0: none) at
   * `now`: the entry's slot (>= 0), or why not (LEARN_PORT_LIMIT, LEARN_TABLE_FULL).
   */
  learn(vlan: number, macHi: number, macLo: number, port: number, now: number, tunnel = 0): number {
    const hi = (vlan << 16) | macHi, lo = macLo | 0;
    const t = this.t;
    const b = this.find(hi, lo);
    if (b >= 0) {
      if (t[b + FLAGS] !== 0) return b; // static: stays where it was configured
      if (t[b + TUNNEL] !== tunnel && t[b + PORT] === port) {
        Atomics.store(t, b + TUNNEL, tunnel);
        Atomics.add(this.counters, C_MOVED, 1);
        this.changed();
      }
      if (t[b + PORT] !== port) {
        if (Atomics.load(this.perPort, port) >= this.portLimit[port]) { Atomics.add(this.counters, C_LIMIT, 1); return LEARN_PORT_LIMIT; }
        t[b + TUNNEL] = tunnel;
        const old = Atomics.exchange(t, b + PORT, port);
        if (old !== port) {
          this.lose(old);
          this.gain(port);
          Atomics.add(this.counters, C_MOVED, 1);
          this.changed();
        }
      }
      if (t[b + STAMP] !== now) this.stamp(b, now);
      return b;
    }
    const mine = Atomics.load(this.perPort, port);
    if (mine >= this.portLimit[port]) { Atomics.add(this.counters, C_LIMIT, 1); return LEARN_PORT_LIMIT; }
    if (mine >= this.reserve && Atomics.load(this.sharedUsed, 0) >= this.sharedCapacity) { Atomics.add(this.counters, C_SHARED, 1); return LEARN_TABLE_FULL; }
    if (Atomics.load(this.total, 0) >= this.maxEntries) { Atomics.add(this.counters, C_FULL, 1); return LEARN_TABLE_FULL; }
    let s = slotHash(hi, lo) & this.mask;
    for (let n = 0; n < MAX_PROBE; n++, s = (s + 1) & this.mask) {
      const c = s * INTS_PER_SLOT;
      let st = Atomics.load(t, c + ST);
      if (st === EMPTY || st === TOMB) {
        if (Atomics.compareExchange(t, c + ST, st, BUSY) === st) {
          t[c + HI] = hi; t[c + LO] = lo; t[c + PORT] = port; t[c + STAMP] = now; t[c + TUNNEL] = tunnel; t[c + FLAGS] = 0;
          Atomics.store(t, c + ST, VALID);
          Atomics.add(this.total, 0, 1);
          this.gain(port);
          Atomics.add(this.counters, C_LEARNED, 1);
          this.changed();
          return c;
        }
        st = Atomics.load(t, c + ST);
      }
      // Another writer may be publishing this very key right here: wait for it, then compare.
      for (let spin = 0; st === BUSY && spin < 1000; spin++) st = Atomics.load(t, c + ST);
      if (st === VALID && t[c + HI] === hi && t[c + LO] === lo) return c;
    }
    Atomics.add(this.counters, C_FULL, 1);
    return LEARN_TABLE_FULL;
  }

  /**
   * Configure a static entry: (vlan, mac) on `port` behind `tunnel` (VTEP index + 1, 0: none),
   * never aged, never moved by learning. Control thread; replaces a learned entry. Throws when
   * there is no room.
   */
  addStatic(vlan: number, macHi: number, macLo: number, port: number, tunnel: number): void {
    const hi = (vlan << 16) | macHi, lo = macLo | 0, t = this.t;
    let b = this.find(hi, lo);
    if (b < 0) {
      b = this.learn(vlan, macHi, macLo, port, 0, tunnel);
      if (b < 0) throw new RangeError(`no room for a static MAC entry on port ${port}: the MAC table or the port's limit is full`);
    } else if (t[b + PORT] !== port) {
      this.lose(t[b + PORT]); this.gain(port);
      t[b + PORT] = port;
    }
    t[b + TUNNEL] = tunnel; t[b + FLAGS] = F_STATIC;
    this.changed();
  }

  // Retire the VALID entry at int offset b (control thread).
  private retire(b: number): boolean {
    if (Atomics.compareExchange(this.t, b + ST, VALID, TOMB) !== VALID) return false;
    this.lose(this.t[b + PORT]);
    Atomics.sub(this.total, 0, 1);
    this.changed();
    return true;
  }

  /** Remove entries not seen for longer than the aging time; returns how many. */
  age(now: number): number {
    let n = 0;
    for (let s = 0; s < this.size; s++) {
      const b = s * INTS_PER_SLOT;
      if (Atomics.load(this.t, b + ST) === VALID && this.expired(b, now) && this.retire(b)) n++;
    }
    if (n) Atomics.add(this.counters, C_AGED, n);
    return n;
  }

  /** Remove every entry learned on `port` (port down or deleted). */
  flushPort(port: number): number {
    let n = 0;
    for (let s = 0; s < this.size; s++) {
      const b = s * INTS_PER_SLOT;
      if (Atomics.load(this.t, b + ST) === VALID && this.t[b + PORT] === port && this.t[b + FLAGS] === 0 && this.retire(b)) n++;
    }
    return n;
  }

  /** Current entries, for reports. */
  entries(now: number): MacEntry[] {
    const out: MacEntry[] = [];
    for (let s = 0; s < this.size; s++) {
      const b = s * INTS_PER_SLOT;
      if (Atomics.load(this.t, b + ST) !== VALID) continue;
      const hi = this.t[b + HI], lo = this.t[b + LO] >>> 0;
      const bytes = [(hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
      const fixed = this.t[b + FLAGS] !== 0;
      out.push({ vlan: hi >>> 16, mac: bytes.map((x) => x.toString(16).padStart(2, '0')).join(':'), port: this.t[b + PORT], ageSeconds: fixed ? 0 : now - this.t[b + STAMP], tunnel: this.t[b + TUNNEL], static: fixed });
    }
    return out;
  }
}
