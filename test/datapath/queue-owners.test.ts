// A receive queue changing worker thread (queue-owners.ts), step by step on one thread: the
// old owner stops serving the queue at once, hands it over only once every frame it took
// before has left its transmit rings (and none waits in its shapers), and the new owner
// serves it from then on; a drain that does not finish in time is given up (the old owner
// serves the queue again); a stopping worker keeps its queues; bad requests name the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Doorbell } from '../../src/nic/doorbell.js';
import { Ring } from '../../src/nic/ring.js';
import { HANDOFF_TIMEOUT_MS, QueueOwners, ServedQueues } from '../../src/datapath/queue-owners.js';

function rig() {
  const owners = new QueueOwners(4, 2), bells = [new Doorbell(), new Doorbell()];
  const byQueue = Array.from({ length: 4 }, () => [new Ring(16), new Ring(16)]); // two producers per queue
  const tx = [[new Ring(16, undefined, true), new Ring(16, undefined, true)], [new Ring(16, undefined, true), new Ring(16, undefined, true)]];
  const counts: string[] = [];
  const w = [0, 1].map((i) => new ServedQueues(owners, i, byQueue, tx[i], bells, (q, handed) => counts.push(`${i}:${q}:${handed}`)));
  const serves = (i: number, q: number) => byQueue[q].every((r) => w[i].rings.includes(r));
  const scratch = new Int32Array(16);
  return { owners, bells, w, tx, counts, serves, drainTx: (i: number) => { for (const r of tx[i]) while (r.dequeueBurst(scratch, 16) !== 0); } };
}

test('a queue is handed over only once every frame its old thread took has left that thread', () => {
  const { owners, bells, w, tx, counts, serves, drainTx } = rig();
  assert.ok(serves(0, 0) && serves(0, 2) && serves(1, 1) && serves(1, 3), 'queue q starts on thread q mod 2');
  tx[0][1].enqueueBurst(Int32Array.of(5, 6), 0, 2); // frames worker 0 took from its queues, not yet sent
  owners.ask(2, 1, bells);
  assert.equal(owners.pending(), 1);
  w[0].turn(0, false, false);
  assert.ok(!serves(0, 2) && serves(0, 0), 'the old owner stops serving queue 2 at once, keeps queue 0');
  assert.ok(w[0].busy);
  w[1].turn(0, false, false);
  assert.ok(!serves(1, 2), 'the new owner does not serve it yet');
  tx[0][1].enqueueBurst(Int32Array.of(7), 0, 1); // written after the stop: not from queue 2, need not be waited for
  w[0].turn(1, false, false);
  assert.equal(Atomics.load(owners.owner, 2), 0, 'still draining: its transmit ring holds frames taken from queue 2');
  const scratch = new Int32Array(2);
  tx[0][1].dequeueBurst(scratch, 2); // the main thread sends the two older frames
  w[0].turn(2, true, false);
  assert.equal(Atomics.load(owners.owner, 2), 0, 'a frame waiting in one of its shapers holds the hand-over too');
  w[0].turn(3, false, false);
  assert.equal(Atomics.load(owners.owner, 2), 1, 'handed over: the frames it took have left');
  assert.ok(!w[0].busy && w[0].current, 'done draining');
  assert.ok(!w[1].current, 'the new owner has a hand-over to see');
  w[1].turn(3, false, false);
  assert.ok(serves(1, 2) && serves(1, 1) && serves(1, 3), 'the new owner serves it');
  assert.equal(owners.pending(), 0);
  assert.deepEqual(counts, ['0:2:true']);
  drainTx(0);
});

test('a drain that does not finish in time is given up; a stopping worker keeps its queues', () => {
  const { owners, bells, w, tx, counts, serves } = rig();
  tx[1][0].enqueueBurst(Int32Array.of(9), 0, 1); // stuck behind a peer that does not read
  owners.ask(3, 0, bells);
  w[1].turn(100, false, false);
  assert.ok(!serves(1, 3));
  w[1].turn(100 + HANDOFF_TIMEOUT_MS - 1, false, false);
  assert.ok(w[1].busy);
  w[1].turn(100 + HANDOFF_TIMEOUT_MS, false, false);
  assert.ok(serves(1, 3), 'given up: it serves the queue again');
  assert.equal(owners.want(3), 1, 'and the request is withdrawn');
  assert.equal(owners.pending(), 0);
  assert.deepEqual(counts, ['1:3:false']);
  owners.ask(1, 0, bells);
  w[1].turn(200, false, true);
  assert.ok(serves(1, 1), 'stopping: no hand-over starts');
});

test('an ask while the owner drains toward another thread goes to the latest; asking the owner itself cancels', () => {
  const { owners, bells, w, tx, serves } = rig();
  tx[0][0].enqueueBurst(Int32Array.of(1), 0, 1);
  owners.ask(0, 1, bells);
  w[0].turn(0, false, false);
  owners.ask(0, 0, bells);
  w[0].turn(1, false, false);
  assert.ok(serves(0, 0) && !w[0].busy, 'asked back: it serves queue 0 again');
  assert.equal(owners.pending(), 0);
});
