// API keys for backend services (auth.api_keys, SYNCGATE_API_KEYS;
// decisions 50-55): X-API-Key on REST and on the WebSocket handshake,
// each key with its own patterns, writes as svc:<name>, wrong keys 401,
// a token and a key at once 401, bad key lists refused at start, and no
// key in any log line (the gateway logs at debug here).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Redis, Gateway, WsClient, BIN, SECRET, assertCleanExit, adminToken, token,
} from './lib/harness.mjs';
import { assertError, redisSnapshot, readLog, request } from './lib/rest-helpers.mjs';

const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const newKey = () => `sk_${randomBytes(24).toString('hex')}`;
const BILLING = newKey();
const REPORTS = newKey();
const FEEDER = newKey();
/** Every key this file sends, wrong ones too: none may reach a log
 * (the empty one aside, which every string contains). */
const sent = [BILLING, REPORTS, FEEDER];
const logged = (text) => sent.filter((k) => k.length > 0 && text.includes(k));
const ADMIN = adminToken();

const keys = [
  { name: 'billing', sha256: sha256(BILLING), read: ['orders*', 'pub.*'], write: ['orders.*'] },
  { name: 'reports', sha256: sha256(REPORTS).toUpperCase(), read: ['orders*'] },
];

let redis;
let gw;
let stopped = false;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    node: 'gw-keys',
    env: { SYNCGATE_LOG_LEVEL: 'debug' },
    config: { auth: { api_keys: keys, default_permissions: { read: ['pub.*'] } } },
  });
});

after(async () => {
  if (gw && !stopped) await gw.kill();
  if (redis) await redis.stop();
});

const docPath = (c, id) => `/v1/collections/${c}/docs/${id}`;
const withKey = (key, opts = {}) => ({ ...opts, headers: { ...(opts.headers || {}), 'x-api-key': key } });

test('a key reads and writes within its own patterns, as svc:<name>', async () => {
  const w = await request(gw, 'PUT', docPath('orders.in', 'o1'), withKey(BILLING, { body: { data: { total: 5 } } }));
  assert.equal(w.status, 201, w.text);
  assert.equal(w.json.actor, 'svc:billing');
  assert.deepEqual(w.json.version, { 'svc:billing': 1 });
  // a device of the service, per the writer-actor rule
  const d = await request(gw, 'PUT', docPath('orders.in', 'o1'), withKey(BILLING, {
    body: { data: { total: 6 }, actor: 'svc:billing:worker-1', version: { ...w.json.version, 'svc:billing:worker-1': 1 } },
  }));
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.actor, 'svc:billing:worker-1');
  const r = await request(gw, 'GET', docPath('orders.in', 'o1'), withKey(BILLING));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data, { total: 6 });
  const log = await readLog(gw, ADMIN, 'orders.in');
  assert.deepEqual(log.changes.map((c) => c.actor), ['svc:billing', 'svc:billing:worker-1']);
  // the other key: its read patterns, no write
  const rr = await request(gw, 'GET', docPath('orders.in', 'o1'), withKey(REPORTS));
  assert.equal(rr.status, 200, rr.text);
  const list = await request(gw, 'GET', '/v1/collections/orders/docs', withKey(REPORTS));
  assert.equal(list.status, 200, list.text);
  // a key never gets the token defaults: reports may not read pub.*
  assertError(assert, await request(gw, 'GET', docPath('pub.news', 'a'), withKey(REPORTS)), 403, 'forbidden');
});

test('outside its patterns, or as another actor: 403, nothing changes', async () => {
  await request(gw, 'PUT', docPath('todos', 't1'), { token: ADMIN, body: { data: 1 } });
  const before = await redisSnapshot(redis);
  const refused = [
    [BILLING, 'PUT', docPath('todos', 't1'), { data: 2 }],
    [BILLING, 'GET', docPath('todos', 't1')],
    [BILLING, 'GET', '/v1/collections/todos/changes'],
    [BILLING, 'PUT', docPath('orders', 'x'), { data: 2 }], // reads orders*, writes orders.* only
    [BILLING, 'DELETE', docPath('pub.news', 'a')],
    [REPORTS, 'PUT', docPath('orders.in', 'o1'), { data: 2 }],
    [REPORTS, 'DELETE', docPath('orders.in', 'o1')],
    ...['svc', 'svc:billingx', 'svc:reports', 'billing', 'svc:billing:', 'admin'].map((actor) => (
      [BILLING, 'PUT', docPath('orders.in', 'o2'), { data: 2, actor }])),
  ];
  for (const [key, m, p, body] of refused) {
    const r = await request(gw, m, p, withKey(key, { body }));
    assertError(assert, r, 403, 'forbidden', `${m} ${p} ${JSON.stringify(body)}`);
  }
  assert.equal(await redisSnapshot(redis), before, 'a refused request changes nothing in Redis');
});

test('a wrong key: 401 with a JSON error, whatever is wrong with it', async () => {
  const wrong = {
    unknown: newKey(),
    'upper case': BILLING.toUpperCase(),
    'one byte more': `${BILLING}x`,
    'one byte less': BILLING.slice(0, -1),
    'first byte changed': `t${BILLING.slice(1)}`,
    'the hash itself': sha256(BILLING),
    'as a Bearer value': `Bearer ${BILLING}`,
    empty: '',
    long: 'k'.repeat(4000),
  };
  sent.push(...Object.values(wrong));
  const before = await redisSnapshot(redis);
  for (const [what, key] of Object.entries(wrong)) {
    for (const [m, p, body] of [['GET', docPath('orders.in', 'o1')], ['PUT', docPath('orders.in', 'o9'), { data: 1 }]]) {
      const r = await request(gw, m, p, withKey(key, { body }));
      assertError(assert, r, 401, 'unauthorized', `${what}: ${m} ${p}`);
      assert.ok(!key || !r.text.includes(key), `${what}: the answer echoes the key`);
    }
  }
  assert.equal(await redisSnapshot(redis), before);
});

test('a token and a key together: 401, even when both are good', async () => {
  const r = await request(gw, 'GET', docPath('orders.in', 'o1'), withKey(BILLING, { token: ADMIN }));
  assertError(assert, r, 401, 'unauthorized');
  assert.match(r.json.error.message, /X-API-Key/);
});

test('no token may be subject "svc" (whose devices are the keys\' actors)', async () => {
  const t = token('svc', { sync: { read: ['*'], write: ['*'] } });
  const r = await request(gw, 'PUT', docPath('orders.in', 'o1'), { token: t, body: { data: 0, actor: 'svc:billing' } });
  assertError(assert, r, 401, 'unauthorized');
});

async function subscribe(c, collection) {
  const from = c.messages.length;
  c.send({ type: 'subscribe', collection, ref: collection });
  return c.wait((m) => (m.type === 'subscribed' && m.collection === collection) || m.type === 'error', { from });
}

test('WebSocket: the key in the handshake gets welcome and its read patterns', async () => {
  // the header name as a service would spell it: lws keeps it in lower case
  const c = await WsClient.connect(gw.wsUrl, { headers: { 'X-API-Key': BILLING } });
  await c.wait('welcome');
  const s = await subscribe(c, 'orders.in');
  assert.equal(s.type, 'subscribed', JSON.stringify(s));
  const f = await subscribe(c, 'todos');
  assert.equal(f.type, 'error');
  assert.equal(f.code, 'forbidden');
  const w = await request(gw, 'PUT', docPath('orders.in', 'ws1'), withKey(BILLING, { body: { data: 'live' } }));
  assert.equal(w.status, 201, w.text);
  const ch = await c.wait((m) => m.type === 'change' && m.id === 'ws1');
  assert.equal(ch.actor, 'svc:billing');
  // auth messages carry tokens only; no token is svc:billing
  c.send({ type: 'auth', token: token('billing') });
  const closed = await c.closed;
  assert.equal(closed.code, 1008);
});

test('WebSocket: a wrong key, or a key and a token, is refused with 401', async () => {
  for (const [what, opts] of [
    ['wrong key', { headers: { 'x-api-key': `${BILLING}x` } }],
    ['empty key', { headers: { 'x-api-key': '' } }],
    ['long key', { headers: { 'x-api-key': `${BILLING}${'k'.repeat(3000)}` } }],
    ['key and ?token=', { headers: { 'x-api-key': BILLING }, token: ADMIN }],
    ['key and Authorization', { headers: { 'x-api-key': BILLING, authorization: `Bearer ${ADMIN}` } }],
  ]) {
    await assert.rejects(WsClient.connect(gw.wsUrl, opts), (e) => e.status === 401, what);
  }
});

test('SYNCGATE_API_KEYS holds the same list (containers)', async () => {
  const g = await Gateway.start({
    redis,
    node: 'gw-env-keys',
    env: { SYNCGATE_API_KEYS: JSON.stringify([{ name: 'feeder', sha256: sha256(FEEDER), read: ['feed'], write: ['feed'] }]) },
  });
  try {
    const w = await request(g, 'PUT', docPath('feed', 'a'), withKey(FEEDER, { body: { data: 1 } }));
    assert.equal(w.status, 201, w.text);
    assert.equal(w.json.actor, 'svc:feeder');
    assertError(assert, await request(g, 'GET', docPath('feed', 'a'), withKey(BILLING)), 401, 'unauthorized');
    assert.deepEqual(logged(g.logs + g.stderr), [], 'a key in the log');
  } finally {
    assertCleanExit(assert, await g.stop());
  }
});

test('bad key lists stop the start with a message naming the entry', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-keys-'));
  const h = sha256(BILLING);
  const rows = [
    [[{ name: 'a', sha256: h }, { name: 'a', sha256: sha256(REPORTS) }], /api_keys\[1\] \("a"\): name given twice/],
    [[{ name: 'a', sha256: h }, { name: 'b', sha256: h.toUpperCase() }], /api_keys\[1\] \("b"\): the same sha256/],
    [[{ name: 'a', sha256: 'abc' }], /api_keys\[0\] \("a"\): "sha256" must be 64 hex digits/],
    [[{ name: 'a:b', sha256: h }], /api_keys\[0\]: "name" must be/],
    [[{ name: 'a', sha256: h, read: ['user.${sub}.*'] }], /\$\{sub\} is not allowed/],
    [[{ name: 'a', sha256: h, write: ['a*b'] }], /invalid write pattern/],
    [[{ name: 'a', sha256: h, key: BILLING }], /unknown member "key"/],
  ];
  try {
    for (const [list, says] of rows) {
      const f = path.join(dir, 'c.json');
      writeFileSync(f, JSON.stringify({ auth: { api_keys: list } }));
      const p = spawnSync(BIN, ['--config', f], {
        env: { PATH: process.env.PATH, SYNCGATE_JWT_SECRET: SECRET, SYNCGATE_REDIS_URL: 'redis://127.0.0.1:1' },
        timeout: 10000,
      });
      const out = `${p.stdout}${p.stderr}`;
      assert.equal(p.status, 2, `${JSON.stringify(list)}: exit ${p.status} ${out}`);
      assert.match(out, says);
      assert.ok(!out.includes(BILLING), 'the message shows a key');
    }
    // the environment's list is checked the same way
    const p = spawnSync(BIN, ['--print-config'], {
      env: { PATH: process.env.PATH, SYNCGATE_API_KEYS: '[{"name":"a"}]' }, timeout: 10000,
    });
    assert.equal(p.status, 2);
    assert.match(`${p.stderr}`, /SYNCGATE_API_KEYS\[0\] \("a"\): "sha256"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--print-config shows names and patterns, never a hash', () => {
  const p = spawnSync(BIN, ['--print-config'], {
    env: { PATH: process.env.PATH, SYNCGATE_API_KEYS: JSON.stringify(keys) }, timeout: 10000,
  });
  assert.equal(p.status, 0, `${p.stderr}`);
  const cfg = JSON.parse(`${p.stdout}`);
  assert.deepEqual(cfg['auth.api_keys'].map((k) => [k.name, k.sha256, k.read, k.write]), [
    ['billing', '***', ['orders*', 'pub.*'], ['orders.*']],
    ['reports', '***', ['orders*'], []],
  ]);
  for (const k of keys) assert.ok(!`${p.stdout}`.toLowerCase().includes(k.sha256.toLowerCase()));
});

test('no key reaches the log; the gateway stops cleanly', async () => {
  const lines = gw.logLines();
  assert.ok(lines.length > 0);
  // authenticated requests are logged by name at debug level
  assert.ok(lines.some((l) => l.level === 'debug' && /svc:billing/.test(l.msg)), 'a debug line names the key');
  assert.ok(lines.some((l) => /authentication failed: invalid API key/.test(l.msg || '')));
  stopped = true;
  const r = await gw.stop();
  assertCleanExit(assert, r);
  assert.equal(logged(gw.logs).length, 0, 'a key in stdout');
  assert.equal(logged(r.stderr).length, 0, 'a key in stderr');
});
