// Rate limits (DESIGN section 10, RELIABILITY L08 and B20): one caller past
// limits.requests_per_s gets 429 rate_limited with Retry-After, counted per
// caller (token subject or API key), so others go on; a WebSocket past
// limits.ws_messages_per_s is closed with 4029, and the others stay.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
      limits: { requests_per_s: RATE, requests_burst: BURST, ws_messages_per_s: RATE, ws_messages_burst: BURST },
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

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
});
