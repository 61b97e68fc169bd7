// PortLife: each port's life cycle and the switch and port properties, as the extensions see
// them (docs/extensions.md). Every step is a control operation delivered to the bound
// extensions, which may veto the ones that can be vetoed (a veto leaves nothing changed).
// Ports go none -> created -> nicCreated -> connected, may be disconnected and connected
// again, and at stop go through disconnected -> nicDeleted -> tornDown -> deleted.
// A connected port is enabled in the PortTable the datapath threads read.

import { ControlOp } from '../vswitch/ext/api.js';
import { ExtensionError, ExtensionHost } from '../vswitch/ext/host.js';
import { PortTable } from '../vswitch/port-table.js';
import { brief } from '../quote.js';

/** Port life cycle, in order (docs/extensions.md). */
export const PORT_STATES = ['none', 'created', 'nicCreated', 'connected', 'disconnected', 'nicDeleted', 'tornDown', 'deleted'] as const;
export type PortState = (typeof PORT_STATES)[number];

export class PortLife {
  readonly names: readonly string[];
  readonly state: PortState[];
  readonly properties = { switch: new Map<string, unknown>(), port: new Map<string, Map<string, unknown>>() };
  private readonly host: ExtensionHost;
  private readonly ports: PortTable;

  constructor(names: readonly string[], host: ExtensionHost, ports: PortTable) {
    this.names = names; this.host = host; this.ports = ports;
    this.state = names.map(() => 'none');
  }

  /** create -> NIC create -> connect, every port (a veto throws; what was created is undone by the extensions' compensation). */
  bringUp(): void {
    for (let i = 0; i < this.names.length; i++) {
      const port = this.names[i];
      this.step(i, { op: 'portCreate', port }, 'created', { op: 'portDelete', port });
      this.step(i, { op: 'nicCreate', port }, 'nicCreated', { op: 'nicDelete', port });
      this.step(i, { op: 'nicConnect', port }, 'connected');
    }
  }

  /** Take every port down to deleted (not vetoable), from wherever it got to. */
  tearDown(): void {
    for (let i = 0; i < this.names.length; i++) {
      const port = this.names[i];
      const steps: [ControlOp, PortState][] = [[{ op: 'nicDisconnect', port }, 'disconnected'], [{ op: 'nicDelete', port }, 'nicDeleted'],
        [{ op: 'portTeardown', port }, 'tornDown'], [{ op: 'portDelete', port }, 'deleted']];
      for (const [op, to] of steps) {
        if (PORT_STATES.indexOf(this.state[i]) >= PORT_STATES.indexOf(to) || this.state[i] === 'none') continue;
        if (to === 'disconnected' && this.state[i] !== 'connected') continue;
        this.host.controlOp(op);
        this.state[i] = to;
      }
    }
  }

  // One life-cycle step, delivered to the extensions (which may veto, undone by `undo`).
  private step(i: number, op: ControlOp, to: PortState, undo?: ControlOp): void {
    const from = this.state[i];
    if (PORT_STATES.indexOf(to) !== PORT_STATES.indexOf(from) + 1 && !(to === 'connected' && from === 'disconnected')) {
      throw new ExtensionError(`port ${this.names[i]}: cannot go from ${from} to ${to}`);
    }
    this.host.controlOp(op, undo);
    this.state[i] = to;
    if (to === 'connected') this.ports.setEnabled(i, true);
    if (to === 'disconnected') this.ports.setEnabled(i, false);
  }

  index(name: string): number {
    const i = this.names.indexOf(name);
    if (i < 0) throw new ExtensionError(`no port named ${brief(name)}`);
    return i;
  }

  /** Disconnect a port's NIC (frames to and from it are dropped as dropPortDisabled) or connect it again. */
  setConnected(port: string, on: boolean): void {
    const i = this.index(port);
    if (on) this.step(i, { op: 'nicConnect', port }, 'connected');
    else this.step(i, { op: 'nicDisconnect', port }, 'disconnected');
  }

  /** Add or update a switch property (port undefined) or a port property; a veto throws VetoError (nothing changed). */
  setProperty(name: string, value: unknown, port?: string): void {
    const store = this.store(port);
    const had = store.has(name);
    const old = store.get(name);
    const scope = port === undefined ? 'switch' as const : 'port' as const;
    this.host.controlOp({ op: had ? 'propertyUpdate' : 'propertyAdd', scope, port, name, value },
      had ? { op: 'propertyUpdate', scope, port, name, value: old } : { op: 'propertyDelete', scope, port, name, value });
    store.set(name, value);
  }

  deleteProperty(name: string, port?: string): void {
    const store = this.store(port);
    if (!store.has(name)) throw new ExtensionError(`no ${port === undefined ? 'switch' : `port ${port}`} property ${brief(name)}`);
    const old = store.get(name);
    const scope = port === undefined ? 'switch' as const : 'port' as const;
    this.host.controlOp({ op: 'propertyDelete', scope, port, name, value: old }, { op: 'propertyAdd', scope, port, name, value: old });
    store.delete(name);
  }

  private store(port?: string): Map<string, unknown> {
    if (port === undefined) return this.properties.switch;
    this.index(port);
    let m = this.properties.port.get(port);
    if (!m) { m = new Map(); this.properties.port.set(port, m); }
    return m;
  }
}
