// The control API client shared by `sluice rules` and `sluice ext`: one request to the running
// switch, with the address from --control, $SLUICE_CONTROL or the default.
import { parseHostPort } from '../endpoints/udp.js';
import { DEFAULT_CONTROL } from './config.js';

export class ClientError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

/** Pull `--control HOST:PORT` and `--json` out of args; the rest is returned. */
export function clientArgs(args: string[]): { control: string; json: boolean; rest: string[] } {
  let control = process.env.SLUICE_CONTROL || DEFAULT_CONTROL;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--control') { const v = args[++i]; if (!v) throw new ClientError(2, '--control needs HOST:PORT'); control = v; }
    else rest.push(a);
  }
  return { control, json, rest };
}

/** One request; resolves with the HTTP status and parsed JSON answer. Unreachable: ClientError(1). */
export async function request(control: string, method: string, path: string, body?: unknown): Promise<{ ok: boolean; status: number; answer: Record<string, unknown>; text: string }> {
  const at = parseHostPort(control);
  if (!at) throw new ClientError(2, `--control: ${JSON.stringify(control)} is not HOST:PORT`);
  const base = `http://${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  let res: Response;
  try {
    res = await fetch(base + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? undefined : { 'content-type': 'application/json' }, signal: AbortSignal.timeout(15000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new ClientError(1, `no switch answered at ${control} (${cause}): is \`sluice run\` running there? (--control or $SLUICE_CONTROL pick another)`);
  }
  const text = await res.text();
  return { ok: res.ok, status: res.status, answer: JSON.parse(text) as Record<string, unknown>, text };
}
