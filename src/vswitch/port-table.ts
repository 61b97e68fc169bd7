// PortTable: per-port forwarding configuration that every datapath thread reads.
//
// Each port is an access port (untagged frames belong to one VLAN; tagged frames other than
// priority tags are dropped) or a trunk port (frames carry an 802.1Q/802.1ad outer tag whose
// VLAN must be in the allowed list; untagged frames belong to the native VLAN if one is set).
// Kept in a SharedArrayBuffer so the control thread can change it while workers run; every
// change moves `generation`, which flow caches holding switching decisions compare.

export const MAX_PORTS = 256;
export const MODE_ACCESS = 0;
export const MODE_TRUNK = 1;
const INTS = 8; // enabled, mode, accessVlan, nativeVlan (-1: none), macLimit, tunnel, (spare...)
const TUNNEL = 5;
const BITMAP_INTS = 128; // 4096 VLAN bits

export interface PortVlanConfig {
  mode: 'access' | 'trunk';
  /** Access VLAN (access ports). */
  vlan?: number;
  /** Allowed VLANs (trunk ports). */
  allowed?: number[];
  /** Native VLAN, sent and received untagged (trunk ports). */
  native?: number;
}

export interface PortTableShare { buffer: SharedArrayBuffer; count: number }

export class PortTable {
  readonly count: number;
  readonly cfg: Int32Array;
  readonly allowed: Uint32Array;
  private readonly buffer: SharedArrayBuffer;
  private readonly gen: Int32Array;

  /** Moves on every configuration or enable/disable change. */
  get generation(): number { return Atomics.load(this.gen, 0); }

  constructor(count: number, buffer?: SharedArrayBuffer) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_PORTS) throw new RangeError(`port count must be 1..${MAX_PORTS}, got ${count}`);
    this.count = count;
    this.buffer = buffer ?? new SharedArrayBuffer(count * (INTS + BITMAP_INTS) * 4 + 4);
    this.cfg = new Int32Array(this.buffer, 0, count * INTS);
    this.allowed = new Uint32Array(this.buffer, count * INTS * 4, count * BITMAP_INTS);
    this.gen = new Int32Array(this.buffer, count * (INTS + BITMAP_INTS) * 4, 1);
  }

  static attach(s: PortTableShare): PortTable { return new PortTable(s.count, s.buffer); }
  shared(): PortTableShare { return { buffer: this.buffer, count: this.count }; }

  /** Configure port p's VLAN behaviour and enable it. */
  configure(p: number, v: PortVlanConfig): void {
    const c = p * INTS;
    this.allowed.fill(0, p * BITMAP_INTS, (p + 1) * BITMAP_INTS);
    if (v.mode === 'access') {
      const vlan = v.vlan ?? 1;
      this.cfg[c + 1] = MODE_ACCESS; this.cfg[c + 2] = vlan; this.cfg[c + 3] = -1;
      this.allow(p, vlan);
    } else {
      this.cfg[c + 1] = MODE_TRUNK; this.cfg[c + 2] = 0; this.cfg[c + 3] = v.native ?? -1;
      for (const x of v.allowed ?? []) this.allow(p, x);
      if (v.native !== undefined) this.allow(p, v.native);
    }
    Atomics.store(this.cfg, c, 1);
    Atomics.add(this.gen, 0, 1);
  }

  private allow(p: number, vlan: number): void { this.allowed[p * BITMAP_INTS + (vlan >>> 5)] |= 1 << (vlan & 31); }

  /** Mark port p a tunnel uplink: its frames come from remote VTEPs (pool.tunnel), which learning must follow. */
  markTunnel(p: number): void { Atomics.store(this.cfg, p * INTS + TUNNEL, 1); Atomics.add(this.gen, 0, 1); }
  /** Is any port a tunnel uplink? */
  get anyTunnel(): boolean {
    for (let p = 0; p < this.count; p++) if (this.cfg[p * INTS + TUNNEL] === 1) return true;
    return false;
  }

  /** Enable or disable forwarding to and from port p. */
  setEnabled(p: number, on: boolean): void { Atomics.store(this.cfg, p * INTS, on ? 1 : 0); Atomics.add(this.gen, 0, 1); }
  enabled(p: number): boolean { return this.cfg[p * INTS] === 1; }
  mode(p: number): number { return this.cfg[p * INTS + 1]; }
  accessVlan(p: number): number { return this.cfg[p * INTS + 2]; }
  /** Native VLAN of a trunk, or -1. */
  nativeVlan(p: number): number { return this.cfg[p * INTS + 3]; }
  /** True when port p carries VLAN `vlan`. */
  carries(p: number, vlan: number): boolean { return (this.allowed[p * BITMAP_INTS + (vlan >>> 5)] & (1 << (vlan & 31))) !== 0; }
}
