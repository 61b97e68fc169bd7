// Human reports: the live per-port / per-queue rate lines and the final counter table.
import { DataplaneStats } from '../datapath/dataplane.js';

const si = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));

/** Is this port counter a drop (a frame lost for a named reason)? */
export function isDrop(name: string): boolean {
  return name.startsWith('drop') || name.startsWith('rxDrop') || name.startsWith('txDrop') || name.startsWith('malformed.') || name === 'txRingFull';
}

export function portDrops(c: Record<string, number>): number {
  let d = 0;
  for (const [k, v] of Object.entries(c)) if (isDrop(k)) d += v;
  return d;
}

/** Non-zero drop counters by name, summed over ports and queues (queue drops as queue.NAME). */
export function dropReasons(st: DataplaneStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of st.ports) for (const [k, v] of Object.entries(p.counters)) if (v !== 0 && isDrop(k)) out[k] = (out[k] ?? 0) + v;
  for (const q of st.queues) for (const k of ['dropRingFull', 'dropUnserved'] as const) if (q.counters[k]) out[`queue.${k}`] = (out[`queue.${k}`] ?? 0) + q.counters[k];
  return out;
}

/** Rate lines between two snapshots taken `dt` seconds apart. */
export function rateLines(prev: DataplaneStats, cur: DataplaneStats, dt: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < cur.ports.length; i++) {
    const a = prev.ports[i].counters, b = cur.ports[i].counters;
    const r = (k: string) => (b[k] - a[k]) / dt;
    lines.push(`  ${cur.ports[i].name.padEnd(8)} rx ${si(r('rxPackets')).padStart(7)} pkt/s ${si(r('rxBytes') * 8).padStart(7)} bit/s   tx ${si(r('txPackets')).padStart(7)} pkt/s ${si(r('txBytes') * 8).padStart(7)} bit/s   drops ${si(portDrops(b) - portDrops(a)).padStart(6)}/s  txErr ${b.txErrors}`);
  }
  lines.push('  queues   ' + cur.queues.map((q, i) => `q${q.queue} ${si((q.counters.packets - prev.queues[i].counters.packets) / dt)} pkt/s`).join('  '));
  return lines;
}

/** Final counters: every non-zero counter per port (and its limiters, a tunnel uplink's remote VTEPs and access link), per queue, MAC table and pool. */
export function finalReport(s: DataplaneStats): string {
  const out: string[] = ['final counters:'];
  for (const p of s.ports) {
    const nz = Object.entries(p.counters).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`);
    out.push(`  ${p.name} (${p.endpoint}): ${nz.length ? nz.join(' ') : 'all zero'}`);
    for (const v of p.tunnels?.vteps ?? []) {
      const c = Object.entries(v.counters).filter(([, x]) => x !== 0).map(([k, x]) => `${k}=${x}`);
      out.push(`    VTEP ${v.address}${v.flood ? ' (flood list)' : ''}: ${c.length ? c.join(' ') : 'all zero'}`);
    }
    for (const [dir, r] of [['rx', p.limits?.rx], ['tx', p.limits?.tx]] as const) if (r) out.push(`    limit ${dir} ${r.rateMbps} Mb/s: passed=${r.passedPackets} dropped=${r.droppedPackets} queueMax=${r.maxDepthBytes} of ${r.queueBytes} bytes`);
    const l = p.tunnels?.link;
    if (l) for (const [dir, r] of [['rx', l.rx], ['tx', l.tx]] as const) out.push(`    access link ${dir} ${r.rateMbps} Mb/s: passed=${r.passedPackets} dropped=${r.droppedPackets} ecnMarked=${r.ecnMarked} queueMax=${r.maxDepthBytes} of ${r.queueBytes} bytes`);
  }
  for (const q of s.queues) {
    const nz = Object.entries(q.counters).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`);
    out.push(`  queue ${q.queue}: ${nz.length ? nz.join(' ') : 'all zero'}`);
  }
  out.push(`  mac table: ${Object.entries(s.macTable).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  out.push(`  pool: ${s.pool.free} of ${s.pool.slots} slots free`);
  for (const x of s.extensions) {
    const nz = Object.entries(x.counters).filter(([, v]) => v !== 0).map(([k, v]) => `${k}=${v}`);
    const why = Object.entries(x.dropReasons).map(([k, v]) => `${k}=${v}`);
    out.push(`  extension ${x.name} (${x.kind}, ${x.status !== 'ok' ? x.status : x.enabled ? 'enabled' : 'disabled'}): ${nz.length ? nz.join(' ') : 'all zero'}${why.length ? ` drops by reason: ${why.join(' ')}` : ''}`);
  }
  for (const c of s.controllers ?? []) if (c.faults > 0) out.push(`  controller ${c.name}: faults=${c.faults} (last: ${c.lastFault})`);
  const f = s.flows;
  if (f.rules > 0) out.push(`  rules: ${f.rules} (${Object.entries(f.rulesByLayer).map(([k, v]) => `${k}=${v}`).join(' ')}); flow cache ${Object.entries(f.cache).map(([k, v]) => `${k}=${v}`).join(' ')} hitRate=${(f.hitRate * 100).toFixed(1)}%`);
  return out.join('\n');
}
