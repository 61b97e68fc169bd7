// The port-acl built-in through the in-memory switch: weights and first match, default allow,
// directions (out: from the VM, in: to the VM), prefixes, ports and ranges, protocols, and
// stateful sessions admitting return traffic until their idle timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame, FrameSpec } from '../../src/wire/frame-builder.js';
import { BCAST, MAC, memorySwitch } from '../helpers/switch.js';

const udp = (src: number, dst: number, sport: number, dport: number, extra: Partial<FrameSpec> = {}) => buildFrame({ dst: MAC(dst), src: MAC(src), ipv4: { src: `10.0.0.${src}`, dst: `10.0.0.${dst}` }, udp: { sport, dport }, payload: 18, ...extra } as FrameSpec);
const tcp = (src: number, dst: number, sport: number, dport: number) => buildFrame({ dst: MAC(dst), src: MAC(src), ipv4: { src: `10.0.0.${src}`, dst: `10.0.0.${dst}` }, tcp: { sport, dport }, payload: 10 });
const counts = (got: Uint8Array[][]) => got.map((g) => g.length);

async function acl(rules: object[]) {
  const s = await memorySwitch([{}, {}, {}], { extensions: [{ module: 'port-acl', enabled: true, failMode: 'open', config: { rules } }] });
  for (let p = 0; p < 3; p++) s.send(p, buildFrame({ dst: BCAST, src: MAC(p + 1), etherType: 0x88b5, payload: 46 }));
  assert.deepEqual(counts(s.got()), [2, 2, 2], 'non-IP traffic is not subject to ACLs');
  const pass = (port: number, f: Uint8Array) => { s.send(port, f); return counts(s.got()).reduce((a, b) => a + b, 0) > 0; };
  return { s, pass };
}

test('weights decide (highest first, first match wins); no match allows', async () => {
  const { s, pass } = await acl([
    { port: 'p1', direction: 'out', action: 'deny', weight: 10, remoteAddress: '10.0.0.0/24' },
    { port: 'p1', direction: 'out', action: 'allow', weight: 20, remoteAddress: '10.0.0.2', protocol: 'udp', remotePort: '50-60' },
  ]);
  assert.equal(pass(0, udp(1, 2, 1000, 55)), true, 'weight 20 allow matches first');
  assert.equal(pass(0, udp(1, 2, 1000, 61)), false, 'outside the range: the weight 10 deny');
  assert.equal(pass(0, udp(1, 3, 1000, 55)), false, 'other host in /24: deny');
  assert.equal(pass(0, tcp(1, 2, 1000, 55)), false, 'tcp is not the allowed protocol: deny');
  assert.equal(pass(1, udp(2, 3, 1000, 55)), true, 'p2 has no rules');
  assert.equal(pass(0, buildFrame({ dst: MAC(2), src: MAC(1), ipv4: { src: '10.0.0.1', dst: '192.168.1.1' }, udp: { sport: 1, dport: 2 } })), true, 'no rule matches: allowed');
  const r = s.dp.extensionReport()[0];
  assert.deepEqual(r.dropReasons, { aclDeny: 3 });
  await s.dp.stop();
  assert.equal(s.dp.pool.available, s.dp.pool.slots);
});

test('directions: "in" rules act on traffic to the port (per destination), local/remote swap', async () => {
  const { s, pass } = await acl([
    { port: 'p2', direction: 'in', action: 'deny', weight: 1, protocol: 'tcp', localPort: 22 },
    { port: 'p2', direction: 'in', action: 'deny', weight: 1, remoteAddress: '10.0.0.3' },
  ]);
  assert.equal(pass(0, tcp(1, 2, 4000, 22)), false, 'ssh into p2 denied');
  assert.equal(pass(0, tcp(1, 2, 4000, 80)), true);
  assert.equal(pass(2, udp(3, 2, 5, 5)), false, 'anything from 10.0.0.3 to p2 denied');
  assert.equal(pass(1, tcp(2, 1, 22, 4000)), true, 'p2 sending from port 22 is outbound: not matched');
  // A broadcast IP packet from p3 reaches p1 but not p2.
  s.send(2, buildFrame({ dst: BCAST, src: MAC(3), ipv4: { src: '10.0.0.3', dst: '10.0.0.255' }, udp: { sport: 1, dport: 2 } }));
  assert.deepEqual(counts(s.got()), [1, 0, 0]);
  await s.dp.stop();
});

test('stateful: an allowed outbound session admits its return traffic despite an inbound deny, until idle', async () => {
  const { s, pass } = await acl([
    { port: 'p1', direction: 'out', action: 'allow', weight: 10, protocol: 'udp', stateful: true, idleTimeoutSeconds: 1 },
    { port: 'p1', direction: 'in', action: 'deny', weight: 1 },
  ]);
  assert.equal(pass(1, udp(2, 1, 53, 3333)), false, 'unsolicited inbound: denied');
  assert.equal(pass(0, udp(1, 2, 3333, 53)), true, 'outbound query opens a session');
  assert.equal(pass(1, udp(2, 1, 53, 3333)), true, 'the reply is admitted');
  assert.equal(pass(1, udp(2, 1, 53, 3334)), false, 'another port pair is not the session');
  assert.equal(pass(2, udp(3, 1, 53, 3333)), false, 'another host is not the session');
  await new Promise((r) => setTimeout(r, 2200)); // idle past the 1 s timeout
  assert.equal(pass(1, udp(2, 1, 53, 3333)), false, 'after the idle timeout the session is gone');
  await s.dp.stop();
});

test('bad ACL configuration fails the start with the field named', async () => {
  const bad = (rules: object[], re: RegExp) => assert.rejects(memorySwitch([{}, {}], { extensions: [{ module: 'port-acl', enabled: true, failMode: 'open', config: { rules } }] }), re);
  await bad([{ port: 'p9', direction: 'in', action: 'deny', weight: 1 }], /rules\[0\]\.port: unknown port "p9"/);
  await bad([{ port: 'p1', direction: 'in', action: 'deny', weight: 1, remoteAddress: '10.0.0.0/40' }], /rules\[0\]\.remoteAddress: "10\.0\.0\.0\/40" is not/);
  await bad([{ port: 'p1', direction: 'in', action: 'deny', weight: 1, stateful: true }], /only allow rules can be stateful/);
  await bad([{ port: 'p1', direction: 'in', action: 'allow', weight: 1, localPort: 80 }], /ports need protocol tcp or udp/);
});
