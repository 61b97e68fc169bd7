// The endpoint registry: every endpoint kind in one place — its configuration fields, its
// factory and the "how to attach" text `sluice run` prints — so a new kind (tap, vxlan) is
// one file plus one registerEndpoint line (kinds.ts), and a test can register its own.
//
// The configuration's `ports[].endpoint` schema is built from the registered kinds: `type`
// is one of their names, and each kind's fields are documented with the kind they belong to
// (docs/configuration.md is generated from it).

import { Field, Schema } from '../schema.js';
import { Endpoint } from './endpoint.js';

/** A port's endpoint configuration: `type` names the kind; the rest is the kind's fields (defaults filled). */
export type EndpointConfig = { type: string } & Record<string, unknown>;

export interface EndpointKind {
  /** The `type` value in the configuration. */
  readonly type: string;
  /** What it is, one phrase (in the `type` field's documentation). */
  readonly doc: string;
  /** Its fields besides `type`. A field another kind also has must have the same schema. */
  readonly fields: Record<string, Field>;
  /**
   * Checks the schema cannot express (required fields, values shared between ports): report
   * each with bad(field, problem). `taken` holds what earlier ports of any kind claimed (e.g.
   * local addresses); add this port's claims.
   */
  check?(e: EndpointConfig, bad: (field: string, problem: string) => void, taken: Set<string>): void;
  create(e: EndpointConfig): Endpoint;
  /** One line for `sluice run`'s port list: where the port is and how a peer attaches. */
  attach(e: EndpointConfig): string;
  /** Lines after the port list showing a copy-paste peer for the first port of this kind (name: the port's). */
  example?(e: EndpointConfig, name: string): string[];
  /** Notes once started (e.g. a smaller socket buffer than asked). */
  notes?(ep: Endpoint, e: EndpointConfig): string[];
}

const kinds = new Map<string, EndpointKind>();
const typeEnum: string[] = [];
const typeField: Field = { schema: { type: 'string', enum: typeEnum }, doc: '', required: true };

/** The `ports[].endpoint` schema: grows as kinds register. */
export const ENDPOINT_SCHEMA: Schema & { type: 'object' } = { type: 'object', fields: { type: typeField } };

export function registerEndpoint(kind: EndpointKind): void {
  if (kinds.has(kind.type)) throw new Error(`endpoint kind ${kind.type} is registered twice`);
  for (const [name, f] of Object.entries(kind.fields)) {
    const had = ENDPOINT_SCHEMA.fields[name];
    if (had === undefined) { ENDPOINT_SCHEMA.fields[name] = { ...f, required: false, doc: `${kind.type}: ${f.doc}` }; continue; }
    if (JSON.stringify(had.schema) !== JSON.stringify(f.schema) || JSON.stringify(had.default) !== JSON.stringify(f.default)) {
      throw new Error(`endpoint kind ${kind.type}: field ${name} differs from the field of that name another kind has`);
    }
    had.doc = `${kind.type}, ${had.doc}`;
  }
  kinds.set(kind.type, kind);
  typeEnum.push(kind.type);
  typeField.doc = [...kinds.values()].map((k) => `"${k.type}": ${k.doc}`).join('; ');
}

/** The kind a checked configuration names. */
export function endpointKind(type: string): EndpointKind {
  const k = kinds.get(type);
  if (k === undefined) throw new Error(`no endpoint kind ${type} (known: ${typeEnum.join(', ')})`);
  return k;
}

/**
 * The endpoint schema is the union of every kind's fields: keep only `e`'s own kind's fields
 * (the others got their defaults filled), and report a field of another kind that the
 * configuration set (`given`: the keys it wrote).
 */
export function keepKindFields(e: EndpointConfig, given: readonly string[], bad: (field: string, problem: string) => void): void {
  const kind = endpointKind(e.type);
  for (const key of Object.keys(e)) {
    if (key === 'type' || key in kind.fields) continue;
    if (given.includes(key)) {
      const own = Object.keys(kind.fields);
      bad(key, `is not a field of a ${kind.type} endpoint (${own.length ? `its fields: ${own.join(', ')}` : 'it has none besides type'})`);
    }
    delete e[key];
  }
}
