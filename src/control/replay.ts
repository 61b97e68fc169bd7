// `sluice replay FILE...`: push captured frames through a switch built from a configuration,
// as live traffic, through the NIC queues, rules, extensions and out of the switch's ports.
// Which port a record enters (--map):
//   conversation (default) — a port other than the one its destination was last seen on, so
//     the two sides of every conversation sit on different ports and everything is forwarded
//     (a capture taken on one link, replayed into one port, would have both ends of each
//     conversation learned there and dropped as dropSameSegment); as tcpprep splits client
//     and server, but decided per frame by the addresses the switch learns;
//   interface — capture interface i enters port i modulo the port count;
//   --port NAME — every record enters that port.
// Without --config the switch is REPLAY_DEFAULT: two memory ports trunking every VLAN (the
// embedded `run` default sends to UDP peers that replay does not start).
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
import { ConversationSplit } from '../capture/conversation-split.js';
import { Dataplane, DataplaneStats } from '../datapath/dataplane.js';
import { HEADROOM } from '../nic/pool.js';
import { buildDataplane } from './build.js';
import { Config } from './config.js';
import { dropReasons, portDrops } from './report.js';
import { onStopSignals } from './stop-signals.js';
import { fileProblem } from '../quote.js';

export interface ReplayOptions {
  files: string[];
  port?: string;
  /** How records are assigned to ports when no --port is given (see the header). */
  map: 'conversation' | 'interface';
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
  skipped: { nonEthernet: number; oversize: number; poolEmpty: number };
  /** Frames whose source and destination MAC are equal (loopback captures): no learning switch forwards them. */
  sameMac: number;
  timestamps: { backwards: number; gapsCut: number; badFractions: number };
  errors: { file: string; offset: number; message: string; truncated: boolean }[];
  flowCacheHitRate: number;
  flowCacheLookups: number;
  /** Drops by counter name, summed over ports and queues (non-zero only). */
  dropsByReason: Record<string, number>;
  ports: { name: string; rx: number; tx: number; drops: number }[];
  queues: { queue: number; packets: number }[];
  stats: DataplaneStats;
}


// What ReplayPump.pump() stopped for.
const PUMP_MORE = 0, PUMP_EOF = 1, PUMP_WAIT = 2, PUMP_POOL = 3, PUMP_TIME_UP = 4, PUMP_NON_ETHERNET = 5;
/** Times one record may find the pool empty (the caller yields between tries) before it is counted as not taken. */
const POOL_TRIES = 100;

// One replay's records, pushed into the switch synchronously, up to a chunk at a time, so the
// per-record loop is plain compiled code; the async driver above awaits between chunks (the
// event loop runs the switch's transmit side, timers and pacing sleeps there). A record that
// must wait (pacing, a full pool) stays pending and goes first on the next call.
class ReplayPump {
  readonly sum = { packets: 0, bytes: 0, nonEthernet: 0, oversize: 0, poolEmpty: 0, backwards: 0, gapsCut: 0, badFractions: 0, sameMac: 0 };
  readonly t0 = performance.now();
  /** With PUMP_WAIT: how long to sleep, in milliseconds. */
  waitMs = 0;
  timeUp = false;
  /** Set by Ctrl-C: stop at the next record and summarise. */
  stopped = false;
  /** When the pending record is due (performance.now() ms; 0: now). */
  private dueAt = 0;
  private r: CaptureReader | null = null;
  private pending = false;
  private tries = 0;
  private warned = false;
  private capStart = -1;
  private lastCap = -1;
  private shift = 0;
  private fileStart = 0;
  private readonly endAt: number;
  private readonly split: ConversationSplit;

  constructor(private readonly dp: Dataplane, private readonly flows: FlowCounter, private readonly o: ReplayOptions,
    private readonly fixedPort: number, private readonly nports: number, private readonly lowWater: number, private readonly maxFrame: number) {
    this.endAt = o.durationSeconds > 0 ? this.t0 + o.durationSeconds * 1000 : Infinity;
    this.split = new ConversationSplit(nports);
  }

  startFile(r: CaptureReader): void {
    this.r = r; this.pending = false; this.warned = false;
    this.capStart = -1; this.lastCap = -1; this.shift = 0; this.fileStart = performance.now();
  }

  /** Push up to `max` records; returns why it stopped (a PUMP_ code). Throws CaptureError. */
  pump(max: number): number {
    const r = this.r!, sum = this.sum, o = this.o, dp = this.dp;
    for (let done = 0; done < max; done++) {
      if (!this.pending) {
        if (!r.next()) return PUMP_EOF;
        if (r.linkType !== LINKTYPE_ETHERNET) {
          sum.nonEthernet++;
          if (!this.warned) { this.warned = true; return PUMP_NON_ETHERNET; }
          continue;
        }
        this.pending = true;
        this.tries = 0;
        // Pacing: when may this record go?
        this.dueAt = o.pacing.kind === 'topspeed' ? 0 : this.t0 + this.due(r);
      }
      if (this.dueAt !== 0) {
        // Wait for it (the caller sleeps at most a slice and calls again), never past --duration.
        const now = performance.now();
        if (this.dueAt - now > 1) {
          if (now >= this.endAt || this.stopped) { this.timeUp = true; return PUMP_TIME_UP; }
          this.waitMs = Math.min(this.dueAt, this.endAt) - now;
          return PUMP_WAIT;
        }
        this.dueAt = 0;
      }
      // --duration: checked before every paced record, every 64th at top speed (a clock read
      // costs as much as a small record).
      if (this.endAt !== Infinity && (o.pacing.kind !== 'topspeed' || (sum.packets & 63) === 0) && performance.now() >= this.endAt) { this.timeUp = true; return PUMP_TIME_UP; }
      if (this.stopped) { this.timeUp = true; return PUMP_TIME_UP; }
      if (dp.poolFree < this.lowWater) return PUMP_POOL;
      const port = this.fixedPort >= 0 ? this.fixedPort : this.o.map === 'conversation' ? this.split.portFor(r.data, r.off, r.caplen) : r.iface % this.nports;
      if (!dp.inject(port, r.data, r.off, r.caplen)) {
        if (r.caplen > this.maxFrame) sum.oversize++; // counted by the switch as rxDropOversize too
        else if (++this.tries < POOL_TRIES) return PUMP_POOL;
        else sum.poolEmpty++;
      }
      this.pending = false;
      if (r.caplen >= 12 && sameMac(r.data, r.off)) sum.sameMac++;
      this.flows.addFrame(r.data, r.off, r.caplen);
      sum.packets++;
      sum.bytes += r.caplen;
    }
    return PUMP_MORE;
  }

  // When the current record is due, in ms after t0 (pacing other than --topspeed). Fixed-rate
  // pacing runs on one schedule over all files and loops: the packets and bytes sent so far.
  private due(r: CaptureReader): number {
    const o = this.o, sum = this.sum;
    if (o.pacing.kind === 'original') {
      let t = r.tsSec * 1000 + r.tsNsec / 1e6 + this.shift;
      if (this.capStart < 0) { this.capStart = t; this.lastCap = t; }
      if (t < this.lastCap) { sum.backwards++; this.shift += this.lastCap - t; t = this.lastCap; }
      else if (t - this.lastCap > o.maxGapSeconds * 1000) { sum.gapsCut++; this.shift -= t - this.lastCap - o.maxGapSeconds * 1000; t = this.lastCap + o.maxGapSeconds * 1000; }
      this.lastCap = t;
      return this.fileStart - this.t0 + (t - this.capStart) / o.pacing.speed;
    }
    if (o.pacing.kind === 'pps') return (sum.packets * 1000) / o.pacing.pps;
    if (o.pacing.kind === 'mbps') return (sum.bytes * 8) / (o.pacing.mbps * 1000);
    return 0;
  }
}

export async function replay(c: Config, o: ReplayOptions): Promise<number> {
  // Every file must open before the switch starts: a missing one is one clear line, not an
  // all-zero summary.
  let missing = 0;
  for (const f of o.files) {
    try { CaptureReader.open(f).close(); } catch (e) {
      if (e instanceof CaptureError) continue; // corrupt: replayed up to the bad record below
      process.stderr.write(`sluice replay: ${f}: ${fileProblem(e)}\n`);
      missing++;
    }
  }
  if (missing) return 1;
  const config: Config = structuredClone(c);
  if (o.out) config.extensions = [...config.extensions, { module: 'capture', enabled: true, failMode: 'open', config: { name: 'replay-out', directory: resolve(o.out), direction: 'sent' } }];
  const warn = (m: string) => { if (!o.quiet || o.json) process.stderr.write(`sluice replay: ${m}\n`); };
  const dp: Dataplane = buildDataplane(config, { baseDir: o.baseDir, onLog: (m) => { if (!o.quiet) process.stderr.write(`sluice: ${m}\n`); } });
  const fixedPort = o.port === undefined ? -1 : config.ports.findIndex((p) => p.name === o.port);
  if (o.port !== undefined && fixedPort < 0) { process.stderr.write(`sluice replay: --port: unknown port ${JSON.stringify(o.port)} (ports: ${config.ports.map((p) => p.name).join(', ')})\n`); return 2; }
  try { await dp.start(); } catch (e) { process.stderr.write(`sluice replay: ${(e as Error).message}\n`); await dp.stop(100).catch(() => undefined); return 1; }

  const flows = new FlowCounter();
  const errors: ReplaySummary['errors'] = [];
  // Frames in the switch at once: few enough that one receive or transmit ring could hold them
  // all (RSS may send everything to one queue), so replay never overruns the switch it feeds.
  const maxInFlight = Math.max(16, Math.min(config.nic.ringSize, config.switch.txRingSize, config.pool.slots) - 64);
  const run = new ReplayPump(dp, flows, o, fixedPort, config.ports.length, config.pool.slots - maxInFlight, config.pool.slotSize - HEADROOM);
  const sum = run.sum;
  const tty = process.stderr.isTTY && !o.quiet && !o.json;
  const t0 = run.t0;
  let lastDraw = t0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const yieldLoop = () => new Promise((r) => setImmediate(r));
  // Ctrl-C: stop replaying, deliver what is in flight, print the summary (as tcpreplay does);
  // a second Ctrl-C ends at once.
  const signalsOff = onStopSignals(() => { run.stopped = true; });
  const progress = (file: string) => {
    const now = performance.now();
    if (!tty || now - t0 < 1000 || now - lastDraw < 200) return;
    lastDraw = now;
    process.stderr.write(`\r\x1b[K  ${file}: ${sum.packets} packets, ${((sum.packets / (now - t0)) / 1000).toFixed(3)} Mpps, ${((now - t0) / 1000).toFixed(1)} s${o.durationSeconds ? ` of ${o.durationSeconds}` : ''}`);
  };

  for (let round = 0; round < o.loop && !run.timeUp; round++) {
    for (const file of o.files) {
      if (run.timeUp) break;
      let r: CaptureReader;
      try { r = CaptureReader.open(file); } catch (e) {
        const msg = e instanceof CaptureError ? e.message : fileProblem(e);
        if (round === 0) { errors.push({ file, offset: e instanceof CaptureError ? e.offset : 0, message: msg, truncated: e instanceof CaptureError && e.truncated }); warn(`${file}: ${msg}`); }
        continue;
      }
      run.startFile(r);
      try {
        for (;;) {
          const st = run.pump(256);
          if (st === PUMP_EOF || st === PUMP_TIME_UP) break;
          if (st === PUMP_NON_ETHERNET) { warn(`${file}: skipping records of link type ${r.linkType} (interface ${r.iface}); only Ethernet (1) is replayed`); continue; }
          if (st === PUMP_WAIT) { progress(file); await sleep(Math.min(run.waitMs, 200)); continue; }
          await yieldLoop(); // PUMP_MORE, PUMP_POOL: let the switch drain
          progress(file);
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
  signalsOff();
  const st = dp.stats();
  const dropsByReason = dropReasons(st);
  const drops = Object.values(dropsByReason).reduce((a, b) => a + b, 0);
  const s: ReplaySummary = {
    packets: sum.packets, bytes: sum.bytes, flows: flows.count, drops, seconds,
    mpps: sum.packets / seconds / 1e6, gbps: (sum.bytes * 8) / seconds / 1e9,
    skipped: { nonEthernet: sum.nonEthernet, oversize: sum.oversize, poolEmpty: sum.poolEmpty }, sameMac: sum.sameMac,
    timestamps: { backwards: sum.backwards, gapsCut: sum.gapsCut, badFractions: sum.badFractions },
    errors, flowCacheHitRate: st.flows.hitRate, flowCacheLookups: st.flows.cache.hits + st.flows.cache.misses, dropsByReason,
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
    `  drops: ${s.drops}${s.drops ? ` (${Object.entries(s.dropsByReason).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; skipped: ${s.skipped.nonEthernet} non-Ethernet, ${s.skipped.oversize} larger than a pool slot${s.skipped.poolEmpty ? `, ${s.skipped.poolEmpty} with no pool slot free` : ''}; ${s.flowCacheLookups === 0 ? 'flow cache not in the path (no rules, no cacheable extension)' : `flow cache hit rate ${(s.flowCacheHitRate * 100).toFixed(1)}%`}`,
    ...(s.sameMac ? [`  ${s.sameMac} frames have equal source and destination MAC (a loopback capture): a learning switch drops them (dropSameSegment)`] : []),
    `  timestamps: ${s.timestamps.backwards} went backwards, ${s.timestamps.gapsCut} gaps cut to --max-gap, ${s.timestamps.badFractions} out-of-range fractions`,
    ...s.ports.map((p) => `  ${p.name.padEnd(8)} in ${p.rx}  out ${p.tx}  drops ${p.drops}`),
    `  queues: ${s.queues.map((q) => `q${q.queue} ${q.packets}`).join('  ')}`,
    ...s.errors.map((e) => `  error: ${e.file}: ${e.message}`),
  ];
  return lines.join('\n');
}


// Source MAC equals destination MAC (bytes 0-5 and 6-11).
function sameMac(d: Uint8Array, o: number): boolean {
  for (let i = 0; i < 6; i++) if (d[o + i] !== d[o + 6 + i]) return false;
  return true;
}
