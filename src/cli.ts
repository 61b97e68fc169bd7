#!/usr/bin/env node
// sluice command line: `sluice run`, `sluice rules` (and `sluice --help`). Exit codes: 0 done, 1 runtime
// failure, 2 bad usage or configuration.

import { dirname, resolve } from 'node:path';
import { checkConfig, CONFIG_SCHEMA, Config, defaultConfig, loadConfig } from './control/config.js';
import { run } from './control/run.js';
import { rulesCommand } from './control/rules-command.js';
import { extCommand } from './control/ext-command.js';
import { replay, ReplayOptions } from './control/replay.js';
import { bench, BenchOptions, benchText } from './control/bench.js';
import { ConfigError, describe } from './control/schema.js';

const HELP = `sluice — a userspace software NIC and virtual switch

usage: sluice <command> [options]

commands:
  run        run the switch (with no options: three UDP ports on 127.0.0.1)
  replay     push pcap/pcapng captures through a switch (paced, or --topspeed)
  bench      measure the whole switch in memory (synthetic traffic or a capture)
  rules      add, delete, list and count the rules of a running switch
  ext        list, enable, disable and reorder the extensions of a running switch
  prop       set or delete a switch or port property (extensions may veto)
  port       connect or disconnect a port's NIC

  sluice <command> --help   options of a command
  sluice run --help-config  every configuration field, its type, default and meaning
`;

const RUN_HELP = `usage: sluice run [--config FILE] [options]

Runs a learning L2 switch whose ports are UDP endpoints carrying one Ethernet frame per
datagram (the format of QEMU's -netdev dgram / -netdev socket,udp= backends). Frames are
spread over the NIC's receive queues by steering filters and RSS, and forwarded by worker
threads, through the programmed rules (config "rules", or \`sluice rules\` while it runs,
via the control API: a unix socket, see --help-config "control"). With no --config it runs
the embedded default:

  p1  listens on 127.0.0.1:40001, sends to 127.0.0.1:50001
  p2  listens on 127.0.0.1:40002, sends to 127.0.0.1:50002
  p3  listens on 127.0.0.1:40003, sends to 127.0.0.1:50003
  4 RX queues, 2 workers, all ports access ports in VLAN 1

so a peer of port pN binds 127.0.0.1:5000N and sends to 127.0.0.1:4000N.

options:
  --config FILE          JSON configuration (start from --print-config); errors name the field
  --print-config         print the effective configuration as JSON and exit
  --help-config          print the configuration reference and exit
  --workers N            override "workers" (0 = run the pipeline on the main thread)
  --queues N             override "nic.queues"
  --stats-interval S     live rate report every S seconds (0: off)
  --json                 on exit, print the final counters as one JSON object
  --quiet                no banner and no live rates
  -h, --help             this text

Stop with Ctrl-C (SIGINT) or SIGTERM: in-flight frames are delivered, the final counters
are printed and the exit code is 0.
`;

function fail(msg: string): number {
  process.stderr.write(`sluice: ${msg}\n`);
  return 2;
}

function intArg(name: string, v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new ConfigError(name, `expects a whole number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return Number(v);
}

async function runCommand(args: string[]): Promise<number> {
  let file: string | undefined;
  let print = false, json = false, quiet = false;
  const over: { workers?: number; queues?: number; interval?: number } = {};
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      switch (a) {
        case '-h': case '--help': process.stdout.write(RUN_HELP); return 0;
        case '--help-config': process.stdout.write(describe(CONFIG_SCHEMA).join('\n') + '\n'); return 0;
        case '--config': file = args[++i]; if (!file) return fail('--config needs a file'); break;
        case '--print-config': print = true; break;
        case '--json': json = true; break;
        case '--quiet': quiet = true; break;
        case '--workers': over.workers = intArg('--workers', args[++i]); break;
        case '--queues': over.queues = intArg('--queues', args[++i]); break;
        case '--stats-interval': over.interval = intArg('--stats-interval', args[++i]); break;
        default: return fail(`unknown option ${a} (see sluice run --help)`);
      }
    }
    let c: Config = file ? loadConfig(file) : defaultConfig();
    if (over.workers !== undefined || over.queues !== undefined || over.interval !== undefined) {
      const doc: Config = structuredClone(c);
      if (over.workers !== undefined) doc.workers = over.workers;
      if (over.queues !== undefined) doc.nic.queues = over.queues;
      if (over.interval !== undefined) doc.stats.intervalSeconds = over.interval;
      c = checkConfig(doc);
    }
    if (print) { process.stdout.write(JSON.stringify(c, null, 2) + '\n'); return 0; }
    return await run(c, { json, quiet, baseDir: file ? dirname(resolve(file)) : process.cwd() });
  } catch (e) {
    if (e instanceof ConfigError) return fail(`invalid configuration${file ? ` in ${file}` : ''}: ${e.message}`);
    throw e;
  }
}

const REPLAY_HELP = `usage: sluice replay FILE... [--config FILE] [options]

Pushes the Ethernet records of classic pcap or pcapng captures through a switch built from
the configuration (default: the embedded one) as if they arrived on its ports: record of
capture interface i enters port i (modulo the port count) unless --port is given. They pass
the NIC queues, rules and extensions and leave through the switch's ports.

pacing (one of; default: original timing):
  --speed X        original timing, X times faster (0.5 = half speed)
  --pps N          N packets per second
  --mbps N         N megabits per second (captured bytes)
  --topspeed       as fast as the switch takes them
  --max-gap S      original timing: cut longer gaps to S seconds (default 1); gaps cut and
                   timestamps that go backwards are counted in the summary
options:
  --loop N         replay the files N times (default 1)
  --duration S     stop after S seconds
  --port NAME      every record enters this port
  --out DIR        write what each port sends to DIR/<port>.pcapng
  --workers N      override "workers"
  --json           print one JSON object: packets, bytes, flows, drops, mpps, gbps, ...
  --quiet          no summary (exit code only)

Exit codes: 0 replayed; 1 a file was missing or corrupt (the valid records before the
error were replayed; the message names the byte offset); 2 bad usage or configuration.
`;

async function replayCommand(args: string[]): Promise<number> {
  const o: ReplayOptions = { files: [], pacing: { kind: 'original', speed: 1 }, loop: 1, durationSeconds: 0, maxGapSeconds: 1, json: false, quiet: false };
  let file: string | undefined;
  let workers: number | undefined;
  const num = (name: string, v: string | undefined, int = false): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0 || (int && !Number.isInteger(n))) throw new ConfigError(name, `expects a positive ${int ? 'whole ' : ''}number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return n;
  };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      switch (a) {
        case '-h': case '--help': process.stdout.write(REPLAY_HELP); return 0;
        case '--config': file = args[++i]; if (!file) return fail('--config needs a file'); break;
        case '--port': o.port = args[++i]; if (!o.port) return fail('--port needs a port name'); break;
        case '--topspeed': o.pacing = { kind: 'topspeed' }; break;
        case '--speed': o.pacing = { kind: 'original', speed: num('--speed', args[++i]) }; break;
        case '--pps': o.pacing = { kind: 'pps', pps: num('--pps', args[++i]) }; break;
        case '--mbps': o.pacing = { kind: 'mbps', mbps: num('--mbps', args[++i]) }; break;
        case '--max-gap': o.maxGapSeconds = num('--max-gap', args[++i]); break;
        case '--loop': o.loop = num('--loop', args[++i], true); break;
        case '--duration': o.durationSeconds = num('--duration', args[++i]); break;
        case '--out': o.out = args[++i]; if (!o.out) return fail('--out needs a directory'); break;
        case '--workers': workers = intArg('--workers', args[++i]); break;
        case '--json': o.json = true; break;
        case '--quiet': o.quiet = true; break;
        default:
          if (a.startsWith('-')) return fail(`unknown option ${a} (see sluice replay --help)`);
          o.files.push(a);
      }
    }
    if (o.files.length === 0) return fail('which capture files? (see sluice replay --help)');
    let c: Config = file ? loadConfig(file) : defaultConfig();
    if (workers !== undefined) { const doc: Config = structuredClone(c); doc.workers = workers; c = checkConfig(doc); }
    c = { ...c, stats: { intervalSeconds: 0 } };
    o.baseDir = file ? dirname(resolve(file)) : process.cwd();
    return await replay(c, o);
  } catch (e) {
    if (e instanceof ConfigError) return fail(`invalid configuration${file ? ` in ${file}` : ''}: ${e.message}`);
    throw e;
  }
}

const BENCH_HELP = `usage: sluice bench [options]

Measures the whole switch in memory — NIC (parse, RSS, queues), the pipeline on worker threads
or the main thread, rules, extensions, transmit — with frames entering p1 for a MAC learned on
p2, pushed as fast as the switch takes them.

options:
  --flows N          distinct flows (default 1024)
  --size S[,S...]    frame sizes in bytes, used in turn (default 64; e.g. 64,576,1518)
  --pcap FILE        traffic from a capture loaded into memory instead (Ethernet records)
  --rules N          install N rules the traffic must be classified against (default 0)
  --extensions N     bind N no-op filter extensions (default 0); --cacheable makes them flow-cacheable
  --workers N        worker threads (default 1; 0 runs the pipeline on the main thread)
  --queues N         receive queues (default 4)
  --seconds S        measuring time (default 3)
  --json             one JSON object: mpps, gbps, nsPerPacket, flowCacheHitRate, queueShare, ...
`;

async function benchCommand(args: string[]): Promise<number> {
  const o: BenchOptions = { flows: 1024, sizes: [64], rules: 0, extensions: 0, cacheable: false, workers: 1, queues: 4, seconds: 3, json: false };
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      switch (a) {
        case '-h': case '--help': process.stdout.write(BENCH_HELP); return 0;
        case '--flows': o.flows = intArg('--flows', args[++i]); break;
        case '--size': {
          const v = args[++i] ?? '';
          const sizes = v.split(',').map(Number);
          if (!sizes.length || sizes.some((x) => !Number.isInteger(x) || x < 60 || x > 1518)) return fail(`--size expects frame sizes 60..1518, got ${JSON.stringify(v)}`);
          o.sizes = sizes; break;
        }
        case '--pcap': o.pcap = args[++i]; if (!o.pcap) return fail('--pcap needs a file'); break;
        case '--rules': o.rules = intArg('--rules', args[++i]); break;
        case '--extensions': o.extensions = intArg('--extensions', args[++i]); break;
        case '--cacheable': o.cacheable = true; break;
        case '--workers': o.workers = intArg('--workers', args[++i]); break;
        case '--queues': o.queues = intArg('--queues', args[++i]); break;
        case '--seconds': o.seconds = intArg('--seconds', args[++i]); break;
        case '--json': o.json = true; break;
        default: return fail(`unknown option ${a} (see sluice bench --help)`);
      }
    }
    if (o.flows < 1 || o.queues < 1 || o.queues > 64 || o.workers > o.queues || o.seconds < 1 || o.extensions > 64) return fail('need --flows >= 1, --queues 1..64, --workers <= --queues, --seconds >= 1, --extensions <= 64');
    const r = await bench(o);
    process.stdout.write((o.json ? JSON.stringify(r) : benchText(r)) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    process.stderr.write(`sluice bench: ${(e as Error).message}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') { process.stdout.write(HELP); return cmd === undefined ? 2 : 0; }
  if (cmd === 'run') return runCommand(rest);
  if (cmd === 'replay') return replayCommand(rest);
  if (cmd === 'bench') return benchCommand(rest);
  if (cmd === 'rules') return rulesCommand(rest);
  if (cmd === 'ext' || cmd === 'prop' || cmd === 'port') return extCommand(cmd, rest);
  return fail(`unknown command "${cmd}" (see sluice --help)`);
}

// A reader that went away (a closed pipe) must not take the switch down with it.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`sluice: internal error: ${e?.stack ?? e}\n`); process.exitCode = 1; });
