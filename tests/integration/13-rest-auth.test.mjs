// REST authentication and permissions (DESIGN sections 6, 8, 10, 11):
// 401 without or with a bad token, 403 without the permission, ${sub}
// patterns, default permissions, the writer-actor rule and auth.mode=none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jwt from 'jsonwebtoken';
import { Redis, Gateway, assertCleanExit, token, SECRET } from './lib/harness.mjs';
import { assertError, redisSnapshot, readLog, request } from './lib/rest-helpers.mjs';

let redis;
let gw;
const ADMIN = token('root', { sync: { read: ['*'], write: ['*'] } });

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    config: {
      auth: { default_permissions: { read: ['pub*'], write: ['pubw*'] } },
      collections: [{ match: 'wo-rej*', conflict: 'reject' }],
    },
  });
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

const docPath = (c, id) => `/v1/collections/${c}/docs/${id}`;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const sign = (payload, opts = {}) => jwt.sign(payload, SECRET, { algorithm: 'HS256', ...opts });

/** Every kind of request on one collection: [method, path, body]. */
function endpoints(c) {
  return [
    ['GET', docPath(c, 'a')],
    ['PUT', docPath(c, 'a'), { data: 1 }],
    ['DELETE', docPath(c, 'a')],
    ['GET', `/v1/collections/${c}/docs`],
    ['GET', `/v1/collections/${c}/changes`],
  ];
}

async function expectRefused(list, status, code) {
  const before = await redisSnapshot(redis);
  for (const [m, p, body, headers, what] of list) {
    const r = await request(gw, m, p, { body, headers });
    assertError(assert, r, status, code, `${what || ''} ${m} ${p}`);
  }
  assert.equal(await redisSnapshot(redis), before, 'a refused request changes nothing in Redis');
}

test('no credentials: 401 unauthorized on every document endpoint', async () => {
  await request(gw, 'PUT', docPath('auth0', 'a'), { token: ADMIN, body: { data: 'x' } });
  await expectRefused(endpoints('auth0'), 401, 'unauthorized');
  await expectRefused(endpoints('auth0-fresh'), 401, 'unauthorized');
  // public endpoints need none
  for (const p of ['/v1/health', '/v1/ready', '/v1/info']) assert.equal((await request(gw, 'GET', p)).status, 200, p);
});

test('bad tokens: 401 with a JSON error', async () => {
  const t = now();
  const good = sign({ sub: 'eve', exp: t + 600, sync: { read: ['*'], write: ['*'] } });
  const [h, , s] = good.split('.');
  const bad = {
    garbage: 'abc',
    'three garbage parts': 'a.b.c',
    empty: '',
    'wrong secret': jwt.sign({ sub: 'eve', exp: t + 600 }, 'another-secret-0123456789-abcdefghijkl', { algorithm: 'HS256' }),
    'expired past the leeway': sign({ sub: 'eve', exp: t - 120 }),
    'no exp': sign({ sub: 'eve' }),
    'no sub': sign({ exp: t + 600, sync: { read: ['*'], write: ['*'] } }),
    'empty sub': sign({ sub: '', exp: t + 600 }),
    'numeric sub': sign({ sub: 42, exp: t + 600 }),
    'nbf past the leeway': sign({ sub: 'eve', exp: t + 600, nbf: t + 120 }),
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'eve', exp: t + 600 })}.`,
    'alg HS512': jwt.sign({ sub: 'eve', exp: t + 600 }, SECRET, { algorithm: 'HS512' }),
    'alg HS384': jwt.sign({ sub: 'eve', exp: t + 600 }, SECRET, { algorithm: 'HS384' }),
    'tampered payload': `${h}.${b64({ sub: 'root', exp: t + 600, sync: { read: ['*'], write: ['*'] } })}.${s}`,
    'signature cut': good.slice(0, -3),
    'sub with *': sign({ sub: 'a*', exp: t + 600, sync: { read: ['${sub}'], write: ['${sub}'] } }),
    'sub with ${}': sign({ sub: '${sub}', exp: t + 600, sync: { read: ['${sub}'], write: ['${sub}'] } }),
    'sub with braces': sign({ sub: 'a{b}', exp: t + 600 }),
    'sub with $': sign({ sub: 'a$', exp: t + 600 }),
    'sub with a space': sign({ sub: 'a b', exp: t + 600 }),
    'sub too long': sign({ sub: 'a'.repeat(129), exp: t + 600 }),
  };
  const list = [];
  for (const [what, tok] of Object.entries(bad)) {
    for (const [m, p, body] of endpoints('auth1')) {
      list.push([m, p, body, { authorization: `Bearer ${tok}` }, what]);
    }
  }
  for (const auth of ['Basic dXNlcjpwYXNz', `bearer${good}`, `Token ${good}`, 'Bearer', `Bearer  ${good}x`]) {
    list.push(['GET', docPath('auth1', 'a'), undefined, { authorization: auth }, auth.slice(0, 20)]);
  }
  await expectRefused(list, 401, 'unauthorized');
  // the same token unharmed works, and the leeway (30 s) is honoured
  for (const ok of [good, sign({ sub: 'eve', exp: t - 10, sync: { read: ['*'] } }),
    sign({ sub: 'eve', exp: t + 600, nbf: t + 10, sync: { read: ['*'] } })]) {
    const r = await request(gw, 'GET', docPath('auth1', 'a'), { token: ok });
    assertError(assert, r, 404, 'not_found', 'a good token reaches the document');
  }
});

test('sync claim: exact names and trailing * patterns; 403 forbidden otherwise', async () => {
  const tok = token('frank', { sync: { read: ['r1', 'notes.*', 'w1'], write: ['r1', 'wonly'] } });
  const allowed = [
    ['GET', docPath('r1', 'a'), 404], ['PUT', docPath('r1', 'a'), 201], ['GET', docPath('r1', 'a'), 200],
    ['GET', '/v1/collections/r1/docs', 200], ['GET', '/v1/collections/r1/changes', 200],
    ['GET', docPath('notes.a', 'x'), 404], ['GET', '/v1/collections/notes.b.c/docs', 200],
    ['PUT', docPath('wonly', 'a'), 201],
  ];
  for (const [m, p, status] of allowed) {
    const r = await request(gw, m, p, { token: tok, body: m === 'PUT' ? { data: 1 } : undefined });
    assert.equal(r.status, status, `${m} ${p}: ${r.text}`);
  }
  const denied = [
    ['PUT', docPath('notes.a', 'x'), { data: 1 }], ['DELETE', docPath('notes.a', 'x')],
    ['GET', docPath('r10', 'a')], ['GET', docPath('notesX', 'a')], ['GET', docPath('notes', 'a')],
    ['GET', '/v1/collections/r2/docs'], ['GET', '/v1/collections/r2/changes'],
    ['GET', docPath('wonly', 'a')], ['GET', '/v1/collections/wonly/changes'],
    ['PUT', docPath('w1', 'a'), { data: 1 }], ['DELETE', docPath('r', 'a')],
  ].map(([m, p, body]) => [m, p, body, { authorization: `Bearer ${tok}` }]);
  await expectRefused(denied, 403, 'forbidden');
});

test('${sub} in patterns is the token subject', async () => {
  const claim = { read: ['u-${sub}', 'shared.${sub}.*'], write: ['u-${sub}'] };
  const carol = token('carol', { sync: claim });
  const dave = token('dave', { sync: claim });
  const w = await request(gw, 'PUT', docPath('u-carol', 'a'), { token: carol, body: { data: 'c' } });
  assert.equal(w.status, 201, w.text);
  assert.equal((await request(gw, 'GET', docPath('u-carol', 'a'), { token: carol })).status, 200);
  assert.equal((await request(gw, 'GET', docPath('shared.carol.x', 'a'), { token: carol })).status, 404);
  assert.equal((await request(gw, 'PUT', docPath('u-dave', 'a'), { token: dave, body: { data: 'd' } })).status, 201);
  const denied = [
    ['GET', docPath('u-carol', 'a'), undefined, { authorization: `Bearer ${dave}` }],
    ['PUT', docPath('u-carol', 'a'), { data: 'x' }, { authorization: `Bearer ${dave}` }],
    ['GET', docPath('u-dave', 'a'), undefined, { authorization: `Bearer ${carol}` }],
    ['GET', docPath('shared.dave.x', 'a'), undefined, { authorization: `Bearer ${carol}` }],
    ['PUT', docPath('shared.carol.x', 'a'), { data: 1 }, { authorization: `Bearer ${carol}` }],
    ['GET', docPath('u-', 'a'), undefined, { authorization: `Bearer ${carol}` }],
    ['GET', docPath('u-carolx', 'a'), undefined, { authorization: `Bearer ${carol}` }],
  ];
  await expectRefused(denied, 403, 'forbidden');
});

test('write without read: no answer carries data or the stored document', async () => {
  const WO = token('wo', { sync: { read: [], write: ['wo-*'] } });
  const hdr = { 'content-type': 'application/json' };
  const noData = (r, what) => {
    assert.ok(!('data' in (r.json || {})), `${what}: no data in ${r.text}`);
    assert.ok(!('stored' in (r.json || {})), `${what}: no stored document in ${r.text}`);
    assert.ok(!r.text.includes('secret'), `${what}: nothing of the stored data in ${r.text}`);
  };
  for (const c of ['wo-lww', 'wo-rej']) {
    const seed = await request(gw, 'PUT', docPath(c, 'd'), { token: ADMIN, body: { data: { secret: 42 }, actor: 'root' } });
    assert.equal(seed.status, 201, seed.text);
    // rule 4: an empty version is dominated by any stored one
    const put = await request(gw, 'PUT', docPath(c, 'd'), { token: WO, body: { data: null, version: {} } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.applied, false);
    assert.deepEqual(put.json.version, seed.json.version, 'the version is still answered');
    noData(put, `${c} PUT version {}`);
    const del = await request(gw, 'DELETE', docPath(c, 'd'), { token: WO, body: { version: {} } });
    assert.equal(del.status, 200, del.text);
    noData(del, `${c} DELETE version {}`);
    // a concurrent write: lww may keep the stored state, reject answers 409
    const conc = await request(gw, 'PUT', docPath(c, 'd'), {
      token: WO, body: { data: { mine: 1 }, version: { wo: 1 }, timestamp: 1 },
      headers: { 'idempotency-key': `k-${c}` },
    });
    if (c === 'wo-rej') {
      assertError(assert, conc, 409, 'conflict');
      assert.deepEqual(conc.json.conflict, { policy: 'reject', winner: 'stored' });
    } else {
      assert.equal(conc.status, 200, conc.text);
      assert.deepEqual(conc.json.conflict, { policy: 'lww', winner: 'stored' });
    }
    noData(conc, `${c} concurrent write`);
    // its replay answers the same, still without data
    const again = await request(gw, 'PUT', docPath(c, 'd'), {
      token: WO, body: { data: { mine: 1 }, version: { wo: 1 }, timestamp: 1 },
      headers: { 'idempotency-key': `k-${c}` },
    });
    assert.equal(again.status, conc.status, again.text);
    noData(again, `${c} replay`);
    // a plain write of its own: answered, still without data
    const own = await request(gw, 'PUT', docPath(c, 'own'), { token: WO, raw: '{"data":{"x":1}}', headers: hdr });
    assert.equal(own.status, 201, own.text);
    noData(own, `${c} own create`);
    assert.match(own.json.offset, /:\d+$/);
    // the stored data did not change through any of it (lww kept it)
    const g = await request(gw, 'GET', docPath(c, 'd'), { token: ADMIN });
    assert.deepEqual(g.json.data, { secret: 42 });
  }
  // with read permission too, the same answers carry the data
  const RW = token('rw', { sync: { read: ['wo-*'], write: ['wo-*'] } });
  const r = await request(gw, 'PUT', docPath('wo-lww', 'd'), { token: RW, body: { data: null, version: {} } });
  assert.deepEqual(r.json.data, { secret: 42 });
});

test('a flood of bad tokens is logged at most 10 lines a second, each line valid JSON and UTF-8', async () => {
  await new Promise((res) => setTimeout(res, 1100)); // the earlier tests' second is over
  const before = gw.logs.length;
  const t0 = Date.now();
  const bad = Buffer.from('Bearer \xff\xfe.\xc3', 'latin1').toString('latin1');
  for (let i = 0; i < 20; i++) {
    await Promise.all(Array.from({ length: 20 }, () => request(gw, 'GET', docPath('pubx', 'a'), {
      headers: { authorization: i % 2 ? 'Bearer nope.nope.nope' : bad },
    }).then((r) => assert.equal(r.status, 401, r.text))));
  }
  await new Promise((res) => setTimeout(res, 200));
  const secs = (Date.now() - t0) / 1000;
  const lines = gw.logs.slice(before).split('\n').filter((l) => l.includes('authentication failed'));
  assert.ok(lines.length >= 1, 'refusals are still logged');
  assert.ok(lines.length <= 10 * (Math.ceil(secs) + 1), `${lines.length} lines for 400 refusals in ${secs.toFixed(1)} s`);
  for (const l of lines) {
    const j = JSON.parse(l);
    assert.match(j.msg, /refusals not logged before/);
    assert.ok(!l.includes('nope.nope'), 'no token in the log');
  }
  // the bytes the gateway wrote are valid UTF-8 (a decoder would replace anything else)
  const raw = Buffer.from(gw.logs.slice(before), 'utf8');
  assert.ok(!raw.toString('utf8').includes('\ufffd'), 'no invalid UTF-8 in the log');
});

test('one subject cannot lock a shared document with its devices: limits.actors_per_subject (64)', async () => {
  const c = 'pubw-shared';
  const bob = token('bob', { sync: { read: [c], write: [c] } });
  const alice = token('alice', { sync: { read: [c], write: [c] } });
  for (let i = 1; i < 64; i++) {
    const r = await request(gw, 'PUT', docPath(c, 'd'), { token: bob, body: { data: i, actor: `bob:${i}` } });
    assert.ok(r.status === 200 || r.status === 201, r.text);
  }
  // bob plus bob:1..63 would be 64: bob itself is still fine
  let r = await request(gw, 'PUT', docPath(c, 'd'), { token: bob, body: { data: 'me' } });
  assert.equal(r.status, 200, r.text);
  // a 65th actor of bob's: refused, nothing changes
  const before = await request(gw, 'GET', docPath(c, 'd'), { token: ADMIN });
  r = await request(gw, 'PUT', docPath(c, 'd'), { token: bob, body: { data: 'x', actor: 'bob:99' } });
  assertError(assert, r, 400, 'bad_request');
  assert.match(r.json.error.message, /actors_per_subject/);
  assert.equal((await request(gw, 'GET', docPath(c, 'd'), { token: ADMIN })).text, before.text);
  // bob as one of his devices, and alice, still write
  r = await request(gw, 'PUT', docPath(c, 'd'), { token: bob, body: { data: 'again', actor: 'bob:7' } });
  assert.equal(r.status, 200, r.text);
  r = await request(gw, 'PUT', docPath(c, 'd'), { token: alice, body: { data: 'alice' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.version.alice, 1);
});

test('without a sync claim the configured default permissions apply', async () => {
  const dan = token('dan');
  const allowed = [
    ['GET', docPath('pub1', 'a'), 404], ['GET', '/v1/collections/pubx/docs', 200],
    ['PUT', docPath('pubw1', 'a'), 201], ['GET', docPath('pubw1', 'a'), 200],
  ];
  for (const [m, p, status] of allowed) {
    const r = await request(gw, m, p, { token: dan, body: m === 'PUT' ? { data: 1 } : undefined });
    assert.equal(r.status, status, `${m} ${p}: ${r.text}`);
  }
  const h = (t) => ({ authorization: `Bearer ${t}` });
  // a claim, even an empty one, replaces the defaults
  const none = token('dan', { sync: { read: [], write: [] } });
  await expectRefused([
    ['PUT', docPath('pub1', 'a'), { data: 1 }, h(dan)],
    ['GET', docPath('priv', 'a'), undefined, h(dan)],
    ['GET', '/v1/collections/priv/changes', undefined, h(dan)],
    ['GET', docPath('pub1', 'a'), undefined, h(none)],
    ['PUT', docPath('pubw1', 'a'), { data: 2 }, h(none)],
  ], 403, 'forbidden');
});

test('writer actor must be the subject or start with "sub:"; none means sub', async () => {
  const alice = token('alice', { sync: { read: ['*'], write: ['*'] } });
  const c = 'actors1';
  const ok = [
    [{ data: 1 }, 'alice', { alice: 1 }],
    [{ data: 2, actor: 'alice' }, 'alice', { alice: 2 }],
    [{ data: 3, actor: 'alice:phone' }, 'alice:phone', { alice: 2, 'alice:phone': 1 }],
    [{ data: 4, actor: 'alice:web:tab-1', version: { alice: 2, 'alice:phone': 1, 'alice:web:tab-1': 1 } }, 'alice:web:tab-1',
      { alice: 2, 'alice:phone': 1, 'alice:web:tab-1': 1 }],
  ];
  for (const [body, actor, version] of ok) {
    const r = await request(gw, 'PUT', docPath(c, 'a'), { token: alice, body });
    assert.ok(r.status === 200 || r.status === 201, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.actor, actor);
    assert.deepEqual(r.json.version, version);
  }
  const head = (await readLog(gw, alice, c)).offset;
  const h = { authorization: `Bearer ${alice}` };
  const denied = ['bob', 'alicex', 'ali', 'Alice', 'bob:alice', 'alice.phone', 'x:alice:phone']
    .flatMap((actor) => [
      ['PUT', docPath(c, 'a'), { data: 9, actor }, h],
      ['PUT', docPath(c, 'new'), { data: 9, actor }, h],
      ['DELETE', docPath(c, 'a'), { actor }, h],
    ]);
  await expectRefused(denied, 403, 'forbidden');
  assert.equal((await readLog(gw, alice, c)).offset, head);
});

test('auth.issuer and auth.audience are checked when configured', async () => {
  const g = await Gateway.start({
    redis, node: 'issaud', env: { SYNCGATE_AUTH_ISSUER: 'https://id.example', SYNCGATE_AUTH_AUDIENCE: 'syncgate' },
  });
  const sync = { read: ['*'], write: ['*'] };
  const cases = [
    [{ iss: 'https://id.example', aud: 'syncgate' }, 404],
    [{ iss: 'https://id.example', aud: ['other', 'syncgate'] }, 404],
    [{ iss: 'https://evil.example', aud: 'syncgate' }, 401],
    [{ aud: 'syncgate' }, 401],
    [{ iss: 'https://id.example', aud: 'other' }, 401],
    [{ iss: 'https://id.example' }, 401],
  ];
  for (const [claims, status] of cases) {
    const r = await request(g, 'GET', docPath('iss1', 'a'), { token: token('ivy', { sync, ...claims }) });
    assert.equal(r.status, status, `${JSON.stringify(claims)}: ${r.text}`);
    if (status === 401) assertError(assert, r, 401, 'unauthorized');
  }
  assertCleanExit(assert, await g.stop());
});

test('auth.mode=none: everyone reads and writes, as "anonymous" unless the body names an actor', async () => {
  const g = await Gateway.start({ redis, node: 'open', env: { SYNCGATE_AUTH_MODE: 'none' } });
  const info = await request(g, 'GET', '/v1/info');
  assert.equal(info.json.auth, 'none');
  assert.ok(g.logLines().some((l) => (l.level === 'warn' || l.level === 'error') && /auth/i.test(l.msg)),
    'auth.mode=none says so loudly in the log');
  const c = 'open1';
  const w = await request(g, 'PUT', docPath(c, 'a'), { body: { data: { open: true } } });
  assert.equal(w.status, 201, w.text);
  assert.equal(w.json.actor, 'anonymous');
  assert.deepEqual(w.json.version, { anonymous: 1 });
  const d = await request(g, 'PUT', docPath(c, 'a'), { body: { data: 2, actor: 'dev1' } });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.actor, 'dev1');
  assert.deepEqual(d.json.version, { anonymous: 1, dev1: 1 });
  assert.equal((await request(g, 'GET', docPath(c, 'a'))).status, 200);
  assert.equal((await request(g, 'GET', `/v1/collections/${c}/docs`)).json.docs.length, 1);
  assert.equal((await request(g, 'GET', `/v1/collections/${c}/changes`)).json.changes.length, 2);
  const del = await request(g, 'DELETE', docPath(c, 'a'));
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.deleted, true);
  assertCleanExit(assert, await g.stop());
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
});
