// `sluice ext list|enable|disable|order` and `sluice prop set|del`, `sluice port
// connect|disconnect`: clients of the running switch's control API. Exit codes: 0 done,
// 1 refused (a veto, a second forwarding extension) or unreachable, 2 bad usage.
import { ClientError, clientArgs, request } from './client.js';

export const EXT_HELP = `usage: sluice ext <list|enable|disable|order> [NAME...] [--control unix:PATH|IP:PORT] [--json]

  sluice ext list                 bound extensions: kind, state, position, counters
  sluice ext enable NAME          enable (clears a failure; at most one forwarding extension)
  sluice ext disable NAME
  sluice ext order NAME...        these first within their kind, the others after them

Changes reach every datapath thread before its next batch; no packet is lost.

usage: sluice prop <set|del> NAME [JSON_VALUE] [--port PORT]   switch or port property
usage: sluice port <connect|disconnect> PORT                   a port's NIC connection

Properties and port changes are delivered to every extension, which may veto them
(exit 1, the extension and its reason printed; nothing changed).
`;

interface ExtRow { name: string; kind: string; enabled: boolean; position: number; status: string; cacheable: boolean; counters: Record<string, number>; dropReasons: Record<string, number> }

function table(rows: ExtRow[]): string {
  if (rows.length === 0) return 'no extensions bound\n';
  const head = ['name', 'kind', 'state', 'pos', 'entries', 'cache hits', 'dropped', 'excluded', 'violations', 'faults'];
  const body = rows.map((r) => [r.name, r.kind + (r.cacheable ? '*' : ''), r.status !== 'ok' ? r.status : r.enabled ? 'enabled' : 'disabled', String(r.position),
    String(r.counters.entries), String(r.counters.cacheHits), String(r.counters.dropped), String(r.counters.excluded), String(r.counters.violations), String(r.counters.faults)]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [line(head), ...body.map(line)].join('\n') + '\n(* flow-cacheable)\n';
}

export async function extCommand(cmd: 'ext' | 'prop' | 'port', args: string[]): Promise<number> {
  const fail = (code: number, msg: string) => { process.stderr.write(`sluice ${cmd}: ${msg}\n`); return code; };
  if (args.includes('-h') || args.includes('--help')) { process.stdout.write(EXT_HELP); return 0; }
  try {
    const { control, json, rest } = clientArgs(args);
    let port: string | undefined;
    const pi = rest.indexOf('--port');
    if (pi >= 0) { port = rest[pi + 1]; if (!port) return fail(2, '--port needs a port name'); rest.splice(pi, 2); }
    const [sub, ...names] = rest;
    let method = 'GET', path = '/extensions', body: unknown;
    const enc = encodeURIComponent;
    if (cmd === 'ext') {
      if (sub === 'list' && names.length === 0) { /* GET */ } else if ((sub === 'enable' || sub === 'disable') && names.length === 1) { method = 'POST'; path = `/extensions/${enc(names[0])}/${sub}`; } else if (sub === 'order' && names.length > 0) { method = 'POST'; path = '/extensions/order'; body = { order: names }; } else return fail(2, `expected list, enable NAME, disable NAME or order NAME... (see sluice ext --help)`);
    } else if (cmd === 'prop') {
      const q = port ? `?port=${enc(port)}` : '';
      if (sub === 'set' && names.length === 2) {
        let value: unknown;
        try { value = JSON.parse(names[1]); } catch { value = names[1]; }
        method = 'PUT'; path = `/properties/${enc(names[0])}${q}`; body = { value };
      } else if (sub === 'del' && names.length === 1) { method = 'DELETE'; path = `/properties/${enc(names[0])}${q}`; } else return fail(2, 'expected set NAME VALUE or del NAME (see sluice ext --help)');
    } else {
      if ((sub === 'connect' || sub === 'disconnect') && names.length === 1) { method = 'POST'; path = `/ports/${enc(names[0])}/${sub}`; } else return fail(2, 'expected connect PORT or disconnect PORT');
    }
    const r = await request(control, method, path, body);
    if (json) process.stdout.write(r.text.endsWith('\n') ? r.text : r.text + '\n');
    if (!r.ok) { if (!json) process.stderr.write(`sluice ${cmd}: refused: ${String(r.answer.error)}\n`); return 1; }
    if (!json) {
      if (cmd === 'ext') process.stdout.write(table(r.answer.extensions as ExtRow[]));
      else process.stdout.write(`${JSON.stringify(r.answer)}\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof ClientError) return fail(e.code, e.message);
    throw e;
  }
}
