// `sluice run`: start the switch from a configuration, tell the user how to attach, show
// live rates, and on SIGINT/SIGTERM drain and print the final counters (exit 0).

import { Dataplane, DataplaneStats } from '../datapath/dataplane.js';
import { endpointKind } from '../endpoints/kinds.js';
import { nativeMissing } from '../native/io.js';
import { buildDataplane } from './build.js';
import { ControlApi } from './control-api.js';
import { ControlAddress, parseControl } from './control-address.js';
import { Config, DEFAULT_CONTROL } from './config.js';
import { finalReport, rateLines } from './report.js';
import { onStopSignals } from './stop-signals.js';

export interface RunOptions { json: boolean; quiet: boolean; baseDir?: string }

// Each port and how a peer attaches to it, then a copy-paste peer for the first port of each
// kind that has one (endpoints/registry.ts).
function attachHelp(c: Config): string[] {
  const lines = c.ports.map((p) => `  ${p.name.padEnd(8)} ${endpointKind(p.endpoint.type).attach(p.endpoint)}`);
  const shown = new Set<string>();
  for (const p of c.ports) {
    const k = endpointKind(p.endpoint.type);
    if (shown.has(k.type) || !k.example) continue;
    shown.add(k.type);
    lines.push(...k.example(p.endpoint, p.name));
  }
  return lines;
}

/** Longest a graceful stop may take before the process ends anyway (counters still printed). */
const STOP_DEADLINE_MS = 10000;

export async function run(c: Config, o: RunOptions): Promise<number> {
  // Stop requests: SIGINT, SIGTERM or a failed datapath worker. The handlers stay installed:
  // a second signal (or a stop that overruns its deadline) ends the process at once, still
  // printing the counters as they stand.
  let requestStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => { requestStop = resolve; });
  let finalPrinted = false;
  const printFinal = () => {
    if (finalPrinted) return;
    finalPrinted = true;
    const s = dp.stats();
    process.stdout.write((o.json ? JSON.stringify(s) : finalReport(s)) + '\n');
  };
  const dp: Dataplane = buildDataplane(c, {
    baseDir: o.baseDir, onLog: (m) => process.stderr.write(`sluice: ${m}\n`),
    onFailure: (why) => { process.stderr.write(`sluice: ${why}; stopping\n`); requestStop(); },
  });
  const signalsOff = onStopSignals(requestStop, (sig) => { process.stderr.write(`sluice: ${sig} again: ending now\n`); printFinal(); });
  const api = c.control.listen === 'off' ? null : new ControlApi(dp, { maxBodyBytes: c.control.maxBodyBytes });
  try {
    await dp.start();
    if (api) await api.listen(parseControl(c.control.listen) as ControlAddress);
  } catch (e) {
    process.stderr.write(`sluice: ${(e as Error).message}\n`);
    await dp.stop(100).catch(() => undefined);
    signalsOff();
    return 1;
  }
  // Human output goes to standard error, so standard output carries only the final report
  // (or, with --json, only the JSON): `sluice run --json > counters.json` is valid JSON.
  const log = (s: string) => { if (!o.quiet) process.stderr.write(s + '\n'); };
  log(`sluice: switch up — ${c.ports.length} ports, ${c.nic.queues} RX queues, ${c.workers} worker${c.workers === 1 ? '' : 's'}, ${dp.rules.size} rule${dp.rules.size === 1 ? '' : 's'}, ${dp.extensions.count} extension${dp.extensions.count === 1 ? '' : 's'}`);
  for (const r of dp.extensionReport()) log(`  extension ${r.name} (${r.kind}${r.cacheable ? ', flow-cacheable' : ''}) ${r.enabled ? 'enabled' : 'disabled'}`);
  for (const l of attachHelp(c)) log(l);
  log(`  I/O: ${c.ports.map((p, i) => `${p.name} ${dp.endpoint(i).ioPath ?? p.endpoint.type}`).join(', ')}${nativeMissing ? ` (native module not used: ${nativeMissing})` : ''}`);
  c.ports.forEach((p, i) => {
    for (const note of endpointKind(p.endpoint.type).notes?.(dp.endpoint(i), p.endpoint) ?? []) log(`  note: ${p.name} ${note}`);
  });
  if (api) log(`control API on ${c.control.listen} — use it with sluice rules | ext | prop | port${c.control.listen === DEFAULT_CONTROL ? '' : ` --control ${c.control.listen}`}`);
  log('Ctrl-C stops and prints the final counters.');

  // Live rates every interval, redrawn in place on a terminal; nothing when standard error is
  // not one (a log file would fill with identical lines).
  let prev: DataplaneStats = dp.stats();
  let prevT = performance.now();
  let ticks = 0, drawn = 0;
  const live = !o.quiet && c.stats.intervalSeconds > 0 && process.stderr.isTTY === true;
  const timer = setInterval(() => {
    if (!live || ++ticks % c.stats.intervalSeconds !== 0) return;
    const cur = dp.stats();
    const t = performance.now();
    const lines = [`[${new Date().toISOString().slice(11, 19)}] live rates (Ctrl-C stops)`, ...rateLines(prev, cur, (t - prevT) / 1000)];
    // Move up over the previous drawing and overwrite it, clearing each line.
    process.stderr.write((drawn ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    drawn = lines.length;
    prev = cur; prevT = t;
  }, 1000);

  await stopRequested;
  clearInterval(timer);
  const deadline = setTimeout(() => {
    process.stderr.write(`sluice: stopping took over ${STOP_DEADLINE_MS} ms: ending now\n`);
    printFinal();
    process.exit(1);
  }, STOP_DEADLINE_MS);
  await api?.close();
  await dp.stop();
  clearTimeout(deadline);
  printFinal();
  signalsOff();
  return dp.failure ? 1 : 0;
}
