// learn — record (VLAN, source MAC) -> input port (and, from a tunnel uplink, the remote VTEP
// it came from: pool.tunnel) in the shared MacTable. A frame whose cached decision carries the
// switch outcome only refreshes its source MAC and takes that outcome — unless the MAC table
// changed while this batch was learning (a new or moved address), or its source MAC now comes
// from another remote VTEP (a VM that moved host: the flow key does not say), when it is
// switched step by step like the rest, so it sees what this batch learned.

import { SW_DROP } from '../compiled-outcome.js';
import { LEARN_PORT_LIMIT } from '../mac-table.js';
import { DROP, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const learn: PipelineStep = {
  name: 'learn',
  run(b: SwitchBatch): void {
    const k = b.keys, macs = b.macs, n = b.n, now = b.now, dest = b.dest, batch = b.handles, at = b.at, vlan = b.vlan, tunnel = b.pool.tunnel, tunnels = b.tunnels;
    let slow = 0, nFast = 0;
    if (b.flow === null) {
      // learnOne without the notes for a flow decision (nothing is cached here: fewer stores).
      for (let i = 0; i < n; i++) {
        if (dest[i] === DROP) continue;
        slow++;
        const h = batch[i];
        const inp = k.inPort[h];
        if ((k.srcMacHi[h] & 0x100) !== 0) { dest[i] = DROP; b.dropLater(h, inp, at.dropSrcMacGroup); continue; }
        if (macs.learn(vlan[i], k.srcMacHi[h], k.srcMacLo[h], inp, now, tunnels ? tunnel[h] : 0) === LEARN_PORT_LIMIT) { dest[i] = DROP; b.dropLater(h, inp, at.dropMacLimit); }
      }
      b.slow = slow;
      return;
    }
    const so = b.outcomes!, dec = b.dec, fast = b.fast, diverted = b.diverted, noDivert = b.iv === null;
    for (let i = 0; i < n; i++) {
      fast[i] = 0;
      if (dest[i] === DROP) continue;
      const d = dec[i];
      if (d >= 0 && b.fd!.complete[d] !== 0 && (noDivert || diverted[i] === 0) && (so.dstSlot[d] < 0 || !macs.expired(so.dstSlot[d], now)) &&
        (!tunnels || !macs.tunnelMoved(so.srcSlot[d], tunnel[batch[i]]))) {
        fast[i] = 1; nFast++; macs.refresh(so.srcSlot[d], now);
        continue;
      }
      if (noDivert) diverted[i] = 0;
      slow++;
      learnOne(b, i);
    }
    if (nFast !== 0) {
      const demote = macs.generation !== b.macGen;
      for (let i = 0; i < n; i++) {
        if (fast[i] === 0) continue;
        const h = batch[i], d = dec[i];
        if (demote) { fast[i] = 0; nFast--; slow++; diverted[i] = 0; learnOne(b, i); continue; }
        if (so.kind[d] === SW_DROP) {
          dest[i] = DROP; b.dropLater(h, k.inPort[h], so.counter[d]);
          if (so.counter[d] === at.dropMacLimit) macs.refusedByLimit();
          continue;
        }
        dest[i] = so.dest[d];
      }
    }
    b.slow = slow; b.nFast = nFast;
  },
};

// Learn the source MAC of the frame at position i (switched step by step) and note what its
// flow's decision needs: the drop counter, or the MAC table slot to refresh.
function learnOne(b: SwitchBatch, i: number): void {
  const k = b.keys, h = b.handles[i], inp = k.inPort[h], at = b.at;
  b.swDrop[i] = -1; b.swFlags[i] = 0; b.srcSlot[i] = -1; b.dstSlot[i] = -1;
  if ((k.srcMacHi[h] & 0x100) !== 0) { b.dest[i] = DROP; b.swDrop[i] = at.dropSrcMacGroup; b.dropLater(h, inp, at.dropSrcMacGroup); return; }
  const slot = b.macs.learn(b.vlan[i], k.srcMacHi[h], k.srcMacLo[h], inp, b.now, b.tunnels ? b.pool.tunnel[h] : 0);
  if (slot === LEARN_PORT_LIMIT) { b.dest[i] = DROP; b.swDrop[i] = at.dropMacLimit; b.dropLater(h, inp, at.dropMacLimit); return; }
  b.srcSlot[i] = slot; // LEARN_TABLE_FULL (negative): nothing to refresh
}
