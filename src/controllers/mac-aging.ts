// MacAging: sweeps expired entries out of the MAC table (lookups already ignore them; the sweep
// frees their slots), every half aging time, at least every second and at most every 10 s.

import { Controller } from './control-tick.js';
import { MacTable } from '../vswitch/mac-table.js';

export class MacAging implements Controller {
  readonly name = 'mac-aging';
  private readonly macs: MacTable;
  private readonly everyUs: number;
  private next = -1;
  /** Sweeps done, and entries they removed. */
  sweeps = 0;
  removed = 0;

  constructor(macs: MacTable, agingSeconds: number) {
    this.macs = macs;
    this.everyUs = Math.max(1, Math.min(10, Math.floor(agingSeconds / 2))) * 1e6;
  }

  tick(nowUs: number): void {
    if (this.next < 0) this.next = nowUs + this.everyUs;
    if (nowUs < this.next) return;
    this.next = nowUs + this.everyUs;
    this.sweeps++;
    this.removed += this.macs.age(Math.floor(nowUs / 1e6));
  }
}
