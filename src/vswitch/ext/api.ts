// The extension contract: what a switch extension is, what it may do, and what it is given.
//
// An extension module's default export is an ExtensionDefinition. The switch binds it when it
// starts: on the main thread it calls `start` (may be async, bounded by a timeout) and sends it
// every control operation (`control`, which a filter or forwarding extension may veto); on
// every datapath thread it calls `datapath(ctx)` once to get that thread's per-packet hooks.
// Main-thread and datapath parts share state only through what `start` returns as `shared`
// (structured-cloneable, e.g. SharedArrayBuffers), handed to every `datapath` call.
// Per-packet hooks are synchronous and see whole batches; they act through the batch's
// methods, which enforce the rights of the extension's kind (RIGHTS below): a call beyond
// them is refused, counted as a violation, and has no effect.

import type { FlowKeys } from '../../wire/flow-key.js';
import type { PacketPool } from '../../nic/pool.js';

export const KINDS = ['capture', 'filter', 'forward'] as const;
export type ExtensionKind = (typeof KINDS)[number];

/** The rights table of the contract (docs/extensions.md). */
export const RIGHTS = {
  capture: { modify: false, drop: false, exclude: false, choose: false, veto: false },
  filter: { modify: true, drop: true, exclude: true, choose: false, veto: true },
  forward: { modify: true, drop: true, exclude: true, choose: true, veto: true },
} as const satisfies Record<ExtensionKind, Record<string, boolean>>;

/** Why an extension dropped a packet: a short name, counted per extension. */
export type DropReason = string;

/** Ingress: packets whose source port is known and destinations are not yet chosen. */
export interface IngressBatch {
  readonly count: number;
  /** Pool handle of entry j. */
  handle(j: number): number;
  inPort(j: number): number;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  /** Drop entry j (filter, forward). */
  drop(j: number, reason: DropReason): void;
  /** Declare that entry j's bytes will be changed in place (filter, forward). */
  modify(j: number): boolean;
  /** Choose entry j's destination ports instead of the learning switch (forward only). */
  setDestinations(j: number, ports: readonly number[]): void;
  /** Send a copy of entry j, as received, out of `port` too (originating: every kind). */
  mirror(j: number, port: number): boolean;
  /** VLAN the entry is switched in. */
  vlan(j: number): number;
  /** Does the switch know which port entry j's destination MAC lives on (unicast, learned)? */
  knownDestination(j: number): boolean;
}

/** Egress: (packet, destination port) pairs; a packet flooded to 3 ports is 3 entries. */
export interface EgressBatch {
  readonly count: number;
  handle(j: number): number;
  inPort(j: number): number;
  /** Destination port of entry j. */
  outPort(j: number): number;
  readonly pool: PacketPool;
  readonly keys: FlowKeys;
  /** Do not send entry j's packet to this destination (filter, forward). */
  exclude(j: number, reason: DropReason): void;
  modify(j: number): boolean;
  /** Send a copy of entry j's packet out of `port` too (originating: every kind). */
  mirror(j: number, port: number): boolean;
}

export interface DatapathHooks {
  ingress?(b: IngressBatch): void;
  egress?(b: EgressBatch): void;
}

export interface DatapathContext {
  /** This extension's configuration (from the switch configuration). */
  config: unknown;
  /** What `start` returned as `shared`. */
  shared: unknown;
  /** Datapath thread index: 0 for the inline pipeline, 1..N for worker threads. */
  thread: number;
  ports: readonly string[];
  /** Send a frame into the switch as if received on `port` (all kinds may originate). */
  originate(port: number, frame: Uint8Array): boolean;
}

export interface ControlContext {
  config: unknown;
  ports: readonly string[];
  /** Datapath thread indices run 0..threads-1 (DatapathContext.thread). */
  threads: number;
  log(message: string): void;
  /** A flow-cacheable extension whose decisions changed (new configuration): forget cached ones. */
  invalidateFlows(): void;
  /**
   * A path from the extension's configuration, made absolute: relative paths are relative to
   * the configuration file's folder (as module paths are), not to where sluice was started.
   */
  resolvePath(path: string): string;
}

/** Control operations, delivered to every extension in order (docs/extensions.md). */
export type ControlOp =
  | { op: 'portCreate'; port: string }
  | { op: 'nicCreate'; port: string }
  | { op: 'nicConnect'; port: string }
  | { op: 'nicDisconnect'; port: string }
  | { op: 'nicDelete'; port: string }
  | { op: 'portTeardown'; port: string }
  | { op: 'portDelete'; port: string }
  | { op: 'propertyAdd' | 'propertyUpdate' | 'propertyDelete'; scope: 'switch' | 'port'; port?: string; name: string; value?: unknown };

/** Operations an extension may veto. */
export const VETOABLE: ReadonlySet<ControlOp['op']> = new Set(['portCreate', 'nicCreate', 'propertyAdd', 'propertyUpdate', 'propertyDelete']);

/** A control hook returns nothing to accept, or a veto with its reason. */
export type ControlAnswer = void | undefined | { veto: string };

/** Key fields a flow-cache entry leaves out unless a rule or a cacheable extension needs them. */
export type FlowField = 'tcpFlags' | 'tos';
/** Their bits in packed key word 14 (src/flow/key.ts). */
export const FLOW_FIELD_BITS: Record<FlowField, number> = { tcpFlags: 0xff000000 | 0, tos: 0x00ff0000 };

export interface ExtensionDefinition {
  name: string;
  kind: ExtensionKind;
  /**
   * Per-packet decisions depend only on the flow key: made once per flow, kept in the flow
   * cache. Such an extension may drop, exclude and (forward) choose destinations, but not
   * modify packets or mirror them (later packets of the flow never reach it).
   */
  cacheable?: boolean;
  /**
   * A cacheable extension's decisions may depend on these fields beyond the addresses, ports,
   * protocol, VLAN and input port every flow-cache key carries. Absent: both (the cache then
   * keeps a flow's TCP-flag and TOS variants apart, as one entry each).
   */
  flowFields?: readonly FlowField[];
  start?(ctx: ControlContext): void | Promise<void | { shared?: unknown }> | { shared?: unknown };
  control?(op: ControlOp): ControlAnswer;
  datapath?(ctx: DatapathContext): DatapathHooks;
  stop?(): void | Promise<void>;
}

/** An extension bound to a switch, as a datapath thread runs it. */
export interface BoundExtension {
  name: string;
  kind: ExtensionKind;
  failClosed: boolean;
  cacheable: boolean;
  dropReasons: readonly string[];
  hooks: DatapathHooks;
}
