// The reference pages say what the code does: the generated part of docs/configuration.md is
// what the schema gives, and every configuration field is named there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generated, render, ROOT, stale } from '../../scripts/gen-docs.js';
import { CONFIG_SCHEMA } from '../../src/control/config.js';
import { Schema } from '../../src/control/schema.js';

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
