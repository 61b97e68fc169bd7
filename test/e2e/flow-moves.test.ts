// Flow moves through a running `sluice run` (two workers, four queues): while a UDP flow sends
// numbered frames at a steady clip beside other flows, POST /queues/moves moves it 24 times —
// onto each queue in turn (so between the two workers), and back to RSS — then POST /queues/rss
// points its RSS entry at each queue in turn, 8 times, then POST /queues/threads hands that
// queue from one worker to the other 8 times; the receiving side sees its numbers only ever
// grow: no frame overtook an older one. Every move is counted on each NIC instance that took
// it, every hand-over by the worker that gave the queue up, and bad requests are refused
// naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { QueueReport } from '../../src/datapath/queue-report.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { raw } from '../helpers/http.js';
import { sleep, udpSwitch } from '../helpers/processes.js';

const CONTROL = { host: '127.0.0.1', port: 44540 };
const FLOW = { proto: 'udp', src: '10.0.0.1', sport: 7000, dst: '10.0.0.2', dport: 9 };
const SEQ_AT = 14 + 20 + 8;
const HANDOVERS = 8;
const post = (body: unknown) => raw(CONTROL, 'POST', '/queues/moves', { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a flow moved 24 times by filter, 8 by its RSS entry and its queue 8 times between workers while it sends arrives in order; bad moves are refused', { timeout: 60_000 }, async (t) => {
  // The queue manager is off: these moves are asked for by hand (queue-manager.test.ts has its own).
  const sw = await udpSwitch({ workers: 2, queues: 4, control: CONTROL.port, base: 4454, peerBase: 5454, manager: { enabled: false } });
  const tx = createSocket('udp4'), rx = createSocket('udp4');
  const seqs: number[] = [];
  rx.on('message', (m) => { if (m.length >= SEQ_AT + 4 && m.readUInt16BE(34) === FLOW.sport) seqs.push(m.readUInt32BE(SEQ_AT)); });
  await new Promise<void>((r) => rx.bind(54542, '127.0.0.1', r));
  await new Promise<void>((r) => tx.bind(54541, '127.0.0.1', r));
  const frame = (sport: number, seq: number) => {
    const payload = Buffer.alloc(64);
    payload.writeUInt32BE(seq, 0);
    return Buffer.from(buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: FLOW.src, dst: FLOW.dst }, udp: { sport, dport: FLOW.dport }, payload }));
  };
  let sending = true, sent = 0;
  try {
    // 24 frames of the flow and 8 of others every millisecond or so.
    const sender = (async () => {
      while (sending) {
        for (let i = 0; i < 24; i++) tx.send(frame(FLOW.sport, sent++), 44541, '127.0.0.1');
        for (let i = 0; i < 8; i++) tx.send(frame(8000 + (sent % 64) + i, 0), 44541, '127.0.0.1');
        await sleep(1);
      }
    })();
    await sleep(200);
    const moves: (number | null)[] = [...Array.from({ length: 23 }, (_, i) => i % 4), null];
    for (const queue of moves) {
      const r = await post({ flow: FLOW, queue });
      assert.equal(r.status, 202, r.body);
      await sleep(40);
    }
    // Back on RSS: the flow's entry is the busiest; point it at each queue in turn.
    await sleep(250);
    const entry = (JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport).rss.busiest[0].bucket;
    for (let i = 1; i <= 8; i++) {
      const r = await raw(CONTROL, 'POST', '/queues/rss', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entry, queue: i % 4 }) });
      assert.equal(r.status, 202, r.body);
      await sleep(40);
    }
    // Its queue (0, where the entry points now) handed from worker to worker, each once the last is done.
    const threadOf = async () => (JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport).queues[0].thread;
    for (let i = 1; i <= HANDOVERS; i++) {
      const r = await raw(CONTROL, 'POST', '/queues/threads', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: 0, thread: i % 2 }) });
      assert.equal(r.status, 202, r.body);
      for (let k = 0; k < 100 && (await threadOf()) !== `datapath ${i % 2}`; k++) await sleep(5);
      await sleep(30);
    }
    sending = false;
    await sender;
    await sleep(500);
    const q = JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport;
    const sum = (k: string) => q.queues.reduce((a, x) => a + (x.counters[k] ?? 0), 0);
    t.diagnostic(`${seqs.length} of ${sent} frames of the flow arrived; moves held ${sum('framesHeld')} of them while they drained`);
    let behind = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) behind++;
    const done = sum('flowsMovedIn') + sum('flowsMovedOut') + sum('entriesMovedIn');
    // Each move is taken by every NIC instance (the main thread's and the two workers'): 96 in all.
    assert.equal(done + sum('movesGivenUp'), 3 * (moves.length + 8), `moves done ${done}, given up ${sum('movesGivenUp')}`);
    assert.equal(q.rss.indirection[entry], 0, 'the entry points where the last move said');
    assert.equal(sum('threadChanges') + sum('threadChangesGivenUp'), HANDOVERS, `hand-overs ${sum('threadChanges')}, given up ${sum('threadChangesGivenUp')}`);
    assert.equal(q.queues[0].thread, 'datapath 0');
    assert.equal(behind, 0, `${behind} of ${seqs.length} frames arrived behind a later one`);
    assert.ok(seqs.length > 0.5 * sent, `${seqs.length} of ${sent} frames arrived`);
    assert.equal(q.filters.installed.length, 0, 'back to RSS at the end');
    // Refusals name the field.
    for (const [body, field] of [[{ flow: { ...FLOW, src: 'x' }, queue: 1 }, 'src'], [{ flow: FLOW, queue: 9 }, 'queue'], [{ flow: FLOW, queue: null }, 'flow'], [{ queue: 1 }, 'flow']] as const) {
      const r = await post(body);
      assert.equal(r.status, 400, r.body);
      assert.equal(JSON.parse(r.body).field, field, r.body);
    }
    for (const [path, body, field] of [['rss', { entry: 128, queue: 1 }, 'entry'], ['rss', { entry: 0, queue: 4 }, 'queue'], ['rss', { entry: 'x', queue: 1 }, 'entry'],
      ['threads', { queue: 4, thread: 0 }, 'queue'], ['threads', { queue: 0, thread: 2 }, 'thread'], ['threads', { queue: 0 }, 'thread']] as const) {
      const r = await raw(CONTROL, 'POST', `/queues/${path}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 400, r.body);
      assert.equal(JSON.parse(r.body).field, field, r.body);
    }
  } finally {
    sending = false;
    tx.close(); rx.close();
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
});
