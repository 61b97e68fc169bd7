// The final report a person reads at Ctrl-C: a tunnel uplink's remote VTEPs and its emulated
// access link are listed under the port, with their non-zero counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finalReport } from '../../src/control/report.js';
import { DataplaneStats } from '../../src/datapath/dataplane-stats.js';
import { LinkShaper } from '../../src/qos/link-shaper.js';

test('the final report lists the VTEPs of an uplink (flood list marked) and its access link both ways', () => {
  const link = LinkShaper.report(100, 65536, LinkShaper.newStats());
  const stats = {
    ports: [{
      name: 'uplink', endpoint: 'vxlan 10.0.0.1:4789 vni 42 flood 10.0.0.2:4789', counters: { rxPackets: 5 },
      tunnels: {
        vteps: [
          { address: '10.0.0.2', flood: true, counters: { txPackets: 3, txBytes: 300, txDrops: 0, rxPackets: 5, rxBytes: 500 } },
          { address: '10.0.0.3', flood: false, counters: { txPackets: 0, txBytes: 0, txDrops: 0, rxPackets: 0, rxBytes: 0 } },
        ],
        tableFull: 0,
        link: { rx: { ...link, passedPackets: 7, droppedPackets: 2, maxDepthBytes: 4000 }, tx: link },
      },
    }],
    queues: [], pool: { slots: 8, free: 8 }, macTable: {}, steering: { filters: 0, capacity: 0 }, extensions: [],
    flows: { rules: 0, rulesByLayer: {}, cacheEntriesPerThread: 0, cache: {}, hitRate: 0 }, controllers: [],
  } as unknown as DataplaneStats;
  const lines = finalReport(stats).split('\n');
  assert.ok(lines.includes('    VTEP 10.0.0.2 (flood list): txPackets=3 txBytes=300 rxPackets=5 rxBytes=500'), lines.join('\n'));
  assert.ok(lines.includes('    VTEP 10.0.0.3: all zero'));
  assert.ok(lines.includes('    access link rx 100 Mb/s: passed=7 dropped=2 ecnMarked=0 queueMax=4000 of 65536 bytes'));
  assert.ok(lines.includes('    access link tx 100 Mb/s: passed=0 dropped=0 ecnMarked=0 queueMax=0 of 65536 bytes'));
});

test('the final report lists a port\'s limiters, only the directions that have one', () => {
  const rx = { ...LinkShaper.report(20, 262144, [LinkShaper.newStats(), LinkShaper.newStats()]), passedPackets: 9093, droppedPackets: 8775, maxDepthBytes: 261800 };
  const stats = {
    ports: [{ name: 'vm', endpoint: 'udp 127.0.0.1:1 -> 127.0.0.1:2 (native)', counters: { rxPackets: 1 }, limits: { rx } }],
    queues: [], pool: { slots: 8, free: 8 }, macTable: {}, steering: { filters: 0, capacity: 0 }, extensions: [],
    flows: { rules: 0, rulesByLayer: {}, cacheEntriesPerThread: 0, cache: {}, hitRate: 0 }, controllers: [],
  } as unknown as DataplaneStats;
  const lines = finalReport(stats).split('\n');
  assert.ok(lines.includes('    limit rx 20 Mb/s: passed=9093 dropped=8775 queueMax=261800 of 262144 bytes'), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('limit tx')), 'no transmit limit, no line');
});
