// Writes the generated parts of the reference pages under docs/ from the code they describe,
// so the pages cannot drift from it: the configuration table of docs/configuration.md comes
// from CONFIG_SCHEMA, the metric table of docs/counters.md from the counter registry of a
// switch (built, not started). Each generated part sits between two marker lines in its page;
// the text around it is written by hand.
//
//   npm run docs            rewrite the generated parts
//   npm run docs -- --check exit 1, naming the page, if a page is not what the code says
//                           (the test suite runs the same check)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA } from '../src/control/config.js';
import { describe } from '../src/schema.js';
import { CounterRegistry, setMetric } from '../src/counter-registry.js';
import { Dataplane } from '../src/datapath/dataplane.js';
import { MemoryEndpoint } from '../src/endpoints/memory.js';
import { VXLAN_KIND } from '../src/endpoints/vxlan.js';

const BEGIN = /<!-- generated from [^>]+? by scripts\/gen-docs.ts: do not edit by hand -->/;
const END = '<!-- end of generated -->';

/** The counter registry of a small switch (a memory port and a VXLAN uplink with an emulated access link; built, never started). */
export function switchRegistry(): CounterRegistry {
  const uplink = VXLAN_KIND.create({ type: 'vxlan', local: '127.0.0.2:4789', vni: 1, remotes: ['127.0.0.3'], rateMbps: 100 });
  return new Dataplane({
    poolSlots: 256, slotSize: 2048, queues: 1, ringSize: 64, txRingSize: 64, workers: 0, filterCapacity: 4, macTableSize: 64, macAgingSeconds: 300,
    ports: [{ name: 'p1', endpoint: new MemoryEndpoint(), vlan: { mode: 'access', vlan: 1 } }, { name: 'up', endpoint: uplink, vlan: { mode: 'access', vlan: 1 } }],
  }).registry;
}

function metricTable(reg: CounterRegistry): string {
  const rows = ['| metric | label | counter |', '|---|---|---|'];
  const seen = new Set<string>();
  for (const s of reg.sets) {
    for (const n of s.names) {
      const m = setMetric(s, n);
      if (seen.has(m)) continue;
      seen.add(m);
      rows.push(`| \`${m}\` | ${s.label ? `\`${s.label}\`` : '—'} | \`${n}\`${s.gauge ? ' (gauge)' : ''} |`);
    }
  }
  return rows.join('\n');
}

/** The project's root (this file runs from dist/scripts/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Each generated page: its path under the root and its generated part. */
export function generated(): { page: string; part: string }[] {
  return [
    { page: 'docs/configuration.md', part: describe(CONFIG_SCHEMA).join('\n') },
    { page: 'docs/counters.md', part: metricTable(switchRegistry()) },
  ];
}

/** The page's text with its generated part replaced. */
export function render(text: string, part: string, page: string): string {
  const m = BEGIN.exec(text), b = text.indexOf(END);
  if (!m || b < m.index) throw new Error(`${page}: the markers of the generated part are missing`);
  return `${text.slice(0, m.index + m[0].length)}\n${part}\n${text.slice(b)}`;
}

/** Pages that differ from what the code says. */
export function stale(): string[] {
  return generated().filter(({ page, part }) => {
    const text = readFileSync(ROOT + page, 'utf8');
    return render(text, part, page) !== text;
  }).map((g) => g.page);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    const s = stale();
    if (s.length) { process.stderr.write(`out of date: ${s.join(', ')} (run npm run docs)\n`); process.exit(1); }
  } else {
    for (const { page, part } of generated()) writeFileSync(ROOT + page, render(readFileSync(ROOT + page, 'utf8'), part, page));
  }
}
