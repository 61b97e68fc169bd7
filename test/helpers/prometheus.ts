// A strict reader of the Prometheus text exposition format 0.0.4, for the /metrics tests:
// it fails on any line that is not a HELP, a TYPE before its family's samples, or a sample.
import assert from 'node:assert/strict';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*', LABEL = '[a-zA-Z_][a-zA-Z0-9_]*', VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}=${VALUE}(?:,${LABEL}=${VALUE})*)\\})? (-?[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$`);

/** Parse the text format strictly: every line a HELP, a TYPE before its samples, or a sample; no sample twice. */
export function parse(text: string): Map<string, { type: string; samples: Map<string, number> }> {
  assert.ok(text.endsWith('\n'), 'ends with a line feed');
  const out = new Map<string, { type: string; samples: Map<string, number> }>();
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) { assert.match(m[1], new RegExp(`^${NAME}$`)); continue; }
    m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) { assert.ok(!out.has(m[1]), `one TYPE line for ${m[1]}`); out.set(m[1], { type: m[2], samples: new Map() }); continue; }
    m = SAMPLE.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const fam = out.get(m[1]);
    assert.ok(fam, `TYPE comes before the samples of ${m[1]}`);
    assert.ok(!fam.samples.has(m[2] ?? ''), `sample ${line} appears once`);
    fam.samples.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}
