// The queue manager in a running `sluice run` (two workers, four queues, its default rules but
// a 300 ms hold): a UDP flow sending numbered frames at ~20,000 frames/s beside light ones gets
// a queue of its own, shown by GET /queues and `sluice queues` with the decision's reason;
// `sluice queues policy` giving its port weight 0 takes the queue back; the flow's frames arrive
// in order across both moves; a bad policy is refused naming the field and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { QueueReport } from '../../src/datapath/queue-report.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { raw } from '../helpers/http.js';
import { CLI, sleep, udpSwitch } from '../helpers/processes.js';

const CONTROL = { host: '127.0.0.1', port: 44560 };
const FLOW = 'udp 10.0.0.1:7000 > 10.0.0.2:9';
const SEQ_AT = 14 + 20 + 8;
const cli = (args: string[]) => promisify(execFile)(process.execPath, [CLI, 'queues', ...args, '--control', `${CONTROL.host}:${CONTROL.port}`]).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => e);
const report = async () => JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport;

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await cond()) return true;
  return false;
}

test('the queue manager gives a heavy flow a queue and takes it back when its port gets weight 0, in order', { timeout: 60_000 }, async (t) => {
  const sw = await udpSwitch({ workers: 2, queues: 4, control: CONTROL.port, base: 4456, peerBase: 5456, manager: { holdMs: 300 } });
  const tx = createSocket('udp4'), rx = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  const seqs: number[] = [];
  rx.on('message', (m) => { if (m.length >= SEQ_AT + 4 && m.readUInt16BE(34) === 7000) seqs.push(m.readUInt32BE(SEQ_AT)); });
  await new Promise<void>((r) => rx.bind(54562, '127.0.0.1', r));
  await new Promise<void>((r) => tx.bind(54561, '127.0.0.1', r));
  const frame = (sport: number, seq: number) => {
    const payload = Buffer.alloc(64);
    payload.writeUInt32BE(seq, 0);
    return Buffer.from(buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport, dport: 9 }, payload }));
  };
  let sending = true, sent = 0;
  const sender = (async () => {
    while (sending) {
      for (let i = 0; i < 24; i++) tx.send(frame(7000, sent++), 44561, '127.0.0.1');
      for (let i = 0; i < 4; i++) tx.send(frame(8000 + (sent % 64) + i, 0), 44561, '127.0.0.1');
      await sleep(1);
    }
  })();
  try {
    const given = await until(async () => (await report()).manager.flows.some((f) => f.flow === FLOW && f.installed), 5000);
    const r = await report();
    assert.ok(given, `the flow got a queue: ${JSON.stringify(r.manager)}`);
    const q = r.manager.flows[0].queue;
    assert.ok(q !== 0 && r.filters.installed.some((f) => f.kind === 'tuple' && f.sport === 7000 && f.queue === q), JSON.stringify(r.filters));
    assert.ok(!r.rss.indirection.includes(q), 'its queue left the RSS table');
    const text = await cli([]);
    assert.match(text.stdout, new RegExp(`holds queue ${q}: ${FLOW}`));
    assert.match(text.stdout, new RegExp(`give +${FLOW} -> queue ${q}: at or above the minimum rate`));
    // Refused, naming the field; nothing changed.
    const bad = await cli(['policy', '{"ports": [{"port": "p7", "weight": 0}]}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ports\[0\]\.port: no port named "p7"/);
    const put = await raw(CONTROL, 'PUT', '/queues/policy', { headers: { 'content-type': 'application/json' }, body: '{"holdMs": 5}' });
    assert.equal(put.status, 400);
    assert.equal(JSON.parse(put.body).field, 'holdMs');
    // Port p1 (where the flow comes in) gets weight 0: the queue goes back.
    const set = await cli(['policy', '{"holdMs": 300, "ports": [{"port": "p1", "weight": 0}]}']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout).ports, [{ port: 'p1', weight: 0 }]);
    assert.ok(await until(async () => (await report()).manager.flows.length === 0, 3000), 'the flow gave its queue back');
    await sleep(300);
    sending = false;
    await sender;
    await sleep(500);
    const end = await report();
    assert.equal(end.filters.installed.length, 0);
    assert.ok(end.manager.decisions.some((d) => d.kind === 'take' && d.what === FLOW && /weight is 0/.test(d.reason)), JSON.stringify(end.manager.decisions));
    let behind = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i] <= seqs[i - 1]) behind++;
    t.diagnostic(`${seqs.length} of ${sent} frames of the flow arrived; decisions: ${end.manager.decisions.map((d) => `${d.kind} ${d.what} ${d.to}`).join('; ')}`);
    assert.equal(behind, 0, `${behind} of ${seqs.length} frames arrived behind a later one`);
    assert.ok(seqs.length > 0.5 * sent, `${seqs.length} of ${sent} frames arrived`);
  } finally {
    sending = false;
    tx.close(); rx.close();
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
});
