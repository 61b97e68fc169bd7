// GET /queues and `sluice queues` on a running `sluice run` (one worker, four queues): while
// one UDP flow sends 80 times the frames of each of twenty others, the NIC's measurements name
// it the heaviest flow, with the queue its frames went to; every queue has its thread; the RSS
// entries listed map to the queues the table says; the text view shows the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { QueueReport } from '../../src/datapath/queue-report.js';
import { buildFrame } from '../../src/wire/frame-builder.js';
import { raw } from '../helpers/http.js';
import { CLI, Peer, sleep, udpSwitch } from '../helpers/processes.js';

const CONTROL = { host: '127.0.0.1', port: 44530 };
const ELEPHANT = 'udp 10.0.0.1:1000 > 10.0.0.2:2000';

test('the NIC measures the heaviest flow and names its queue: GET /queues and sluice queues', async () => {
  const sw = await udpSwitch({ workers: 1, queues: 4, control: CONTROL.port, base: 4453, peerBase: 5453 });
  const peers = [1, 2].map((n) => new Peer(`127.0.0.1:5453${n}`, `127.0.0.1:4453${n}`));
  const frame = (sport: number, payload: number) => buildFrame({ dst: '02:00:00:00:00:02', src: '02:00:00:00:00:01', ipv4: { src: '10.0.0.1', dst: '10.0.0.2' }, udp: { sport, dport: 2000 }, payload });
  const elephant = frame(1000, 1000), mice = Array.from({ length: 20 }, (_, i) => frame(3000 + i, 1000));
  let sending = true, rounds = 0;
  try {
    await Promise.all(peers.map((p) => p.ready()));
    // Every 2 ms: 4 elephant frames and one of a mouse (each mouse once in 20 rounds).
    const sender = (async () => { while (sending) { for (let i = 0; i < 4; i++) peers[0].send(elephant); peers[0].send(mice[rounds++ % 20]); await sleep(2); } })();
    let r: QueueReport | null = null;
    for (let i = 0; i < 40 && (r === null || r.measured === null || r.measured.flows.length === 0); i++) {
      await sleep(100);
      r = JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport;
    }
    await sleep(300); // a few periods of steady traffic
    r = JSON.parse((await raw(CONTROL, 'GET', '/queues')).body) as QueueReport;
    const text = await promisify(execFile)(process.execPath, [CLI, 'queues', '--control', `${CONTROL.host}:${CONTROL.port}`]);
    sending = false;
    await sender;
    assert.equal(r.queues.length, 4);
    assert.deepEqual(r.queues.map((q) => q.thread), ['datapath 0', 'datapath 0', 'datapath 0', 'datapath 0']);
    assert.equal(r.filters.installed.length, 0);
    const m = r.measured!;
    assert.ok(m !== null && m.flows.length > 0, 'flows were measured');
    const top = m.flows[0];
    assert.equal(top.flow, ELEPHANT, `the heaviest flow is the elephant: ${JSON.stringify(m.flows.slice(0, 3))}`);
    // A mouse sends at most 3 frames in a period, the elephant some 200 (at this rate every frame is counted).
    if (m.flows.length > 1) assert.ok(top.bitsPerSecond > 3 * m.flows[1].bitsPerSecond, `the elephant (${top.bitsPerSecond} b/s) outweighs the next (${m.flows[1].bitsPerSecond})`);
    // Its queue: four frames in five went there by RSS, so that queue took the most.
    const byRss = r.queues.map((q) => q.counters.byRss);
    assert.equal(top.queue, byRss.indexOf(Math.max(...byRss)), `the elephant's queue ${top.queue} took the most frames by RSS (${byRss})`);
    // Every frame went to one VM: it carries at least the elephant's bytes.
    assert.equal(m.vms[0]?.vm, '02:00:00:00:00:02 vlan 0');
    assert.ok(m.vms[0].bitsPerSecond >= top.bitsPerSecond, `the VM's ${m.vms[0].bitsPerSecond} b/s hold the elephant's ${top.bitsPerSecond}`);
    for (const b of r.rss.busiest) assert.equal(b.queue, r.rss.indirection[b.bucket]);
    assert.equal(top.entry, r.rss.busiest[0].bucket, 'the elephant\'s RSS entry is the busiest one');
    assert.equal(r.rss.indirection[top.entry], top.queue);
    assert.ok(r.rss.busiest.length > 0 && r.rss.busiest.some((b) => b.queue === top.queue), 'the busiest RSS entries include the elephant\'s');
    assert.equal(top.portName, 'p1');
    assert.match(text.stdout, new RegExp(`${ELEPHANT.replace(/\./g, '\\.')} +from p1, queue ${top.queue} \\(RSS entry ${top.entry}\\)`));
    // Under the manager's minimum rate (10,000 frames/s): no queue of its own.
    assert.match(text.stdout, /^queue manager: on, a queue for a flow at 10000 frames\/s or more; \d+ periods decided, 0 flows given queues/m);
  } finally {
    sending = false;
    await Promise.all(peers.map((p) => p.close()));
    sw.child.kill('SIGINT');
    assert.equal(await sw.exit, 0);
  }
});

test('sluice queues: --help teaches, a stray argument is a usage error, an absent switch is exit 1', async () => {
  const run = (args: string[]) => promisify(execFile)(process.execPath, [CLI, 'queues', ...args]).then(() => 0, (e: { code: number }) => e.code);
  const help = await promisify(execFile)(process.execPath, [CLI, 'queues', '--help']);
  assert.match(help.stdout, /heaviest flows/);
  assert.equal(await run(['bogus']), 2);
  assert.equal(await run(['--control', '127.0.0.1:1']), 1);
});
