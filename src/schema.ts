// A small declarative schema for JSON configuration: types, ranges, enums, defaults and a
// one-line doc per field. validate() returns the value with defaults filled in, or throws one
// ConfigError listing every bad field by its path (e.g. `ports[1].endpoint.local`).
// describe() turns a schema into the reference table printed by --help-config and docs/configuration.md (scripts/gen-docs.ts).
import { brief } from './quote.js';

export interface ConfigProblem { path: string; problem: string }

export class ConfigError extends Error {
  readonly path: string;
  /** Every problem found (one for most errors; validate() reports them all at once). */
  readonly problems: ConfigProblem[];
  constructor(path: string, problem: string, more: ConfigProblem[] = []) {
    const all = [{ path, problem }, ...more];
    super(all.length === 1 ? line(all[0]) : `${all.length} problems:\n${all.map((p) => `  ${line(p)}`).join('\n')}`);
    this.path = path;
    this.problems = all;
  }
  /** Throw one ConfigError for every problem collected, if any. */
  static throwAll(problems: ConfigProblem[]): void {
    if (problems.length) throw new ConfigError(problems[0].path, problems[0].problem, problems.slice(1));
  }
}
const line = (p: ConfigProblem) => `${p.path || '(document)'}: ${p.problem}`;
/** Most problems listed in one error (a document with thousands of bad rules stays readable). */
const MAX_PROBLEMS = 50;

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
  const problems: ConfigProblem[] = [];
  const out = check(schema, value, path, problems);
  if (problems.length > MAX_PROBLEMS) {
    const n = problems.length;
    problems.length = MAX_PROBLEMS;
    problems.push({ path: '', problem: `and ${n - MAX_PROBLEMS} more problems` });
  }
  ConfigError.throwAll(problems);
  return out;
}

// Check one value, recording every problem; returns the value with defaults filled in (or
// undefined for a bad one).
function check(schema: Schema, value: unknown, path: string, problems: ConfigProblem[]): unknown {
  const bad = (problem: string) => { problems.push({ path, problem }); return undefined; };
  switch (schema.type) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad(`expected an integer, got ${show(value)}`);
      if (value < schema.min || value > schema.max) return bad(`${value} is out of range ${schema.min}..${schema.max}`);
      if (schema.powerOfTwo && (value & (value - 1)) !== 0) return bad(`${value} is not a power of two`);
      return value;
    }
    case 'string': {
      if (typeof value !== 'string') return bad(`expected a string, got ${show(value)}`);
      if (schema.enum && !schema.enum.includes(value)) return bad(`${show(value)} is not one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`);
      const problem = schema.check?.(value);
      if (problem) return bad(problem);
      return value;
    }
    case 'json':
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return bad(`expected true or false, got ${show(value)}`);
      return value;
    case 'array': {
      if (!Array.isArray(value)) return bad(`expected an array, got ${show(value)}`);
      if (schema.minItems !== undefined && value.length < schema.minItems) return bad(`needs at least ${schema.minItems} item(s), got ${value.length}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return bad(`allows at most ${schema.maxItems} items, got ${value.length}`);
      return value.map((v, i) => check(schema.items, v, join(path, i), problems));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(`expected an object, got ${show(value)}`);
      const src = value as Record<string, unknown>;
      for (const k of Object.keys(src)) {
        if (!(k in schema.fields)) problems.push({ path: join(path, k.length > 64 ? `${k.slice(0, 64)}…` : k), problem: `unknown field (known: ${Object.keys(schema.fields).join(', ')})` });
      }
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(schema.fields)) {
        if (src[k] === undefined) {
          if (f.required) { problems.push({ path: join(path, k), problem: 'is required' }); continue; }
          if (f.default !== undefined) out[k] = check(f.schema, structuredClone(f.default), join(path, k), problems);
          continue;
        }
        out[k] = check(f.schema, src[k], join(path, k), problems);
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
