// A rig that runs the real in-memory datapath on one thread: source ring -> SoftNic
// (parse, RSS, enqueue) -> RX rings -> SwitchPipeline (learn, lookup, forward) -> TX ring ->
// back to the source ring. Used by the pipeline benchmark (1 and 2 workers) and its check.
import { systemClock } from '../src/clock.js';
import { serveQueues } from '../src/datapath/serve.js';
import { Doorbell } from '../src/nic/doorbell.js';
import { PacketPool } from '../src/nic/pool.js';
import { ceilPow2, Ring } from '../src/nic/ring.js';
import { SoftNic } from '../src/nic/soft-nic.js';
import { MacTable, MacTableShare } from '../src/vswitch/mac-table.js';
import { BATCH_MAX, SwitchPipeline } from '../src/vswitch/pipeline.js';
import { PortTable } from '../src/vswitch/port-table.js';
import { FlowKeys } from '../src/wire/flow-key.js';
import { buildFrame } from '../src/wire/frame-builder.js';
import { FlowCache } from '../src/flow/flow-cache.js';
import { FlowStage } from '../src/flow/flow-stage.js';
import { RuleSpec } from '../src/flow/rule.js';
import { RuleSet } from '../src/flow/rule-set.js';
import noop from '../src/extensions/noop.js';
import { BoundExtension, ExtensionStack } from '../src/vswitch/ext/stack.js';
import { ExtensionState, extensionCounters } from '../src/vswitch/ext/state.js';

export const FRAME_SIZE = 64;
export const FLOWS = 1024;

export function benchFrames(count: number, size = FRAME_SIZE, base = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const f = i + base;
    out.push(buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: `10.${(f >> 8) & 255}.${f & 255}.1`, dst: '10.200.0.1' }, udp: { sport: 1024 + (f % 50000), dport: 4791 }, padTo: size }));
  }
  return out;
}

export class PipelineRig {
  readonly pool: PacketPool;
  readonly nic: SoftNic;
  readonly pipeline: SwitchPipeline;
  readonly source: Ring;
  readonly tx: Ring[];
  readonly ret: Ring;
  private readonly batch = new Int32Array(BATCH_MAX);
  private readonly burst = new Int32Array(256);
  /** Frames taken from the source per round (spread over 4 queues by RSS); 32 gives batches of ~8. */
  inputBurst = 32;

  readonly flow: FlowStage;

  readonly ext: ExtensionStack | null;

  /**
   * The switch as sluice runs it: a flow stage (flow cache of `cacheEntries`) in front of
   * `rules` (if any), `extensions` built-in no-op extensions (filters), and the learning switch.
   */
  constructor(frames: Uint8Array[], macShare?: MacTableShare, rules?: RuleSpec[], extensions?: { count: number; cacheable: boolean }, cacheEntries = 65536) {
    const n = frames.length;
    this.pool = new PacketPool(n + 64, 2048);
    const keys = new FlowKeys(this.pool.slots);
    this.nic = new SoftNic(this.pool, keys, { queues: 4, ringSize: 1024 });
    const macs = macShare ? MacTable.attach(macShare) : new MacTable(4096, 2, 300);
    const ports = new PortTable(2);
    ports.configure(0, { mode: 'access', vlan: 1 });
    ports.configure(1, { mode: 'access', vlan: 1 });
    this.tx = [new Ring(1024, undefined, true), new Ring(1024, undefined, true)];
    this.ret = new Ring(ceilPow2(this.pool.slots));
    const rs = new RuleSet({ ports: ['p1', 'p2'], queues: 4 });
    rs.apply({ add: rules ?? [] });
    this.flow = new FlowStage(rs, new FlowCache(cacheEntries), 2);
    this.ext = null;
    if (extensions && extensions.count > 0) {
      const bound: BoundExtension[] = [];
      for (let e = 0; e < extensions.count; e++) {
        const d = noop({ name: `noop${e}`, kind: 'filter', cacheable: extensions.cacheable });
        bound.push({ name: d.name, kind: d.kind, failClosed: false, cacheable: d.cacheable === true, dropReasons: [], hooks: d.datapath!({ config: {}, shared: undefined, thread: 0, ports: ['p1', 'p2'], originate: () => false }) });
      }
      const state = new ExtensionState(extensions.count);
      for (let e = 0; e < extensions.count; e++) { state.setPosition(e, e); state.setEnabled(e, true); }
      this.ext = new ExtensionStack(bound, state, extensionCounters(extensions.count), this.pool, keys, 2, { budgetMs: 1000, overrunLimit: 1000 });
    }
    this.pipeline = new SwitchPipeline({ pool: this.pool, keys, ports, macs, out: { tx: this.tx, ret: this.ret, bell: new Doorbell() }, flow: this.flow, ext: this.ext });
    // Both MACs are learned (port 0 sends, port 1 replies), as after the first exchange: the
    // timed runs change nothing in the MAC table.
    macs.learn(1, 0x0200, 0x00000002, 1, systemClock.seconds());
    macs.learn(1, 0x0200, 0x00000001, 0, systemClock.seconds());
    this.source = new Ring(ceilPow2(n));
    for (const f of frames) this.source.enqueue(this.pool.allocFrom(f, 0, f.length));
  }

  /** Move `count` packets through the whole path; returns packets that came out on port 1. */
  run(count: number): number {
    const { source, nic, pool, batch, burst } = this;
    const rings = nic.rings;
    let out = 0;
    for (let done = 0; done < count;) {
      const n = source.dequeueBurst(burst, this.inputBurst);
      for (let i = 0; i < n; i++) nic.receive(burst[i], 0);
      nic.flush();
      done += n;
      serveQueues(rings, this.pipeline, batch, systemClock);
      // "Transmit": release the reference and recycle the handle as the next received frame.
      for (let m; (m = this.tx[1].dequeueBurst(batch, BATCH_MAX)) !== 0;) {
        for (let i = 0; i < m; i++) { Atomics.sub(pool.refs, batch[i], 1); source.enqueue(batch[i]); }
        out += m;
      }
      for (let m; (m = this.tx[0].dequeueBurst(batch, BATCH_MAX)) !== 0;) for (let i = 0; i < m; i++) source.enqueue(batch[i]);
      for (let m; (m = this.ret.dequeueBurst(batch, BATCH_MAX)) !== 0;) for (let i = 0; i < m; i++) source.enqueue(batch[i]);
    }
    return out;
  }
}
