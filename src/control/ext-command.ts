// `sluice ext list|enable|disable|order` and `sluice prop set|del`, `sluice port
// connect|disconnect`: clients of the running switch's control API. Exit codes: 0 done,
// 1 refused (a veto, a second forwarding extension) or unreachable, 2 bad usage.
import { ClientError, clientArgs, request } from './client.js';

const CONTROL_OPTIONS = `options:
  --control ADDRESS   the switch's control API: unix:PATH or loopback IP:PORT
                      (default: $SLUICE_CONTROL or the default socket, see sluice run --help-config)
  --json              print the API's JSON answer`;

export const EXT_HELP = `usage: sluice ext <list|enable|disable|order> [NAME...] [options]

  sluice ext list                 bound extensions: kind, state, position, counters
  sluice ext enable NAME          enable (clears a failure; at most one forwarding extension)
  sluice ext disable NAME
  sluice ext order NAME...        these first within their kind, the others after them

Changes reach every datapath thread before its next batch; no packet is lost.

${CONTROL_OPTIONS}
`;

export const PROP_HELP = `usage: sluice prop <set|del> NAME [JSON_VALUE] [--port PORT] [options]

  sluice prop set NAME VALUE      add or change a switch property; VALUE is JSON: 42, true,
                                  '"text"' (a string needs its quotes), '{"limit": 5}'
  sluice prop set NAME VALUE --port P    a property of port P
  sluice prop del NAME [--port P]

Every extension sees the change and may veto it: then nothing changes, the extension and its
reason are printed and the exit code is 1.

${CONTROL_OPTIONS}
`;

export const PORT_HELP = `usage: sluice port <connect|disconnect> PORT [options]

  sluice port disconnect PORT     take the port's NIC off the switch: its frames are dropped
                                  and counted (dropPortDisabled) until it is connected again
  sluice port connect PORT

Extensions see the change and may veto connecting (exit 1, reason printed).

${CONTROL_OPTIONS}
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
  if (args.includes('-h') || args.includes('--help')) { process.stdout.write(cmd === 'ext' ? EXT_HELP : cmd === 'prop' ? PROP_HELP : PORT_HELP); return 0; }
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
        try { value = JSON.parse(names[1]); } catch { return fail(2, `${JSON.stringify(names[1].slice(0, 64))} is not JSON (a string needs its quotes: '"${names[1].slice(0, 20)}"')`); }
        method = 'PUT'; path = `/properties/${enc(names[0])}${q}`; body = { value };
      } else if (sub === 'del' && names.length === 1) { method = 'DELETE'; path = `/properties/${enc(names[0])}${q}`; } else return fail(2, 'expected set NAME VALUE or del NAME (see sluice prop --help)');
    } else {
      if ((sub === 'connect' || sub === 'disconnect') && names.length === 1) { method = 'POST'; path = `/ports/${enc(names[0])}/${sub}`; } else return fail(2, 'expected connect PORT or disconnect PORT (see sluice port --help)');
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
