// The reference pages say what the code does: their generated parts are what the schema and
// the counter registry give, every configuration field is named, and every counter is
// explained in the hand-written part of docs/counters.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generated, render, ROOT, stale, switchRegistry } from '../../scripts/gen-docs.js';
import { CONFIG_SCHEMA } from '../../src/control/config.js';
import { Schema } from '../../src/schema.js';

function paths(s: Schema, p = ''): string[] {
  if (s.type === 'object') return Object.entries(s.fields).flatMap(([k, f]) => [p ? `${p}.${k}` : k, ...paths(f.schema, p ? `${p}.${k}` : k)]);
  if (s.type === 'array') return [`${p}[]`, ...paths(s.items, `${p}[]`)].filter((x) => x !== `${p}[]` || s.items.type === 'object');
  return [];
}

test('docs/configuration.md holds the schema\'s table and names every field (npm run docs rewrites it)', () => {
  assert.deepEqual(stale(), [], 'run npm run docs');
  const page = readFileSync(ROOT + 'docs/configuration.md', 'utf8');
  const fields = paths(CONFIG_SCHEMA);
  assert.ok(fields.length > 40, `${fields.length} fields`);
  for (const f of fields) assert.ok(page.includes(`| \`${f}\` |`), `${f} is documented`);
  // The check can fail: a page whose table lost a row is stale.
  const [g] = generated();
  const broken = render(page, g.part.split('\n').slice(0, -1).join('\n'), g.page);
  assert.notEqual(render(broken, g.part, g.page), broken);
});

test('docs/counters.md lists every counter of the registry and explains each by name', () => {
  const page = readFileSync(ROOT + 'docs/counters.md', 'utf8');
  const prose = page.slice(0, page.indexOf('<!-- generated from the counter registry'));
  let n = 0;
  for (const set of switchRegistry().sets) {
    for (const name of set.names) {
      // Families documented once: malformed.<reason> by reason, reason<i> as the slot series.
      const word = name.startsWith('malformed.') ? name.slice('malformed.'.length) : /^reason\d+$/.test(name) ? 'reason0' : name;
      assert.ok(prose.includes(`\`${word}\``), `${set.subsystem} counter ${name} is explained`);
      n++;
    }
  }
  assert.ok(n > 60, `${n} counters checked`);
});
