// The structure limits (scripts/code-size.ts): no file under src/ over 300 lines, no function
// over 80 lines in src/vswitch and src/datapath. The measure itself is checked on a function
// of known length, so a parser change cannot make the limit pass vacuously.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUNCTION_LIMIT, measure, overLimits } from '../../scripts/code-size.js';

test('no source file over 300 lines, no function over 80 lines in vswitch and datapath', () => {
  const r = measure(process.cwd());
  assert.ok(r.files.length > 50 && r.functions.length > 500, `measured ${r.files.length} files, ${r.functions.length} functions`);
  const admit = r.functions.find((f) => f.file === 'src/vswitch/steps/admit.ts' && f.name === 'run');
  assert.ok(admit && admit.lines > 30 && admit.lines < FUNCTION_LIMIT, 'the admit step is found with its length');
  assert.deepEqual(overLimits(r), []);
});
