// Raw HTTP requests to a control API (unix socket or TCP), with any method, headers and body,
// for tests that play a hostile or careless client.
import { request } from 'node:http';

export interface Raw { status: number; body: string; headers: Record<string, unknown> }
export type Where = { socketPath: string } | { host: string; port: number };

const quieted = new WeakSet<object>();

export function raw(where: Where, method: string, path: string, o: { headers?: Record<string, string | number>; body?: string | Buffer; agent?: boolean } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ ...where, method, path, headers: o.headers, agent: o.agent === false ? false : undefined, timeout: 20000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // A server that answers and closes while the body is still going out breaks the write
    // after the answer: that error belongs to no request any more.
    // Once per socket: the agent keeps sockets alive and hands them to later requests.
    req.on('socket', (s) => { if (!quieted.has(s)) { quieted.add(s); s.on('error', () => undefined); } });
    req.on('error', reject);
    req.end(o.body);
  });
}

export const JSON_HEADERS = { 'content-type': 'application/json' };
