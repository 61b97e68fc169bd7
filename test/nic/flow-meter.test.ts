// FlowMeter: the NIC's per-bucket counters and sampled heavy flows. On the bundled captures
// replayed through it as one period: every frame is counted; samples stay near the target (the
// mean gap doubles as they pass twice it); every flow of 2% of the bytes or more is published;
// each flow of 400 frames or more is estimated within three standard deviations of sampling at
// the period's largest gap (3·√(gap/frames)); the total within 3%. A period at a low rate
// counts every frame exactly. Bucket counters count every RSS frame exactly. A reader in
// another thread never sees a half-written table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { CaptureReader, LINKTYPE_ETHERNET } from '../../src/capture/capture-reader.js';
import { flowText, vmText } from '../../src/controllers/queue-watch.js';
import { FlowMeter, PERIOD_MS, readMeter, TARGET_SAMPLES } from '../../src/nic/flow-meter.js';
import { FlowKeys, KEY_STRIDE, PARSE_OK } from '../../src/wire/flow-key.js';

test('on the bundled captures: samples near the target, heavy flows published and estimated within sampling error, buckets exact', (t) => {
  for (const file of ['cip.pcap', 'tls2.pcap']) {
    const r = CaptureReader.open(new URL(`../../../test/fixtures/pcaps/${file}`, import.meta.url).pathname);
    const fk = new FlowKeys(1), share = FlowMeter.share(128), m = new FlowMeter(share);
    const exact = new Map<string, { bytes: number; frames: number }>(), exactVm = new Map<string, { bytes: number; frames: number }>();
    let total = 0, frames = 0;
    m.tick(0);
    while (r.next()) {
      if (r.linkType !== LINKTYPE_ETHERNET) continue;
      fk.inPort[0] = 0;
      if (fk.extract(r.data, r.off, r.caplen, 0) !== PARSE_OK) continue;
      m.count(fk.packed, 0, r.origLen, frames % 128, 0);
      const id = flowText(fk.packed.subarray(0, KEY_STRIDE));
      const e = exact.get(id) ?? { bytes: 0, frames: 0 };
      e.bytes += r.origLen; e.frames++;
      exact.set(id, e);
      // The VM: destination MAC and VLAN id, from the parsed fields (not the packed words the meter reads).
      const mac = [fk.dstMacHi[0] >>> 8, fk.dstMacHi[0] & 255, fk.dstMacLo[0] >>> 24, (fk.dstMacLo[0] >>> 16) & 255, (fk.dstMacLo[0] >>> 8) & 255, fk.dstMacLo[0] & 255];
      const vm = `${mac.map((x) => x.toString(16).padStart(2, '0')).join(':')} vlan ${fk.vlanCount[0] ? fk.vlanTci[0] & 0xfff : 0}`;
      const v = exactVm.get(vm) ?? { bytes: 0, frames: 0 };
      v.bytes += r.origLen; v.frames++;
      exactVm.set(vm, v);
      total += r.origLen; frames++;
    }
    r.close();
    assert.equal(readMeter(share), null, 'nothing is published before the period ends');
    m.tick(PERIOD_MS);
    const p = readMeter(share)!;
    assert.equal(p.frames, frames, `${file}: every frame counted`);
    assert.ok(frames > 2 * TARGET_SAMPLES && p.mean > 1, `${file}: ${frames} frames in one period: the gap grew (to ${p.mean})`);
    // 2·target at the first gap, then a target more at each doubling.
    assert.ok(p.samples >= TARGET_SAMPLES && p.samples <= TARGET_SAMPLES * (2 + Math.log2(p.mean)), `${file}: ${p.samples} samples, gap ${p.mean}`);
    const sum = p.flows.reduce((a, f) => a + f.bytes, 0);
    assert.ok(Math.abs(sum / total - 1) <= 0.03, `${file}: the table's bytes ${sum}, true ${total}`);
    const est = new Map(p.flows.map((f) => [flowText(f.key), f]));
    let checked = 0;
    for (const [id, e] of exact) {
      if (e.bytes >= 0.02 * total) assert.ok(est.has(id), `${file}: ${id} (${((100 * e.bytes) / total).toFixed(1)}% of the bytes) is published`);
      if (e.frames < 400) continue;
      const f = est.get(id)!, off = f.bytes / e.bytes - 1, bound = 3 * Math.sqrt(p.mean / e.frames);
      t.diagnostic(`${file}: ${id}, ${e.frames} frames: estimated ${(100 * off).toFixed(1)}% off (bound ${(100 * bound).toFixed(1)}%)`);
      assert.ok(Math.abs(off) <= bound, `${file}: ${id} estimated ${f.bytes} bytes, true ${e.bytes}`);
      checked++;
    }
    assert.ok(checked >= 2, `${file}: ${checked} flows of 400 frames or more checked`);
    const estVm = new Map(p.vms.map((f) => [vmText(f.key), f]));
    let vms = 0;
    for (const [id, e] of exactVm) {
      if (e.frames < 400) continue;
      const f = estVm.get(id);
      assert.ok(f, `${file}: VM ${id} (${e.frames} frames) is published`);
      assert.ok(Math.abs(f.bytes / e.bytes - 1) <= 3 * Math.sqrt(p.mean / e.frames), `${file}: VM ${id} estimated ${f.bytes} bytes, true ${e.bytes}`);
      vms++;
    }
    assert.ok(vms >= 1, `${file}: ${vms} VMs checked`);
    const b = new Float64Array(share.buckets);
    let pk = 0, by = 0;
    for (let i = 0; i < 128; i++) { pk += b[2 * i]; by += b[2 * i + 1]; }
    assert.deepEqual([pk, by], [frames, total], `${file}: bucket counters hold every frame and byte`);
    m.tick(2 * PERIOD_MS);
    assert.equal(readMeter(share)!.flows.length, 0, 'a period without frames publishes no flows');
    // A period at a low rate: every frame counted, so the counts are exact.
    const r2 = CaptureReader.open(new URL(`../../../test/fixtures/pcaps/${file}`, import.meta.url).pathname);
    const few = new Map<string, number>();
    for (let n = 0; n < 500 && r2.next();) {
      if (r2.linkType !== LINKTYPE_ETHERNET || fk.extract(r2.data, r2.off, r2.caplen, 0) !== PARSE_OK) continue;
      m.count(fk.packed, 0, r2.origLen, -1, 1);
      const id = flowText(fk.packed.subarray(0, KEY_STRIDE));
      few.set(id, (few.get(id) ?? 0) + r2.origLen);
      n++;
    }
    r2.close();
    m.tick(3 * PERIOD_MS);
    const q = readMeter(share)!;
    assert.deepEqual([q.frames, q.samples, q.mean], [500, 500, 1]);
    for (const f of q.flows) if (f.error === 0) assert.equal(f.bytes, few.get(flowText(f.key)), `${file}: counted exactly`);
  }
});

test('a reader in another thread never sees a half-written table', { timeout: 30_000 }, async () => {
  const share = FlowMeter.share(16), stop = new SharedArrayBuffer(4);
  const w = new Worker(new URL('../helpers/meter-worker.js', import.meta.url), { workerData: { share, stop } });
  const exited = new Promise((res, rej) => { w.once('exit', res); w.once('error', rej); });
  let reads = 0, empty = 0;
  try {
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      const p = readMeter(share);
      if (p === null) { empty++; await new Promise((r) => setImmediate(r)); continue; }
      reads++;
      let frames = 0;
      for (const f of p.flows) {
        const port = f.key[13] >>> 16;
        assert.equal(f.key[5], 0x0a000000 + port, 'key words of one flow');
        assert.equal(f.bytes, f.packets * port, `flow ${port}: ${f.bytes} bytes in ${f.packets} frames`);
        assert.equal(f.queue, port % 4);
        assert.equal(f.entry, -1, 'no RSS entry: the helper counts every frame as steered by a filter');
        frames += f.packets;
      }
      assert.equal(frames, p.frames, 'the flows hold every frame (all sampled at this rate)');
    }
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1); // also when a check failed: the worker must not outlive the test
    await exited;
  }
  assert.ok(reads > 100, `${reads} consistent reads (${empty} while none was published or a write was under way)`);
});
