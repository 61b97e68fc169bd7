// The pipeline is a list of named steps over one SwitchBatch: a new step is one object in the
// list. Here a test adds a counting step (it counts the frames still alive after `decide`, per
// destination kind) without touching any other step, and the switch forwards exactly as the
// default list does, each copy with its egress tag op on the transmit ring beside the handle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { serveQueues } from '../../src/datapath/serve.js';
import { Doorbell } from '../../src/nic/doorbell.js';
import { PacketPool } from '../../src/nic/pool.js';
import { Ring } from '../../src/nic/ring.js';
import { SoftNic } from '../../src/nic/soft-nic.js';
import { TAG_PUSH, TAG_STRIP } from '../../src/vswitch/egress-tag.js';
import { MacTable } from '../../src/vswitch/mac-table.js';
import { BATCH_MAX, PIPELINE_STEPS, PipelineStep, SwitchPipeline } from '../../src/vswitch/pipeline.js';
import { PortTable } from '../../src/vswitch/port-table.js';
import { DROP, FLOOD, SwitchBatch } from '../../src/vswitch/switch-batch.js';
import { FlowKeys } from '../../src/wire/flow-key.js';
import { buildFrame } from '../../src/wire/frame-builder.js';

// Port 0: access VLAN 5; port 1: trunk carrying 5 tagged; port 2: access VLAN 5.
function rig(steps?: readonly PipelineStep[]) {
  const pool = new PacketPool(256, 2048), keys = new FlowKeys(pool.slots);
  const nic = new SoftNic(pool, keys, { queues: 1, ringSize: 256 });
  const ports = new PortTable(3);
  ports.configure(0, { mode: 'access', vlan: 5 });
  ports.configure(1, { mode: 'trunk', allowed: [5] });
  ports.configure(2, { mode: 'access', vlan: 5 });
  for (let p = 0; p < 3; p++) ports.setEnabled(p, true);
  const tx = [0, 1, 2].map(() => new Ring(256, undefined, true)), ret = new Ring(256);
  const pipeline = new SwitchPipeline({ pool, keys, ports, macs: new MacTable(64, 3, 300), out: { tx, ret, bell: new Doorbell() }, steps });
  const batch = new Int32Array(BATCH_MAX), clock = new ManualClock();
  const send = (port: number, f: Uint8Array) => { nic.receive(pool.allocFrom(f, 0, f.length), port); nic.flush(); serveQueues(nic.rings, pipeline, batch, clock); };
  // What each port's transmit ring holds: [frame, tag op] per copy.
  const drain = () => tx.map((r) => {
    const hs = new Int32Array(256), ops = new Int32Array(256), n = r.dequeueBurst(hs, 256, ops), out: [Uint8Array, number][] = [];
    for (let i = 0; i < n; i++) { out.push([pool.frame(hs[i]), ops[i]]); if (Atomics.sub(pool.refs, hs[i], 1) === 1) pool.free(hs[i]); }
    return out;
  });
  return { pipeline, send, drain, pool, ret };
}

const frames = [
  buildFrame({ src: '02:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', payload: 46 }), // flood from port 0
  buildFrame({ src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01', vlans: [{ vid: 5 }], payload: 46 }), // from the trunk to the learned MAC
  buildFrame({ src: '02:00:00:00:00:03', dst: '02:00:00:00:00:03', payload: 46 }), // to itself: dropSameSegment
];

test('a counting step added to the list sees the batch between decide and list pairs; forwarding is unchanged', () => {
  const seen = { flood: 0, unicast: 0, dropped: 0, batches: 0 };
  const counting: PipelineStep = {
    name: 'count',
    run(b: SwitchBatch): void {
      seen.batches++;
      for (let i = 0; i < b.n; i++) {
        if (b.dest[i] === DROP) seen.dropped++; else if (b.dest[i] === FLOOD) seen.flood++; else if (b.dest[i] >= 0) seen.unicast++;
      }
    },
  };
  const at = PIPELINE_STEPS.findIndex((s) => s.name === 'decide') + 1;
  const counted = rig([...PIPELINE_STEPS.slice(0, at), counting, ...PIPELINE_STEPS.slice(at)]);
  const plain = rig();
  assert.deepEqual(counted.pipeline.steps.map((s) => s.name), ['admit', 'ingress extensions', 'learn', 'decide', 'count', 'list pairs', 'egress extensions', 'cache decisions', 'emit']);
  const outs = [counted, plain].map((r) => frames.map((f, k) => { r.send(k === 1 ? 1 : k === 2 ? 2 : 0, f); return r.drain(); }));
  assert.deepEqual(outs[0], outs[1], 'the same copies with the same tag ops on the same rings');
  assert.deepEqual(seen, { flood: 1, unicast: 1, dropped: 1, batches: 3 });
  // The ops travelled with the copies: the flood pushes VLAN 5 onto the trunk copy, the
  // trunk's tagged frame is stripped for the access port.
  const [flood, unicast] = outs[0];
  assert.deepEqual(flood.map((p) => p.map(([, op]) => op & 15)), [[], [TAG_PUSH], [0]]);
  assert.equal(flood[1][0][1] >>> 4, 5);
  assert.deepEqual(unicast.map((p) => p.map(([, op]) => op & 15)), [[TAG_STRIP], [], []]);
  assert.equal(counted.pipeline.counters.get('dropSameSegment', 2), 1);
  for (const r of [counted, plain]) {
    const back = new Int32Array(256);
    for (let n; (n = r.ret.dequeueBurst(back, 256)) !== 0;) for (let i = 0; i < n; i++) r.pool.free(back[i]);
    assert.equal(r.pool.available, r.pool.slots, 'every handle back');
  }
});
