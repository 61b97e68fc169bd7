// The control API's /queues resources: GET /queues (queue-report.ts); POST /queues/moves, which
// moves one flow onto a receive queue by a 5-tuple steering filter, or back to RSS; and POST
// /queues/rss, which points one RSS indirection entry (the flows hashing to it) at a queue. On
// every NIC instance, without reordering (SoftNic.move): 202, the move finishes once the frames
// queued before it have left the switch (GET /queues counts it).
//   /queues/moves { "flow": { "proto": "udp", "src": "10.0.0.1", "sport": 5000, "dst": "10.0.0.2", "dport": 80 }, "queue": 3 }
//   /queues/moves { "flow": { ... }, "queue": null }     (back to RSS: the flow's filter goes)
//   /queues/rss   { "entry": 17, "queue": 2 }
//   /queues/threads { "queue": 3, "thread": 1 }  (a datapath worker serves the queue once the one serving it has drained it: queue-owners.ts)
// GET and PUT /queues/policy: the queue manager's policy rules (controllers/queue-rules.ts),
// replaced whole by a PUT (400 naming the field at fault; nothing changed).

import type { Dataplane } from '../datapath/dataplane.js';
import { SteeringError, TupleFilter } from '../nic/steering.js';
import { HttpError } from './http-error.js';
import { ConfigError } from '../schema.js';

const MOVE_SHAPE = '{ "flow": { "proto", "src", "sport", "dst", "dport" }, "queue": N or null }';
/** The resources queueRoute answers. */
export const QUEUE_PATHS = ['/queues', '/queues/moves', '/queues/rss', '/queues/threads', '/queues/policy'];
const THREAD_SHAPE = '{ "queue": N, "thread": N }';
const RSS_SHAPE = '{ "entry": N, "queue": N }';

/** The answer to a /queues request: status and body. */
export async function queueRoute(dp: Dataplane, method: string, path: string, body: (shape: string) => Promise<Record<string, unknown>>): Promise<[number, Record<string, unknown>]> {
  if (path === '/queues') {
    if (method !== 'GET') throw new HttpError(405, `${method} not allowed on /queues (GET)`);
    return [200, dp.queues() as unknown as Record<string, unknown>];
  }
  if (path === '/queues/policy') {
    if (method === 'GET') return [200, { policy: dp.queueControl.manager.rules.rules }];
    if (method !== 'PUT') throw new HttpError(405, `${method} not allowed on /queues/policy (GET, PUT)`);
    const doc = await body('{ "enabled", "minFramesPerSecond", "holdMs", "always", "ports" }');
    try { dp.queueControl.manager.setRules(dp.queueControl.compile(doc, '')); } catch (e) {
      if (e instanceof ConfigError) throw new HttpError(400, e.message, e.path);
      throw e;
    }
    return [200, { policy: dp.queueControl.manager.rules.rules }];
  }
  if (method !== 'POST') throw new HttpError(405, `${method} not allowed on ${path} (POST)`);
  const b = await body(path === '/queues/rss' ? RSS_SHAPE : path === '/queues/threads' ? THREAD_SHAPE : MOVE_SHAPE);
  if (path === '/queues/threads') {
    for (const k of ['queue', 'thread']) if (typeof b[k] !== 'number') throw new HttpError(400, `body must be ${THREAD_SHAPE}`, k);
    refusing(() => dp.queueControl.moveQueue(b.queue as number, b.thread as number));
    return [202, { queue: b.queue, thread: b.thread }];
  }
  if (path === '/queues/rss') {
    for (const k of ['entry', 'queue']) if (typeof b[k] !== 'number') throw new HttpError(400, `body must be ${RSS_SHAPE}`, k);
    refusing(() => dp.move({ bucket: b.entry as number, queue: b.queue as number }));
    return [202, { entry: b.entry, to: b.queue }];
  }
  const flow = b.flow as Record<string, unknown> | undefined;
  if (typeof flow !== 'object' || flow === null || Array.isArray(flow)) throw new HttpError(400, `body must be ${MOVE_SHAPE}`, 'flow');
  for (const k of ['src', 'dst']) if (typeof flow[k] !== 'string') throw new HttpError(400, `flow.${k}: an IPv4 or IPv6 address`, `flow.${k}`);
  for (const k of ['sport', 'dport']) if (typeof flow[k] !== 'number') throw new HttpError(400, `flow.${k}: a port (0..65535)`, `flow.${k}`);
  if (b.queue !== null && typeof b.queue !== 'number') throw new HttpError(400, 'queue: a receive queue number, or null (back to RSS)', 'queue');
  const f: TupleFilter = { kind: 'tuple', proto: flow.proto as TupleFilter['proto'], src: flow.src as string, dst: flow.dst as string, sport: flow.sport as number, dport: flow.dport as number, queue: 0 };
  const remove = b.queue === null;
  if (remove) {
    const now = dp.nic.steering.find(f);
    if (!now) throw new HttpError(400, 'no steering filter holds this flow: it is on RSS already', 'flow');
    f.queue = now.queue;
  } else f.queue = b.queue as number;
  try { dp.move({ filter: f, remove }); } catch (e) {
    if (e instanceof SteeringError) throw new HttpError(400, e.message, e.field);
    throw e;
  }
  return [202, { flow: f, to: remove ? 'rss' : f.queue }];
}

// A RangeError "field: problem" from a move is a 400 naming the field.
function refusing(move: () => void): void {
  try { move(); } catch (e) {
    if (e instanceof RangeError) throw new HttpError(400, e.message, e.message.slice(0, e.message.indexOf(':')));
    throw e;
  }
}
