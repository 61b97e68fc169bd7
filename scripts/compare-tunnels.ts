// compare-tunnels: throughput across a VXLAN tunnel between two VMs (network namespaces), in one
// run, interleaved, for two systems on the same kind of topology:
//   sluice       VM -- tap -- sluice host 1 == VXLAN over the core == sluice host 2 -- tap -- VM
//                (scripts/testbed.ts: two sluice hosts with one VM each, no Linux host)
//   sluice-tso   the same with virtio-net header taps: TCP's 64 KiB frames reach sluice whole and
//                are segmented in software toward the uplink
//   linux-vxlan  VM(vx0) == VXLAN over a veth pair == (vx0)VM: the namespaces joined by two Linux
//                kernel vxlan devices, the kernel encapsulating in each VM's own stack
// measured with iperf3 TCP x1 and UDP with 64-byte frames (-l 18 -b 0: received kpps and loss).
//
//   sudo node dist/scripts/compare-tunnels.js [--runs 3] [--seconds 5]
//
// Prints the medians (min-max) as a markdown table, with the Node version and CPU count, and one
// JSON line per measurement. Each run brings its topology up and tears it down.

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { inNs, sh, Testbed, tryRun } from './testbed.js';

interface Result { system: string; run: number; tcp1Gbps: number; udp64Kpps: number; udp64LossPct: number }


/** iperf3 from namespace a to b's address: TCP x1 Gbit/s, then UDP 64-byte frames (kpps received, loss %). */
function measure(a: string, b: string, ip: string, seconds: number): Omit<Result, 'system' | 'run'> {
  const run = (args: string[]) => {
    const server = execFileSync('sh', ['-c', `ip netns exec ${b} timeout ${seconds + 20} iperf3 -s -1 -B ${ip} -p 5601 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim();
    execFileSync('sleep', ['0.3']);
    try { return JSON.parse(inNs(a, ['iperf3', '-c', ip, '-p', '5601', '-t', String(seconds), '-J', ...args], (seconds + 30) * 1000)); } finally { tryRun('kill', [server]); }
  };
  const tcp = run([]);
  const udp = run(['-u', '-l', '18', '-b', '0']).end.sum;
  const got = udp.packets - udp.lost_packets;
  return { tcp1Gbps: tcp.end.sum_received.bits_per_second / 1e9, udp64Kpps: got / udp.seconds / 1000, udp64LossPct: (100 * udp.lost_packets) / udp.packets };
}

async function sluice(seconds: number, tso: boolean): Promise<Omit<Result, 'system' | 'run'>> {
  const tb = await Testbed.up({ hosts: 2, vms: 1, linux: false, vni: 42, port: 4789, prefix: 'ctx', tso });
  try {
    const [a, b] = tb.vms;
    return measure(a.ns, b.ns, b.ip, seconds);
  } finally { await tb.down(); }
}

function linuxVxlan(seconds: number): Omit<Result, 'system' | 'run'> {
  const [A, B] = ['ctl-a', 'ctl-b'];
  for (const ns of [A, B]) { tryRun('ip', ['netns', 'del', ns]); sh('ip', ['netns', 'add', ns]); inNs(ns, ['ip', 'link', 'set', 'lo', 'up']); }
  try {
    sh('ip', ['link', 'add', 'ctl-veth', 'netns', A, 'type', 'veth', 'peer', 'name', 'ctl-veth', 'netns', B]);
    const ends: [string, string, string, string][] = [[A, '10.201.0.1', '10.201.0.2', '10.100.1.1'], [B, '10.201.0.2', '10.201.0.1', '10.100.1.2']];
    for (const [ns, me, other, vm] of ends) {
      inNs(ns, ['ip', 'addr', 'add', `${me}/24`, 'dev', 'ctl-veth']);
      inNs(ns, ['ip', 'link', 'set', 'ctl-veth', 'up']);
      inNs(ns, ['ip', 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', me, 'remote', other, 'dev', 'ctl-veth']);
      inNs(ns, ['ip', 'addr', 'add', `${vm}/24`, 'dev', 'vx0']);
      inNs(ns, ['ip', 'link', 'set', 'vx0', 'up']);
    }
    return measure(A, B, '10.100.1.2', seconds);
  } finally { for (const ns of [A, B]) tryRun('ip', ['netns', 'del', ns]); }
}

const SYSTEMS = ['sluice', 'sluice-tso', 'linux-vxlan'];
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function main(): Promise<void> {
  const arg = (flag: string, def: number) => { const i = process.argv.indexOf(flag); return i > 0 ? Number(process.argv[i + 1]) : def; };
  const runs = arg('--runs', 3), seconds = arg('--seconds', 5);
  if (process.getuid?.() !== 0) throw new Error('run as root: it makes namespaces, taps and links');
  console.log(`node ${process.version}, ${cpus().length} CPUs; ${runs} interleaved runs x {${SYSTEMS.join(', ')}}, ${seconds} s per iperf3 test`);
  const results: Result[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const system of SYSTEMS) {
      const r = { system, run, ...(system === 'linux-vxlan' ? linuxVxlan(seconds) : await sluice(seconds, system === 'sluice-tso')) };
      console.log(JSON.stringify(r));
      results.push(r);
    }
  }
  const cell = (xs: number[], d: number) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log(`\nMedians of ${runs} interleaved runs (${seconds} s per test), min–max in brackets.\n`);
  console.log('| system | TCP x1 Gbit/s | UDP 64 B rx kpps | UDP loss % |\n|---|---:|---:|---:|');
  for (const system of SYSTEMS) {
    const mine = results.filter((r) => r.system === system);
    console.log(`| ${system} | ${cell(mine.map((r) => r.tcp1Gbps), 2)} | ${cell(mine.map((r) => r.udp64Kpps), 0)} | ${cell(mine.map((r) => r.udp64LossPct), 1)} |`);
  }
}

main().catch((e) => { console.error(`compare-tunnels: ${(e as Error).message}`); process.exit(1); });
