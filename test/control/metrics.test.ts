// One counter registry (issue 11, item 6): every registered counter is in GET /metrics, in the
// Prometheus text format 0.0.4 (checked line by line against its grammar), as counters with
// _total names and labels, no rates; stats() totals come from the same registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlApi } from '../../src/control/control-api.js';
import { parseControl } from '../../src/control/control-address.js';
import { blockSet, CounterRegistry, metricName, setMetric } from '../../src/counter-registry.js';
import { CounterBlock } from '../../src/counters.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';
import { raw } from '../helpers/http.js';
import { parse } from '../helpers/prometheus.js';
import { PORT_COUNTERS } from '../../src/endpoints/endpoint.js';
import { PIPELINE_COUNTERS } from '../../src/vswitch/pipeline.js';
import { QUEUE_COUNTERS } from '../../src/nic/soft-nic.js';
import { FLOW_CACHE_COUNTERS } from '../../src/flow/flow-cache.js';
import { EXT_COUNTERS } from '../../src/vswitch/ext/state.js';
import { MAC_COUNTERS } from '../../src/vswitch/mac-table.js';

test('the registry sums a subsystem over threads, matches rows by label, and escapes label values', () => {
  const names = ['rxPackets', 'dropX'] as const;
  const a = new CounterBlock(names, 2), b = new CounterBlock(names, 2);
  a.values[a.slot('rxPackets', 0)] = 3; b.values[b.slot('rxPackets', 0)] = 4; b.values[b.slot('dropX', 1)] = 1;
  const reg = new CounterRegistry();
  const rows = () => ['p"1', 'p\\2'];
  reg.add(blockSet('port', 'port', rows, a, 'main', 'port counters'));
  reg.add(blockSet('port', 'port', rows, b, 'datapath 0', 'port counters'));
  reg.add({ subsystem: 'port', label: 'port', names: ['rxKernelDrops'], rows: () => ['p\\2'], read: () => 9, thread: 'kernel', help: 'port counters' });
  assert.deepEqual(Object.fromEntries(reg.totals('port')), { 'p"1': { rxPackets: 7, dropX: 0 }, 'p\\2': { rxPackets: 0, dropX: 1, rxKernelDrops: 9 } });
  const m = parse(reg.exposition());
  assert.deepEqual([...m.keys()], ['sluice_port_rx_packets_total', 'sluice_port_drop_x_total', 'sluice_port_rx_kernel_drops_total']);
  assert.equal(m.get('sluice_port_rx_packets_total')!.samples.get('port="p\\"1"'), 7);
  assert.deepEqual([...m.get('sluice_port_rx_kernel_drops_total')!.samples], [['port="p\\\\2"', 9]]);
});

test('GET /metrics on a running switch: every registered counter, as a counter (a gauge where registered so), equal to stats()', async () => {
  const sw = await memorySwitch([{}, {}, {}]);
  const api = new ControlApi(sw.dp, {});
  const path = join(mkdtempSync(join(tmpdir(), 'sluice-metrics-')), 'ctl.sock');
  await api.listen(parseControl(`unix:${path}`) as { kind: 'unix'; path: string });
  try {
    sw.send(0, buildFrame({ dst: BCAST, src: MAC(1) }));
    sw.send(1, buildFrame({ dst: MAC(1), src: MAC(2) }));
    const r = await raw({ socketPath: path }, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const m = parse(r.body);
    let seen = 0;
    for (const set of sw.dp.registry.sets) {
      for (const n of set.names) {
        const metric = setMetric(set, n);
        const fam = m.get(metric);
        assert.ok(fam, `${metric} is exported`);
        assert.equal(fam.type, set.gauge === true ? 'gauge' : 'counter');
        for (const row of set.rows()) { assert.ok(fam.samples.has(set.label ? `${set.label}="${row}"` : ''), `${metric} row ${row}`); seen++; }
      }
    }
    assert.ok(seen > 50, `${seen} samples checked`);
    // Every declared counter of the data path is registered (the token buckets are not in it yet).
    const declared: [string, readonly string[]][] = [['port', PORT_COUNTERS], ['port', PIPELINE_COUNTERS], ['queue', QUEUE_COUNTERS], ['flow_cache', FLOW_CACHE_COUNTERS], ['extension', EXT_COUNTERS], ['mac_table', MAC_COUNTERS]];
    for (const [sub, names] of declared) for (const n of names) assert.ok(m.has(metricName(sub, n)), `${sub} ${n} in /metrics`);
    for (const [name, fam] of m) assert.ok(fam.type === 'gauge' ? !/rate|per_s/.test(name) : name.endsWith('_total') && !/rate|per_s/.test(name), `${name}: a counter or gauge, not a rate`);
    const st = sw.dp.stats();
    assert.equal(m.get('sluice_port_rx_packets_total')!.samples.get('port="p1"'), st.ports[0].counters.rxPackets);
    assert.equal(st.ports[0].counters.rxPackets, 1);
    assert.equal(m.get('sluice_mac_table_learned_total')!.samples.get(''), 2);
    assert.equal((await raw({ socketPath: path }, 'POST', '/metrics', { headers: { 'content-type': 'application/json' }, body: '{}' })).status, 405);
  } finally {
    await api.close();
    await sw.dp.stop();
  }
});
