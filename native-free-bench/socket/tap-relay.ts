// The floor of userspace tap forwarding on this machine: two taps relayed to each other by a
// loop that only reads and writes (readv/writev through the native module, no switching, no
// steering), busy-polling so it never sleeps. scripts/compare-switches.sh measures it beside
// sluice: what this relay cannot do, no userspace switch on taps can do here.
// argv: tapA tapB seconds (creates both taps; exits after `seconds`).
import { native } from '../../src/native/io.js';
import { poolBinding } from '../../src/nic/pool-binding.js';
import { PacketPool } from '../../src/nic/pool.js';

const io = native;
if (io === null) throw new Error('the native I/O module is not loaded');
const [nameA, nameB, secs] = process.argv.slice(2);
const pool = new PacketPool(256, 2048), bind = poolBinding(io, pool);
const a = io.tapOpen(nameA, false, false, 0, false), b = io.tapOpen(nameB, false, false, 0, false);
if (a < 0 || b < 0) throw new Error(`tapOpen: ${io.strerror(a < 0 ? a : b)}`);
const hs = new Int32Array(64);
for (let i = 0; i < 64; i++) hs[i] = pool.alloc();
process.stdout.write('ready\n');
const end = performance.now() + Number(secs) * 1000;
while (performance.now() < end) {
  const n = io.readBatch(bind, a, hs, 0, 64, 0);
  if (n > 0) io.writeBatch(bind, b, hs, 0, n, 0);
  const m = io.readBatch(bind, b, hs, 0, 64, 0);
  if (m > 0) io.writeBatch(bind, a, hs, 0, m, 0);
}
