// `npm run bench`: every benchmark, one after another, each in a process of its own (so one
// benchmark's workload does not shape the compiled code another one measures); figures are
// printed and written to bench-results/<name>.json (the README's tables come from these).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = ['pipeline', 'extensions', 'pcap-read', 'parse-rss', 'ring-handoff', 'flow-cache', 'flow-hit-rate', 'classifier', 'heavy-hitters', 'queue-policy', 'token-bucket', 'shaper', 'guarantees', 'socket/udp-forwarding'];
let failed = 0;
for (const name of benches) {
  const file = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.error(`benchmark ${name} failed (exit ${r.status ?? r.signal})`); }
}
process.exitCode = failed === 0 ? 0 : 1;
