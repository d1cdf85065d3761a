// WebSocket authentication and permissions (DESIGN 8, 10, 11; decisions
// 16, 18, 19): handshake tokens, the first auth message and its timeout,
// live expiry, refresh, read permissions with ${sub}, Origin, path, mode none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Redis, Gateway, WsClient, assertCleanExit, token, adminToken, sleep, SECRET } from './lib/harness.mjs';

const ORIGIN = 'https://app.example';
let redis;
let gw;
let stopped = false;
const admin = adminToken();
const all = { read: ['*'], write: [] };
let n = 0;
const coll = (p) => `${p}.${process.pid}x${++n}`;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    node: 'gw-auth',
    config: {
      auth: { leeway_s: 0, default_permissions: { read: ['pub.*'], write: [] } },
      limits: { ws_auth_timeout_s: 1 },
      ws: { allowed_origins: [ORIGIN] },
    },
  });
});

after(async () => {
  if (gw && !stopped) await gw.kill();
  if (redis) await redis.stop();
});

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const expOf = (t) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()).exp;
const now = () => Math.floor(Date.now() / 1000);
/** HS256 with the gateway's secret, for claims jsonwebtoken would not make. */
function hs256(claims) {
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

async function put(c, id, data) {
  const r = await gw.req('PUT', `/v1/collections/${c}/docs/${id}`, { body: { data }, token: admin });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${c}/${id}: ${r.status} ${r.text}`);
  return r.json;
}

async function ask(c, msg, type) {
  const from = c.messages.length;
  c.send(msg);
  return c.wait(type, { from });
}

async function subscribe(c, collection, ref) {
  const from = c.messages.length;
  c.send({ type: 'subscribe', collection, ref });
  return c.wait((m) => (m.type === 'subscribed' && m.collection === collection) || m.type === 'error',
    { from });
}

let pings = 0;
async function assertUsable(c) {
  const ref = `p${++pings}`;
  const from = c.messages.length;
  c.send({ type: 'ping', ref });
  await c.wait((m) => m.type === 'pong' && m.ref === ref, { from });
}

/** Resolves with the close, or {code:'open'} if the socket is still open after ms. */
async function closedWithin(c, ms) {
  let t;
  const r = await Promise.race([c.closed, new Promise((res) => { t = setTimeout(() => res({ code: 'open' }), ms); })]);
  clearTimeout(t);
  return r;
}

async function refused(p, status, what) {
  await assert.rejects(p, (e) => {
    assert.equal(e.status, status, `${what}: ${e.message}`);
    return true;
  }, what);
}

/** Opens an unauthenticated socket (no token in the handshake). */
const bare = () => gw.ws();

const badTokens = () => [
  ['wrong secret', token('mallory', { sync: all, secret: 'another-secret-0123456789-abcdefghijkl' })],
  ['expired', token('alice', { sync: all, expiresIn: -60 })],
  ['garbage', 'garbage'],
  ['three garbage parts', 'a.b.c'],
  ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: now() + 3600, sync: all })}.`],
  ['no exp', hs256({ sub: 'alice', iat: now(), sync: all })],
  ['no sub', hs256({ iat: now(), exp: now() + 3600, sync: all })],
  ['exp not a number', hs256({ sub: 'alice', exp: 'tomorrow', sync: all })],
  ['bad signature', `${token('alice', { sync: all }).slice(0, -4)}AAAA`],
  ['nbf in the future', token('alice', { sync: all, nbf: now() + 600 })],
];

test('valid token via ?token= and via Authorization: welcome comes first', async () => {
  const a = await gw.ws({ token: token('alice', { sync: all }) });
  const b = await gw.ws({ headers: { authorization: `Bearer ${token('bob', { sync: all })}` } });
  for (const c of [a, b]) {
    const w = await c.wait('welcome');
    assert.equal(c.messages[0], w);
    assert.equal(w.node, 'gw-auth');
    assert.equal(w.protocol, 1);
    const name = coll('h');
    const s = await subscribe(c, name);
    assert.equal(s.type, 'subscribed');
    await c.close();
  }
});

test('a token whose exp is the largest allowed (2^53 - 1 s) works and arms no broken timer', async () => {
  // its expiry in microseconds does not fit 64 bits: the timer is armed at
  // most a day ahead (under UBSan an overflow would abort the gateway)
  const c = await gw.ws({ token: hs256({ sub: 'alice', exp: 9007199254740991, sync: all }) });
  await c.wait('welcome');
  c.send({ type: 'ping', ref: 1 });
  await c.wait((m) => m.type === 'pong' && m.ref === 1);
  await sleep(300);
  c.send({ type: 'ping', ref: 2 });
  await c.wait((m) => m.type === 'pong' && m.ref === 2);
  await c.close();
  assert.equal(gw.proc.exitCode, null, 'the gateway is alive');
});

test('invalid, expired or garbage tokens at the handshake are refused with 401', async () => {
  // the helper signs like the gateway expects: a control
  const ctl = await gw.ws({ token: hs256({ sub: 'alice', exp: now() + 600, sync: all }) });
  await ctl.wait('welcome');
  await ctl.close();
  for (const [what, t] of badTokens()) {
    await refused(gw.ws({ token: t }), 401, `?token= ${what}`);
    await refused(gw.ws({ headers: { authorization: `Bearer ${t}` } }), 401, `header ${what}`);
  }
  await refused(gw.ws({ headers: { authorization: 'Basic YWxpY2U6cHc=' } }), 401, 'Basic auth');
  await refused(gw.ws({ headers: { authorization: 'Bearer' } }), 401, 'empty bearer');
  // a token with exp but without sync claim is fine (defaults apply)
  const ok = await gw.ws({ token: token('carol') });
  await ok.wait('welcome');
  await ok.close();
});

test('without a handshake token the first message must be auth, answered by welcome', async () => {
  const c = await bare();
  await sleep(300);
  assert.equal(c.messages.length, 0, 'nothing before auth');
  const w = await ask(c, { type: 'auth', token: token('dave', { sync: all }) }, 'welcome');
  assert.equal(c.messages[0], w);
  assert.equal(w.protocol, 1);
  const s = await subscribe(c, coll('first'));
  assert.equal(s.type, 'subscribed');
  // the deadline does not apply once authenticated
  assert.equal((await closedWithin(c, 1800)).code, 'open');
  await assertUsable(c);
  await c.close();
});

test('anything but auth first closes with 1008', async () => {
  const firsts = [
    { type: 'ping', ref: 1 },
    { type: 'subscribe', collection: 'pub.x' },
    '{not json',
    { type: 'auth' },
    { type: 'auth', token: 42 },
  ];
  for (const m of firsts) {
    const c = await bare();
    c.send(m);
    const cl = await closedWithin(c, 8000);
    assert.equal(cl.code, 1008, `first message ${JSON.stringify(m)}`);
    assert.equal(c.of('pong').length + c.of('subscribed').length + c.of('welcome').length, 0);
  }
});

test('silence closes with 1008 after limits.ws_auth_timeout_s', async () => {
  const t0 = Date.now();
  const c = await bare();
  const cl = await closedWithin(c, 10000);
  const dt = Date.now() - t0;
  assert.equal(cl.code, 1008);
  assert.ok(dt >= 800, `closed after ${dt} ms, before the 1 s deadline`);
  assert.ok(dt <= 8000, `closed after ${dt} ms`);
  assert.equal(c.messages.length, 0);
});

test('a bad token in the auth message closes with 1008, an expired one with 4001', async () => {
  for (const [what, t] of badTokens()) {
    const c = await bare();
    c.send({ type: 'auth', token: t });
    const cl = await closedWithin(c, 8000);
    assert.equal(cl.code, what === 'expired' ? 4001 : 1008, what);
    assert.equal(c.of('welcome').length, 0, what);
  }
});

test('live expiry closes with 4001 at exp; no change after it is delivered', async () => {
  const t = token('erin', { sync: all, expiresIn: 3 });
  const exp = expOf(t);
  const c = await gw.ws({ token: t });
  await c.wait('welcome');
  const name = coll('exp');
  assert.equal((await subscribe(c, name)).type, 'subscribed');
  let closeAt = 0;
  c.closed.then(() => { closeAt = Date.now(); });
  let i = 0;
  const deadline = exp * 1000 + 8000;
  while ((!closeAt || Date.now() < closeAt + 700) && Date.now() < deadline) {
    await put(name, `d${i++}`, { i });
    await sleep(100);
  }
  const cl = await closedWithin(c, 1);
  assert.equal(cl.code, 4001);
  assert.ok(closeAt >= exp * 1000 - 100, `closed ${exp * 1000 - closeAt} ms before exp`);
  assert.ok(closeAt <= exp * 1000 + 5000, `closed ${closeAt - exp * 1000} ms after exp`);
  const got = c.of('change', name);
  assert.ok(got.length >= 3, `changes before expiry: ${got.length}`);
  // changes written well after exp (2 s: timers may be coarse) never reach the socket
  const late = got.filter((m) => m.timestamp >= exp * 1000 + 2000);
  assert.deepEqual(late.map((m) => m.timestamp - exp * 1000), []);
  assert.ok(i > got.length, 'writes went on after the close');
});

test('refresh with a new token of the same sub: welcome again, lives past the first exp', async () => {
  const t1 = token('frank', { sync: all, expiresIn: 3 });
  const exp = expOf(t1);
  const c = await gw.ws({ token: t1 });
  await c.wait('welcome');
  const name = coll('refresh');
  await subscribe(c, name);
  await sleep(800);
  const w = await ask(c, { type: 'auth', token: token('frank', { sync: all, expiresIn: 3600 }) }, 'welcome');
  assert.equal(w.protocol, 1);
  assert.equal(c.of('welcome').length, 2);
  const wait = exp * 1000 + 1500 - Date.now();
  assert.equal((await closedWithin(c, Math.max(wait, 0))).code, 'open', 'closed at the old exp');
  await assertUsable(c);
  await put(name, 'after', 1);
  await c.wait((m) => m.type === 'change' && m.id === 'after');
  assert.equal(c.of('unsubscribed').length, 0);
  await c.close();
});

test('refresh with a shorter-lived token: 4001 at the new exp', async () => {
  const c = await gw.ws({ token: token('fred', { sync: all, expiresIn: 3600 }) });
  await c.wait('welcome');
  const t2 = token('fred', { sync: all, expiresIn: 2 });
  const exp = expOf(t2);
  await ask(c, { type: 'auth', token: t2 }, 'welcome');
  const cl = await closedWithin(c, 10000);
  const at = Date.now();
  assert.equal(cl.code, 4001);
  assert.ok(at >= exp * 1000 - 100, `closed ${exp * 1000 - at} ms before the new exp`);
  assert.ok(at <= exp * 1000 + 5000, `closed ${at - exp * 1000} ms after the new exp`);
});

test('refresh with another sub, a bad or an expired token closes the socket', async () => {
  const cases = [
    ['other sub', token('mallory', { sync: all }), 1008],
    ['wrong secret', token('gina', { sync: all, secret: 'another-secret-0123456789-abcdefghijkl' }), 1008],
    ['expired', token('gina', { sync: all, expiresIn: -60 }), 4001],
  ];
  for (const [what, t, code] of cases) {
    const c = await gw.ws({ token: token('gina', { sync: all }) });
    await c.wait('welcome');
    c.send({ type: 'auth', token: t });
    const cl = await closedWithin(c, 8000);
    assert.equal(cl.code, code, what);
    assert.equal(c.of('welcome').length, 1, what);
  }
});

test('refresh with a narrower sync.read unsubscribes what is no longer allowed', async () => {
  const a = coll('na');
  const b = coll('nb');
  const c = await gw.ws({ token: token('hank', { sync: { read: ['na.*', 'nb.*'] } }) });
  await c.wait('welcome');
  await subscribe(c, a);
  await subscribe(c, b);
  const from = c.messages.length;
  c.send({ type: 'auth', token: token('hank', { sync: { read: ['na.*'] } }) });
  await c.wait('welcome', { from });
  const u = await c.wait('unsubscribed', { from });
  assert.equal(u.collection, b);
  await put(b, 'x', 1);
  await put(a, 'y', 2);
  await c.wait((m) => m.type === 'change' && m.id === 'y');
  await assertUsable(c);
  assert.deepEqual(c.of('change').map((m) => m.collection), [a]);
  assert.deepEqual(c.of('unsubscribed').map((m) => m.collection), [b]);
  const e = await subscribe(c, b, 'again');
  assert.equal(e.type, 'error');
  assert.equal(e.code, 'forbidden');
  await c.close();
});

test('a forbidden subscribe gets error forbidden and the socket stays usable', async () => {
  const c = await gw.ws({ token: token('ivy', { sync: { read: ['ok.*', 'exact'] } }) });
  await c.wait('welcome');
  for (const [name, ref] of [['secret.x', 'f1'], ['ok', { r: 2 }], ['exactly', 3], ['oK.x', 4]]) {
    const e = await subscribe(c, name, ref);
    assert.equal(e.type, 'error', name);
    assert.equal(e.code, 'forbidden', name);
    assert.deepEqual(e.ref, ref);
    assert.ok(e.message.length > 0);
    await assertUsable(c);
  }
  const name = `ok.${process.pid}`;
  assert.equal((await subscribe(c, name)).type, 'subscribed');
  assert.equal((await subscribe(c, 'exact')).type, 'subscribed');
  await put('secret.x', 'a', 1);
  await put(name, 'b', 2);
  await c.wait((m) => m.type === 'change' && m.id === 'b');
  assert.deepEqual(c.of('change').map((m) => m.id), ['b']);
  // without a sync claim the configured defaults apply
  const d = await gw.ws({ token: token('jack') });
  await d.wait('welcome');
  assert.equal((await subscribe(d, 'pub.news')).type, 'subscribed');
  assert.equal((await subscribe(d, 'secret.x')).code, 'forbidden');
  await c.close();
  await d.close();
});

test('${sub} in a pattern is the token subject', async () => {
  // eslint-disable-next-line no-template-curly-in-string
  const perms = { read: ['user.${sub}.*'] };
  const alice = await gw.ws({ token: token('alice', { sync: perms }) });
  const bob = await gw.ws({ token: token('bob', { sync: perms }) });
  await alice.wait('welcome');
  await bob.wait('welcome');
  assert.equal((await subscribe(alice, 'user.alice.x')).type, 'subscribed');
  assert.equal((await subscribe(alice, 'user.bob.x')).code, 'forbidden');
  assert.equal((await subscribe(alice, 'user.alicex.y')).code, 'forbidden');
  assert.equal((await subscribe(bob, 'user.bob.x')).type, 'subscribed');
  assert.equal((await subscribe(bob, 'user.alice.x')).code, 'forbidden');
  await put('user.alice.x', 'n', 1);
  await alice.wait((m) => m.type === 'change' && m.id === 'n');
  await assertUsable(bob);
  assert.equal(bob.of('change').length, 0);
  await alice.close();
  await bob.close();
});

test('subjects with pattern characters or outside the actor alphabet are rejected', async () => {
  // eslint-disable-next-line no-template-curly-in-string
  const perms = { read: ['user.${sub}', 'user.${sub}.*'] };
  // eslint-disable-next-line no-template-curly-in-string
  // ':' separates a subject from its device in actor names: refused too
  for (const sub of ['*', 'al*', '${sub}', 'a$b', '{x}', 'a}', 'white space', 'slash/x', 'ålice', '', 'x'.repeat(129), 'kim:phone', 'a:']) {
    const t = token(sub, { sync: perms });
    await refused(gw.ws({ token: t }), 401, `handshake sub ${sub}`);
    const c = await bare();
    c.send({ type: 'auth', token: t });
    const cl = await closedWithin(c, 8000);
    assert.equal(cl.code, 1008, `auth message sub ${sub}`);
    assert.equal(c.of('welcome').length, 0);
  }
  // the same permissions with plain subjects work
  for (const sub of ['x'.repeat(128), 'a.b-c_d@e.f']) {
    const c = await gw.ws({ token: token(sub, { sync: perms }) });
    await c.wait('welcome');
    await c.close();
  }
});

test('${sub} is the subject as a whole: "bob" never reaches "bob.smith"\'s or "bobby"\'s collections', async () => {
  // eslint-disable-next-line no-template-curly-in-string
  const perms = { read: ['user.${sub}.*', 'home.${sub}*'], write: ['user.${sub}.*'] };
  const bob = await gw.ws({ token: token('bob', { sync: perms }) });
  const smith = await gw.ws({ token: token('bob.smith', { sync: perms }) });
  const bobby = await gw.ws({ token: token('bobby', { sync: perms }) });
  for (const c of [bob, smith, bobby]) await c.wait('welcome');
  assert.equal((await subscribe(bob, 'user.bob.smith.notes')).code, 'forbidden');
  assert.equal((await subscribe(smith, 'user.bob.smith.notes')).type, 'subscribed');
  assert.equal((await subscribe(bob, 'user.bobby.notes')).code, 'forbidden');
  assert.equal((await subscribe(bobby, 'user.bobby.notes')).type, 'subscribed');
  assert.equal((await subscribe(bob, 'user.bob.notes')).type, 'subscribed');
  // ${sub}* is the subject, or the subject and one more segment
  assert.equal((await subscribe(bob, 'home.bob')).type, 'subscribed');
  assert.equal((await subscribe(bob, 'home.bob.x')).type, 'subscribed');
  assert.equal((await subscribe(bob, 'home.bobby')).code, 'forbidden');
  assert.equal((await subscribe(bob, 'home.bob.smith.x')).code, 'forbidden');
  for (const c of [bob, smith, bobby]) await c.close();
  // the same over REST, for writes
  const put = (sub) => fetch(`${gw.url}/v1/collections/user.bob.smith.notes/docs/n1`, {
    method: 'PUT', headers: { authorization: `Bearer ${token(sub, { sync: perms })}`, 'content-type': 'application/json' },
    body: '{"data":1}',
  });
  assert.equal((await put('bob')).status, 403);
  assert.equal((await put('bob.smith')).status, 201);
  // an Auth0-style subject: "|" is read as ".", for actors and ${sub}
  const a0 = token('auth0|64f0', { sync: perms });
  const w = await fetch(`${gw.url}/v1/collections/user.auth0.64f0.notes/docs/n1`, {
    method: 'PUT', headers: { authorization: `Bearer ${a0}`, 'content-type': 'application/json' }, body: '{"data":1}',
  });
  const wj = await w.json();
  assert.equal(w.status, 201, JSON.stringify(wj));
  assert.equal(wj.actor, 'auth0.64f0');
  // a pattern where ${sub} cannot be whole is refused: the token is not valid
  // eslint-disable-next-line no-template-curly-in-string
  for (const p of ['user.${sub}x', 'u.${sub}${sub}']) {
    await refused(gw.ws({ token: token('bob', { sync: { read: [p] } }) }), 401, `pattern ${p}`);
  }
});

test('Origin: not allowed -> 403, allowed -> ok, none -> ok', async () => {
  const t = token('lee', { sync: all });
  for (const o of ['https://evil.example', 'https://app.example.evil', 'http://app.example', 'null']) {
    await refused(gw.ws({ token: t, origin: o }), 403, `origin ${o}`);
  }
  await refused(gw.ws({ origin: 'https://evil.example' }), 403, 'bad origin without token');
  const a = await gw.ws({ token: t, origin: ORIGIN });
  await a.wait('welcome');
  const b = await gw.ws({ token: t });
  await b.wait('welcome');
  const c = await gw.ws({ origin: ORIGIN });
  await ask(c, { type: 'auth', token: t }, 'welcome');
  for (const x of [a, b, c]) await x.close();
});

test('a path other than /v1/ws is 404', async () => {
  const t = token('mia', { sync: all });
  const base = `ws://127.0.0.1:${gw.wsPort}`;
  for (const p of ['/', '/v1/other', '/v1/ws/x', '/v1/wsx', '/V1/WS', '/v1']) {
    await refused(WsClient.connect(`${base}${p}`, { token: t }), 404, `path ${p}`);
  }
  // other query parameters on /v1/ws are fine
  const c = await WsClient.connect(`${base}/v1/ws?client=test&token=${t}`);
  await c.wait('welcome');
  await c.close();
});

test('auth.mode none: welcome without a token, everything allowed', async () => {
  const open = await Gateway.start({ redis, node: 'gw-open', env: { SYNCGATE_AUTH_MODE: 'none' } });
  try {
    const c = await open.ws();
    const w = await c.wait('welcome');
    assert.equal(c.messages[0], w);
    assert.equal(w.node, 'gw-open');
    const name = coll('open');
    assert.equal((await subscribe(c, name)).type, 'subscribed');
    const r = await open.req('PUT', `/v1/collections/${name}/docs/a`, { body: { data: 1 } });
    assert.equal(r.status, 201, r.text);
    const ch = await c.wait('change');
    assert.equal(ch.actor, 'anonymous');
    assert.ok(open.logLines().some((l) => ['warn', 'error'].includes(l.level)
      && /auth/i.test(l.msg) && /none|off/i.test(l.msg)), 'auth mode none is logged loudly');
    await c.close();
  } finally {
    assertCleanExit(assert, await open.stop());
  }
});

test('gateway exits cleanly', async () => {
  const r = await gw.stop();
  stopped = true;
  assertCleanExit(assert, r);
});
