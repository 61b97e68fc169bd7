// Build one datapath thread's bound extensions: import each module (built-in or path; the
// import is cached per thread), take its definition (calling a factory with the
// configuration, as the main thread did) and call its `datapath` hook with this thread's
// context.
import { BoundExtension, DatapathContext } from './api.js';
import { BoundSpec, checkDefinition } from './host.js';

export type Originate = (ext: number, port: number, frame: Uint8Array) => boolean;

export async function datapathExtensions(bound: BoundSpec[], thread: number, ports: readonly string[], originate: Originate): Promise<BoundExtension[]> {
  const out: BoundExtension[] = [];
  for (let e = 0; e < bound.length; e++) {
    const b = bound[e];
    const mod = await import(b.url) as { default?: unknown };
    const d = checkDefinition(mod.default, b.name, b.config);
    const ctx: DatapathContext = { config: b.config, shared: b.shared, thread, ports, originate: (port, frame) => originate(e, port, frame) };
    const hooks = d.datapath ? d.datapath(ctx) : {};
    out.push({ name: b.name, kind: b.kind, failClosed: b.failClosed, cacheable: b.cacheable, dropReasons: b.dropReasons, hooks });
  }
  return out;
}
