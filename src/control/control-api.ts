// The control API of a running switch: HTTP/1.1 with JSON bodies, on a unix socket (mode 0600;
// the default) or a loopback TCP address. `sluice rules | ext | prop | port` are its clients;
// curl works too (`curl --unix-socket PATH -H 'content-type: application/json' ...`).
//
//   GET  /rules[?offset=N&limit=M]
//                        -> 200 { total, offset, rules: [{id, layer, priority, match, actions, packets, bytes}],
//                                 flows: {rules, rulesByLayer, cache: {hits, misses, ...}, hitRate} }
//                           rules in the order they were added, a page at a time (default 1000)
//   POST /rules          body { add?: [rule...], del?: [id...] }, applied atomically
//                        -> 200 { added: [id...], deleted: [id...], addedCount, deletedCount } once
//                           every datapath thread applies it (the next packet follows the new
//                           rules); the id lists stop at 10,000
//                        -> 400 { error, field } when any part is invalid (nothing applied)
//   DELETE /rules/ID     -> 200 { deleted: [ID] } | 400 (no such rule)
//   GET  /stats          -> 200 the switch's counters (as `sluice run --json` prints on exit)
//   GET  /metrics        -> 200 every counter in the Prometheus text format 0.0.4 (counter-registry.ts)
//   GET  /qos            -> 200 ports' limits; per uplink with guarantees its detector, notices, pair limiters
//   GET  /qos/trace[?since=MS] -> 200 every port's bytes each way in 1 ms bins since MS (rate-trace.ts)
//   GET  /queues         -> 200 queues, threads, filters, RSS entries, heavy flows and VMs (queue-report.ts)
//   POST /queues/moves { flow: {proto, src, sport, dst, dport}, queue: N | null }, /queues/rss { entry, queue }, /queues/threads { queue, thread } -> 202;
//   GET, PUT /queues/policy -> 200 the queue manager's rules (queue-routes.ts)
//   GET  /extensions     -> 200 { extensions: [{name, kind, enabled, position, status, counters, dropReasons}] }
//   POST /extensions/NAME/enable | /disable, POST /extensions/order { order: [names] }
//                        -> 200 { extensions } | 400 { error } (e.g. a second forwarding extension)
//   PUT  /properties/NAME[?port=P] { value }, DELETE /properties/NAME[?port=P]
//                        -> 200 | 409 { error, extension, reason } when an extension vetoes it
//   POST /ports/NAME/connect | /disconnect -> 200 | 400
//
// Guards (a request is data, never a way to end or stall the switch, nor to reach it from a
// web page): a request carrying Origin or Sec-Fetch-Site (a browser) -> 403; on TCP a Host
// other than the listen address or localhost (DNS rebinding) -> 403; POST and PUT need
// `content-type: application/json` -> 415 (a cross-site form cannot send it); bodies over
// `control.maxBodyBytes` -> 413; JSON nested deeper than MAX_DEPTH -> 400; at most
// MAX_CONNECTIONS connections, headers within 5 s and the whole request within 10 s. Every
// refusal is a 4xx naming the problem; error texts quote at most a short prefix of the input.
// Unknown paths 404, other methods 405; 500 only for a fault of the switch itself.

import { HttpError } from './http-error.js';
import { QUEUE_PATHS, queueRoute } from './queue-routes.js';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { Dataplane } from '../datapath/dataplane.js';
import { RuleError } from '../flow/rule.js';
import { ExtensionError, VetoError } from '../vswitch/ext/host.js';
import { ControlAddress, DEFAULT_MAX_BODY } from './control-address.js';
import { BatchTextError, RuleBatchText } from './rule-batch-text.js';
import { joinInSlices } from './join-slices.js';
import { RuleTexts } from '../flow/rule-texts.js';
import { brief } from '../quote.js';
import { qosOf, traceOf } from './qos-command.js';

/** Deepest JSON nesting accepted in a body (rules need 4). */
export const MAX_DEPTH = 32;
export const MAX_CONNECTIONS = 16;
/** Longest error text sent back. */
const MAX_ERROR = 300;


/** Throws HttpError(400) when the JSON text nests deeper than `max` (checked before parsing). */
export function checkDepth(text: string, max: number): void {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) { if (++depth > max) throw new HttpError(400, `body nests deeper than ${max} levels (at byte ${i})`); }
    else if (c === 0x5d || c === 0x7d) depth--;
  }
}

function parseJson(text: string): unknown {
  checkDepth(text, MAX_DEPTH);
  try { return JSON.parse(text); } catch (e) { throw new HttpError(400, `body is not JSON: ${(e as Error).message.slice(0, 120)}`); }
}

/** The body as a JSON object (an empty body is {}). */
function objectBody(text: string, shape: string): Record<string, unknown> {
  const doc = text.trim() === '' ? {} : parseJson(text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new HttpError(400, `body must be an object ${shape}`);
  return doc as Record<string, unknown>;
}

/** Rules per GET /rules page by default, and at most. */
const PAGE = 1000;
const MAX_PAGE = 10000;

function count(q: URLSearchParams, name: string, def: number, max: number): number {
  const v = q.get(name);
  if (v === null) return def;
  if (!/^\d{1,15}$/.test(v) || Number(v) > max) throw new HttpError(400, `${name} must be a whole number 0..${max}, got ${brief(v, 20)}`);
  return Number(v);
}

function decode(part: string, what: string): string {
  try { return decodeURIComponent(part); } catch { throw new HttpError(400, `${what} ${brief(part)} is not valid percent-encoding`); }
}

export class ControlApi {
  private readonly server: Server;
  private readonly dp: Dataplane;
  private readonly maxBody: number;
  private at: ControlAddress | null = null;
  private hosts = new Set<string>();

  constructor(dp: Dataplane, o: { maxBodyBytes?: number } = {}) {
    this.dp = dp; this.maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.server = createServer({ headersTimeout: 5000, requestTimeout: 10000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000 }, (req, res) => {
      this.handle(req, res).catch((e) => this.reply(res, 500, { error: `internal error: ${(e as Error)?.message ?? 'unknown'}` }));
    });
    this.server.maxConnections = MAX_CONNECTIONS;
    this.server.maxHeadersCount = 64;
    this.server.on('clientError', (_e, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'); else socket.destroy(); });
  }

  /** Listen; a unix socket is created mode 0600, replacing a stale one (none answers on it). */
  async listen(at: ControlAddress): Promise<void> {
    this.at = at;
    if (at.kind === 'unix') await removeStaleSocket(at.path);
    else this.hosts = new Set([`${at.host}:${at.port}`, `[${at.host}]:${at.port}`, `localhost:${at.port}`]);
    const where = at.kind === 'unix' ? at.path : `${at.host}:${at.port}`;
    const old = at.kind === 'unix' ? process.umask(0o177) : 0;
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`control API cannot listen on ${where}: ${e.code ?? e.message}`)));
        if (at.kind === 'unix') this.server.listen(at.path, () => resolve());
        else this.server.listen(at.port, at.host, () => resolve());
      });
    } finally {
      if (at.kind === 'unix') process.umask(old);
    }
    if (at.kind === 'unix') chmodSync(at.path, 0o600);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => {
      if (this.at?.kind === 'unix') { try { unlinkSync(this.at.path); } catch { /* already gone */ } }
      resolve();
    }));
  }

  // Send one JSON answer; never throws, never writes headers twice.
  private reply(res: ServerResponse, status: number, body: Record<string, unknown>, close = false): void {
    if (res.headersSent || res.destroyed) { res.destroy(); return; }
    let text: string;
    try { text = JSON.stringify(body) + '\n'; } catch { status = 500; text = '{"error":"the answer could not be serialised"}\n'; }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> { return (await this.readBytes(req)).toString('utf8'); }

  private readBytes(req: IncomingMessage): Promise<Buffer> {
    const max = this.maxBody;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return Promise.reject(new HttpError(413, `request body of ${declared} bytes is over the limit of ${max} (control.maxBodyBytes)`));
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let n = 0, over = false;
      req.on('data', (b: Buffer) => {
        if (over) return;
        n += b.length;
        if (n > max) { over = true; parts.length = 0; reject(new HttpError(413, `request body over the limit of ${max} bytes (control.maxBodyBytes)`)); return; }
        parts.push(b);
      });
      req.on('end', () => { if (!over) joinInSlices(parts, n).then(resolve, reject); });
      req.on('error', () => reject(new HttpError(400, 'request body broken off')));
    });
  }

  // Refuse what a browser or a rebound DNS name could send.
  private guard(req: IncomingMessage): void {
    const h = req.headers;
    if (h.origin !== undefined || h['sec-fetch-site'] !== undefined) throw new HttpError(403, 'requests from web pages are refused (Origin or Sec-Fetch-Site present)');
    if (this.at?.kind === 'tcp' && !this.hosts.has(String(h.host ?? '').toLowerCase())) throw new HttpError(403, `Host ${brief(h.host ?? '', 40)} is not this switch's control address`);
    const m = req.method;
    if (m !== 'GET' && m !== 'POST' && m !== 'PUT' && m !== 'DELETE') throw new HttpError(405, `method ${brief(m, 16)} not allowed (GET, POST, PUT, DELETE)`);
    if ((m === 'POST' || m === 'PUT') && !/^application\/json\s*(;|$)/i.test(String(h['content-type'] ?? ''))) {
      throw new HttpError(415, `${m} needs content-type: application/json (got ${brief(h['content-type'] ?? 'none', 40)})`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: Record<string, unknown>) => this.reply(res, status, body);
    try {
      this.guard(req);
      // The request target split by hand: URL() reads "//x" as a host and throws on some paths.
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const path = q < 0 ? target : target.slice(0, q);
      const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
      if (path === '/rules') {
        if (req.method === 'GET') {
          const offset = count(query, 'offset', 0, Number.MAX_SAFE_INTEGER), limit = count(query, 'limit', PAGE, MAX_PAGE);
          return send(200, { total: this.dp.rules.size, offset, rules: this.dp.rulePage(offset, limit), flows: this.dp.stats().flows });
        }
        if (req.method === 'POST') {
          // Split in slices (a body of 100,000 rules is 13 MB); each thread parses its chunks.
          const scan = new RuleBatchText(await this.readBytes(req), MAX_DEPTH);
          let batch: RuleTexts | null;
          try {
            while ((batch = scan.step(performance.now() + 1)) === null) await new Promise<void>((r) => setImmediate(r));
          } catch (e) {
            if (e instanceof BatchTextError) throw new HttpError(400, e.message);
            throw e;
          }
          const { added, deleted } = await this.dp.applyRuleTexts(batch);
          return send(200, { added: added.slice(0, MAX_PAGE), deleted: deleted.slice(0, MAX_PAGE), addedCount: added.length, deletedCount: deleted.length });
        }
        throw new HttpError(405, `${req.method} not allowed on /rules (GET, POST)`);
      }
      if (path.startsWith('/rules/')) {
        if (req.method !== 'DELETE') throw new HttpError(405, `${req.method} not allowed on /rules/ID (DELETE)`);
        const id = decode(path.slice('/rules/'.length), 'rule id');
        await this.dp.applyRules({ del: [id] });
        return send(200, { added: [], deleted: [id] });
      }
      if (path === '/extensions' && req.method === 'GET') return send(200, { extensions: this.dp.extensionReport() });
      let m = /^\/extensions\/([^/]+)\/(enable|disable)$/.exec(path);
      if (m && req.method === 'POST') {
        this.dp.extensions.setEnabled(decode(m[1], 'extension name'), m[2] === 'enable');
        return send(200, { extensions: this.dp.extensionReport() });
      }
      if (path === '/extensions/order' && req.method === 'POST') {
        const body = objectBody(await this.readBody(req), '{ "order": [extension names] }');
        if (!Array.isArray(body.order) || body.order.some((x) => typeof x !== 'string')) throw new HttpError(400, 'body must be { "order": [extension names] }', 'order');
        this.dp.extensions.reorder(body.order as string[]);
        return send(200, { extensions: this.dp.extensionReport() });
      }
      m = /^\/properties\/([^/]+)$/.exec(path);
      if (m) {
        const name = decode(m[1], 'property name'), port = query.get('port') ?? undefined;
        if (req.method === 'PUT') {
          const body = objectBody(await this.readBody(req), '{ "value": ... }');
          if (!('value' in body)) throw new HttpError(400, 'body must be { "value": ... }', 'value');
          this.dp.setProperty(name, body.value, port);
          return send(200, { property: name, port: port ?? null });
        }
        if (req.method === 'DELETE') { this.dp.deleteProperty(name, port); return send(200, { deleted: name, port: port ?? null }); }
        throw new HttpError(405, `${req.method} not allowed on /properties/NAME (PUT, DELETE)`);
      }
      m = /^\/ports\/([^/]+)\/(connect|disconnect)$/.exec(path);
      if (m && req.method === 'POST') {
        const port = decode(m[1], 'port name');
        this.dp.setConnected(port, m[2] === 'connect');
        return send(200, { port, state: m[2] === 'connect' ? 'connected' : 'disconnected' });
      }
      if (path === '/stats') {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} not allowed on /stats (GET)`);
        return send(200, this.dp.stats() as unknown as Record<string, unknown>);
      }
      if (path === '/qos' || path === '/qos/trace') {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} not allowed on ${path} (GET)`);
        return send(200, path === '/qos' ? qosOf(this.dp.stats()) : traceOf(this.dp.trace, query.has('since') ? count(query, 'since', 0, Number.MAX_SAFE_INTEGER) : undefined));
      }
      if (QUEUE_PATHS.includes(path)) return send(...(await queueRoute(this.dp, req.method ?? '', path, async (shape) => objectBody(await this.readBody(req), shape))));
      if (path === '/metrics') {
        if (req.method !== 'GET') throw new HttpError(405, `${req.method} not allowed on /metrics (GET)`);
        if (res.headersSent || res.destroyed) return;
        const text = this.dp.registry.exposition();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      throw new HttpError(404, `no such resource ${brief(path)} (/rules, /rules/ID, /extensions, /properties/NAME, /ports/NAME/connect, /stats, /qos, /qos/trace, ${QUEUE_PATHS.join(', ')}, /metrics)`);
    } catch (e) {
      const clip = (s: string) => (s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR)}…` : s);
      if (e instanceof RuleError) return send(400, { error: clip(e.message), field: e.field.slice(0, 64) });
      if (e instanceof VetoError) return send(409, { error: clip(e.message), extension: e.extension, reason: clip(e.reason) });
      if (e instanceof ExtensionError) return send(400, { error: clip(e.message) });
      if (e instanceof HttpError) {
        // Past a refused body the connection is closed rather than read to its end.
        const close = e.status === 413;
        this.reply(res, e.status, { error: clip(e.message), ...(e.field ? { field: e.field } : {}) }, close);
        if (close) res.once('finish', () => req.socket.destroy());
        return;
      }
      return send(500, { error: clip(`internal error: ${(e as Error)?.message ?? 'unknown'}`) });
    }
  }
}

// A socket file left by a switch that died: nothing accepts on it, so it may go. One that
// answers belongs to a running switch: refuse rather than steal it.
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try { st = lstatSync(path); } catch { return; }
  if (!st.isSocket()) throw new Error(`control API cannot listen on ${path}: a file that is not a socket is there`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`control API cannot listen on ${path}: another switch answers there (set control.listen)`);
  unlinkSync(path);
}
