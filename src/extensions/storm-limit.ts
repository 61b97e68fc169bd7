// Built-in "storm-limit" (filter): caps the broadcast, multicast and unknown-unicast frames
// each guarded port may send into the switch, in frames per second; the excess is dropped
// (broadcastStorm, multicastStorm, unknownUnicastStorm). Counting is shared by all datapath
// threads (fixed 100 ms windows in shared memory, so the cap holds whichever queue a frame
// lands on); a window's allowance is rate / 10, at least 1.
// Configuration: { name?: string, ports?: [port names] (default all), broadcastPps?,
//   multicastPps?, unknownUnicastPps? } — a class with no rate is not limited.
import type { ExtensionDefinition, IngressBatch } from '../vswitch/ext/api.js';
import { portFlags } from './common.js';

interface Config { name?: string; ports?: string[]; broadcastPps?: number; multicastPps?: number; unknownUnicastPps?: number }

const CLASSES = ['broadcastPps', 'multicastPps', 'unknownUnicastPps'] as const;
const REASONS = ['broadcastStorm', 'multicastStorm', 'unknownUnicastStorm'];
const WINDOW_MS = 100;

function limits(config: Config, name: string): number[] {
  return CLASSES.map((c) => {
    const v = config[c];
    if (v === undefined) return -1;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${name}: config.${c} must be a whole number of frames per second`);
    return Math.max(1, Math.ceil(v / (1000 / WINDOW_MS)));
  });
}

export default function stormLimit(config: Config = {}): ExtensionDefinition & { dropReasons: string[] } {
  const name = config.name ?? 'storm-limit';
  return {
    name, kind: 'filter', dropReasons: REASONS,
    start(ctx) {
      portFlags(config.ports, ctx.ports, name);
      limits(config, name);
      // Per (port, class): [window number, frames counted in it].
      return { shared: new SharedArrayBuffer(ctx.ports.length * CLASSES.length * 8) };
    },
    datapath(ctx) {
      const guarded = portFlags(config.ports, ctx.ports, name);
      const perWindow = limits(config, name);
      const w = new Int32Array(ctx.shared as SharedArrayBuffer);
      // Count one frame of class c from port p in the current window; false when over.
      const admit = (p: number, c: number, win: number): boolean => {
        const at = (p * CLASSES.length + c) * 2;
        const seen = Atomics.load(w, at);
        if (seen !== win && Atomics.compareExchange(w, at, seen, win) === seen) Atomics.store(w, at + 1, 0);
        return Atomics.add(w, at + 1, 1) < perWindow[c];
      };
      return {
        ingress(b: IngressBatch) {
          const win = Math.floor(Date.now() / WINDOW_MS) | 0;
          const k = b.keys;
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j), p = k.inPort[h];
            if (!guarded[p]) continue;
            let c: number;
            if ((k.dstMacHi[h] & 0x100) !== 0) c = k.dstMacHi[h] === 0xffff && k.dstMacLo[h] === 0xffffffff ? 0 : 1;
            else if (perWindow[2] >= 0 && !b.knownDestination(j)) c = 2;
            else continue;
            if (perWindow[c] >= 0 && !admit(p, c, win)) b.drop(j, REASONS[c]);
          }
        },
      };
    },
  };
}
