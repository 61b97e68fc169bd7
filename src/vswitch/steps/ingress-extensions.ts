// ingress extensions — the ExtensionStack (captures, filters, the forwarding extension) sees
// the admitted frames; they may drop them (dropExtension), edit them (the flow key is parsed
// again, and the frame is switched step by step: its outcome is not its flow's), or — the
// forwarding extension — choose destinations. Nothing is called when every frame hit a plain
// cached decision and every running extension is cacheable.

import { MALFORMED_BASE } from '../pipeline-counters.js';
import { DROP, EXTENSION, PipelineStep, SwitchBatch } from '../switch-batch.js';

export const ingressExtensions: PipelineStep = {
  name: 'ingress extensions',
  run(b: SwitchBatch): void {
    const ext = b.ext, n = b.n, dest = b.dest, dec = b.dec, diverted = b.diverted, cached = b.cached, fd = b.fd, flow = b.flow;
    const plain = cached && b.unusual === 0 && ext!.onlyCacheable;
    b.plain = plain;
    if (plain) { let m = 0; for (let i = 0; i < n; i++) if (dest[i] !== DROP) m++; b.plainFrames = m; }
    const iv = ext !== null && !plain && (ext.hasIngress || cached) ? ext.ingressView : null;
    b.iv = iv;
    if (iv !== null) {
      const live = b.live, k = b.keys, pool = b.pool, at = b.at, batch = b.handles;
      for (let i = 0; i < n; i++) live[i] = dest[i] === DROP ? 0 : 1;
      ext!.ingress(batch, n, live, cached ? dec : null, cached ? fd : null);
      for (let i = 0; i < n; i++) {
        diverted[i] = 0;
        if (!live[i]) continue;
        const h = batch[i];
        if (iv.dropped[i]) { dest[i] = DROP; b.drop(h, k.inPort[h], at.dropExtension); continue; }
        if (iv.modified[i]) {
          // An edited frame is parsed again: later steps must see what leaves. Its flow is
          // still filed under the key it arrived with.
          const inp = k.inPort[h];
          if (flow !== null && b.mayInsert(i)) flow.preserve(i);
          const r = k.extract(pool.data, pool.start(h), pool.len[h], h);
          diverted[i] = 1;
          if (r !== 0) { dest[i] = DROP; b.drop(h, inp, MALFORMED_BASE + r); continue; }
        }
        if (iv.destCount[i] >= 0) {
          dest[i] = EXTENSION;
          // Chosen now by a forwarding extension that is not cacheable: this packet's choice only.
          const d = dec[i];
          if (!(cached && (d >= 0 ? fd!.destN[d] >= 0 : ext!.record.pendDest[i] === 1))) diverted[i] = 1;
        }
      }
    }
    // Alive after the extensions: what egress extensions and cache decisions look at.
    if (ext === null && flow === null) return;
    const afterIngress = b.afterIngress;
    for (let i = 0; i < n; i++) afterIngress[i] = dest[i] === DROP ? 0 : 1;
  },
};
