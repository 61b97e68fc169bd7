// A pool bound to the native I/O module (native/io.ts), once per pool and thread: the binding
// holds references to the pool's typed arrays, so the memory the module writes stays alive
// while it does.

import { NativeIo, PoolBinding } from '../native/io.js';
import { HEADROOM, PacketPool } from './pool.js';

const bindings = new WeakMap<PacketPool, PoolBinding>();
/** This thread's binding of `pool` (made once per pool and thread). */
export function poolBinding(io: NativeIo, pool: PacketPool): PoolBinding {
  let b = bindings.get(pool);
  if (b === undefined) {
    b = io.bindPool(pool.data, pool.off, pool.len, pool.vnet, pool.slotSize, HEADROOM);
    bindings.set(pool, b);
  }
  return b;
}
