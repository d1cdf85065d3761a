// Rate limits (DESIGN section 10, RELIABILITY L08 and B20): one caller past
// limits.requests_per_s gets 429 rate_limited with Retry-After, counted per
// caller (token subject or API key), so others go on; a WebSocket past
// limits.ws_messages_per_s is closed with 4029, and the others stay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Redis, Gateway, assertCleanExit, token, sleep } from './lib/harness.mjs';
import { assertError, request } from './lib/rest-helpers.mjs';

const RATE = 5;
const BURST = 10;
const KEY = 'k-rate-limits-0123456789';
const perms = { sync: { read: ['rl.*'], write: ['rl.*'] } };
const ALICE = token('alice', perms);
const BOB = token('bob', perms);

let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    node: 'gw-rates',
    config: {
      limits: {
        requests_per_s: RATE, requests_burst: BURST, ws_messages_per_s: RATE, ws_messages_burst: BURST,
        auth_failures_per_s: 1, auth_failures_burst: 5,
      },
      auth: { api_keys: [{ name: 'svc1', sha256: createHash('sha256').update(KEY).digest('hex'), read: ['rl.*'], write: [] }] },
    },
  });
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

const docPath = (id) => `/v1/collections/rl.a/docs/${id}`;

test('a caller past its rate gets 429 with Retry-After; other callers do not', async () => {
  const rs = [];
  for (let i = 0; i < BURST + 5; i++) rs.push(await request(gw, 'PUT', docPath(`d${i}`), { token: ALICE, body: { data: i } }));
  const ok = rs.filter((r) => r.status === 201).length;
  const limited = rs.filter((r) => r.status === 429);
  assert.ok(ok >= BURST && ok <= BURST + 2, `${ok} writes passed before the limit (burst ${BURST})`);
  assert.ok(limited.length >= 3, `only ${limited.length} refused`);
  for (const r of limited) {
    assertError(assert, r, 429, 'rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1, `Retry-After: ${r.headers.get('retry-after')}`);
  }
  // a refused write changed nothing
  const last = limited[limited.length - 1];
  const id = rs.indexOf(last);
  const g = await request(gw, 'GET', docPath(`d${id}`), { token: BOB });
  assert.equal(g.status, 404, g.text);
  // bob and the API key have their own budgets
  for (const [who, opts] of [['bob', { token: BOB }], ['key', { headers: { 'x-api-key': KEY } }]]) {
    const r = await request(gw, 'GET', docPath('d0'), opts);
    assert.equal(r.status, 200, `${who}: ${r.text}`);
  }
  // after Retry-After, alice may write again
  await sleep(Number(last.headers.get('retry-after')) * 1000 + 100);
  const again = await request(gw, 'PUT', docPath('later'), { token: ALICE, body: { data: 1 } });
  assert.equal(again.status, 201, again.text);
});

test('a WebSocket sending past its rate is closed with 4029; the others stay', async () => {
  await sleep(1100);
  const flood = await gw.ws({ token: ALICE });
  const calm = await gw.ws({ token: BOB });
  await flood.wait('welcome');
  await calm.wait('welcome');
  for (let i = 0; i < 200; i++) flood.send({ type: 'ping', ref: i });
  const closed = await flood.closed;
  assert.equal(closed.code, 4029, JSON.stringify(closed));
  const pongs = flood.of('pong').length;
  assert.ok(pongs >= BURST - 1 && pongs <= BURST + 2 * RATE, `${pongs} pongs before the close`);
  calm.send({ type: 'ping', ref: 'still' });
  await calm.wait((m) => m.type === 'pong' && m.ref === 'still');
  // a steady client under the rate is never closed
  for (let i = 0; i < 8; i++) {
    calm.send({ type: 'ping', ref: i });
    await calm.wait((m) => m.type === 'pong' && m.ref === i);
    await sleep(1000 / RATE + 20);
  }
  await calm.close();
});

/** GET /v1/collections/rl.a/docs/d0 from a loopback source address. */
function getFrom(localAddress, auth) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: gw.httpPort, path: '/v1/collections/rl.a/docs/d0', localAddress, agent: false,
      headers: { authorization: `Bearer ${auth}` },
    }, (res) => { res.resume(); res.on('end', () => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] })); });
    req.on('error', reject);
    req.end();
  });
}

test('an address that keeps failing authentication gets 429, unchecked; other addresses do not', async () => {
  const bad = 'e30.e30.nope';
  const from = '127.0.0.5';
  const seen = [];
  for (let i = 0; i < 8; i++) seen.push((await getFrom(from, bad)).status);
  assert.deepEqual(seen.slice(0, 5), [401, 401, 401, 401, 401], `${seen}`);
  assert.ok(seen.slice(5).every((s) => s === 429), `${seen}`);
  // while it lasts, even a good token from there waits; elsewhere all is well
  const good = await getFrom(from, BOB);
  assert.equal(good.status, 429);
  assert.ok(Number(good.retryAfter) >= 1);
  assert.equal((await getFrom('127.0.0.6', BOB)).status, 200);
  assert.equal((await getFrom('127.0.0.6', bad)).status, 401);
  // the WebSocket handshake shares nothing with REST but follows the rule
  for (let i = 0; i < 5; i++) {
    await assert.rejects(gw.ws({ token: bad, localAddress: '127.0.0.7' }), (e) => e.status === 401);
  }
  await assert.rejects(gw.ws({ token: BOB, localAddress: '127.0.0.7' }), (e) => e.status === 429);
  // one failure a second refills it
  await sleep(1100);
  assert.equal((await getFrom(from, BOB)).status, 200);
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
});
