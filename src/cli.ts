#!/usr/bin/env node
// sluice command line: `sluice run`, `sluice rules` (and `sluice --help`). Exit codes: 0 done, 1 runtime
// failure, 2 bad usage or configuration.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { checkConfig, CONFIG_SCHEMA, Config, ConfigFileError, defaultConfig, loadConfig, REPLAY_DEFAULT_DOC } from './control/config.js';
import { run } from './control/run.js';
import { rulesCommand } from './control/rules-command.js';
import { extCommand } from './control/ext-command.js';
import { qosCommand } from './control/qos-command.js';
import { queuesCommand } from './control/queues-command.js';
import { replay, ReplayOptions } from './control/replay.js';
import { bench, BenchOptions, benchText } from './control/bench.js';
import { ConfigError, describe } from './schema.js';

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
  qos        rate limits, guarantees, congestion and notices of a running switch
  queues     receive queues, their threads, steering filters and the heaviest flows

  sluice <command> --help   options of a command
  sluice run --help-config  every configuration field, its type, default and meaning
  sluice --version          the version

Options take a value as "--name value" or "--name=value".
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
  --stats-interval S     live rates every S seconds, redrawn in place on a terminal (0: off;
                         nothing is drawn when standard error is not a terminal)
  --json                 on exit, print the final counters as one JSON object: standard output
                         carries only that JSON (the banner goes to standard error)
  --quiet                no banner and no live rates
  -h, --help             this text

Stop with Ctrl-C (SIGINT) or SIGTERM: in-flight frames are delivered, the final counters
are printed and the exit code is 0 (1 if a datapath thread failed). A second Ctrl-C ends it
at once, still printing the counters.
`;

function fail(msg: string): number {
  process.stderr.write(`sluice: ${msg}\n`);
  return 2;
}

function intArg(name: string, v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v)) throw new ConfigError(name, `expects a whole number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return Number(v);
}

/** Exit code 2 with one message for a configuration or usage problem; anything else is rethrown. */
function configFailure(e: unknown, file: string | undefined): number {
  if (e instanceof ConfigFileError) return fail(e.message);
  if (e instanceof ConfigError) return fail(e.path === '' && !file ? e.message.replace(/^\(document\): /, '') : `invalid configuration${file ? ` in ${file}` : ''}: ${e.message}`);
  throw e;
}

/** node:util parseArgs, strict, with its errors turned into one usage line (exit 2). */
function parse<O extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: O, positionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: positionals });
  } catch (e) {
    throw new ConfigError('', `${(e as Error).message.split('\n')[0].replace(/\. To specify.*$/, '')} (see sluice ${command} --help)`);
  }
}

async function runCommand(args: string[]): Promise<number> {
  let file: string | undefined;
  try {
    const { values: v } = parse('run', args, {
      help: { type: 'boolean', short: 'h' }, 'help-config': { type: 'boolean' }, config: { type: 'string' }, 'print-config': { type: 'boolean' },
      json: { type: 'boolean' }, quiet: { type: 'boolean' }, workers: { type: 'string' }, queues: { type: 'string' }, 'stats-interval': { type: 'string' },
    });
    if (v.help) { process.stdout.write(RUN_HELP); return 0; }
    if (v['help-config']) { process.stdout.write(describe(CONFIG_SCHEMA).join('\n') + '\n'); return 0; }
    file = v.config;
    let c: Config = file ? loadConfig(file) : defaultConfig();
    if (v.workers !== undefined || v.queues !== undefined || v['stats-interval'] !== undefined) {
      const doc: Config = structuredClone(c);
      if (v.workers !== undefined) doc.workers = intArg('--workers', v.workers);
      if (v.queues !== undefined) doc.nic.queues = intArg('--queues', v.queues);
      if (v['stats-interval'] !== undefined) doc.stats.intervalSeconds = intArg('--stats-interval', v['stats-interval']);
      c = checkConfig(doc);
    }
    if (v['print-config']) { process.stdout.write(JSON.stringify(c, null, 2) + '\n'); return 0; }
    return await run(c, { json: !!v.json, quiet: !!v.quiet, baseDir: file ? dirname(resolve(file)) : process.cwd() });
  } catch (e) {
    return configFailure(e, file);
  }
}

const REPLAY_HELP = `usage: sluice replay FILE... [--config FILE] [options]

Pushes the Ethernet records of classic pcap or pcapng captures through a switch as if they
arrived on its ports. They pass the NIC queues, rules and extensions and leave through the
switch's ports. Without --config the switch has two memory ports, p1 and p2, trunking every
VLAN (native VLAN 1); every parsable frame comes out.

pacing (one of; default: original timing):
  --speed X        original timing, X times faster (0.5 = half speed)
  --pps N          N packets per second
  --mbps N         N megabits per second (captured bytes)
  --topspeed       as fast as the switch takes them (give one pacing option at most)
  --max-gap S      original timing: cut longer gaps to S seconds (default 1); gaps cut and
                   timestamps that go backwards are counted in the summary
ports:
  --map conversation  (default) a record enters a port other than the one its destination
                      was last seen on, so the two sides of every conversation are on
                      different ports and the switch forwards between them
  --map interface     the record of capture interface i enters port i (modulo the ports)
  --port NAME         every record enters this port
options:
  --loop N         replay the files N times (default 1; 0: until --duration or Ctrl-C)
  --duration S     stop after S seconds
  --out DIR        write what each port sends to DIR/<port>.pcapng
  --workers N      override "workers"
  --json           print one JSON object: packets, bytes, flows, drops, mpps, gbps, ...
  --quiet          no summary (exit code only)

Progress is drawn on standard error when it is a terminal. Ctrl-C stops the replay and
prints the summary. Compressed captures (.gz) are refused by name: decompress them first.
Exit codes: 0 replayed; 1 a file was missing or corrupt (the valid records before the
error were replayed; the message names the byte offset); 2 bad usage or configuration.
`;

async function replayCommand(args: string[]): Promise<number> {
  const o: ReplayOptions = { files: [], map: 'conversation', pacing: { kind: 'original', speed: 1 }, loop: 1, durationSeconds: 0, maxGapSeconds: 1, json: false, quiet: false };
  let file: string | undefined;
  const num = (name: string, v: string | undefined, int = false, zero = false): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (int && !Number.isInteger(n))) throw new ConfigError(name, `expects a ${zero ? 'non-negative' : 'positive'} ${int ? 'whole ' : ''}number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
    return n;
  };
  try {
    const { values: v, positionals } = parse('replay', args, {
      help: { type: 'boolean', short: 'h' }, config: { type: 'string' }, port: { type: 'string' }, map: { type: 'string' },
      topspeed: { type: 'boolean' }, speed: { type: 'string' }, pps: { type: 'string' }, mbps: { type: 'string' }, 'max-gap': { type: 'string' },
      loop: { type: 'string' }, duration: { type: 'string' }, out: { type: 'string' }, workers: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' },
    }, true);
    if (v.help) { process.stdout.write(REPLAY_HELP); return 0; }
    const pacing = (['topspeed', 'speed', 'pps', 'mbps'] as const).filter((k) => v[k] !== undefined);
    if (pacing.length > 1) return fail(`give one pacing option, not ${pacing.map((k) => `--${k}`).join(' and ')} (see sluice replay --help)`);
    if (v.topspeed) o.pacing = { kind: 'topspeed' };
    if (v.speed !== undefined) o.pacing = { kind: 'original', speed: num('--speed', v.speed) };
    if (v.pps !== undefined) o.pacing = { kind: 'pps', pps: num('--pps', v.pps) };
    if (v.mbps !== undefined) o.pacing = { kind: 'mbps', mbps: num('--mbps', v.mbps) };
    if (v['max-gap'] !== undefined) o.maxGapSeconds = num('--max-gap', v['max-gap']);
    if (v.loop !== undefined) { o.loop = num('--loop', v.loop, true, true); if (o.loop === 0) o.loop = Infinity; }
    if (v.duration !== undefined) o.durationSeconds = num('--duration', v.duration);
    if (v.map !== undefined) { if (v.map !== 'conversation' && v.map !== 'interface') return fail(`--map expects conversation or interface, got ${JSON.stringify(v.map)}`); o.map = v.map; }
    if (v.port !== undefined && v.map !== undefined) return fail('give --port or --map, not both');
    o.port = v.port; o.out = v.out; o.json = !!v.json; o.quiet = !!v.quiet;
    o.files = positionals;
    file = v.config;
    if (o.files.length === 0) return fail('which capture files? (see sluice replay --help)');
    let c: Config = file ? loadConfig(file) : checkConfig(structuredClone(REPLAY_DEFAULT_DOC));
    if (v.workers !== undefined) { const doc: Config = structuredClone(c); doc.workers = intArg('--workers', v.workers); c = checkConfig(doc); }
    c = { ...c, stats: { intervalSeconds: 0 } };
    o.baseDir = file ? dirname(resolve(file)) : process.cwd();
    return await replay(c, o);
  } catch (e) {
    return configFailure(e, file);
  }
}

const BENCH_HELP = `usage: sluice bench [options]

Measures the whole switch in memory — NIC (parse, RSS, queues), the pipeline on worker threads
or the main thread, rules, extensions, transmit — with frames entering p1 for a MAC learned on
p2, pushed as fast as the switch takes them.

options:
  --flows N          distinct flows (default 1024)
  --size S[,S...]    frame sizes in bytes, used in turn (default 64; e.g. 64,576,1518)
  --pcap FILE        traffic from a capture loaded into memory instead (Ethernet records of at
                     most 1920 bytes, entering p1 or p2 as replay's conversation split says)
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
    const { values: v } = parse('bench', args, {
      help: { type: 'boolean', short: 'h' }, flows: { type: 'string' }, size: { type: 'string' }, pcap: { type: 'string' }, rules: { type: 'string' },
      extensions: { type: 'string' }, cacheable: { type: 'boolean' }, workers: { type: 'string' }, queues: { type: 'string' }, seconds: { type: 'string' }, json: { type: 'boolean' },
    });
    if (v.help) { process.stdout.write(BENCH_HELP); return 0; }
    if (v.flows !== undefined) o.flows = intArg('--flows', v.flows);
    if (v.size !== undefined) {
      const sizes = v.size.split(',').map(Number);
      if (!sizes.length || sizes.some((x) => !Number.isInteger(x) || x < 60 || x > 1518)) return fail(`--size expects frame sizes 60..1518, got ${JSON.stringify(v.size)}`);
      o.sizes = sizes;
    }
    o.pcap = v.pcap;
    if (v.rules !== undefined) o.rules = intArg('--rules', v.rules);
    if (v.extensions !== undefined) o.extensions = intArg('--extensions', v.extensions);
    o.cacheable = !!v.cacheable;
    if (v.workers !== undefined) o.workers = intArg('--workers', v.workers);
    if (v.queues !== undefined) o.queues = intArg('--queues', v.queues);
    if (v.seconds !== undefined) o.seconds = intArg('--seconds', v.seconds);
    o.json = !!v.json;
    if (o.flows < 1 || o.queues < 1 || o.queues > 64 || o.workers > o.queues || o.seconds < 1 || o.extensions > 64) return fail('need --flows >= 1, --queues 1..64, --workers <= --queues, --seconds >= 1, --extensions <= 64');
    const r = await bench(o);
    process.stdout.write((o.json ? JSON.stringify(r) : benchText(r)) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message.replace(/^\(document\): /, ''));
    process.stderr.write(`sluice bench: ${(e as Error).message}\n`);
    return 1;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `sluice ${pkg.version} (node ${process.version})`;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') { process.stdout.write(HELP); return cmd === undefined ? 2 : 0; }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') { process.stdout.write(version() + '\n'); return 0; }
  if (cmd === 'run') return runCommand(rest);
  if (cmd === 'replay') return replayCommand(rest);
  if (cmd === 'bench') return benchCommand(rest);
  if (cmd === 'rules') return rulesCommand(rest);
  if (cmd === 'ext' || cmd === 'prop' || cmd === 'port') return extCommand(cmd, rest);
  if (cmd === 'qos') return qosCommand(rest);
  if (cmd === 'queues') return queuesCommand(rest);
  return fail(`unknown command "${cmd}" (see sluice --help)`);
}

// A reader that went away (a closed pipe) must not take the switch down with it.
process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code !== 'EPIPE') throw e; });

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`sluice: internal error: ${e?.stack ?? e}\n`); process.exitCode = 1; });
