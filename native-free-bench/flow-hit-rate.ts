// Flow cache hit rate when replaying real captures: every Ethernet record is parsed into its
// flow key (input port 0; the parser writes the packed key) and looked up in a FlowCache of 1k
// and of 64k entries (a miss inserts). The note gives the hit rate of one pass from a cold
// cache, before and after the cache left out the key bits no rule needs (TCP flags and TOS:
// FlowCache.mask14), with two rule sets installed in a RuleSet, which says which bits its rules
// need: an ACL of addresses and ports, and the same with a DSCP rule. The figure is lookups per
// second through parse + hash + lookup on further passes (warm cache, the ACL's key). Captures: test/fixtures/pcaps by default, or every capture in the
// directory named by the first argument or $SLUICE_PCAPS. Checked before timing: the reader
// delivers the record count the capture's SOURCES.md gives (for the bundled fixtures).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError, CaptureReader, LINKTYPE_ETHERNET } from '../src/capture/capture-reader.js';
import { FlowCache } from '../src/flow/flow-cache.js';
import { hashKey } from '../src/flow/key.js';
import { RuleSet } from '../src/flow/rule-set.js';
import type { RuleSpec } from '../src/flow/rule.js';
import { FlowKeys, PARSE_OK } from '../src/wire/flow-key.js';
import { figure, Figure, print, save } from './report.js';

const FIXTURES = 'test/fixtures/pcaps';
const EXPECTED: Record<string, number> = { 'cip.pcap': 26068, 'tls2.pcap': 7451 };

/** Ethernet frames of a capture, in file order (the valid prefix of a corrupt one). */
function load(path: string): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let r: CaptureReader;
  try { r = CaptureReader.open(path); } catch (e) { if (e instanceof CaptureError) return frames; throw e; }
  try {
    while (r.next()) if (r.linkType === LINKTYPE_ETHERNET) frames.push(r.data.slice(r.off, r.off + r.caplen));
  } catch (e) { if (!(e instanceof CaptureError)) throw e; } finally { r.close(); }
  return frames;
}

// The bits of key word 14 a rule set's rules need, as the switch's FlowStage asks them.
function mask14Of(rules: RuleSpec[]): number {
  const rs = new RuleSet({ ports: ['p0', 'p1'], queues: 4 });
  rs.apply({ add: rules });
  return rs.keyWordMask(14) | 0;
}
const ACL: RuleSpec[] = [
  { id: 'ssh', layer: 'acl', priority: 3, match: { etherType: 'ipv4', proto: 'tcp', dstPort: 22 }, actions: [{ drop: true }] },
  { id: 'web', layer: 'acl', priority: 2, match: { etherType: 'ipv4', proto: 'tcp', dstPort: '80-443' }, actions: [{ count: true }] },
  { id: 'lan', layer: 'acl', priority: 1, match: { srcIp: '10.0.0.0/8' }, actions: [{ allow: true }] },
  { id: 'dns', layer: 'forward', priority: 1, match: { etherType: 'ipv4', proto: 'udp', dstPort: 53 }, actions: [{ output: ['p1'] }] },
];
const ACL_DSCP: RuleSpec[] = [...ACL, { id: 'ef', layer: 'qos', priority: 1, match: { etherType: 'ipv4', dscp: 46 }, actions: [{ queue: 1 }] }];

function replay(frames: Uint8Array[], cache: FlowCache, fk: FlowKeys): number {
  let looked = 0;
  const key = fk.packed, m14 = cache.mask14;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    fk.inPort[0] = 0;
    if (fk.extract(f, 0, f.length, 0) !== PARSE_OK) continue;
    const h = hashKey(key, 0, m14);
    if (cache.lookup(key, 0, h) < 0) cache.insert(key, 0, h, 1);
    looked++;
  }
  return looked;
}

export async function flowHitRateBench(dir = process.argv[2] ?? process.env.SLUICE_PCAPS ?? FIXTURES): Promise<Figure[]> {
  const files = readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort();
  const fk = new FlowKeys(1);
  const figs: Figure[] = [];
  for (const f of files) {
    const frames = load(join(dir, f));
    if (dir === FIXTURES && EXPECTED[f] !== undefined && frames.length !== EXPECTED[f]) throw new Error(`${f}: read ${frames.length} Ethernet records, SOURCES.md says ${EXPECTED[f]}`);
    if (frames.length < 100) continue; // too small to say anything about a cache
    for (const cap of [1024, 65536]) {
      // One cold pass per key: the full key (before), and the key as each rule set leaves it.
      const pass = (mask14: number) => { const c = new FlowCache(cap); c.mask14 = mask14; const looked = replay(frames, c, fk); return { c, rate: looked === 0 ? 0 : c.hits / looked }; };
      const full = pass(-1), dscp = pass(mask14Of(ACL_DSCP)), { c: cold, rate: hitRate } = pass(mask14Of(ACL));
      const evictions = cold.evictions;
      let n = 0;
      const t0 = performance.now();
      do { n += replay(frames, cold, fk); } while (performance.now() - t0 < 300);
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      figs.push(figure(`${f} (${frames.length} frames), cache ${cap >= 65536 ? '64k' : '1k'}`, n, (performance.now() - t0) / 1000, `hit rate: full key ${pct(full.rate)} (${full.c.evictions} evictions); ACL ${pct(hitRate)} (${evictions}); ACL + DSCP rule ${pct(dscp.rate)} (${dscp.c.evictions})`));
    }
  }
  return figs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figs = await flowHitRateBench();
  print('flow cache hit rate replaying captures (parse + pack + lookup, a miss inserts)', figs);
  save('flow-hit-rate', figs);
}
