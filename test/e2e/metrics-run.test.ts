// GET /metrics on a running `sluice run` process: the answer parses strictly as the Prometheus
// text format 0.0.4, every counter the registry of the same configuration holds is in it (as a
// counter with each of its rows, or as a gauge where the registry says so), none is a rate,
// and the frames sent through are counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataplane } from '../../src/control/build.js';
import { loadConfig } from '../../src/control/config.js';
import { setMetric } from '../../src/counter-registry.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { raw } from '../helpers/http.js';
import { CLI, Peer, receive, start } from '../helpers/processes.js';
import { parse } from '../helpers/prometheus.js';

const CONTROL = { host: '127.0.0.1', port: 44510 };

test('GET /metrics of a running sluice run: Prometheus text, every registered counter, frames counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-metrics-run-'));
  const cfg = join(dir, 'metrics.json');
  writeFileSync(cfg, JSON.stringify({
    workers: 1, nic: { queues: 2 }, stats: { intervalSeconds: 0 }, control: { listen: `${CONTROL.host}:${CONTROL.port}` },
    extensions: [{ module: 'dhcp-guard' }],
    ports: [1, 2].map((n) => ({ name: `p${n}`, endpoint: { type: 'udp', local: `127.0.0.1:4451${n}`, remote: `127.0.0.1:5451${n}` } })),
  }));
  // The registry this configuration builds (not started: only its counter sets are read).
  const expected = buildDataplane(loadConfig(cfg)).registry;
  const sw = start([CLI, 'run', '--config', cfg]);
  const peers = [1, 2].map((n) => new Peer(`127.0.0.1:5451${n}`, `127.0.0.1:4451${n}`));
  try {
    await sw.waitLine(/control API on/);
    await Promise.all(peers.map((p) => p.ready()));
    for (let i = 0; i < 5; i++) peers[0].send(buildFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', etherType: 0x88b5, payload: 46 }));
    await receive(peers, [0, 5]);
    const r = await raw(CONTROL, 'GET', '/metrics');
    assert.equal(r.status, 200);
    const m = parse(r.body);
    let samples = 0;
    for (const set of expected.sets) {
      for (const n of set.names) {
        const fam = m.get(setMetric(set, n));
        assert.ok(fam, `${setMetric(set, n)} is exported`);
        assert.equal(fam.type, set.gauge === true ? 'gauge' : 'counter');
        for (const row of set.rows()) { assert.ok(fam.samples.has(set.label ? `${set.label}="${row}"` : ''), `${setMetric(set, n)} row ${row}`); samples++; }
      }
    }
    assert.ok(samples > 100, `${samples} samples checked`);
    for (const [name, fam] of m) assert.ok(fam.type === 'gauge' ? !/rate|per_s/.test(name) : name.endsWith('_total') && !/rate|per_s/.test(name), `${name}: a counter or gauge, not a rate`);
    // The NIC's RSS bucket counters hold every frame RSS steered.
    const rss = [...m.get('sluice_rss_bucket_packets_total')!.samples.values()].reduce((a, b) => a + b, 0);
    assert.equal(rss, [...m.get('sluice_queue_by_rss_total')!.samples.values()].reduce((a, b) => a + b, 0), 'bucket counters sum to the frames RSS steered');
    assert.equal(m.get('sluice_port_rx_packets_total')!.samples.get('port="p1"'), 5);
    assert.equal(m.get('sluice_port_tx_packets_total')!.samples.get('port="p2"'), 5);
    // Extension rows exist once extensions are bound (the unstarted registry above has none).
    assert.ok(m.get('sluice_extension_cache_hits_total')!.samples.has('extension="dhcp-guard"'), 'the bound extension has its rows');
  } finally {
    await Promise.all(peers.map((p) => p.close()));
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
});
