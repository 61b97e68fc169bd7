// Experiment 7 — latency isolation (guarantee-experiments.ts runs it): a request/response service
// (rr-latency.ts: 64-byte requests, 6 KB responses, one at a time) from host 1 to VM V on host 2,
// beside a bursty UDP neighbour from host 3 into VM U on host 2 — the line rate for 5 ms every
// 20 ms, averaging a quarter of the link, under U's share. Three runs: alone (no neighbour), with
// the neighbour and the pillar off, with it on. Goal: p99.9 with the neighbour and the pillar on
// ≤ 1.15× alone.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNs, Testbed } from './testbed.js';
import { inNsBg, PREFIX, prime, sleep } from './experiment-kit.js';
import { plotBars } from './plot.js';

interface Exp7Row { run: string; requests: number; p50: number; p99: number; p999: number; max: number }

export async function exp7(o: { rate: number; requests: number; out: string }): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url)), rr = join(here, 'rr-latency.js'), pattern = join(here, 'udp-pattern.js');
  const rows: Exp7Row[] = [];
  for (const run of ['alone', 'neighbour, pillar off', 'neighbour, pillar on']) {
    const on = run.endsWith('on'), neighbour = run.startsWith('neighbour');
    const tb = await Testbed.up({ hosts: 3, vms: 2, linux: false, vni: 42, port: 4789, prefix: PREFIX, rateMbps: o.rate, queueBytes: 65536, ...(on ? { guarantees: {} } : {}) });
    try {
      const [h1, h2, h3] = tb.hosts, V = h2.vms[0], U = h2.vms[1];
      prime(tb, [[h1.vms[0], V], [h3.vms[0], U]]);
      const server = inNsBg(V.ns, [process.execPath, rr, 'server', '--listen', `${V.ip}:7000`, '--seconds', '120']);
      await sleep(800);
      // The neighbour runs longer than the client needs; the client starts once it is going.
      const udp = neighbour ? inNsBg(h3.vms[0].ns, [process.execPath, pattern, '--to', `${U.ip}:9`, '--mbps', String(o.rate), '--on', '5', '--off', '15', '--seconds', '40']) : null;
      await sleep(1500);
      const out = inNs(h1.vms[0].ns, [process.execPath, rr, 'client', '--to', `${V.ip}:7000`, '--requests', String(o.requests)], 120_000);
      const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<Exp7Row, 'run'>;
      rows.push({ run, ...r });
      console.log(`exp7 ${run}: p50 ${r.p50} µs, p99 ${r.p99} µs, p99.9 ${r.p999} µs, max ${r.max} µs over ${r.requests} requests`);
      udp?.p.kill();
      server.p.kill();
      if (udp) await udp.done;
      await server.done;
    } finally {
      await tb.down();
    }
  }
  mkdirSync(o.out, { recursive: true });
  const alone = rows[0].p999;
  const table = ['| run | p50 µs | p99 µs | p99.9 µs | p99.9 vs alone | max µs |', '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.run} | ${r.p50} | ${r.p99} | ${r.p999} | ${(r.p999 / alone).toFixed(2)}× | ${r.max} |`)];
  writeFileSync(join(o.out, 'exp7.md'), `${table.join('\n')}\n`);
  writeFileSync(join(o.out, 'exp7.json'), JSON.stringify({ node: process.version, rateMbps: o.rate, rows }));
  writeFileSync(join(o.out, 'exp7.svg'), await plotBars(rows.flatMap((r) => [{ t: 0, mbps: r.p99 / 1000, series: 'p99', panel: r.run }, { t: 0, mbps: r.p999 / 1000, series: 'p99.9', panel: r.run }]), { title: `Request/response latency beside a bursty UDP neighbour (${o.rate} Mb/s downlink)`, y: 'ms' }));
  console.log(`\n${table.join('\n')}\nwrote ${o.out}/exp7.{md,json,svg}`);
}
