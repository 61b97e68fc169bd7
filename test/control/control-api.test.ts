// The control API as a hostile client or a web page would use it: every malformed request is
// a 4xx naming the problem, the switch keeps serving, and nothing a browser can send (forms,
// text/plain, a foreign Origin or Host) is obeyed. Issue 10, defects 1-3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlApi, MAX_CONNECTIONS } from '../../src/control/control-api.js';
import { parseControl } from '../../src/control/control-address.js';
import { checkConfig } from '../../src/control/config.js';
import { ConfigError } from '../../src/schema.js';
import { memorySwitch } from '../helpers/switch.js';
import { JSON_HEADERS, raw, Where } from '../helpers/http.js';

async function apiOn(listen: string, maxBodyBytes?: number) {
  const sw = await memorySwitch([{}, {}, {}]);
  const api = new ControlApi(sw.dp, { maxBodyBytes });
  const at = parseControl(listen);
  assert.notEqual(typeof at, 'string', String(at));
  await api.listen(at as Exclude<typeof at, string>);
  const where: Where = typeof at !== 'string' && at.kind === 'unix' ? { socketPath: at.path } : { host: '127.0.0.1', port: Number(listen.split(':')[1]) };
  const alive = async () => assert.equal((await raw(where, 'GET', '/stats')).status, 200, 'the API still answers');
  return { sw, api, where, alive, async close() { await api.close(); await sw.dp.stop(); } };
}
const sock = () => `unix:${join(mkdtempSync(join(tmpdir(), 'sluice-api-')), 'ctl.sock')}`;

test('a unix control socket is created mode 0600 and removed on close; a live one is not stolen', async () => {
  const listen = sock();
  const a = await apiOn(listen);
  try {
    assert.equal(statSync(listen.slice(5)).mode & 0o777, 0o600);
    const second = new ControlApi(a.sw.dp);
    await assert.rejects(second.listen(parseControl(listen) as { kind: 'unix'; path: string }), /another switch answers there/);
    await a.alive();
  } finally { await a.close(); }
  assert.throws(() => statSync(listen.slice(5)), /ENOENT/);
});

test('deeply nested JSON is a 400, not a crash (defect 1)', async () => {
  const a = await apiOn(sock());
  try {
    const deep = `{"value":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const r = await raw(a.where, 'PUT', '/properties/x', { headers: JSON_HEADERS, body: deep });
    assert.equal(r.status, 400);
    assert.match(JSON.parse(r.body).error, /nests deeper than 32 levels/);
    // Within the limit it is taken (and the answer does not echo the value).
    const ok = await raw(a.where, 'PUT', '/properties/x', { headers: JSON_HEADERS, body: `{"value":${'['.repeat(20)}1${']'.repeat(20)}}` });
    assert.equal(ok.status, 200, ok.body);
    await a.alive();
  } finally { await a.close(); }
});

test('what a web page can send is refused: forms, text/plain, Origin, foreign Host (defect 2)', async () => {
  const a = await apiOn('127.0.0.1:45711');
  const host = { host: '127.0.0.1:45711' };
  const batch = JSON.stringify({ add: [{ id: 'x', layer: 'acl', priority: 1, match: {}, actions: [{ drop: true }] }] });
  try {
    const cases: [Record<string, string>, number, RegExp][] = [
      [{ ...host, 'content-type': 'text/plain' }, 415, /content-type: application\/json/],
      [{ ...host, 'content-type': 'application/x-www-form-urlencoded' }, 415, /content-type/],
      [{ ...host, 'content-type': 'multipart/form-data; boundary=x' }, 415, /content-type/],
      [{ ...host }, 415, /got "none"/],
      [{ ...host, ...JSON_HEADERS, origin: 'http://attacker.example' }, 403, /web pages/],
      [{ ...host, ...JSON_HEADERS, 'sec-fetch-site': 'cross-site' }, 403, /web pages/],
      [{ host: 'attacker.example:45711', ...JSON_HEADERS }, 403, /Host "attacker.example:45711"/],
      [{ host: '127.attacker.example:45711', ...JSON_HEADERS }, 403, /Host/],
    ];
    for (const [headers, status, re] of cases) {
      const r = await raw(a.where, 'POST', '/rules', { headers, body: batch });
      assert.equal(r.status, status, `${JSON.stringify(headers)}: ${r.body}`);
      assert.match(JSON.parse(r.body).error, re);
    }
    assert.equal(a.sw.dp.rules.size, 0, 'no refused request changed the rules');
    const ok = await raw(a.where, 'POST', '/rules', { headers: { ...host, ...JSON_HEADERS }, body: batch });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((await raw(a.where, 'GET', '/rules', { headers: { host: 'localhost:45711' } })).status, 200);
    assert.equal(a.sw.dp.rules.size, 1);
  } finally { await a.close(); }
  for (const bad of ['127.attacker.example:7400', 'localhost:7400', '10.0.0.1:7400', '0.0.0.0:7400', 'unix:']) {
    assert.equal(typeof parseControl(bad), 'string', bad);
    assert.throws(() => checkConfig({ ports: [{ name: 'p1', endpoint: { type: 'memory' } }], control: { listen: bad } }), ConfigError, bad);
  }
});

test('request limits: 413 for big bodies, short error texts, 400 for malformed requests (defect 3)', async () => {
  const a = await apiOn(sock(), 1 << 20);
  try {
    // Declared too big: refused before reading, the connection closed after the answer.
    const big = await raw(a.where, 'POST', '/rules', { headers: JSON_HEADERS, body: Buffer.alloc(8 << 20, 0x20) });
    assert.equal(big.status, 413, big.body);
    assert.match(JSON.parse(big.body).error, /over the limit of 1048576/);
    // Chunked (no length): refused once it passes the limit.
    const chunked = await raw(a.where, 'POST', '/rules', { headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' }, body: Buffer.alloc(4 << 20, 0x20) });
    assert.equal(chunked.status, 413);
    // A 1 MB id and a 1 MB path are quoted by a short prefix only.
    const id = 'x'.repeat(1_000_000 - 20);
    const longId = await raw(a.where, 'POST', '/rules', { headers: JSON_HEADERS, body: JSON.stringify({ del: [id] }) });
    assert.equal(longId.status, 400);
    assert.ok(longId.body.length < 400, `answer of ${longId.body.length} bytes`);
    assert.match(longId.body, /1000000|999980 characters/);
    const longAdd = await raw(a.where, 'POST', '/rules', { headers: JSON_HEADERS, body: JSON.stringify({ add: [{ id, layer: 'acl', priority: 1, match: {}, actions: [{ drop: true }] }] }) });
    assert.equal(longAdd.status, 400);
    assert.ok(longAdd.body.length < 400);
    // Malformed bodies and paths: 400, never 500.
    const malformed: [string, string, string | undefined][] = [
      ['POST', '/extensions/order', 'null'], ['PUT', '/properties/x', 'null'], ['PUT', '/properties/x', '[1]'],
      ['POST', '/rules', 'null'], ['POST', '/rules', '"x"'], ['POST', '/rules', '{"add": 3}'], ['POST', '/rules', '{'], ['POST', '/rules', '{"del": [1]}'],
      ['POST', '/rules', '{"del": ["nope"]}'], ['POST', '/rules', '{"add": [1 2]}'], ['POST', '/rules', '{"add": [{"layer":"acl"}],}'],
      ['DELETE', '/rules/%E0%A4%A', undefined], ['POST', '/extensions/%ZZ/enable', ''], ['PUT', '/properties/%', '{"value":1}'],
      ['POST', '/ports/%FF/connect', ''], ['POST', '/rules', '{"add":[{"layer":"acl","priority":1,"match":{"srcIp":{"a":[]}},"actions":[]}]}'],
    ];
    for (const [m, p, body] of malformed) {
      const r = await raw(a.where, m, p, { headers: JSON_HEADERS, body });
      assert.equal(r.status, 400, `${m} ${p} ${body}: ${r.status} ${r.body}`);
      assert.ok(typeof JSON.parse(r.body).error === 'string');
    }
    assert.equal((await raw(a.where, 'PATCH', '/rules')).status, 405);
    assert.equal((await raw(a.where, 'GET', '/nope')).status, 404);
    await a.alive();
  } finally { await a.close(); }
});

test(`connections past ${MAX_CONNECTIONS} are closed; the API keeps answering`, async () => {
  const a = await apiOn(sock());
  const path = (a.where as { socketPath: string }).socketPath;
  const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 8 }, () => new Promise<{ closed: boolean; s: ReturnType<typeof connect> }>((resolve) => {
    const s = connect(path, () => {
      // Half a request: headers begun, never finished.
      s.write('POST /rules HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n{');
      const h = { closed: false, s };
      s.on('close', () => { h.closed = true; });
      s.on('error', () => undefined);
      setTimeout(() => resolve(h), 300);
    });
  })));
  try {
    const closed = held.filter((h) => h.closed).length;
    assert.ok(closed >= 8, `${closed} of ${held.length} connections closed by the server`);
  } finally {
    for (const h of held) h.s.destroy();
  }
  await new Promise((r) => setTimeout(r, 50));
  try { await a.alive(); } finally { await a.close(); }
});
