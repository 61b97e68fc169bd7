// Classifier miss path: classifications/s with 1k, 10k and 100k rules across realistic ACL
// masks (src/dst prefixes of /8, /16, /24, /32, protocol, destination port or range, input
// port), beside the linear scan; p99 latency of adding one rule with 10k installed; and
// throughput under adversarial traffic spread over many masks, as a fraction of normal, with
// and without tuple pruning — traffic that matches nothing, and packets crafted from the rules
// by an attacker who knows them.
// Checked before timing: the classifier and the linear scan agree on every packet.
import { linearLookup, referenceRules } from '../src/flow/linear-lookup.js';
import { KEY_WORDS } from '../src/flow/key.js';
import { RuleSpec } from '../src/flow/rule.js';
import { RuleSet } from '../src/flow/rule-set.js';
import { figure, Figure, print, save } from './report.js';

const ctx = { ports: ['p1', 'p2', 'p3', 'p4'], queues: 4 };

function rng(seed: number) { let s = seed; return (n: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) % n; }; }

function realisticRules(n: number, seed: number): RuleSpec[] {
  const r = rng(seed);
  const lens = [8, 16, 24, 32];
  const pfx = (len: number) => {
    const a = [10 + r(4), r(256), r(256), r(256)];
    const w = ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0;
    const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const v = (w & m) >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${len}`;
  };
  const out: RuleSpec[] = [];
  for (let i = 0; i < n; i++) {
    const m: RuleSpec['match'] = {};
    if (r(4)) m.srcIp = pfx(lens[r(4)]);
    if (r(2)) m.dstIp = pfx(lens[r(4)]);
    if (r(2)) { m.etherType = 'ipv4'; m.proto = r(2) ? 'tcp' : 'udp'; if (r(2)) m.dstPort = r(4) ? [22, 53, 80, 443, 8080][r(5)] : '1024-2047'; }
    if (r(8) === 0) m.inPort = ctx.ports[r(4)];
    out.push({ id: `r${i}`, layer: 'acl', priority: r(1000), match: m, actions: [r(3) ? { allow: true } : { drop: true }] });
  }
  return out;
}

function packets(n: number, seed: number): Uint32Array {
  const r = rng(seed);
  const k = new Uint32Array(n * KEY_WORDS);
  for (let i = 0; i < n; i++) {
    const o = i * KEY_WORDS;
    const proto = r(2) ? 6 : 17;
    k[o] = r(4) << 16;
    k[o + 1] = ((0x0800 << 16) | (proto << 8) | (4 << 4)) >>> 0;
    k[o + 5] = (((10 + r(4)) << 24) | (r(256) << 16) | (r(256) << 8) | r(256)) >>> 0;
    k[o + 9] = (((10 + r(4)) << 24) | (r(256) << 16) | (r(256) << 8) | r(256)) >>> 0;
    k[o + 13] = (((1024 + r(60000)) << 16) | [22, 53, 80, 443, 8080, 1500, 3000][r(7)]) >>> 0;
  }
  return k;
}

function timeIt(fn: () => void, minMs = 1000): number {
  let runs = 0;
  const t0 = performance.now();
  do { fn(); runs++; } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / runs / 1000;
}

export async function classifierBench(): Promise<Figure[]> {
  const figs: Figure[] = [];
  const P = 4096;
  const keys = packets(P, 7);
  let normal10k = 0;
  for (const n of [1000, 10_000, 100_000]) {
    const rs = new RuleSet(ctx);
    rs.apply({ add: realisticRules(n, n) });
    const cl = rs.layers[0];
    const rules = referenceRules(rs.list(), ctx);
    for (let i = 0; i < 256; i++) {
      const got = cl.lookup(keys, i * KEY_WORDS);
      if ((got < 0 ? undefined : rs.store.ids[got]) !== linearLookup(rules, keys, i * KEY_WORDS)?.id) throw new Error(`classifier disagrees with linear scan at ${n} rules`);
    }
    let sink = 0;
    const s = timeIt(() => { for (let i = 0; i < P; i++) sink += cl.lookup(keys, i * KEY_WORDS); });
    figs.push(figure(`tuple space search, ${n} rules (${cl.masks} masks)`, P, s, 'classifications'));
    if (n === 10_000) normal10k = P / s;
    const L = n >= 100_000 ? 64 : 512;
    const sl = timeIt(() => { for (let i = 0; i < L; i++) sink += linearLookup(rules, keys, i * KEY_WORDS)?.priority ?? 0; }, 500);
    figs.push(figure(`baseline: linear scan, ${n} rules`, L, sl, 'classifications'));
    if (sink === -1) throw new Error('unreachable');
  }

  // Rule update latency: add one rule (then remove it) with 10k installed.
  const rs = new RuleSet(ctx);
  rs.apply({ add: realisticRules(10_000, 10_000) });
  const extra = realisticRules(2000, 99).map((r, i) => ({ ...r, id: `x${i}` }));
  const lat: number[] = [];
  for (const r of extra) {
    const t0 = performance.now();
    rs.apply({ add: [r] });
    lat.push(performance.now() - t0);
    rs.apply({ del: [r.id!] });
  }
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)];
  figs.push({ case: 'rule add with 10k installed: p99 latency', packets: lat.length, seconds: p99 / 1000, mpps: 0, nsPerPacket: p99 * 1e6, note: `p50 ${(lat[lat.length >> 1] * 1000).toFixed(0)} µs, p99 ${(p99 * 1000).toFixed(0)} µs` });

  // Adversarial: 10k rules over ~1000 distinct masks (prefix pairs of every length), traffic
  // that matches nothing (every subtable probed).
  const adv = new RuleSet(ctx);
  const r = rng(5);
  const advRules: RuleSpec[] = [];
  for (let i = 0; i < 10_000; i++) {
    const sl = 1 + (i % 32), dl = 1 + ((i >> 5) % 32);
    const a = (sl === 32 ? 0xc0a80001 : (0xc0000000 + r(1 << 16))) >>> 0, b = (0xc0000000 + r(1 << 16)) >>> 0;
    const msk = (len: number) => (0xffffffff << (32 - len)) >>> 0;
    const txt = (w: number) => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
    advRules.push({ id: `a${i}`, layer: 'acl', priority: r(1000), match: { srcIp: `${txt((a & msk(sl)) >>> 0)}/${sl}`, dstIp: `${txt((b & msk(dl)) >>> 0)}/${dl}` }, actions: [{ drop: true }] });
  }
  adv.apply({ add: advRules });
  const ac = adv.layers[0];
  const advRef = referenceRules(adv.list(), ctx);
  const agree = (k: Uint32Array, n: number, what: string) => {
    for (let i = 0; i < n; i++) {
      const got = ac.lookup(k, i * KEY_WORDS);
      if ((got < 0 ? undefined : adv.store.ids[got]) !== linearLookup(advRef, k, i * KEY_WORDS)?.id) throw new Error(`classifier disagrees with linear scan: ${what}, packet ${i}`);
    }
  };
  agree(keys, 256, 'adversarial');
  let sink = 0, probes = 0;
  const sa = timeIt(() => { for (let i = 0; i < P; i++) sink += ac.lookup(keys, i * KEY_WORDS); });
  for (let i = 0; i < P; i++) { sink += ac.lookup(keys, i * KEY_WORDS); probes += ac.probes; }
  figs.push(figure(`adversarial: 10k rules over ${ac.masks} masks, no match`, P, sa, `${(100 * (P / sa) / normal10k).toFixed(1)}% of the realistic 10k-rule rate; ${(probes / P).toFixed(1)} probes/packet`));
  ac.prune = 'never';
  const sn = timeIt(() => { for (let i = 0; i < P; i++) sink += ac.lookup(keys, i * KEY_WORDS); });
  figs.push(figure(`baseline: the same without pruning`, P, sn, `${(100 * (P / sn) / normal10k).toFixed(1)}% of the realistic 10k-rule rate; ${ac.probes} probes/packet`));
  // An attacker who knows the rules: each packet's source inside one rule's source prefix and its
  // destination inside another's (so every word's trie walks deep), and of 16,384 such packets the
  // 256 that make the classifier probe the most subtables.
  const pfx = (cidr: string) => { const [a, l] = cidr.split('/'); const w = a.split('.').reduce((x, o) => x * 256 + Number(o), 0); return { w, len: Number(l) }; };
  const inside = (cidr: string) => { const { w, len } = pfx(cidr); return len === 32 ? w : (w | r(1 << (32 - len) >>> 0 || 0x7fffffff)) >>> 0; };
  const C = 16_384, crafted = new Uint32Array(C * KEY_WORDS), cost = new Float64Array(C);
  ac.prune = 'never'; // scored by what a plain scan probes
  for (let i = 0; i < C; i++) {
    const o = i * KEY_WORDS, a = advRules[r(advRules.length)].match, b = advRules[r(advRules.length)].match;
    crafted.set(keys.subarray(o % (P * KEY_WORDS), o % (P * KEY_WORDS) + KEY_WORDS), o);
    crafted[o + 5] = inside(a.srcIp!); crafted[o + 9] = inside(b.dstIp!);
    ac.lookup(crafted, o);
    cost[i] = ac.probes;
  }
  const worst = Array.from(cost.keys()).sort((x, y) => cost[y] - cost[x]).slice(0, 256);
  const W = new Uint32Array(256 * KEY_WORDS);
  worst.forEach((c, i) => W.set(crafted.subarray(c * KEY_WORDS, (c + 1) * KEY_WORDS), i * KEY_WORDS));
  ac.prune = 'auto';
  agree(W, 256, 'crafted');
  const sw = timeIt(() => { for (let i = 0; i < 256; i++) sink += ac.lookup(W, i * KEY_WORDS); });
  let matched = 0;
  probes = 0;
  for (let i = 0; i < 256; i++) { if (ac.lookup(W, i * KEY_WORDS) >= 0) matched++; probes += ac.probes; }
  figs.push(figure(`adversarial, rule-aware: the 256 costliest of 16k crafted packets`, 256, sw, `${(100 * (256 / sw) / normal10k).toFixed(1)}% of the realistic 10k-rule rate; ${(probes / 256).toFixed(1)} probes/packet (a plain scan: ${(worst.reduce((x, c) => x + cost[c], 0) / 256).toFixed(1)}); ${matched} of 256 match a rule`));
  if (sink === -1) throw new Error('unreachable');
  return figs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await classifierBench();
  print('classifier miss path (Mpps = M classifications/s)', figs);
  save('classifier', figs);
}
