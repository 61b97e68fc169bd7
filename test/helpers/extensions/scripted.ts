// A test extension whose behaviour comes from its configuration: it records every hook call
// (into globalThis.__extLog, shared by all extensions on the thread) and can drop, exclude,
// modify, choose destinations, veto, throw or stall, so tests can drive the switch's checks.
import type { ControlOp, DatapathContext, EgressBatch, ExtensionDefinition, ExtensionKind, IngressBatch } from '../../../src/vswitch/ext/api.js';

export interface ScriptedConfig {
  name: string;
  kind: ExtensionKind;
  cacheable?: boolean;
  /** Drop (ingress) TCP packets with the SYN flag set. */
  dropSyn?: boolean;
  /** Declared key fields beyond the 5-tuple the decisions read (absent: not declared). */
  flowFields?: ('tcpFlags' | 'tos')[];
  /** Drop (ingress) packets whose UDP destination port is this. */
  dropDport?: number;
  /** Exclude (egress) this destination port index. */
  excludePort?: number;
  /** Forwarding: send everything to these port indices. */
  destinations?: number[];
  /** Call modify() on every ingress packet and set its IPv4 TTL to this. */
  setTtl?: number;
  /** Throw in ingress from this call on (1-based). */
  throwOnCall?: number;
  /** Busy-wait this long in every ingress call (from call stallFromCall on, default 1). */
  stallMs?: number;
  stallFromCall?: number;
  /** Veto these control operations. */
  veto?: string[];
  /** Try everything a kind may not do (for rights tests). */
  overreach?: boolean;
  /** Mirror every ingress packet to this port index. */
  mirrorTo?: number;
  /** Originate a copy of the first IPv4 packet seen, on this port. */
  originateOn?: number;
}

export type LogEntry = string;
const g = globalThis as unknown as { __extLog?: LogEntry[] };
export function extLog(): LogEntry[] { return (g.__extLog ??= []); }

export default function scripted(c: ScriptedConfig): ExtensionDefinition & { dropReasons?: string[] } {
  const log = (s: string) => extLog().push(`${c.name}:${s}`);
  return {
    name: c.name,
    kind: c.kind,
    cacheable: c.cacheable,
    ...(c.flowFields ? { flowFields: c.flowFields } : {}),
    dropReasons: c.kind === 'capture' ? [] : ['scripted'],
    start() { log('start'); },
    stop() { log('stop'); },
    control(op: ControlOp) {
      log(`control:${op.op}${'port' in op && op.port ? `:${op.port}` : ''}${'name' in op ? `:${op.name}` : ''}`);
      if (c.veto?.includes(op.op)) return { veto: `${c.name} says no` };
      return undefined;
    },
    datapath(ctx: DatapathContext) {
      let calls = 0;
      let originated = false;
      return {
        ingress(b: IngressBatch) {
          calls++;
          log(`ingress:${b.count}`);
          if (c.throwOnCall !== undefined && calls >= c.throwOnCall) throw new Error(`scripted failure in ${c.name}`);
          if (c.stallMs && calls >= (c.stallFromCall ?? 1)) { const end = performance.now() + c.stallMs; while (performance.now() < end) { /* stall */ } }
          for (let j = 0; j < b.count; j++) {
            const h = b.handle(j);
            if (c.dropDport !== undefined && b.keys.dstPort[h] === c.dropDport) b.drop(j, 'scripted');
            if (c.dropSyn && b.keys.proto[h] === 6 && (b.keys.tcpFlags[h] & 0x02) !== 0) b.drop(j, 'scripted');
            if (c.destinations) b.setDestinations(j, c.destinations);
            if (c.setTtl !== undefined && b.keys.ipVersion[h] === 4 && b.modify(j)) {
              const at = b.pool.start(h) + b.keys.l3Off[h] + 8;
              b.pool.data[at] = c.setTtl;
            }
            if (c.mirrorTo !== undefined) b.mirror(j, c.mirrorTo);
            if (c.overreach) { b.drop(j, 'scripted'); b.modify(j); b.setDestinations(j, [0]); }
            if (c.originateOn !== undefined && !originated && b.keys.ipVersion[h] === 4) {
              originated = true;
              const s = b.pool.start(h);
              ctx.originate(c.originateOn, b.pool.data.slice(s, s + b.pool.len[h]));
            }
          }
        },
        egress(b: EgressBatch) {
          log(`egress:${b.count}`);
          for (let j = 0; j < b.count; j++) {
            if (c.excludePort !== undefined && b.outPort(j) === c.excludePort) b.exclude(j, 'scripted');
            if (c.overreach) b.exclude(j, 'scripted');
          }
        },
      } as never;
    },
  };
}
