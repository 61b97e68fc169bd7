// PairAging: removes the (source VM, destination VM) pairs a tunnel uplink limits once no frame
// was offered for them for PAIR_IDLE_SECONDS, once a second, so a bounded table keeps room for
// the pairs that are sending (qos/pair-table.ts). A removed pair that sends again is made again,
// at the line rate, until its receiver's host grants it a rate.

import { Controller } from './control-tick.js';
import { PairTable } from '../qos/pair-table.js';

/** Seconds without a frame after which a pair is forgotten. */
export const PAIR_IDLE_SECONDS = 30;

export class PairAging implements Controller {
  readonly name: string;
  private readonly table: PairTable;
  private next = -1;
  /** Pairs removed. */
  removed = 0;

  constructor(port: string, table: PairTable) { this.name = `pair-aging ${port}`; this.table = table; }

  tick(nowUs: number): void {
    if (this.next < 0) this.next = nowUs + 1e6;
    if (nowUs < this.next) return;
    this.next = nowUs + 1e6;
    this.removed += this.table.age(Math.floor(nowUs / 1e6) - PAIR_IDLE_SECONDS);
  }
}
