// SlotStock: free pool slots a native endpoint keeps for its next receive, like a NIC's
// receive descriptors posted ahead of time. The kernel fills handles[0..r); those go to the
// switch and the rest move down. Topped up from the pool before each receive (the thread's
// magazine, no lock per slot); given back at close.

import { PacketPool } from '../nic/pool.js';
import { NATIVE_BURST } from '../native/io.js';

export class SlotStock {
  readonly handles = new Int32Array(NATIVE_BURST);
  count = 0;

  /** Top up from `pool`; how many are in stock (0: the pool is empty). */
  fill(pool: PacketPool): number {
    const h = this.handles;
    while (this.count < NATIVE_BURST) {
      const x = pool.alloc();
      if (x < 0) break;
      h[this.count++] = x;
    }
    return this.count;
  }

  /** handles[0..r) were handed on: move the rest down. */
  used(r: number): void {
    this.handles.copyWithin(0, r, this.count);
    this.count -= r;
  }

  /** Give every slot back to `pool`. */
  release(pool: PacketPool): void {
    for (let i = 0; i < this.count; i++) pool.free(this.handles[i]);
    this.count = 0;
  }
}
