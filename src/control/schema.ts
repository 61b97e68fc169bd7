// A small declarative schema for JSON configuration: types, ranges, enums, defaults and a
// one-line doc per field. validate() returns the value with defaults filled in, or throws a
// ConfigError naming the first bad field by its path (e.g. `ports[1].endpoint.local`).
// describe() turns a schema into the reference table printed by --help-config and the README.
import { brief } from '../quote.js';

export class ConfigError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path || '(document)'}: ${problem}`);
    this.path = path;
  }
}

export type Schema =
  | { type: 'integer'; min: number; max: number; doc?: string; powerOfTwo?: boolean }
  | { type: 'string'; enum?: readonly string[]; check?: (s: string) => string | null; doc?: string }
  | { type: 'boolean'; doc?: string }
  /** Any JSON value, checked elsewhere (rules are validated by their compiler). */
  | { type: 'json'; doc?: string }
  | { type: 'array'; items: Schema; minItems?: number; maxItems?: number; doc?: string }
  | { type: 'object'; fields: Record<string, Field>; doc?: string };

export interface Field { schema: Schema; required?: boolean; default?: unknown; doc: string }

const show = (v: unknown) => (typeof v === 'string' ? brief(v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));
const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

export function validate(schema: Schema, value: unknown, path = ''): unknown {
  switch (schema.type) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(path, `expected an integer, got ${show(value)}`);
      if (value < schema.min || value > schema.max) throw new ConfigError(path, `${value} is out of range ${schema.min}..${schema.max}`);
      if (schema.powerOfTwo && (value & (value - 1)) !== 0) throw new ConfigError(path, `${value} is not a power of two`);
      return value;
    }
    case 'string': {
      if (typeof value !== 'string') throw new ConfigError(path, `expected a string, got ${show(value)}`);
      if (schema.enum && !schema.enum.includes(value)) throw new ConfigError(path, `${show(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
      const problem = schema.check?.(value);
      if (problem) throw new ConfigError(path, problem);
      return value;
    }
    case 'json':
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new ConfigError(path, `expected true or false, got ${show(value)}`);
      return value;
    case 'array': {
      if (!Array.isArray(value)) throw new ConfigError(path, `expected an array, got ${show(value)}`);
      if (schema.minItems !== undefined && value.length < schema.minItems) throw new ConfigError(path, `needs at least ${schema.minItems} item(s), got ${value.length}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) throw new ConfigError(path, `allows at most ${schema.maxItems} items, got ${value.length}`);
      return value.map((v, i) => validate(schema.items, v, join(path, i)));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, `expected an object, got ${show(value)}`);
      const src = value as Record<string, unknown>;
      for (const k of Object.keys(src)) {
        if (!(k in schema.fields)) throw new ConfigError(join(path, k), `unknown field (known: ${Object.keys(schema.fields).join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(schema.fields)) {
        if (src[k] === undefined) {
          if (f.required) throw new ConfigError(join(path, k), 'is required');
          if (f.default !== undefined) out[k] = validate(f.schema, structuredClone(f.default), join(path, k));
          continue;
        }
        out[k] = validate(f.schema, src[k], join(path, k));
      }
      return out;
    }
  }
}

/** Markdown reference: one row per field path. */
export function describe(schema: Schema, path = ''): string[] {
  const rows: string[] = [];
  const walk = (s: Schema, p: string, doc: string, def: unknown, required: boolean) => {
    const kind = s.type === 'integer' ? `integer ${s.min}..${s.max}${s.powerOfTwo ? ', power of two' : ''}`
      : s.type === 'string' ? (s.enum ? s.enum.map((e) => `"${e}"`).join(' \\| ') : 'string')
      : s.type === 'array' ? 'array' : s.type;
    if (p) rows.push(`| \`${p}\` | ${kind} | ${required ? 'required' : def === undefined ? '—' : `\`${JSON.stringify(def)}\``} | ${doc} |`);
    if (s.type === 'object') for (const [k, f] of Object.entries(s.fields)) walk(f.schema, join(p, k), f.doc, f.default, !!f.required);
    if (s.type === 'array') walk(s.items, `${p}[]`, s.items.doc ?? 'each item', undefined, false);
  };
  walk(schema, path, '', undefined, false);
  return ['| field | type | default | meaning |', '|---|---|---|---|', ...rows];
}
