// Idempotency-Key on every write form (DESIGN section 6): a retry with the
// same key and body from the same caller gets the first answer byte for byte
// and writes nothing, from any gateway, for the configured time; the same
// key with another request is 422. Retries whose first answer was lost (the
// client gave up, the connection dropped, a 503 whose script still ran in
// Redis) apply once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis, Gateway, assertCleanExit, token, sleep, waitFor, uniqueColl } from './lib/harness.mjs';
import { assertError, readLog, request, redisSnapshot } from './lib/rest-helpers.mjs';

const TOK = token('u', { sync: { read: ['*'], write: ['*'] } });
const OTHER = token('v', { sync: { read: ['*'], write: ['*'] } });

let redis;
let a;
let b;

before(async () => {
  redis = await Redis.start();
  const config = { collections: [{ match: 'rej-*', conflict: 'reject' }] };
  a = await Gateway.start({ redis, node: 'a', config });
  b = await Gateway.start({ redis, node: 'b', config });
});

after(async () => {
  for (const g of [a, b]) if (g && g.proc.exitCode === null && g.proc.signalCode === null) await g.kill();
  if (redis) await redis.stop();
});

const path = (c, id) => `/v1/collections/${c}/docs/${id}`;

function write(gw, c, id, { method = 'PUT', body, key, headers = {}, tok = TOK, raw } = {}) {
  const h = { ...headers };
  if (key !== undefined) h['idempotency-key'] = key;
  return request(gw, method, path(c, id), { token: tok, body, headers: h, raw });
}

/** A subscriber that records every change of c. */
async function watch(gw, c) {
  const ws = await gw.ws({ token: TOK });
  await ws.wait('welcome');
  ws.send({ type: 'subscribe', collection: c, ref: c });
  await ws.wait((m) => m.type === 'subscribed' && m.ref === c);
  return ws;
}

/** The first answer and its replay: same status, bytes and ETag. */
function assertReplay(first, again, what) {
  assert.equal(again.status, first.status, `${what}: status`);
  assert.equal(again.text, first.text, `${what}: body byte for byte`);
  assert.equal(again.headers.get('etag'), first.headers.get('etag'), `${what}: ETag`);
  assert.equal(again.headers.get('idempotent-replayed'), 'true', `${what}: marked as a replay`);
  assert.equal(first.headers.get('idempotent-replayed'), null, `${what}: the first answer is no replay`);
}

test('every write form: the retry gets the first answer and writes nothing', async () => {
  const c = uniqueColl('idem-forms');
  const ws = await watch(a, c);
  const forms = [
    ['unconditional PUT', 'd1', { body: { data: { n: 1 } } }],
    ['versioned PUT', 'd2', { body: { data: { n: 2 }, version: { u: 1 } } }],
    ['PUT with an actor and timestamp', 'd3', { body: { data: 3, actor: 'u:phone', version: { 'u:phone': 1 }, timestamp: 1700000000000 } }],
  ];
  let n = 0;
  for (const [what, id, o] of forms) {
    const key = `k-${what.replace(/\W+/g, '-')}`;
    const first = await write(a, c, id, { ...o, key });
    assert.equal(first.status, 201, `${what}: ${first.text}`);
    n++;
    for (const g of [a, b]) assertReplay(first, await write(g, c, id, { ...o, key }), `${what} via ${g === a ? 'a' : 'b'}`);
  }
  // If-Match: the retry of an applied write is its answer, not 412
  const etag = (await request(a, 'GET', path(c, 'd1'), { token: TOK })).headers.get('etag');
  const im = { body: { data: { n: 11 } }, headers: { 'if-match': etag }, key: 'k-if-match' };
  const first = await write(a, c, 'd1', im);
  assert.equal(first.status, 200, first.text);
  n++;
  assertReplay(first, await write(b, c, 'd1', im), 'If-Match PUT');
  assert.equal((await write(b, c, 'd1', { ...im, key: undefined })).status, 412, 'without the key it is 412');
  // DELETE with a body and without one
  const del = await write(a, c, 'd2', { method: 'DELETE', body: { version: { u: 2 } }, key: 'k-del' });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.deleted, true);
  n++;
  assertReplay(del, await write(b, c, 'd2', { method: 'DELETE', body: { version: { u: 2 } }, key: 'k-del' }), 'versioned DELETE');
  const del2 = await write(a, c, 'd3', { method: 'DELETE', key: 'k-del2' });
  assert.equal(del2.status, 200, del2.text);
  n++;
  // the document comes back, then the same bare DELETE is retried: first answer, still alive
  assert.equal((await write(a, c, 'd3', { body: { data: 'back' } })).status, 201);
  n++;
  assertReplay(del2, await write(b, c, 'd3', { method: 'DELETE', key: 'k-del2' }), 'bare DELETE');
  assert.equal((await request(a, 'GET', path(c, 'd3'), { token: TOK })).json.data, 'back');
  const log = await readLog(a, TOK, c);
  assert.equal(log.changes.length, n, 'one change per first attempt, none per retry');
  await waitFor(() => ws.of('change', c).length === n, { what: `${n} changes` });
  await sleep(200);
  assert.equal(ws.of('change', c).length, n, 'retries publish nothing');
  ws.close();
});

test('the same key with another request is 422 and changes nothing', async () => {
  const c = uniqueColl('idem-mismatch');
  const first = await write(a, c, 'x', { body: { data: 1 }, key: 'k' });
  assert.equal(first.status, 201);
  const snap = await redisSnapshot(redis);
  for (const [what, id, o] of [
    ['another body', 'x', { body: { data: 2 } }],
    ['the same JSON spelled differently', 'x', { raw: '{"data": 1}', headers: { 'content-type': 'application/json' } }],
    ['another document', 'y', { body: { data: 1 } }],
    ['another method', 'x', { method: 'DELETE' }],
    ['an If-Match added', 'x', { body: { data: 1 }, headers: { 'if-match': first.headers.get('etag') } }],
  ]) {
    for (const g of [a, b]) {
      const r = await write(g, c, id, { ...o, key: 'k' });
      assertError(assert, r, 422, 'idempotency_mismatch', what);
    }
  }
  assert.equal(await redisSnapshot(redis), snap, 'nothing changed in Redis');
  // keys are per caller: another subject's "k" is its own
  const v = await write(a, c, 'x', { body: { data: 5, actor: 'v' }, key: 'k', tok: OTHER });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.data, 5);
  assert.equal(v.headers.get('idempotent-replayed'), null);
});

test('an unconditional write retried after another write applies once (its first answer)', async () => {
  const c = uniqueColl('idem-between');
  const x1 = await write(a, c, 'd', { body: { data: 'X' }, key: 'kx' });
  assert.equal(x1.status, 201);
  const y = await write(b, c, 'd', { body: { data: 'Y', actor: 'v' }, tok: OTHER });
  assert.equal(y.status, 200);
  assert.equal(y.json.applied, true);
  const x2 = await write(b, c, 'd', { body: { data: 'X' }, key: 'kx' });
  assertReplay(x1, x2, 'retry after a write in between');
  const log = await readLog(a, TOK, c);
  assert.deepEqual(log.changes.map((d) => d.data), ['X', 'Y'], 'X once, Y not overwritten');
  assert.equal((await request(a, 'GET', path(c, 'd'), { token: TOK })).json.data, 'Y');
});

test('decided answers that changed nothing are kept too: 409, 404', async () => {
  const c = uniqueColl('rej-idem');
  await write(a, c, 'd', { body: { data: 1, version: { 'u:a': 1 }, actor: 'u:a' } });
  const conflict = { body: { data: 2, version: { 'u:b': 1 }, actor: 'u:b' }, key: 'kc' };
  const r1 = await write(a, c, 'd', conflict);
  assertError(assert, r1, 409, 'conflict');
  // the state moves on; the retry still gets the first answer
  await write(a, c, 'd', { body: { data: 3, version: { 'u:a': 2 }, actor: 'u:a' } });
  assertReplay(r1, await write(b, c, 'd', conflict), 'refused conflict');
  const gone = await write(a, c, 'never', { method: 'DELETE', key: 'k404' });
  assertError(assert, gone, 404, 'not_found');
  await write(a, c, 'never', { body: { data: 1 } });
  assertReplay(gone, await write(b, c, 'never', { method: 'DELETE', key: 'k404' }), 'delete of a missing doc');
  assert.equal((await request(a, 'GET', path(c, 'never'), { token: TOK })).status, 200, 'the retry deleted nothing');
});

test('bad keys are 400 and change nothing; the record lives in the collection slot with the TTL', async () => {
  const c = uniqueColl('idem-keys');
  const snap = await redisSnapshot(redis);
  for (const key of ['a'.repeat(256), 'two words']) {
    assertError(assert, await write(a, c, 'd', { body: { data: 1 }, key }), 400, 'bad_request', `key ${key.slice(0, 20)}`);
  }
  assert.equal(await redisSnapshot(redis), snap);
  assert.equal((await write(a, c, 'd', { body: { data: 1 }, key: 'a'.repeat(255) })).status, 201, '255 characters are fine');
  const keys = (await redis.raw('KEYS', `sg:{${c}}:idem:*`)).split('\n').filter(Boolean);
  assert.equal(keys.length, 1, keys.join());
  assert.match(keys[0], /^sg:\{[^}]+\}:idem:[0-9a-f]{64}$/);
  const ttl = Number(await redis.raw('TTL', keys[0]));
  assert.ok(ttl > 86000 && ttl <= 86400, `default TTL 24 h: ${ttl}`);
});

test('the record expires after idempotency_ttl_s', async () => {
  const g = await Gateway.start({ redis, node: 'ttl', env: { SYNCGATE_IDEMPOTENCY_TTL_S: '1' } });
  try {
    const c = uniqueColl('idem-ttl');
    assert.equal((await write(g, c, 'd', { body: { data: 1 }, key: 'k' })).status, 201);
    assertError(assert, await write(g, c, 'd', { body: { data: 2 }, key: 'k' }), 422, 'idempotency_mismatch');
    await waitFor(async () => (await redis.raw('KEYS', `sg:{${c}}:idem:*`)) === '', { timeout: 5000, what: 'record expired' });
    const r = await write(g, c, 'd', { body: { data: 2 }, key: 'k' });
    assert.equal(r.status, 200, `after the TTL the key is new: ${r.text}`);
    assert.equal(r.json.data, 2);
  } finally {
    assertCleanExit(assert, await g.stop());
  }
});

/** Sends a whole PUT on a raw socket and hangs up at once: the answer is lost. */
function sendAndAbort(gw, c, id, body, key) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const s = net.connect(gw.httpPort, '127.0.0.1', () => {
      s.write(`PUT ${path(c, id)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOK}\r\n`
        + `Content-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
      () => { s.destroy(); resolve(); });
    });
    s.on('error', reject);
  });
}

test('a write whose answer was lost, retried through the other gateway, applies once', async () => {
  for (let i = 0; i < 10; i++) {
    const c = uniqueColl('idem-lost');
    const body = { data: { i }, version: { 'u:p': 1 }, actor: 'u:p' };
    // A hangs up right after sending; B gets the retry at once, maybe
    // while A's attempt is still on its way to Redis
    await sendAndAbort(a, c, 'd', body, `lost-${i}`);
    if (i % 2) await sleep(20);
    const r = await write(b, c, 'd', { body, key: `lost-${i}` });
    assert.ok(r.status === 200 || r.status === 201, r.text);
    assert.equal(r.json.applied, true, r.text);
    const log = await waitFor(async () => {
      const l = await readLog(a, TOK, c);
      return l.changes.length >= 1 && l;
    }, { what: 'the change in the log' });
    await sleep(100);
    assert.equal((await readLog(a, TOK, c)).changes.length, 1, `trial ${i}: exactly one change`);
    assert.equal(log.changes[0].offset, r.json.offset, 'the retry answers with the change that was made');
  }
});

test('two attempts of one key in flight at once, on both gateways: one change, one answer', async () => {
  for (let i = 0; i < 10; i++) {
    const c = uniqueColl('idem-race');
    const body = { data: { i } };
    const [r1, r2] = await Promise.all([
      write(a, c, 'd', { body, key: 'k' }),
      write(b, c, 'd', { body, key: 'k' }),
    ]);
    assert.equal(r1.text, r2.text, `trial ${i}: the same answer`);
    assert.equal(r1.status, 201);
    assert.equal((await readLog(a, TOK, c)).changes.length, 1, `trial ${i}: one change`);
  }
});

/**
 * A TCP proxy in front of Redis that forwards everything until a
 * client->server chunk holds `marker`; from then on that connection's
 * replies are swallowed (the command runs, its answer never arrives).
 */
async function swallowingProxy(target, marker) {
  const socks = new Set();
  const srv = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    let swallow = false;
    socks.add(c);
    socks.add(up);
    c.on('data', (d) => {
      if (d.includes(marker)) swallow = true;
      up.write(d);
    });
    up.on('data', (d) => { if (!swallow) c.write(d); });
    const end = () => { c.destroy(); up.destroy(); socks.delete(c); socks.delete(up); };
    c.on('close', end);
    up.on('close', end);
    c.on('error', end);
    up.on('error', end);
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  return {
    port: srv.address().port,
    close: () => { for (const s of socks) s.destroy(); return new Promise((res) => srv.close(res)); },
  };
}

test('a 503 whose script still ran in Redis: the retry gets the applied answer', async () => {
  const marker = `ran-anyway-${process.pid}`;
  const proxy = await swallowingProxy(redis.port, marker);
  const g = await Gateway.start({
    redis: { url: `redis://127.0.0.1:${proxy.port}` }, node: 'slow',
    env: { SYNCGATE_REDIS_TIMEOUT_MS: '300' },
  });
  try {
    const c = uniqueColl('idem-503');
    const body = { data: marker, version: { 'u:q': 1 }, actor: 'u:q' };
    // the write script reaches Redis and runs; its answer is lost on the way back
    const r1 = await write(g, c, 'd', { body, key: 'k503' });
    assertError(assert, r1, 503, 'unavailable');
    const log = await readLog(a, TOK, c);
    assert.equal(log.changes.length, 1, 'the write was applied all the same');
    // the retry, through a gateway that can hear Redis: the applied answer
    const r2 = await write(b, c, 'd', { body, key: 'k503' });
    assert.equal(r2.status, 201, r2.text);
    assert.equal(r2.json.applied, true);
    assert.equal(r2.json.offset, log.changes[0].offset);
    assert.equal(r2.headers.get('idempotent-replayed'), 'true');
    assert.equal((await readLog(a, TOK, c)).changes.length, 1, 'applied once');
    // without a key the same retry is rule 4 (versioned writes are safe anyway)
    const r3 = await write(b, c, 'd', { body });
    assert.equal(r3.status, 200);
    assert.equal(r3.json.applied, false);
  } finally {
    assertCleanExit(assert, await g.stop());
    await proxy.close();
  }
});

test('D02 without a key: a versioned write whose answer was lost, retried through the other gateway, is one change and one frame', async () => {
  for (let i = 0; i < 5; i++) {
    const c = uniqueColl('d02');
    const ws = await watch(a, c);
    const body = { data: { i }, version: { 'u:p': 1 }, actor: 'u:p' };
    const payload = JSON.stringify(body);
    await new Promise((resolve, reject) => {
      const s = net.connect(a.httpPort, '127.0.0.1', () => {
        s.write(`PUT ${path(c, 'd')} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOK}\r\n`
          + `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`, () => { s.destroy(); resolve(); });
      });
      s.on('error', reject);
    });
    if (i % 2) await sleep(30);
    const r = await write(b, c, 'd', { body });
    assert.ok([200, 201].includes(r.status), r.text);
    await waitFor(async () => (await readLog(a, TOK, c)).changes.length === 1, { what: 'the change' });
    await sleep(150);
    assert.equal((await readLog(a, TOK, c)).changes.length, 1, 'one log entry for the one W');
    assert.equal(ws.of('change', c).length, 1, 'one change frame');
    // once it is in, the retry is rule 4: 200 applied:false, no frame
    const again = await write(b, c, 'd', { body });
    assert.equal(again.status, 200);
    assert.equal(again.json.applied, false);
    await sleep(100);
    assert.equal(ws.of('change', c).length, 1);
    ws.close();
  }
});

test('the gateways stop cleanly', async () => {
  assertCleanExit(assert, await a.stop());
  assertCleanExit(assert, await b.stop());
  a = b = null;
});
