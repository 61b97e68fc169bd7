// The control API of a running switch: HTTP/1.1 with JSON bodies, on a loopback address only
// (it has no authentication). `sluice rules` is its client; curl works too.
//
//   GET  /rules          -> 200 { rules: [{id, layer, priority, match, actions, packets, bytes}],
//                                 flows: {rules, rulesByLayer, cache: {hits, misses, ...}, hitRate} }
//   POST /rules          body { add?: [rule...], del?: [id...] }, applied atomically
//                        -> 200 { added: [id...], deleted: [id...] } once every datapath thread
//                           applies it (the next packet follows the new rules)
//                        -> 400 { error, field } when any part is invalid (nothing applied)
//   DELETE /rules/ID     -> 200 { deleted: [ID] } | 400 (no such rule)
//   GET  /stats          -> 200 the switch's counters (as `sluice run --json` prints on exit)
//   GET  /extensions     -> 200 { extensions: [{name, kind, enabled, position, status, counters, dropReasons}] }
//   POST /extensions/NAME/enable | /disable, POST /extensions/order { order: [names] }
//                        -> 200 { extensions } | 400 { error } (e.g. a second forwarding extension)
//   PUT  /properties/NAME[?port=P] { value }, DELETE /properties/NAME[?port=P]
//                        -> 200 | 409 { error, extension, reason } when an extension vetoes it
//   POST /ports/NAME/connect | /disconnect -> 200 | 400
// Bodies over 16 MiB are refused (413); other paths 404; other methods 405.

import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Dataplane } from '../datapath/dataplane.js';
import { RuleError } from '../flow/rule.js';
import { RuleBatch } from '../flow/rule-set.js';
import { HostPort } from '../endpoints/udp.js';
import { ExtensionError, VetoError } from '../vswitch/ext/host.js';

const MAX_BODY = 16 << 20;

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) { super(message); }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (b: Buffer) => {
      n += b.length;
      if (n > MAX_BODY) { reject(new HttpError(413, `request body over ${MAX_BODY} bytes`)); req.destroy(); return; }
      parts.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBatch(text: string): RuleBatch {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch (e) { throw new HttpError(400, `body is not JSON: ${(e as Error).message}`); }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HttpError(400, 'body must be an object {add?: [rules], del?: [ids]}');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (k !== 'add' && k !== 'del') throw new HttpError(400, `unknown field ${JSON.stringify(k)} (add, del)`, k);
  if (d.add !== undefined && !Array.isArray(d.add)) throw new HttpError(400, 'add must be an array of rules', 'add');
  if (d.del !== undefined && (!Array.isArray(d.del) || d.del.some((x) => typeof x !== 'string'))) throw new HttpError(400, 'del must be an array of rule ids', 'del');
  return d as RuleBatch;
}

export class ControlApi {
  private readonly server: Server;
  private readonly dp: Dataplane;

  constructor(dp: Dataplane) {
    this.dp = dp;
    this.server = createServer((req, res) => { void this.handle(req, res); });
  }

  listen(at: HostPort): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`control API cannot listen on ${at.host}:${at.port}: ${e.code ?? e.message}`)));
      this.server.listen(at.port, at.host, () => resolve());
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body) + '\n');
    };
    try {
      const url = new URL(req.url ?? '/', 'http://control');
      const path = url.pathname;
      if (path === '/rules') {
        if (req.method === 'GET') return send(200, { rules: this.dp.ruleStats(), flows: this.dp.stats().flows });
        if (req.method === 'POST') {
          const batch = parseBatch(await readBody(req));
          const added = await this.dp.applyRules(batch);
          return send(200, { added: added.map((r) => r.id), deleted: batch.del ?? [] });
        }
        throw new HttpError(405, `${req.method} not allowed on /rules (GET, POST)`);
      }
      if (path.startsWith('/rules/')) {
        if (req.method !== 'DELETE') throw new HttpError(405, `${req.method} not allowed on ${path} (DELETE)`);
        const id = decodeURIComponent(path.slice('/rules/'.length));
        await this.dp.applyRules({ del: [id] });
        return send(200, { added: [], deleted: [id] });
      }
      if (path === '/extensions' && req.method === 'GET') return send(200, { extensions: this.dp.extensionReport() });
      let m = /^\/extensions\/([^/]+)\/(enable|disable)$/.exec(path);
      if (m && req.method === 'POST') {
        this.dp.extensions.setEnabled(decodeURIComponent(m[1]), m[2] === 'enable');
        return send(200, { extensions: this.dp.extensionReport() });
      }
      if (path === '/extensions/order' && req.method === 'POST') {
        const body = JSON.parse(await readBody(req) || '{}') as { order?: unknown };
        if (!Array.isArray(body.order) || body.order.some((x) => typeof x !== 'string')) throw new HttpError(400, 'body must be { "order": [extension names] }', 'order');
        this.dp.extensions.reorder(body.order as string[]);
        return send(200, { extensions: this.dp.extensionReport() });
      }
      m = /^\/properties\/([^/]+)$/.exec(path);
      if (m) {
        const name = decodeURIComponent(m[1]), port = url.searchParams.get('port') ?? undefined;
        if (req.method === 'PUT') {
          const body = JSON.parse(await readBody(req) || '{}') as { value?: unknown };
          if (!('value' in body)) throw new HttpError(400, 'body must be { "value": ... }', 'value');
          this.dp.setProperty(name, body.value, port);
          return send(200, { property: name, port: port ?? null, value: body.value });
        }
        if (req.method === 'DELETE') { this.dp.deleteProperty(name, port); return send(200, { deleted: name, port: port ?? null }); }
        throw new HttpError(405, `${req.method} not allowed on ${path} (PUT, DELETE)`);
      }
      m = /^\/ports\/([^/]+)\/(connect|disconnect)$/.exec(path);
      if (m && req.method === 'POST') {
        this.dp.setConnected(decodeURIComponent(m[1]), m[2] === 'connect');
        return send(200, { port: decodeURIComponent(m[1]), state: m[2] === 'connect' ? 'connected' : 'disconnected' });
      }
      if (path === '/stats') {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} not allowed on /stats (GET)`);
        return send(200, this.dp.stats());
      }
      throw new HttpError(404, `no such resource ${path} (/rules, /rules/ID, /extensions, /properties/NAME, /ports/NAME/connect, /stats)`);
    } catch (e) {
      if (e instanceof RuleError) return send(400, { error: e.message, field: e.field });
      if (e instanceof VetoError) return send(409, { error: e.message, extension: e.extension, reason: e.reason });
      if (e instanceof ExtensionError) return send(400, { error: e.message });
      if (e instanceof SyntaxError) return send(400, { error: `body is not JSON: ${e.message}` });
      if (e instanceof HttpError) return send(e.status, { error: e.message, ...(e.field ? { field: e.field } : {}) });
      return send(500, { error: (e as Error).message });
    }
  }
}
