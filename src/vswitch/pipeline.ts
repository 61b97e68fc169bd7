// SwitchPipeline: the per-batch forwarding stage a datapath worker runs on a receive queue.
//
// Input: a batch of handles whose flow keys the NIC already extracted.
// Steps, each a loop over the whole batch:
//   1. admit   — drop frames that did not parse (counted per parse reason) and classify the
//                VLAN each frame belongs to from its input port's access/trunk config; then
//                look up the frame's flow in the FlowStage (flow cache; rules classified on a
//                miss): a rule drop ends here (dropRule);
//   1b. ingress extensions (ExtensionStack: captures, filters, the forwarding extension) see
//                the admitted frames; they may drop them (dropExtension), edit them (the flow
//                key is parsed again), or — the forwarding extension — choose destinations;
//   2. learn   — record (VLAN, source MAC) -> input port in the shared MacTable;
//   3. decide  — a forwarding extension's destinations win, then a rule's output ports or
//                flood; otherwise known unicast: one port; group
//                or unknown destination: flood to every enabled port carrying the VLAN,
//                never back out of the input port. A rule's setVlan moves the frame into
//                that VLAN first (lookup, flooding and egress tagging use it; learning used
//                the ingress VLAN);
//   4. output  — list the (frame, destination port) pairs (plus the mirror port, which gets
//                the frame with its tag as received); egress extensions (reverse order) may
//                exclude pairs (a frame left with none: dropExcluded); apply the verdict's
//                edits (DSCP, rate class), write the egress tag operation per pair, set the
//                handle's reference count, then one burst enqueue per destination port. A full
//                transmit ring drops (counted) and releases.
// The fast path: a flow whose cached decision carries the switch outcome (steps 2-4a above,
// compiled into the decision on its first packet) skips learning, deciding and listing — it
// refreshes its source MAC, replays the outcome's counters and copies its pairs. Frames an
// extension edits on ingress, or sends where a non-cacheable forwarding extension chose, are
// switched step by step (their outcome is not the flow's). The decisions depend on the MAC
// and port tables and the extension stack, whose versions the flow stage watches each batch.
// Every handle given is enqueued to >= 1 transmit ring or put on the return ring: none is
// lost. Counters: PIPELINE_COUNTERS per port row (input port for receive-side reasons,
// output port for txRingFull).

import { CounterBlock } from '../counters.js';
import { Doorbell } from '../nic/doorbell.js';
import { PacketPool } from '../nic/pool.js';
import { Ring } from '../nic/ring.js';
import { MAX_VLAN_TAGS } from '../wire/ethernet.js';
import { FlowKeys, PARSE_REASONS } from '../wire/flow-key.js';
import { setDscp } from '../wire/dscp.js';
import { FlowStage } from '../flow/flow-stage.js';
import { SW_DROP, SW_FORWARD, SW_NONE, SWF_NO_DESTINATION, SWF_UNKNOWN_UNICAST } from '../flow/flow-decisions.js';
import { Verdict } from '../flow/rule-set.js';
import { ExtensionStack, MIRRORS } from './ext/stack.js';
import { LEARN_PORT_LIMIT, MacTable } from './mac-table.js';
import { MODE_ACCESS, PortTable } from './port-table.js';
import { TAG_KEEP, TAG_PUSH, TAG_SET_VID, TAG_STRIP } from './egress-tag.js';

import { BATCH_MAX } from '../batch.js';

export { BATCH_MAX };

export const PIPELINE_COUNTERS = [
  'processed', 'forwarded', 'flooded', 'ruleOutput', 'extensionOutput', 'mirrored', 'unknownUnicast', 'txRingFull',
  'dropRule', 'dropExtension', 'dropExcluded',
  'dropPortDisabled', 'dropTaggedOnAccess', 'dropUntaggedOnTrunk', 'dropVlanNotAllowed',
  'dropSrcMacGroup', 'dropMacLimit', 'dropSameSegment', 'dropNoDestination',
  ...PARSE_REASONS.slice(1).map((r) => `malformed.${r}` as const),
] as const;
export type PipelineCounter = (typeof PIPELINE_COUNTERS)[number];
const MALFORMED_BASE = PIPELINE_COUNTERS.indexOf('malformed.ethTruncated') - 1;

const EXTENSION = -4;
const EXPLICIT = -3;
const FLOOD = -2;
const DROP = -1;

export interface PipelineOutputs {
  /** One transmit ring per port, from this worker to the transmitting thread. */
  tx: Ring[];
  /** Handles this worker is done with, back to the pool owner. */
  ret: Ring;
  /** Wakes the transmitting thread. */
  bell: Doorbell;
}

export class SwitchPipeline {
  private readonly pool: PacketPool;
  private readonly keys: FlowKeys;
  private readonly ports: PortTable;
  private readonly macs: MacTable;
  private readonly txOp: Int32Array;
  private readonly out: PipelineOutputs;
  readonly counters: CounterBlock<typeof PIPELINE_COUNTERS>;
  private readonly c: Float64Array;
  private readonly nc: number;
  private readonly at: CounterBlock<typeof PIPELINE_COUNTERS>['at'];
  // Per-batch scratch, sized once.
  private readonly vlan = new Int32Array(BATCH_MAX);
  private readonly dest = new Int32Array(BATCH_MAX);
  private readonly verdict: (Verdict | null)[] = new Array<Verdict | null>(BATCH_MAX).fill(null);
  private readonly stage: Int32Array;
  private readonly staged: Int32Array;
  private readonly outList: Int32Array;
  /** Rules and flow cache; null: plain learning switch. */
  readonly flow: FlowStage | null;
  /** Bound extensions; null: none. */
  readonly ext: ExtensionStack | null;
  private readonly live = new Uint8Array(BATCH_MAX);
  private nowSec = 0;
  /** Flow decision per position: >= 0 cached, -1 a miss, -2 not looked up. */
  private readonly dec = new Int32Array(BATCH_MAX);
  /** 1: switched from its cached decision (the fast path). */
  private readonly fast = new Uint8Array(BATCH_MAX);
  /** 1: edited on ingress, or sent where a non-cacheable forwarding extension chose: its outcome is not its flow's. */
  private readonly diverted = new Uint8Array(BATCH_MAX);
  // The switch outcome of frames switched step by step, for their flow's decision: the
  // counter that dropped it (-1: none), flags, and the MAC table slot of its source address.
  private readonly swDrop = new Int16Array(BATCH_MAX);
  private readonly swFlags = new Uint8Array(BATCH_MAX);
  private readonly srcSlot = new Int32Array(BATCH_MAX);
  private readonly dstSlot = new Int32Array(BATCH_MAX);
  // (frame position, destination port, tag op) per output pair; pairGone marks exclusions.
  private readonly pairPos: Int32Array;
  private readonly pairPort: Int32Array;
  private readonly pairOp: Int32Array;
  private readonly pairGone: Uint8Array;
  private readonly pairFrom = new Int32Array(BATCH_MAX + 1);

  constructor(pool: PacketPool, keys: FlowKeys, ports: PortTable, macs: MacTable, txOp: Int32Array,
    out: PipelineOutputs, counters?: CounterBlock<typeof PIPELINE_COUNTERS>, flow: FlowStage | null = null, ext: ExtensionStack | null = null) {
    this.pool = pool; this.keys = keys; this.ports = ports; this.macs = macs; this.txOp = txOp; this.out = out;
    this.flow = flow;
    this.ext = ext;
    if (ext !== null) {
      const iv = ext.ingressView;
      iv.vlans = this.vlan;
      iv.macLookup = (v, h) => this.macs.lookup(v, keys.dstMacHi[h], keys.dstMacLo[h], this.nowSec);
    }
    const maxPairs = BATCH_MAX * (ports.count + 1);
    this.pairPos = new Int32Array(maxPairs);
    this.pairPort = new Int32Array(maxPairs);
    this.pairOp = new Int32Array(maxPairs);
    this.pairGone = new Uint8Array(maxPairs);
    this.outList = new Int32Array(ports.count + 1);
    this.counters = counters ?? new CounterBlock(PIPELINE_COUNTERS, ports.count);
    this.c = this.counters.values;
    this.nc = PIPELINE_COUNTERS.length;
    this.at = this.counters.at;
    this.stage = new Int32Array(ports.count * BATCH_MAX);
    this.staged = new Int32Array(ports.count);
  }

  // Release one reference this worker holds on h; the last one goes back to the pool owner.
  private release(h: number): void {
    if (Atomics.sub(this.pool.refs, h, 1) === 1) this.out.ret.enqueue(h);
  }

  // Drops decided after the extensions: counted now, released at the end of the batch (the
  // extensions may still look at the frame while completing its flow's cached decision).
  private readonly afterIngress = new Uint8Array(BATCH_MAX);
  private readonly deferred = new Int32Array(BATCH_MAX);
  private nDeferred = 0;
  private dropLater(h: number, row: number, counter: number): void {
    this.c[row * this.nc + counter]++;
    this.deferred[this.nDeferred++] = h;
  }

  // Drop the frame at position i before it was looked up.
  private dropAt(i: number, h: number, row: number, counter: number): void {
    this.dest[i] = DROP;
    this.dec[i] = -2;
    this.drop(h, row, counter);
  }

  private drop(h: number, row: number, counter: number): void {
    this.c[row * this.nc + counter]++;
    this.pool.refs[h] = 1;
    this.release(h);
  }

  /** Forward batch[0..n) (n <= BATCH_MAX); `now` is the batch time in whole seconds. */
  process(batch: Int32Array, n: number, now: number): void {
    const k = this.keys, ports = this.ports, macs = this.macs, c = this.c, nc = this.nc, at = this.at;
    const vlan = this.vlan, dest = this.dest, verdict = this.verdict, dec = this.dec, fast = this.fast, diverted = this.diverted;
    const ext = this.ext;
    this.nowSec = now;
    if (ext !== null) { ext.refresh(); ext.mirrorCount.fill(0, 0, n); }
    // The flow stage runs when there is something to classify: rules, or a flow-cacheable
    // extension. With neither, a cache hit costs more than the learning switch's own decision
    // it would replace (native-free-bench/extensions.ts), so the switch decides every packet.
    const flow = this.flow !== null && (this.flow.rules.size !== 0 || (ext !== null && ext.hasCacheable)) ? this.flow : null;
    // Cached decisions hold the cacheable extensions' outcomes when any is running.
    const cached = flow !== null && ext !== null && ext.hasCacheable;
    // Everything besides the rules that decisions depend on; each term only grows.
    const macGen = macs.generation;
    if (flow !== null) flow.begin((ext !== null ? ext.stateVersion : 0) + macGen + ports.generation);
    const fd = flow !== null ? flow.decisions : null;
    // Frames that missed the cache or hit a decision with an extension outcome.
    let unusual = 0;

    // 1. admit: parse result, ingress VLAN, flow decision (cache; rules on a miss). Each of
    //    dest/dec/verdict is written once per frame (stores are what this loop costs).
    for (let i = 0; i < n; i++) {
      const h = batch[i];
      const inp = k.inPort[h];
      c[inp * nc + at.processed]++;
      const r = k.reason[h];
      if (r !== 0) { this.dropAt(i, h, inp, MALFORMED_BASE + r); continue; }
      if (!ports.enabled(inp)) { this.dropAt(i, h, inp, at.dropPortDisabled); continue; }
      const tagged = k.vlanCount[h] !== 0;
      const vid = tagged ? k.vlanTci[h * MAX_VLAN_TAGS] & 0xfff : 0;
      let v: number;
      if (ports.mode(inp) === MODE_ACCESS) {
        if (vid !== 0) { this.dropAt(i, h, inp, at.dropTaggedOnAccess); continue; }
        v = ports.accessVlan(inp);
      } else if (vid === 0) {
        v = ports.nativeVlan(inp);
        if (v < 0) { this.dropAt(i, h, inp, at.dropUntaggedOnTrunk); continue; }
      } else {
        if (!ports.carries(inp, vid)) { this.dropAt(i, h, inp, at.dropVlanNotAllowed); continue; }
        v = vid;
      }
      vlan[i] = v;
      if (flow === null) { dest[i] = 0; dec[i] = -2; verdict[i] = null; continue; }
      let d = flow.lookup(k, h, i);
      let vd: Verdict;
      if (d >= 0) vd = flow.verdict(d);
      else {
        vd = flow.rules.verdicts[flow.missRule[i]];
        // A rule drop is the flow's whole decision: cache it now.
        if (vd.drop) { d = fd!.forRule(flow.missRule[i]); flow.insert(i, d); }
      }
      dec[i] = d;
      if (d < 0 || fd!.plain[d] === 0) unusual++;
      if (vd.slots.length !== 0) flow.rules.count(vd, this.pool.len[h]);
      if (vd.drop) { dest[i] = DROP; this.drop(h, inp, at.dropRule); continue; }
      dest[i] = 0;
      verdict[i] = vd;
    }

    // 1b. ingress extensions (none to call when every frame hit a plain cached decision and
    //     every running extension is cacheable).
    const plain = cached && unusual === 0 && ext!.onlyCacheable;
    let plainFrames = 0;
    if (plain) for (let i = 0; i < n; i++) if (dest[i] !== DROP) plainFrames++;
    const iv = ext !== null && !plain && (ext.hasIngress || cached) ? ext.ingressView : null;
    if (iv !== null) {
      const live = this.live;
      for (let i = 0; i < n; i++) live[i] = dest[i] === DROP ? 0 : 1;
      ext!.ingress(batch, n, live, cached ? dec : null, cached ? fd : null);
      for (let i = 0; i < n; i++) {
        diverted[i] = 0;
        if (!live[i]) continue;
        const h = batch[i];
        if (iv.dropped[i]) { dest[i] = DROP; this.drop(h, k.inPort[h], at.dropExtension); continue; }
        if (iv.modified[i]) {
          // An edited frame is parsed again: later stages must see what leaves. Its flow is
          // still filed under the key it arrived with.
          const inp = k.inPort[h];
          if (flow !== null && this.mayInsert(i)) flow.preserve(i);
          const r = k.extract(this.pool.data, this.pool.start(h), this.pool.len[h], h);
          diverted[i] = 1;
          if (r !== 0) { dest[i] = DROP; this.drop(h, inp, MALFORMED_BASE + r); continue; }
        }
        if (iv.destCount[i] >= 0) {
          dest[i] = EXTENSION;
          // Chosen now by a forwarding extension that is not cacheable: this packet's choice only.
          const d = dec[i];
          if (!(cached && (d >= 0 ? fd!.destN[d] >= 0 : ext!.pendDest[i] === 1))) diverted[i] = 1;
        }
      }
    }

    // Frames alive after the extensions: the ones whose cacheable decisions can be completed.
    const afterIngress = this.afterIngress;
    for (let i = 0; i < n; i++) afterIngress[i] = dest[i] === DROP ? 0 : 1;
    this.nDeferred = 0;

    // 2. learn source MACs. A frame whose cached decision carries the switch outcome only
    //    refreshes its source MAC and takes that outcome — unless the MAC table changed while
    //    this batch was learning (a new or moved address), when it is switched step by step
    //    like the rest, so it sees what this batch learned.
    let slow = 0, nFast = 0;
    if (flow === null) {
      // learnOne without the notes for a flow decision (nothing is cached here: fewer stores).
      for (let i = 0; i < n; i++) {
        if (dest[i] === DROP) continue;
        slow++;
        const h = batch[i];
        const inp = k.inPort[h];
        if ((k.srcMacHi[h] & 0x100) !== 0) { dest[i] = DROP; this.dropLater(h, inp, at.dropSrcMacGroup); continue; }
        if (macs.learn(vlan[i], k.srcMacHi[h], k.srcMacLo[h], inp, now) === LEARN_PORT_LIMIT) { dest[i] = DROP; this.dropLater(h, inp, at.dropMacLimit); }
      }
    } else {
      const noDivert = iv === null;
      for (let i = 0; i < n; i++) {
        fast[i] = 0;
        if (dest[i] === DROP) continue;
        const d = dec[i];
        if (d >= 0 && fd!.sw[d] !== SW_NONE && (noDivert || diverted[i] === 0) && (fd!.dstSlot[d] < 0 || !macs.expired(fd!.dstSlot[d], now))) {
          fast[i] = 1; nFast++; macs.refresh(fd!.srcSlot[d], now);
          continue;
        }
        if (noDivert) diverted[i] = 0;
        slow++;
        this.learnOne(batch, i, now);
      }
      if (nFast !== 0) {
        const demote = macs.generation !== macGen;
        for (let i = 0; i < n; i++) {
          if (fast[i] === 0) continue;
          const h = batch[i], d = dec[i];
          if (demote) { fast[i] = 0; slow++; diverted[i] = 0; this.learnOne(batch, i, now); continue; }
          if (fd!.sw[d] === SW_DROP) {
            dest[i] = DROP; this.dropLater(h, k.inPort[h], fd!.swCounter[d]);
            if (fd!.swCounter[d] === at.dropMacLimit) macs.refusedByLimit();
            continue;
          }
          dest[i] = fd!.swDest[d];
        }
      }
    }

    // 3. decide destinations (frames switched step by step).
    if (slow !== 0) {
      for (let i = 0; i < n; i++) {
        if (dest[i] === DROP || (nFast !== 0 && fast[i] !== 0)) continue;
        const h = batch[i];
        const inp = k.inPort[h];
        const vd = verdict[i];
        if (vd !== null && vd.setVlan >= 0) vlan[i] = vd.setVlan;
        if (dest[i] === EXTENSION) continue;
        if (vd !== null) {
          if (vd.output.length !== 0) { dest[i] = EXPLICIT; continue; }
          if (vd.flood) { dest[i] = FLOOD; continue; }
        }
        if ((k.dstMacHi[h] & 0x100) !== 0) { dest[i] = FLOOD; continue; }
        const slot = macs.locate(vlan[i], k.dstMacHi[h], k.dstMacLo[h], now);
        if (slot < 0) { c[inp * nc + at.unknownUnicast]++; this.swFlags[i] |= SWF_UNKNOWN_UNICAST; dest[i] = FLOOD; continue; }
        this.dstSlot[i] = slot;
        const p = macs.portAt(slot);
        if (p === inp) { dest[i] = DROP; this.swDrop[i] = at.dropSameSegment; this.dropLater(h, inp, at.dropSameSegment); continue; }
        if (!ports.enabled(p) || !ports.carries(p, vlan[i])) { dest[i] = DROP; this.swDrop[i] = at.dropNoDestination; this.dropLater(h, inp, at.dropNoDestination); continue; }
        dest[i] = p;
      }
    }

    // 4. output. a) every (frame, destination) pair with its tag op.
    const stage = this.stage, staged = this.staged, np = ports.count, list = this.outList, pool = this.pool;
    const pairPos = this.pairPos, pairPort = this.pairPort, pairOp = this.pairOp, pairGone = this.pairGone, pairFrom = this.pairFrom;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      pairFrom[i] = pairs;
      const d = dest[i];
      if (d === DROP) continue;
      const h = batch[i];
      const inp = k.inPort[h];
      if (nFast !== 0 && fast[i] !== 0) {
        // The cached outcome's pairs, as listed when the flow was first switched.
        const e = dec[i], from = fd!.pairAt[e], m = fd!.pairN[e], pp = fd!.pairs, flags = fd!.swFlags[e];
        if (flags !== 0) {
          if ((flags & SWF_UNKNOWN_UNICAST) !== 0) c[inp * nc + at.unknownUnicast]++;
          if ((flags & SWF_NO_DESTINATION) !== 0) c[inp * nc + at.dropNoDestination]++;
        }
        for (let j = 0; j < m; j++) { pairPos[pairs] = i; pairPort[pairs] = pp[from + 2 * j]; pairOp[pairs] = pp[from + 2 * j + 1]; pairGone[pairs] = 0; pairs++; }
        continue;
      }
      const v = vlan[i];
      const vd = verdict[i];
      let m = 0;
      if (d >= 0) list[m++] = d;
      else if (d === FLOOD) { for (let p = 0; p < np; p++) if (this.floodsTo(p, inp, v)) list[m++] = p; }
      else if (d === EXPLICIT) {
        const out = vd!.output;
        for (let j = 0; j < out.length; j++) if (out[j] !== inp && ports.enabled(out[j])) list[m++] = out[j];
      } else {
        const iv2 = ext!.ingressView, base = i * np;
        for (let j = 0; j < iv2.destCount[i]; j++) { const p = iv2.dest[base + j]; if (p !== inp && ports.enabled(p) && !this.listed(list, m, p)) list[m++] = p; }
      }
      const forwards = m;
      if (vd !== null && vd.mirror >= 0 && vd.mirror !== inp && ports.enabled(vd.mirror) && !this.listed(list, m, vd.mirror)) list[m++] = vd.mirror;
      if (forwards === 0) { c[inp * nc + at.dropNoDestination]++; this.swFlags[i] |= SWF_NO_DESTINATION; }
      const tagged = k.vlanCount[h] !== 0;
      const strip = vd !== null && vd.stripVlan;
      for (let j = 0; j < m; j++) {
        pairPos[pairs] = i; pairPort[pairs] = list[j]; pairGone[pairs] = 0;
        // The mirror copy (after the forwards) keeps the tag as received; negative marks it.
        pairOp[pairs] = j < forwards ? this.tagOp(list[j], h, v, tagged, strip) : -1 - TAG_KEEP;
        pairs++;
      }
    }
    pairFrom[n] = pairs;

    // b) egress extensions, reverse order, may exclude pairs.
    if (plain) ext!.plainBatch(plainFrames, pairs);
    else if (ext !== null && (ext.hasEgress || cached)) {
      // Misses dropped by the switch itself after the extensions (their handles are released at
      // the end of the batch) are still asked about every port, so their flows get cached.
      ext.egress(batch, pairPos, pairPort, pairGone, pairs, n, afterIngress, cached ? dec : null, cached ? fd : null);
    }
    if (flow !== null && (slow !== 0 || unusual !== 0)) this.cacheDecisions(n, cached);

    // c) per frame: edits, reference count = surviving pairs, stage each pair.
    staged.fill(0);
    for (let i = 0; i < n; i++) {
      const d = dest[i];
      if (d === DROP) continue;
      const h = batch[i];
      const inp = k.inPort[h];
      let m = 0, fwd = 0;
      for (let q = pairFrom[i]; q < pairFrom[i + 1]; q++) if (!pairGone[q]) { m++; if (pairOp[q] >= 0) fwd++; }
      if (m === 0) {
        if (pairFrom[i + 1] !== pairFrom[i]) c[inp * nc + at.dropExcluded]++;
        pool.refs[h] = 1; this.release(h);
        continue;
      }
      const vd = verdict[i];
      if (vd !== null) {
        if (vd.setDscp >= 0) setDscp(pool.data, pool.start(h) + k.l3Off[h], k.ipVersion[h], vd.setDscp);
        if (vd.rateClass >= 0) pool.rateClass[h] = vd.rateClass;
      }
      // Copies extensions asked for (mirror), unless the port already gets the frame.
      let extra = 0;
      const mc = ext !== null ? ext.mirrorCount[i] : 0;
      for (let j = 0; j < mc; j++) {
        const mp = ext!.mirrorPorts[i * MIRRORS + j];
        if (mp === inp || !ports.enabled(mp) || this.pairTo(i, mp)) continue;
        list[extra++] = mp;
      }
      pool.refs[h] = m + extra; // set before the first copy is visible to the sender
      for (let q = pairFrom[i]; q < pairFrom[i + 1]; q++) {
        if (pairGone[q]) continue;
        const op = pairOp[q];
        this.stageOp(pairPort[q], h, op >= 0 ? op : -1 - op);
        if (op < 0) c[inp * nc + at.mirrored]++;
      }
      for (let j = 0; j < extra; j++) { this.stageOp(list[j], h, TAG_KEEP); c[inp * nc + at.mirrored]++; }
      if (fwd !== 0) c[inp * nc + (d >= 0 ? at.forwarded : d === FLOOD ? at.flooded : d === EXPLICIT ? at.ruleOutput : at.extensionOutput)]++;
    }
    for (let p = 0; p < np; p++) {
      const m = staged[p];
      if (m === 0) continue;
      const base = p * BATCH_MAX;
      const sent = this.out.tx[p].enqueueBurst(stage, base, m);
      for (let j = sent; j < m; j++) { c[p * nc + at.txRingFull]++; this.release(stage[base + j]); }
    }
    for (let j = 0; j < this.nDeferred; j++) { const h = this.deferred[j]; this.pool.refs[h] = 1; this.release(h); }
    this.out.bell.ring();
  }

  // A flooded frame goes to every enabled port carrying its VLAN except the one it came in on.
  private floodsTo(p: number, inp: number, v: number): boolean {
    return p !== inp && this.ports.enabled(p) && this.ports.carries(p, v);
  }

  // The tag operation that makes h right for port p's VLAN mode (or, for a stripVlan
  // verdict, untagged whatever the mode).
  private tagOp(p: number, h: number, v: number, tagged: boolean, strip: boolean): number {
    const ports = this.ports;
    const wantTag = !strip && ports.mode(p) !== MODE_ACCESS && ports.nativeVlan(p) !== v;
    if (wantTag) return tagged ? (this.keys.vlanTci[h * MAX_VLAN_TAGS] & 0xfff) === v ? TAG_KEEP : TAG_SET_VID | (v << 4) : TAG_PUSH | (v << 4);
    return tagged ? TAG_STRIP : TAG_KEEP;
  }

  // Learn the source MAC of the frame at position i (switched step by step) and note what its
  // flow's decision needs: the drop counter, or the MAC table slot to refresh.
  private learnOne(batch: Int32Array, i: number, now: number): void {
    const k = this.keys, h = batch[i], inp = k.inPort[h], at = this.at;
    this.swDrop[i] = -1; this.swFlags[i] = 0; this.srcSlot[i] = -1; this.dstSlot[i] = -1;
    if ((k.srcMacHi[h] & 0x100) !== 0) { this.dest[i] = DROP; this.swDrop[i] = at.dropSrcMacGroup; this.dropLater(h, inp, at.dropSrcMacGroup); return; }
    const slot = this.macs.learn(this.vlan[i], k.srcMacHi[h], k.srcMacLo[h], inp, now);
    if (slot === LEARN_PORT_LIMIT) { this.dest[i] = DROP; this.swDrop[i] = at.dropMacLimit; this.dropLater(h, inp, at.dropMacLimit); return; }
    this.srcSlot[i] = slot; // LEARN_TABLE_FULL (negative): nothing to refresh
  }

  // May position i's flow be filed (or completed) at the end of this batch? A miss, or a hit
  // on a decision without the switch outcome.
  private mayInsert(i: number): boolean {
    const d = this.dec[i];
    return d === -1 || (d >= 0 && this.flow!.decisions.sw[d] === SW_NONE);
  }

  // File the decision of every flow that missed the cache (and complete partial decisions):
  // the rule verdict, what the cacheable extensions just decided — when every one of them had
  // its say (a packet dropped by a non-cacheable extension leaves the flow uncached: its next
  // packet asks again) — and, unless the frame was diverted, the switch's own outcome.
  private cacheDecisions(n: number, cached: boolean): void {
    const flow = this.flow!, fd = flow.decisions, ext = this.ext, dec = this.dec, live = this.afterIngress;
    const np = this.ports.count;
    for (let i = 0; i < n; i++) {
      const d0 = dec[i];
      if (d0 === -2 || this.fast[i] !== 0 || !this.mayInsert(i)) continue;
      if (d0 >= 0) {
        // A partial decision: complete it when this frame was switched as its flow would be.
        if (!live[i] || this.diverted[i] !== 0) continue;
        fd.beginFrom(d0);
      } else {
        fd.begin(flow.missRule[i]);
        if (cached) {
          if (ext!.pendDropBy[i] >= 0) {
            // Dropped by a cacheable extension: nothing after it matters.
            fd.setDrop(ext!.pendDropBy[i], ext!.pendDropReason[i]);
            flow.insert(i, fd.finish());
            continue;
          }
          if (!live[i] || ext!.incomplete[i]) continue;
          if (ext!.pendDest[i]) fd.setDestinations(ext!.ingressView.dest, i * np, ext!.ingressView.destCount[i]);
          fd.setExclusions(ext!.pendExclBy, ext!.pendExclReason, i * np);
        } else if (!live[i]) continue;
      }
      if (this.diverted[i] === 0) this.compileSwitch(i);
      flow.insert(i, fd.finish());
    }
  }

  // The switch outcome of position i (switched step by step in this batch) into the decision
  // being built: a drop and its counter, or the pairs listed with their tag ops.
  private compileSwitch(i: number): void {
    const fd = this.flow!.decisions;
    if (this.dest[i] === DROP) { fd.setSwitch(SW_DROP, this.swDrop[i], 0, 0, this.srcSlot[i], this.dstSlot[i]); return; }
    fd.setSwitch(SW_FORWARD, 0, this.swFlags[i], this.dest[i], this.srcSlot[i], this.dstSlot[i]);
    for (let q = this.pairFrom[i]; q < this.pairFrom[i + 1]; q++) fd.addPair(this.pairPort[q], this.pairOp[q]);
  }

  // Does position i have a surviving pair to port p?
  private pairTo(i: number, p: number): boolean {
    for (let q = this.pairFrom[i]; q < this.pairFrom[i + 1]; q++) if (!this.pairGone[q] && this.pairPort[q] === p) return true;
    return false;
  }

  private listed(list: Int32Array, m: number, p: number): boolean {
    for (let j = 0; j < m; j++) if (list[j] === p) return true;
    return false;
  }

  private stageOp(p: number, h: number, op: number): void {
    this.txOp[p * this.pool.slots + h] = op;
    this.stage[p * BATCH_MAX + this.staged[p]++] = h;
  }
}
