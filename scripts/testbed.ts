// testbed: several hosts on one machine, joined by VXLAN — N sluice hosts with M VMs each
// (network namespaces on tap ports) and, optionally, one Linux host (a namespace behind a
// kernel `vxlan` device), from one small description; prints how to reach them and tears
// everything down on exit, Ctrl-C or SIGTERM (no namespace, link or process left behind).
//
//   node dist/scripts/testbed.js up [--hosts N] [--vms M] [--linux] [--vni 42] [--port 4789]
//                                  [--prefix tb] [--tso] [--rate MBPS [--queue BYTES] [--ecn BYTES]]
//                                  [--seconds S] [--json]
//   node dist/scripts/testbed.js down [--prefix tb]     (remove what a killed testbed left)
//
// Topology. The underlay is 10.200.0.0/24: sluice host i's uplink listens on 10.200.0.(10+i)
// (an address of the interface `<prefix>-core` in this namespace: datagrams between sluice
// hosts are local deliveries, the data centre's non-blocking core); the Linux host is
// 10.200.0.2 in namespace `<prefix>-lx`, joined by the veth `<prefix>-lx0` (10.200.0.1) — a
// kernel vxlan device binds its port's wildcard address, so it needs a namespace of its own.
// Every host floods to every other (head-end replication; Linux: `bridge fdb append 00:00:…`).
// The VMs share 10.100.0.0/24: host i's VM j is 10.100.0.(16i + j), MAC 02:00:0a:64:00:<that>,
// MTU 1450 (room for VXLAN's 50 bytes); the Linux host's VM is its vxlan device, 10.100.0.250.

import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PortQos } from '../src/qos/port-limits.js';

export interface TestbedSpec {
  hosts: number;
  vms: number;
  linux: boolean;
  vni: number;
  port: number;
  /** Names of namespaces, taps and links start with it (at most 5 characters). */
  prefix: string;
  /** Each sluice host's access link: rate (Mb/s), queue and ECN threshold (bytes); absent: not emulated. */
  rateMbps?: number;
  queueBytes?: number;
  ecnMarkBytes?: number;
  /** VM taps with virtio-net headers: TCP's 64 KiB TSO frames reach sluice whole (segmented toward the uplink). */
  tso?: boolean;
  /** Maximum rates and guarantees of VM ports by port name ("vm1", …): their configuration's `qos`. */
  qos?: Record<string, PortQos>;
  /** The uplinks' `guarantees` (predictable bandwidth; lineMbps defaults to the access link's rate). */
  guarantees?: Record<string, unknown>;
  /** The hosts' shapedSpinMicros (absent: the default). */
  shapedSpinMicros?: number;
}
export interface TestbedVm { host: string; ns: string; dev: string; ip: string; mac: string }
export interface TestbedHost { name: string; kind: 'sluice' | 'linux'; underlay: string; vms: TestbedVm[]; config?: string; control?: string; log?: string }

export const DEFAULT_SPEC: TestbedSpec = { hosts: 2, vms: 2, linux: true, vni: 42, port: 4789, prefix: 'tb' };
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli.js');
const LINUX_VM_IP = '10.100.0.250';

/** Run a command (as root, on this machine's network); its standard output. Throws with its standard error. */
export function sh(cmd: string, args: string[], timeoutMs = 20000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}
/** A sluice host's `/stats` (its control socket), typed as the caller reads it. */
export const statsOf = <T>(h: TestbedHost): T => JSON.parse(sh('curl', ['-s', '--unix-socket', h.control!, 'http://x/stats'])) as T;
/** Run a command, ignoring its failure (removing what may not be there). */
export const tryRun = (cmd: string, args: string[]): void => { try { sh(cmd, args); } catch { /* not there */ } };
/** Run a command in namespace `ns`. */
export const inNs = (ns: string, args: string[], timeoutMs?: number): string => sh('ip', ['netns', 'exec', ns, ...args], timeoutMs);
const macOf = (ip: string) => `02:00:0a:64:00:${Number(ip.split('.')[3]).toString(16).padStart(2, '0')}`;

/** What a testbed with `prefix` would leave behind if it were not torn down: namespaces, links, sluice processes. */
export function leftovers(prefix: string): { netns: string[]; links: string[]; processes: string[] } {
  const netns = sh('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`));
  const links = sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '').filter((n) => n.startsWith(prefix));
  let processes: string[] = [];
  try { processes = sh('pgrep', ['-af', `sluice-testbed-${prefix}-`]).split('\n').filter((l) => l.trim() !== '' && !l.includes('pgrep')); } catch { /* none */ }
  return { netns, links, processes };
}

/** Remove whatever a testbed with `prefix` left (a killed run): processes, namespaces, links. */
export function sweep(prefix: string): void {
  tryRun('pkill', ['-INT', '-f', `sluice-testbed-${prefix}-`]);
  const l = leftovers(prefix);
  for (const ns of l.netns) tryRun('ip', ['netns', 'del', ns]);
  for (const dev of l.links) tryRun('ip', ['link', 'del', dev]);
}

export class Testbed {
  readonly spec: TestbedSpec;
  readonly hosts: TestbedHost[] = [];
  private readonly dir: string;
  private readonly procs: ChildProcess[] = [];
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private downed = false;

  private constructor(spec: TestbedSpec) {
    this.spec = spec;
    // The directory name marks this testbed's processes (their --config path) for leftovers().
    this.dir = mkdtempSync(join(tmpdir(), `sluice-testbed-${spec.prefix}-`));
  }

  get vms(): TestbedVm[] { return this.hosts.flatMap((h) => h.vms); }

  /** Bring the testbed up; on any failure what was made is removed and the error rethrown. */
  static async up(spec: TestbedSpec): Promise<Testbed> {
    if (!/^[a-z][a-z0-9]{0,4}$/.test(spec.prefix)) throw new Error(`--prefix ${spec.prefix}: 1-5 lower-case letters and digits, starting with a letter`);
    if (spec.hosts < 1 || spec.hosts > 14 || spec.vms < 1 || spec.vms > 15) throw new Error('1-14 sluice hosts with 1-15 VMs each');
    if (spec.hosts === 1 && !spec.linux) throw new Error('one sluice host needs the Linux host (--linux) or another one: its uplink would flood to itself, and learn its own VMs behind it');
    sweep(spec.prefix);
    const tb = new Testbed(spec);
    try { await tb.build(); } catch (e) { await tb.down(); throw e; }
    return tb;
  }

  private addNs(ns: string): void {
    tryRun('ip', ['netns', 'del', ns]);
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  }

  private async build(): Promise<void> {
    const s = this.spec, p = s.prefix, core = `${p}-core`;
    // A veth pair whose other end stays unused holds the addresses (no dummy driver needed).
    sh('ip', ['link', 'add', core, 'type', 'veth', 'peer', 'name', `${p}-corx`]);
    this.links.push(core);
    sh('ip', ['link', 'set', core, 'up']);
    sh('ip', ['link', 'set', `${p}-corx`, 'up']);
    const underlay = (i: number) => `10.200.0.${10 + i}`;
    for (let i = 1; i <= s.hosts; i++) sh('ip', ['addr', 'add', `${underlay(i)}/32`, 'dev', core]);
    if (s.linux) {
      const ns = `${p}-lx`, veth = `${p}-lx0`;
      this.addNs(ns);
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      this.links.push(veth);
      sh('ip', ['addr', 'add', '10.200.0.1/24', 'dev', veth]);
      sh('ip', ['link', 'set', veth, 'up']);
      inNs(ns, ['ip', 'addr', 'add', '10.200.0.2/24', 'dev', 'eth0']);
      inNs(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      inNs(ns, ['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', String(s.vni), 'dstport', String(s.port), 'local', '10.200.0.2', 'dev', 'eth0']);
      for (let i = 1; i <= s.hosts; i++) inNs(ns, ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', underlay(i)]);
      inNs(ns, ['ip', 'link', 'set', 'vx0', 'address', macOf(LINUX_VM_IP)]);
      inNs(ns, ['ip', 'addr', 'add', `${LINUX_VM_IP}/24`, 'dev', 'vx0']);
      inNs(ns, ['ip', 'link', 'set', 'vx0', 'up']);
      // Over a veth nothing fills in checksums a stack leaves to the hardware; a physical NIC would.
      try { inNs(ns, ['ethtool', '-K', 'vx0', 'tx', 'off']); } catch { /* no ethtool: TCP from this host may fail its checksums */ }
      this.hosts.push({ name: 'linux', kind: 'linux', underlay: '10.200.0.2', vms: [{ host: 'linux', ns, dev: 'vx0', ip: LINUX_VM_IP, mac: macOf(LINUX_VM_IP) }] });
    }
    for (let i = 1; i <= s.hosts; i++) {
      const vms: TestbedVm[] = [];
      for (let j = 1; j <= s.vms; j++) {
        const ip = `10.100.0.${16 * i + j}`;
        vms.push({ host: `h${i}`, ns: `${p}-h${i}v${j}`, dev: `${p}${i}v${j}`, ip, mac: macOf(ip) });
      }
      const remotes = [...Array.from({ length: s.hosts }, (_, k) => k + 1).filter((k) => k !== i).map(underlay), ...(s.linux ? ['10.200.0.2'] : [])];
      const control = join(this.dir, `h${i}.sock`), config = join(this.dir, `h${i}.json`), log = join(this.dir, `h${i}.log`);
      const uplink: Record<string, unknown> = {
        type: 'vxlan', local: `${underlay(i)}:${s.port}`, vni: s.vni, remotes,
        ...(s.rateMbps !== undefined ? { rateMbps: s.rateMbps } : {}), ...(s.queueBytes !== undefined ? { queueBytes: s.queueBytes } : {}), ...(s.ecnMarkBytes !== undefined ? { ecnMarkBytes: s.ecnMarkBytes } : {}),
        ...(s.guarantees !== undefined ? { guarantees: s.guarantees } : {}),
      };
      writeFileSync(config, JSON.stringify({
        workers: 1, idleSpinMicros: 0, ...(s.shapedSpinMicros !== undefined ? { shapedSpinMicros: s.shapedSpinMicros } : {}), stats: { intervalSeconds: 0 }, control: { listen: `unix:${control}` },
        ...(s.tso ? { pool: { slots: 4096, slotSize: 67584 } } : {}),
        ports: [...vms.map((v, j) => ({ name: `vm${j + 1}`, endpoint: { type: 'tap', name: v.dev, ...(s.tso ? { vnetHdr: true } : {}) }, ...(s.qos?.[`vm${j + 1}`] ? { qos: s.qos[`vm${j + 1}`] } : {}) })), { name: 'uplink', endpoint: uplink }],
      }, null, 2));
      this.hosts.push({ name: `h${i}`, kind: 'sluice', underlay: underlay(i), vms, config, control, log });
      await this.startHost(config, log);
      for (const v of vms) {
        this.addNs(v.ns);
        sh('ip', ['link', 'set', v.dev, 'netns', v.ns]);
        inNs(v.ns, ['ip', 'link', 'set', v.dev, 'address', v.mac, 'mtu', '1450', 'up']);
        inNs(v.ns, ['ip', 'addr', 'add', `${v.ip}/24`, 'dev', v.dev]);
      }
    }
  }

  // Start one sluice host and wait until it says it runs.
  private startHost(config: string, log: string): Promise<void> {
    // A host's switch runs at a higher priority than the VMs' workloads (nice -10): it stands for
    // a NIC and a hypervisor's switch, which the guests cannot preempt. At equal priority, on a
    // 2-core machine, the scheduler took the datapath thread away for up to ~15 ms while two
    // iperf3s ran, and an emulated link lost that time (access-link.test.ts saw a second at 98.6%).
    // SLUICE_NODE_ARGS: extra flags for the hosts' node (e.g. "--cpu-prof --cpu-prof-dir=DIR" to profile an experiment).
    const extra = (process.env.SLUICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn('nice', ['-n', '-10', process.execPath, ...extra, CLI, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(child);
    const out = createWriteStream(log);
    child.stdout!.pipe(out); child.stderr!.pipe(out);
    return new Promise((resolve, reject) => {
      let seen = '';
      const t = setTimeout(() => reject(new Error(`sluice --config ${config} did not start in 20 s:\n${seen}`)), 20000);
      const look = (d: Buffer) => { seen += d; if (/Ctrl-C stops/.test(seen)) { clearTimeout(t); resolve(); } };
      child.stdout!.on('data', look); child.stderr!.on('data', look);
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`sluice --config ${config} exited with ${code}:\n${seen}`)); });
    });
  }

  /** Stop the sluice hosts (SIGINT, SIGKILL after 5 s), remove namespaces, links and files. Exit codes of the hosts. */
  async down(): Promise<(number | null)[]> {
    if (this.downed) return [];
    this.downed = true;
    const codes = await Promise.all(this.procs.map((c) => new Promise<number | null>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) { resolve(c.exitCode); return; }
      const k = setTimeout(() => c.kill('SIGKILL'), 5000);
      c.once('exit', (code) => { clearTimeout(k); resolve(code); });
      c.kill('SIGINT');
    })));
    for (const ns of this.namespaces) tryRun('ip', ['netns', 'del', ns]);
    for (const dev of this.links) tryRun('ip', ['link', 'del', dev]);
    rmSync(this.dir, { recursive: true, force: true });
    return codes;
  }

  /** How to reach everything, for people. */
  describe(): string {
    const lines = [`testbed "${this.spec.prefix}": ${this.spec.hosts} sluice host(s) x ${this.spec.vms} VM(s)${this.spec.linux ? ' + a Linux host' : ''}, VNI ${this.spec.vni}, UDP port ${this.spec.port}`];
    for (const h of this.hosts) {
      lines.push(`  ${h.name} (${h.kind}) on ${h.underlay}${h.control ? `: sluice rules --control unix:${h.control} list; /metrics: curl --unix-socket ${h.control} http://x/metrics` : ''}`);
      for (const v of h.vms) lines.push(`    ${v.ip.padEnd(12)} ${v.mac}  ip netns exec ${v.ns} ping ${this.vms.find((x) => x !== v)?.ip ?? v.ip}`);
    }
    lines.push('Ctrl-C tears everything down.');
    return lines.join('\n');
  }

  /** The same as JSON (namespaces, addresses, configs), for scripts and tests. */
  toJSON(): unknown { return { spec: this.spec, hosts: this.hosts }; }
}

function parseArgs(argv: string[]): { cmd: string; spec: TestbedSpec; seconds: number; json: boolean } {
  const spec = { ...DEFAULT_SPEC };
  let seconds = 0, json = false;
  const cmd = argv[0] ?? 'help';
  const num = (v: string | undefined, flag: string) => { const n = Number(v); if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number`); return n; };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--hosts') spec.hosts = num(argv[++i], a);
    else if (a === '--vms') spec.vms = num(argv[++i], a);
    else if (a === '--linux') spec.linux = true;
    else if (a === '--no-linux') spec.linux = false;
    else if (a === '--vni') spec.vni = num(argv[++i], a);
    else if (a === '--port') spec.port = num(argv[++i], a);
    else if (a === '--prefix') spec.prefix = argv[++i];
    else if (a === '--rate') spec.rateMbps = num(argv[++i], a);
    else if (a === '--queue') spec.queueBytes = num(argv[++i], a);
    else if (a === '--ecn') spec.ecnMarkBytes = num(argv[++i], a);
    else if (a === '--tso') spec.tso = true;
    else if (a === '--seconds') seconds = num(argv[++i], a);
    else if (a === '--json') json = true;
    else throw new Error(`unknown option ${a} (see --help)`);
  }
  return { cmd, spec, seconds, json };
}

const HELP = `testbed: several hosts on one machine joined by VXLAN (needs root, the native module, iproute2)

  up    [--hosts N=2] [--vms M=2] [--linux | --no-linux] [--vni 42] [--port 4789] [--prefix tb]
        [--tso] [--rate MBPS [--queue BYTES] [--ecn BYTES]] [--seconds S] [--json]
        N sluice hosts (each a \`sluice run\` with M VMs in namespaces on tap ports) and a Linux host
        (a namespace behind a kernel vxlan device). Stays up until Ctrl-C (or S seconds), then tears
        everything down. --rate emulates each sluice host's access link (its uplink's rateMbps,
        queueBytes, ecnMarkBytes). --tso gives the VMs' taps virtio-net headers: TCP's 64 KiB
        frames reach sluice whole and are segmented toward the uplink. --json prints the layout.
  down  [--prefix tb]   remove what a killed testbed left (processes, namespaces, links)`;

async function main(): Promise<void> {
  const { cmd, spec, seconds, json } = parseArgs(process.argv.slice(2));
  if (cmd === 'down') { sweep(spec.prefix); const l = leftovers(spec.prefix); console.log(`left: ${JSON.stringify(l)}`); return; }
  if (cmd !== 'up') { console.log(HELP); if (cmd !== 'help' && cmd !== '--help') process.exitCode = 2; return; }
  if (process.getuid?.() !== 0) throw new Error('the testbed makes namespaces, taps and links: run it as root');
  const tb = await Testbed.up(spec);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const codes = await tb.down();
    console.log(`testbed down; sluice hosts exited with ${codes.join(', ')}`);
    process.exit(codes.every((c) => c === 0) ? 0 : 1);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  console.log(json ? JSON.stringify(tb.toJSON()) : tb.describe());
  console.log('testbed up');
  if (seconds > 0) setTimeout(stop, seconds * 1000);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(`testbed: ${(e as Error).message}`); process.exit(1); });
}
