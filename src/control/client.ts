// The control API client shared by `sluice rules`, `ext`, `prop` and `port`: one request to the
// running switch, at the address from --control, $SLUICE_CONTROL or the default socket.
import { request as httpRequest } from 'node:http';
import { parseControl } from './control-address.js';
import { DEFAULT_CONTROL } from './config.js';

export class ClientError extends Error {
  constructor(readonly code: number, message: string) { super(message); }
}

/** Pull `--control ADDRESS` and `--json` out of args; the rest is returned. */
export function clientArgs(args: string[]): { control: string; json: boolean; rest: string[] } {
  let control = process.env.SLUICE_CONTROL || DEFAULT_CONTROL;
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--json') json = true;
    else if (a === '--control') { const v = args[++i]; if (!v) throw new ClientError(2, '--control needs unix:PATH or IP:PORT'); control = v; }
    else rest.push(a);
  }
  return { control, json, rest };
}

export interface Answer { ok: boolean; status: number; answer: Record<string, unknown>; text: string }

/** One request; resolves with the HTTP status and parsed JSON answer. Unreachable: ClientError(1). */
export function request(control: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const at = parseControl(control);
  if (typeof at === 'string') return Promise.reject(new ClientError(2, `--control: ${at}`));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const where = at.kind === 'unix' ? { socketPath: at.path } : { host: at.host, port: at.port };
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      ...where, method, path, timeout: 60000,
      headers: {
        host: at.kind === 'tcp' ? `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}` : 'localhost',
        'content-type': 'application/json',
        ...(payload === undefined ? {} : { 'content-length': Buffer.byteLength(payload) }),
      },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let answer: Record<string, unknown>;
        try { answer = JSON.parse(text) as Record<string, unknown>; } catch { answer = { error: text.slice(0, 300) }; }
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 300, status, answer, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new ClientError(1,
      `no switch answered at ${control} (${e.code ?? e.message}): is \`sluice run\` running there? (--control or $SLUICE_CONTROL pick another)`)));
    req.end(payload);
  });
}
