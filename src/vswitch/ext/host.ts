// ExtensionHost: the main thread's side of the extensions bound to one switch.
//
// Lifetime: bind() loads every configured module (a built-in name or an ES module path),
// checks it against the contract (bind-time errors name the extension and what is wrong),
// and runs its `start` hook with a timeout; stop() runs every `stop` hook — the extensions'
// lifetime is the switch's. Enable, disable and reorder at run time go through the shared
// ExtensionState, which the datapath threads read between batches.
// Control path: controlOp() delivers an operation to every extension in stack order; a filter
// or forwarding extension may veto a vetoable one. A veto stops delivery, the extensions
// that had accepted it get the compensating operation in reverse order, and the caller gets
// a VetoError naming the extension and its reason. A veto from a capture extension, or of an
// operation that cannot be vetoed, is a counted violation and is ignored.

import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CounterBlock } from '../../counters.js';
import { ControlAnswer, ControlOp, ExtensionDefinition, ExtensionKind, FlowField, KINDS, RIGHTS, VETOABLE } from './api.js';
import { EXT_COUNTERS, ExtensionState, MAX_REASONS, REASON_BASE, STATUS_FAILED_CLOSED, STATUS_FAILED_OPEN, STATUS_OK } from './state.js';
import { brief, thrownText } from '../../quote.js';

export interface ExtensionSpec {
  /** A built-in name (see BUILTINS) or a path to an ES module whose default export is the definition. */
  module: string;
  enabled: boolean;
  failMode: 'open' | 'closed';
  config: unknown;
}

export interface ExtensionLimits {
  /** Per-batch budget of one extension's hook, ms. */
  batchBudgetMs: number;
  /** Consecutive overruns that disable it. */
  overrunLimit: number;
  /** Longest a `start` hook may take, ms. */
  startTimeoutMs: number;
  /** Time every n-th hook call of an extension (clock reads cost as much as a small hook). */
  timeEvery: number;
}

export const DEFAULT_LIMITS: ExtensionLimits = { batchBudgetMs: 5, overrunLimit: 3, startTimeoutMs: 5000, timeEvery: 4 };

/** Built-in extensions by name: module paths relative to this file. */
export const BUILTINS: Record<string, string> = {
  'noop': '../../extensions/noop.js',
  'dhcp-guard': '../../extensions/dhcp-guard.js',
  'router-guard': '../../extensions/router-guard.js',
  'mac-guard': '../../extensions/mac-guard.js',
  'storm-limit': '../../extensions/storm-limit.js',
  'port-mirror': '../../extensions/port-mirror.js',
  'capture': '../../extensions/capture.js',
  'port-acl': '../../extensions/port-acl.js',
};

export class ExtensionError extends Error {}
export class VetoError extends Error {
  readonly extension: string;
  readonly reason: string;
  constructor(extension: string, op: ControlOp, reason: string) {
    super(`${op.op}${'port' in op && op.port ? ` of ${op.port}` : ''}${'name' in op ? ` (${op.name})` : ''} vetoed by extension ${extension}: ${reason}`);
    this.extension = extension;
    this.reason = reason;
  }
}

/** Where a datapath thread imports a bound extension from, and what it is given. */
export interface BoundSpec { url: string; name: string; kind: ExtensionKind; cacheable: boolean; flowFields: FlowField[]; failClosed: boolean; dropReasons: string[]; config: unknown; shared: unknown }

export function moduleUrl(module: string, baseDir: string): string {
  const builtin = BUILTINS[module];
  if (builtin) return new URL(builtin, import.meta.url).href;
  if (module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(baseDir, module)).href;
}

/**
 * A module's default export — a definition, or a factory called with the extension's
 * configuration (so one module can be bound several times) — checked against the contract.
 */
export function checkDefinition(exported: unknown, where: string, config?: unknown): ExtensionDefinition & { dropReasons?: string[] } {
  const fail = (why: string): never => { throw new ExtensionError(`extension ${where}: ${why}`); };
  let d = exported;
  if (typeof d === 'function') {
    try { d = (d as (c: unknown) => unknown)(config); } catch (err) { fail(`its factory threw: ${thrownText(err)}`); }
  }
  if (typeof d !== 'object' || d === null) fail('the module\'s default export must be an extension definition object');
  const x = d as Record<string, unknown>;
  if (typeof x.name !== 'string' || !/^[A-Za-z0-9_.-]{1,48}$/.test(x.name)) fail('"name" must be 1-48 letters, digits, "_", "-" or "."');
  if (!KINDS.includes(x.kind as ExtensionKind)) fail(`"kind" must be one of ${KINDS.join(', ')}, got ${brief(x.kind)}`);
  for (const h of ['start', 'control', 'datapath', 'stop']) if (x[h] !== undefined && typeof x[h] !== 'function') fail(`"${h}" must be a function`);
  if (x.dropReasons !== undefined && (!Array.isArray(x.dropReasons) || x.dropReasons.length > MAX_REASONS - 1 || x.dropReasons.some((r) => typeof r !== 'string'))) fail(`"dropReasons" must be at most ${MAX_REASONS - 1} strings`);
  const kind = x.kind as ExtensionKind;
  if (x.dropReasons !== undefined && (x.dropReasons as string[]).length > 0 && !RIGHTS[kind].drop) fail(`a ${kind} extension may not drop packets, so it has no drop reasons`);
  return d as ExtensionDefinition & { dropReasons?: string[] };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new ExtensionError(`${what} did not finish within ${ms} ms`)), ms); })]).finally(() => clearTimeout(t));
}

export class ExtensionHost {
  readonly specs: ExtensionSpec[];
  readonly limits: ExtensionLimits;
  readonly state: ExtensionState;
  defs: (ExtensionDefinition & { dropReasons?: string[] })[] = [];
  bound: BoundSpec[] = [];
  /** Counter blocks of every datapath thread, summed for reports. */
  readonly threadCounters: CounterBlock<typeof EXT_COUNTERS>[] = [];
  /** Vetoes and violations on the control path (main thread only). */
  readonly controlCounters: CounterBlock<typeof EXT_COUNTERS>;
  readonly log: string[] = [];
  private readonly ports: readonly string[];
  private readonly baseDir: string;
  private readonly onLog: (m: string) => void;
  private started = false;

  private readonly threads: number;

  constructor(specs: ExtensionSpec[], ports: readonly string[], o: { limits?: Partial<ExtensionLimits>; baseDir?: string; onLog?: (m: string) => void; threads?: number } = {}) {
    this.threads = o.threads ?? 1;
    this.specs = specs;
    this.ports = ports;
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.baseDir = o.baseDir ?? process.cwd();
    this.onLog = o.onLog ?? (() => undefined);
    this.state = new ExtensionState(specs.length);
    this.controlCounters = new CounterBlock(EXT_COUNTERS, Math.max(1, specs.length));
  }

  get count(): number { return this.specs.length; }
  name(e: number): string { return this.defs[e]?.name ?? this.specs[e].module; }

  note(message: string): void { this.log.push(message); this.onLog(message); }

  /** Load, check and start every extension. Throws ExtensionError naming the one at fault. */
  async bind(): Promise<void> {
    for (let e = 0; e < this.specs.length; e++) {
      const s = this.specs[e];
      const url = moduleUrl(s.module, this.baseDir);
      let mod: { default?: unknown };
      try { mod = await import(url) as { default?: unknown }; } catch (err) {
        throw new ExtensionError(`extension ${s.module}: cannot load ${url}: ${thrownText(err)}`);
      }
      const d = checkDefinition(mod.default, s.module, s.config);
      if (this.defs.some((x) => x.name === d.name)) throw new ExtensionError(`extension ${s.module}: a bound extension is already named ${brief(d.name)}`);
      this.defs.push(d);
      this.bound.push({ url, name: d.name, kind: d.kind, cacheable: d.cacheable === true, flowFields: [...(d.flowFields ?? ['tcpFlags', 'tos'])], failClosed: s.failMode === 'closed', dropReasons: d.dropReasons ?? [], config: s.config, shared: undefined });
    }
    const forwards = this.specs.filter((s, e) => s.enabled && this.defs[e].kind === 'forward');
    if (forwards.length > 1) throw new ExtensionError(`at most one forwarding extension may be enabled; enabled: ${this.defs.filter((d, e) => this.specs[e].enabled && d.kind === 'forward').map((d) => d.name).join(', ')}`);
    // Positions: configuration order within each kind.
    const perKind: Record<string, number> = {};
    for (let e = 0; e < this.defs.length; e++) this.state.setPosition(e, perKind[this.defs[e].kind] = (perKind[this.defs[e].kind] ?? -1) + 1);
    for (let e = 0; e < this.defs.length; e++) {
      const d = this.defs[e];
      if (!d.start) continue;
      const ctx = { config: this.specs[e].config, ports: this.ports, threads: this.threads, log: (m: string) => this.note(`${d.name}: ${m}`), invalidateFlows: () => this.state.bump(), resolvePath: (p: string) => resolve(this.baseDir, p) };
      const r = await withTimeout(Promise.resolve().then(() => d.start!(ctx)), this.limits.startTimeoutMs, `extension ${d.name}: start`);
      if (r && typeof r === 'object' && 'shared' in r) this.bound[e].shared = r.shared;
    }
    for (let e = 0; e < this.defs.length; e++) if (this.specs[e].enabled) this.state.setEnabled(e, true);
    this.state.bump();
    this.started = true;
  }

  /** Run every `stop` hook (each bounded by the start timeout); errors are logged, not thrown. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (let e = this.defs.length - 1; e >= 0; e--) {
      const d = this.defs[e];
      this.state.setEnabled(e, false);
      if (!d.stop) continue;
      try { await withTimeout(Promise.resolve().then(() => d.stop!()), this.limits.startTimeoutMs, `extension ${d.name}: stop`); } catch (err) {
        this.note(`extension ${d.name}: stop failed: ${thrownText(err)}`);
      }
    }
  }

  index(name: string): number {
    const e = this.defs.findIndex((d) => d.name === name);
    if (e < 0) throw new ExtensionError(`no extension named ${brief(name)} (bound: ${this.defs.map((d) => d.name).join(', ') || 'none'})`);
    return e;
  }

  /** Enable (clearing a failure) or disable an extension; a second forwarding extension is refused. */
  setEnabled(name: string, on: boolean): void {
    const e = this.index(name);
    if (on && this.defs[e].kind === 'forward') {
      const other = this.defs.findIndex((d, i) => i !== e && d.kind === 'forward' && this.state.enabled(i));
      if (other >= 0) throw new ExtensionError(`cannot enable ${name}: forwarding extension ${this.defs[other].name} is enabled (at most one)`);
    }
    if (on) this.state.reset(e);
    this.state.setEnabled(e, on);
  }

  /** Set the order within each kind: names listed first come first; others keep their relative order after them. */
  reorder(names: string[]): void {
    const idx = names.map((n) => this.index(n));
    for (const kind of KINDS) {
      const ofKind = this.defs.map((_, e) => e).filter((e) => this.defs[e].kind === kind);
      const listed = idx.filter((e) => this.defs[e].kind === kind);
      const rest = ofKind.filter((e) => !listed.includes(e)).sort((a, b) => this.state.position(a) - this.state.position(b));
      [...listed, ...rest].forEach((e, pos) => this.state.setPosition(e, pos));
    }
    this.state.bump();
  }

  /** Stack order (ingress): captures, filters, forward; positions within each kind. */
  order(): number[] {
    return this.defs.map((_, e) => e).sort((a, b) => KINDS.indexOf(this.defs[a].kind) - KINDS.indexOf(this.defs[b].kind) || this.state.position(a) - this.state.position(b) || a - b);
  }

  /**
   * Deliver a control operation to every extension in stack order. Throws VetoError after
   * rolling back when a filter or forwarding extension vetoes a vetoable operation.
   */
  controlOp(op: ControlOp, undo?: ControlOp): void {
    const order = this.order();
    const accepted: number[] = [];
    for (const e of order) {
      const d = this.defs[e];
      if (!d.control) { accepted.push(e); continue; }
      let answer: ControlAnswer;
      try { answer = d.control(op); } catch (err) {
        this.controlCounters.values[this.controlCounters.slot('faults', e)]++;
        this.note(`extension ${d.name}: control hook threw on ${op.op}: ${thrownText(err)}; treated as accepted`);
        accepted.push(e);
        continue;
      }
      if (answer && typeof answer === 'object' && 'veto' in answer) {
        if (!RIGHTS[d.kind].veto || !VETOABLE.has(op.op)) {
          this.controlCounters.values[this.controlCounters.slot('violations', e)]++;
          this.note(`extension ${d.name}: veto of ${op.op} ignored (${!RIGHTS[d.kind].veto ? `a ${d.kind} extension may not veto` : 'not a vetoable operation'})`);
          accepted.push(e);
          continue;
        }
        this.controlCounters.values[this.controlCounters.slot('vetoes', e)]++;
        if (undo) for (const a of accepted.reverse()) { try { this.defs[a].control?.(undo); } catch { /* rollback is best effort */ } }
        throw new VetoError(d.name, op, thrownText(answer.veto));
      }
      accepted.push(e);
    }
  }

  /** Per extension: kind, enabled, status, position and counters summed over threads. */
  report(): ExtensionReport[] {
    return this.defs.map((d, e) => {
      const counters: Record<string, number> = {};
      for (const n of EXT_COUNTERS) {
        if (n.startsWith('reason')) continue;
        let v = this.controlCounters.get(n, e);
        for (const b of this.threadCounters) v += b.get(n, e);
        counters[n] = v;
      }
      const reasons: Record<string, number> = {};
      const names = [...(this.bound[e].dropReasons), 'other'];
      for (let r = 0; r < MAX_REASONS; r++) {
        let v = 0;
        for (const b of this.threadCounters) v += b.values[e * EXT_COUNTERS.length + REASON_BASE + r];
        const name = r < names.length - 1 ? names[r] : 'other';
        if (v !== 0) reasons[name] = (reasons[name] ?? 0) + v;
      }
      const st = this.state.status(e);
      return {
        name: d.name, kind: d.kind, enabled: this.state.enabled(e), position: this.state.position(e), cacheable: d.cacheable === true,
        status: st === STATUS_OK ? 'ok' : st === STATUS_FAILED_OPEN ? 'failed-open' : st === STATUS_FAILED_CLOSED ? 'failed-closed' : 'unknown',
        counters, dropReasons: reasons,
      };
    });
  }
}

export interface ExtensionReport {
  name: string; kind: ExtensionKind; enabled: boolean; position: number; cacheable: boolean; status: string;
  counters: Record<string, number>; dropReasons: Record<string, number>;
}
