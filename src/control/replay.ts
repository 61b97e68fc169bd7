// `sluice replay FILE...`: push captured frames through a switch built from a configuration,
// as live traffic: each Ethernet record enters on the port mapped to its capture interface
// (interface i -> port i modulo the port count, or the --port given) and goes through the NIC
// queues, rules, extensions and out of the switch's ports.
//
// Pacing: original timing (default; gaps longer than --max-gap are cut to it, backwards
// steps replay at once — both counted), --speed X (original timing X times faster), --pps N,
// --mbps N, or --topspeed; --loop N repeats the files. Records of other link types are skipped
// (counted, one warning per file). A corrupt file stops at the bad record: the valid prefix is
// replayed, the error is printed with its byte offset, and the exit code is 1.
// Output: a summary (or one JSON object with --json) — packets, bytes, flows (bidirectional
// 5-tuples, src/capture/flow-count.ts), drops, Mpps/Gbps, per-port and per-queue counters,
// flow-cache hit rate; --out DIR writes what each port sends to DIR/<port>.pcapng.

import { resolve } from 'node:path';
import { CaptureError, CaptureReader, LINKTYPE_ETHERNET } from '../capture/capture-reader.js';
import { FlowCounter } from '../capture/flow-count.js';
import { Dataplane, DataplaneStats } from '../datapath/dataplane.js';
import { buildDataplane } from './build.js';
import { Config } from './config.js';
import { portDrops } from './report.js';

export interface ReplayOptions {
  files: string[];
  port?: string;
  pacing: { kind: 'original'; speed: number } | { kind: 'pps'; pps: number } | { kind: 'mbps'; mbps: number } | { kind: 'topspeed' };
  loop: number;
  /** Stop after this many seconds (0: when the files end). */
  durationSeconds: number;
  maxGapSeconds: number;
  out?: string;
  json: boolean;
  quiet: boolean;
  baseDir?: string;
}

export interface ReplaySummary {
  packets: number; bytes: number; flows: number; drops: number; seconds: number; mpps: number; gbps: number;
  skipped: { nonEthernet: number; oversize: number };
  timestamps: { backwards: number; gapsCut: number; badFractions: number };
  errors: { file: string; offset: number; message: string; truncated: boolean }[];
  flowCacheHitRate: number;
  ports: { name: string; rx: number; tx: number; drops: number }[];
  queues: { queue: number; packets: number }[];
  stats: DataplaneStats;
}


export async function replay(c: Config, o: ReplayOptions): Promise<number> {
  const config: Config = structuredClone(c);
  if (o.out) config.extensions = [...config.extensions, { module: 'capture', enabled: true, failMode: 'open', config: { name: 'replay-out', directory: resolve(o.out), direction: 'sent' } }];
  const warn = (m: string) => { if (!o.quiet || o.json) process.stderr.write(`sluice replay: ${m}\n`); };
  const dp: Dataplane = buildDataplane(config, { baseDir: o.baseDir, onLog: (m) => { if (!o.quiet) process.stderr.write(`sluice: ${m}\n`); } });
  const fixedPort = o.port === undefined ? -1 : config.ports.findIndex((p) => p.name === o.port);
  if (o.port !== undefined && fixedPort < 0) { process.stderr.write(`sluice replay: --port: unknown port ${JSON.stringify(o.port)} (ports: ${config.ports.map((p) => p.name).join(', ')})\n`); return 2; }
  try { await dp.start(); } catch (e) { process.stderr.write(`sluice replay: ${(e as Error).message}\n`); await dp.stop(100).catch(() => undefined); return 1; }

  const flows = new FlowCounter();
  const sum = { packets: 0, bytes: 0, nonEthernet: 0, oversize: 0, backwards: 0, gapsCut: 0, badFractions: 0 };
  const errors: ReplaySummary['errors'] = [];
  const nports = config.ports.length;
  // Frames in the switch at once: few enough that one receive or transmit ring could hold them
  // all (RSS may send everything to one queue), so replay never overruns the switch it feeds.
  const maxInFlight = Math.max(16, Math.min(config.nic.ringSize, config.switch.txRingSize, config.pool.slots) - 64);
  const lowWater = config.pool.slots - maxInFlight;
  const tty = process.stderr.isTTY && !o.quiet && !o.json;
  const t0 = performance.now();
  let lastDraw = t0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const yieldLoop = () => new Promise((r) => setImmediate(r));

  // Fixed-rate pacing runs on one schedule over all files and loops.
  let sent = 0, sentBytes = 0;
  const endAt = o.durationSeconds > 0 ? t0 + o.durationSeconds * 1000 : Infinity;
  let timeUp = false;
  for (let round = 0; round < o.loop && !timeUp; round++) {
    for (const file of o.files) {
      if (timeUp) break;
      let r: CaptureReader;
      try { r = CaptureReader.open(file); } catch (e) {
        const msg = e instanceof CaptureError ? e.message : (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
        if (round === 0) { errors.push({ file, offset: e instanceof CaptureError ? e.offset : 0, message: msg, truncated: e instanceof CaptureError && e.truncated }); warn(`${file}: ${msg}`); }
        continue;
      }
      let warned = false;
      let capStart = -1, lastCap = -1, shift = 0;
      const fileStart = performance.now();
      try {
        for (;;) {
          if (!r.next()) break;
          if (r.linkType !== LINKTYPE_ETHERNET) {
            sum.nonEthernet++;
            if (!warned) { warned = true; warn(`${file}: skipping records of link type ${r.linkType} (interface ${r.iface}); only Ethernet (1) is replayed`); }
            continue;
          }
          // Pacing: when may this record go?
          if (o.pacing.kind !== 'topspeed') {
            let due: number; // ms after wallStart
            if (o.pacing.kind === 'original') {
              let t = r.tsSec * 1000 + r.tsNsec / 1e6 + shift;
              if (capStart < 0) { capStart = t; lastCap = t; }
              if (t < lastCap) { sum.backwards++; shift += lastCap - t; t = lastCap; }
              else if (t - lastCap > o.maxGapSeconds * 1000) { sum.gapsCut++; shift -= t - lastCap - o.maxGapSeconds * 1000; t = lastCap + o.maxGapSeconds * 1000; }
              lastCap = t;
              due = fileStart - t0 + (t - capStart) / o.pacing.speed;
            } else if (o.pacing.kind === 'pps') due = (sent * 1000) / o.pacing.pps;
            else due = (sentBytes * 8) / (o.pacing.mbps * 1000);
            const wait = t0 + due - performance.now();
            if (wait > 1) await sleep(wait);
          }
          if ((sent & 63) === 0 && endAt !== Infinity && performance.now() >= endAt) { timeUp = true; break; }
          const port = fixedPort >= 0 ? fixedPort : r.iface % nports;
          while (dp.poolFree < lowWater) await yieldLoop();
          if (!dp.inject(port, r.data, r.off, r.caplen)) {
            if (r.caplen > config.pool.slotSize - 128) sum.oversize++;
            else { await yieldLoop(); if (!dp.inject(port, r.data, r.off, r.caplen)) sum.oversize++; }
          }
          flows.addFrame(r.data, r.off, r.caplen);
          sum.packets++; sent++;
          sum.bytes += r.caplen; sentBytes += r.caplen;
          if ((sum.packets & 255) === 0) {
            await yieldLoop();
            const now = performance.now();
            if (tty && now - t0 > 1000 && now - lastDraw > 200) { lastDraw = now; process.stderr.write(`\r  ${file}: ${sum.packets} packets, ${((sum.packets / (now - t0)) / 1000).toFixed(3)} Mpps   `); }
          }
        }
      } catch (e) {
        if (!(e instanceof CaptureError)) throw e;
        if (round === 0) { errors.push({ file, offset: e.offset, message: e.message, truncated: e.truncated }); warn(`${file}: ${e.message}${e.truncated ? ' (the file is cut short; the records before it were replayed)' : ' (replay of this file stopped there)'}`); }
      } finally {
        sum.badFractions += round === 0 ? r.badTimestamps : 0;
        r.close();
      }
    }
  }
  // Let the switch deliver what is in flight, then stop it.
  const deadline = Date.now() + 5000;
  while (dp.poolFree < config.pool.slots && Date.now() < deadline) { dp.poll(); await sleep(1); }
  const seconds = (performance.now() - t0) / 1000;
  if (tty) process.stderr.write('\r\x1b[K');
  await dp.stop();
  const st = dp.stats();
  const drops = st.ports.reduce((a, p) => a + portDrops(p.counters), 0) + st.queues.reduce((a, q) => a + q.counters.dropRingFull, 0);
  const s: ReplaySummary = {
    packets: sum.packets, bytes: sum.bytes, flows: flows.count, drops, seconds,
    mpps: sum.packets / seconds / 1e6, gbps: (sum.bytes * 8) / seconds / 1e9,
    skipped: { nonEthernet: sum.nonEthernet, oversize: sum.oversize },
    timestamps: { backwards: sum.backwards, gapsCut: sum.gapsCut, badFractions: sum.badFractions },
    errors, flowCacheHitRate: st.flows.hitRate,
    ports: st.ports.map((p) => ({ name: p.name, rx: p.counters.rxPackets, tx: p.counters.txPackets, drops: portDrops(p.counters) })),
    queues: st.queues.map((q) => ({ queue: q.queue, packets: q.counters.packets })),
    stats: st,
  };
  if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
  else if (!o.quiet) process.stdout.write(summaryText(s) + '\n');
  return errors.length ? 1 : 0;
}

function summaryText(s: ReplaySummary): string {
  const lines = [
    `replayed ${s.packets} packets, ${s.bytes} bytes, ${s.flows} flows in ${s.seconds.toFixed(3)} s: ${s.mpps.toFixed(3)} Mpps, ${s.gbps.toFixed(3)} Gbps`,
    `  drops: ${s.drops}; skipped: ${s.skipped.nonEthernet} non-Ethernet, ${s.skipped.oversize} larger than a pool slot; flow cache hit rate ${(s.flowCacheHitRate * 100).toFixed(1)}%`,
    `  timestamps: ${s.timestamps.backwards} went backwards, ${s.timestamps.gapsCut} gaps cut to --max-gap, ${s.timestamps.badFractions} out-of-range fractions`,
    ...s.ports.map((p) => `  ${p.name.padEnd(8)} in ${p.rx}  out ${p.tx}  drops ${p.drops}`),
    `  queues: ${s.queues.map((q) => `q${q.queue} ${q.packets}`).join('  ')}`,
    ...s.errors.map((e) => `  error: ${e.file}: ${e.message}`),
  ];
  return lines.join('\n');
}
