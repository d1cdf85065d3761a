// Self-test of lib/resolver.mjs, the resolver server the `callback` policy
// suites run against. No gateway here: requests are signed by this file
// with its own HMAC code (an independent reading of the wire contract) and
// sent with fetch, node:http and raw net sockets; each mode's answer is
// checked on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import {
  startResolver, verifySignature, checkSignature, signHeaders, postSigned, resolverBody, defaultMerge,
} from './lib/resolver.mjs';

const SECRET = 'resolver-secret-0123456789abcdefghijklmnop';
const nowS = () => Math.floor(Date.now() / 1000);

/** Headers and raw body of a request signed per the contract, by hand. */
function signed(body, { secret = SECRET, ts = nowS(), id = randomBytes(16).toString('hex') } = {}) {
  const obj = { ...body, request_id: id };
  const raw = JSON.stringify(obj);
  const sig = createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
  return {
    raw,
    id,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'syncgate/0.0.0-test',
      'x-syncgate-request-id': id,
      'x-syncgate-timestamp': String(ts),
      'x-syncgate-signature': `v1=${sig}`,
    },
  };
}

const cart = (stored, incoming) => ({
  collection: 'carts',
  id: 'c1',
  stored: { data: stored, version: { 'alice:phone': 2 }, actor: 'alice:phone', timestamp: 1764150000123, deleted: stored === null },
  incoming: { data: incoming, version: { 'bob:web': 1, 'alice:phone': 1 }, actor: 'bob:web', timestamp: 1764150000456, deleted: incoming === null },
});

/** fetch of a signed request; never waits more than timeout ms. */
async function post(r, body, { timeout = 5000, sign = {}, headers = {}, ...init } = {}) {
  const s = signed(body, sign);
  const t0 = Date.now();
  const res = await fetch(r.url, {
    method: 'POST', headers: { ...s.headers, ...headers }, body: s.raw, redirect: 'manual', signal: AbortSignal.timeout(timeout), ...init,
  });
  const buf = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, buf, text: buf.toString('utf8'), ms: Date.now() - t0, id: s.id, raw: s.raw };
}

/** A resolver closed after the test. */
async function resolver(t, opts = {}) {
  const r = await startResolver({ secret: SECRET, ...opts });
  t.after(() => r.close());
  return r;
}

test('verifySignature: accepts the contract signature, refuses tampering, other secrets, stale times, bad formats', () => {
  const s = signed(cart({ a: 1 }, { b: 2 }));
  assert.equal(verifySignature(SECRET, s.headers, s.raw), true);
  assert.equal(verifySignature(SECRET, s.headers, Buffer.from(s.raw)), true, 'Buffer body');
  assert.equal(verifySignature(SECRET, new Headers(s.headers), s.raw), true, 'fetch Headers');
  const upper = Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toUpperCase(), v]));
  assert.equal(verifySignature(SECRET, upper, s.raw), true, 'header names in any case');

  assert.equal(checkSignature(SECRET, s.headers, `${s.raw} `).reason, 'bad_signature', 'one byte more');
  assert.equal(checkSignature(`${SECRET}x`, s.headers, s.raw).reason, 'bad_signature', 'other secret');
  const old = signed(cart(1, 2), { ts: nowS() - 301 });
  assert.equal(checkSignature(SECRET, old.headers, old.raw).reason, 'stale_timestamp');
  const future = signed(cart(1, 2), { ts: nowS() + 301 });
  assert.equal(checkSignature(SECRET, future.headers, future.raw).reason, 'stale_timestamp');
  const edge = signed(cart(1, 2), { ts: nowS() - 290 });
  assert.equal(verifySignature(SECRET, edge.headers, edge.raw), true, 'inside the window');
  // the timestamp is part of what is signed
  // (one second before the one signed, whatever the clock says now)
  const ts = Number(s.headers['x-syncgate-timestamp']);
  assert.equal(checkSignature(SECRET, { ...s.headers, 'x-syncgate-timestamp': String(ts - 1) }, s.raw).reason, 'bad_signature');

  const sig = s.headers['x-syncgate-signature'];
  assert.equal(checkSignature(SECRET, { ...s.headers, 'x-syncgate-signature': sig.toUpperCase() }, s.raw).reason, 'bad_signature_format');
  assert.equal(checkSignature(SECRET, { ...s.headers, 'x-syncgate-signature': sig.slice(3) }, s.raw).reason, 'bad_signature_format');
  assert.equal(checkSignature(SECRET, { ...s.headers, 'x-syncgate-signature': `v2=${sig.slice(3)}` }, s.raw).reason, 'bad_signature_format');
  assert.equal(checkSignature(SECRET, { ...s.headers, 'x-syncgate-timestamp': '1.5e9' }, s.raw).reason, 'bad_timestamp');
  const { 'x-syncgate-signature': _s, ...noSig } = s.headers;
  assert.equal(checkSignature(SECRET, noSig, s.raw).reason, 'no_signature');
  const { 'x-syncgate-timestamp': _t, ...noTs } = s.headers;
  assert.equal(checkSignature(SECRET, noTs, s.raw).reason, 'no_timestamp');

  // signHeaders agrees with the hand-made signature
  const h = signHeaders(SECRET, s.raw, { timestamp: Number(s.headers['x-syncgate-timestamp']), requestId: s.id });
  assert.equal(h['x-syncgate-signature'], sig);
  assert.match(h['x-syncgate-request-id'], /^[0-9a-f]{32}$/);
});

test('defaultMerge: union of arrays, shallow object merge (incoming wins), a tombstone counts as absent', () => {
  const d = (data, deleted = false) => ({ data, deleted });
  assert.deepEqual(defaultMerge(d([1, 2, { a: 1 }]), d([2, 3, { a: 1 }, { a: 2 }])), [1, 2, { a: 1 }, 3, { a: 2 }]);
  assert.deepEqual(defaultMerge(d({ a: 1, b: 1 }), d({ b: 2, c: 2 })), { a: 1, b: 2, c: 2 });
  assert.deepEqual(defaultMerge(d(null, true), d({ a: 1 })), { a: 1 });
  assert.deepEqual(defaultMerge(d([1]), d(null, true)), [1]);
  assert.equal(defaultMerge(d(null, true), d(null, true)), null);
  assert.equal(defaultMerge(d('x'), d(7)), 7, 'otherwise incoming');
});

test("mode 'merge' (default): signed request verified, recorded in full, answered {data, deleted:false}", async (t) => {
  const r = await resolver(t);
  assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+\/resolve$/);
  assert.ok(r.port > 0);
  const a = await post(r, cart({ items: ['a'], x: 1 }, { items: ['b'], y: 2 }));
  assert.equal(a.status, 200, a.text);
  assert.match(a.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(JSON.parse(a.text), { data: { items: ['b'], x: 1, y: 2 }, deleted: false });

  const b = await post(r, cart(['a', 'b'], ['b', 'c']));
  assert.deepEqual(JSON.parse(b.text), { data: ['a', 'b', 'c'], deleted: false });

  assert.equal(r.calls.length, 2);
  const c = r.calls[0];
  assert.equal(c.n, 1);
  assert.equal(c.method, 'POST');
  assert.equal(c.path, '/resolve');
  assert.equal(c.raw, a.raw);
  assert.deepEqual(c.bytes, Buffer.from(a.raw));
  assert.equal(c.body.request_id, a.id);
  assert.equal(c.body.stored.actor, 'alice:phone');
  assert.equal(c.requestId, a.id);
  assert.equal(c.headers['x-syncgate-request-id'], a.id);
  assert.equal(c.verified, true, c.verifyReason);
  assert.equal(c.replayed, false);
  assert.deepEqual(c.problems, []);
  assert.equal(c.mode, 'merge');
  assert.equal(c.status, 200);
  assert.equal(c.aborted, false);
  assert.ok(Math.abs(c.t - Date.now()) < 5000);
  assert.ok(Number.isInteger(c.ms) && c.ms >= 0 && c.ms < 1000, `ms ${c.ms}`);
  assert.ok(r.calls[1].t >= c.t, 'in order of arrival');
});

test('a merge function given at start (possibly async) gets stored, incoming and the whole body', async (t) => {
  const seen = [];
  const r = await resolver(t, {
    merge: async (stored, incoming, body) => {
      seen.push({ stored, incoming, body });
      await new Promise((res) => setTimeout(res, 10));
      return { total: stored.data.n + incoming.data.n };
    },
  });
  const a = await post(r, cart({ n: 2 }, { n: 3 }));
  assert.deepEqual(JSON.parse(a.text), { data: { total: 5 }, deleted: false });
  assert.equal(seen.length, 1);
  assert.equal(seen[0].body.request_id, a.id);
  assert.equal(seen[0].incoming.actor, 'bob:web');

  r.mode('merge');
  const failing = await startResolver({ secret: SECRET, merge: () => { throw new Error('boom'); } });
  t.after(() => failing.close());
  const f = await post(failing, cart(1, 2));
  assert.equal(f.status, 500, 'a merge that throws answers 500');
});

test('unverified and replayed requests are recorded as such; strict answers 401 and 409', async (t) => {
  const r = await resolver(t);
  const body = cart({ a: 1 }, { b: 1 });
  const id = randomBytes(16).toString('hex');
  const first = await post(r, body, { sign: { id } });
  const again = await post(r, body, { sign: { id } });
  assert.equal(first.status, 200);
  assert.equal(again.status, 200, 'not strict: answered anyway');
  assert.equal(r.calls[0].replayed, false);
  assert.equal(r.calls[1].replayed, true);
  const bad = await post(r, body, { sign: { secret: 'another-secret-0123456789abcdefghijkl' } });
  assert.equal(bad.status, 200);
  assert.equal(r.calls[2].verified, false);
  assert.equal(r.calls[2].verifyReason, 'bad_signature');
  assert.equal(r.calls[2].replayed, false, 'unverified ids are not remembered');
  const stale = await post(r, body, { sign: { ts: nowS() - 1000 } });
  assert.equal(stale.status, 200);
  assert.equal(r.calls[3].verifyReason, 'stale_timestamp');

  r.strict = true;
  const bad2 = await post(r, body, { sign: { secret: 'another-secret-0123456789abcdefghijkl' } });
  assert.equal(bad2.status, 401);
  const replay = await post(r, body, { sign: { id } });
  assert.equal(replay.status, 409);
  const fresh = await post(r, body);
  assert.equal(fresh.status, 200);

  const s = await startResolver({ secret: SECRET, strict: true });
  t.after(() => s.close());
  assert.equal((await post(s, body, { sign: { ts: nowS() + 400 } })).status, 401, 'strict from the start');
});

test('contract problems are listed per call (headers, ids, body members)', async (t) => {
  const r = await resolver(t);
  const s = signed(cart(1, 2));
  const body = JSON.parse(s.raw);
  body.extra = 1;
  body.request_id = 'not-the-header';
  const raw = JSON.stringify(body);
  const ts = nowS();
  const res = await fetch(r.url, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain',
      'user-agent': 'curl/8',
      'x-syncgate-request-id': 'ABC',
      'x-syncgate-timestamp': String(ts),
      'x-syncgate-signature': `v1=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`,
    },
    body: raw,
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  const p = r.calls[0].problems.join('\n');
  assert.equal(r.calls[0].verified, true, 'signature itself is fine');
  for (const want of [/content-type/, /user-agent/, /request id ABC/, /body members/, /request_id not-the-header/]) {
    assert.match(p, want);
  }
});

test("mode 'delay' answers the merge after opts.ms", async (t) => {
  const r = await resolver(t);
  r.mode('delay', { ms: 300 });
  const a = await post(r, cart([1], [2]));
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.text), { data: [1, 2], deleted: false });
  assert.ok(a.ms >= 290, `answered after ${a.ms} ms`);
  assert.ok(r.calls[0].ms >= 290);
  assert.equal(r.calls[0].mode, 'delay');
});

test("mode 'hang' never answers; the call is recorded, marked aborted when the client gives up, and close() does not wait for it", async () => {
  const r = await startResolver({ secret: SECRET });
  r.mode('hang');
  await assert.rejects(post(r, cart(1, 2), { timeout: 300 }), /TimeoutError|aborted/i);
  assert.equal(r.calls.length, 1);
  assert.equal(r.calls[0].ms, null, 'no answer');
  assert.equal(r.calls[0].status, null);
  // the client aborts: the server sees the socket go
  const deadline = Date.now() + 3000;
  while (!r.calls[0].aborted && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.calls[0].aborted, true);

  // a second hung request on a socket that stays open: close() destroys it
  const sock = net.connect(r.port, '127.0.0.1');
  await new Promise((res) => sock.once('connect', res));
  const s = signed(cart(1, 2));
  sock.write(`POST /resolve HTTP/1.1\r\nhost: x\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}content-length: ${Buffer.byteLength(s.raw)}\r\n\r\n${s.raw}`);
  await r.waitCalls(2);
  const gone = new Promise((res) => sock.once('close', res));
  const t0 = Date.now();
  await r.close();
  await gone;
  assert.ok(Date.now() - t0 < 1500, `close took ${Date.now() - t0} ms`);
  assert.equal(r.open, 0);
});

test("mode 'status' answers opts.code with a JSON body", async (t) => {
  const r = await resolver(t);
  r.mode('status', { code: 500 });
  const a = await post(r, cart(1, 2));
  assert.equal(a.status, 500);
  assert.equal(typeof JSON.parse(a.text).error.message, 'string');
  r.mode('status', { code: 503, body: { busy: true } });
  const b = await post(r, cart(1, 2));
  assert.equal(b.status, 503);
  assert.deepEqual(JSON.parse(b.text), { busy: true });
  assert.equal(r.calls[1].status, 503);
});

test("mode 'garbage' answers 200 with invalid JSON", async (t) => {
  const r = await resolver(t);
  r.mode('garbage');
  const a = await post(r, cart(1, 2));
  assert.equal(a.status, 200);
  assert.match(a.headers.get('content-type'), /json/);
  assert.throws(() => JSON.parse(a.text), SyntaxError);
});

test("mode 'huge' streams a 10 MiB 200 answer, and stops when the client hangs up", async (t) => {
  const r = await resolver(t);
  r.mode('huge');
  const a = await post(r, cart(1, 2), { timeout: 20000 });
  assert.equal(a.status, 200);
  assert.equal(a.buf.length, 10 << 20);
  assert.equal(Number(a.headers.get('content-length')), 10 << 20);
  const j = JSON.parse(a.text);
  assert.equal(j.deleted, false, 'valid shape: only its size is wrong');
  assert.equal(r.calls[0].status, 200);

  // chunked, and a client that stops reading after 1 MiB
  r.mode('huge', { chunked: true, bytes: 64 << 20 });
  const s = signed(cart(1, 2));
  const got = await new Promise((resolve, reject) => {
    const req = http.request(r.url, { method: 'POST', headers: s.headers, timeout: 5000 }, (res) => {
      let n = 0;
      res.on('data', (d) => {
        n += d.length;
        if (n >= 1 << 20) { req.destroy(); resolve({ n, te: res.headers['transfer-encoding'], cl: res.headers['content-length'] }); }
      });
      res.on('error', () => {});
    });
    req.on('error', (e) => { if (e.code !== 'ECONNRESET') reject(e); });
    req.on('timeout', () => reject(new Error('no answer')));
    req.end(s.raw);
  });
  assert.equal(got.te, 'chunked');
  assert.equal(got.cl, undefined);
  const deadline = Date.now() + 3000;
  while (!r.calls[1].aborted && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.calls[1].aborted, true, 'the stream ended with the client');
  assert.equal(r.calls[1].ms, null);
});

test("mode 'redirect' answers 302 with opts.location", async (t) => {
  const r = await resolver(t);
  r.mode('redirect', { location: 'http://127.0.0.1:1/elsewhere' });
  const a = await post(r, cart(1, 2));
  assert.equal(a.status, 302);
  assert.equal(a.headers.get('location'), 'http://127.0.0.1:1/elsewhere');
  r.mode('redirect');
  const b = await post(r, cart(1, 2));
  assert.equal(b.headers.get('location'), `${r.url}/redirected`, 'default: back to itself, so a followed redirect shows as a call');
  assert.equal(r.calls.length, 2, 'manual redirect: not followed');
});

test("mode 'extra' answers the merge with one member too many", async (t) => {
  const r = await resolver(t);
  r.mode('extra');
  const a = await post(r, cart({ a: 1 }, { b: 2 }));
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.text), { data: { a: 1, b: 2 }, deleted: false, x: 1 });
});

test("mode 'bigdata' answers a valid shape whose data is over 512 KiB and whose body is under 1 MiB", async (t) => {
  const r = await resolver(t);
  r.mode('bigdata');
  const a = await post(r, cart(1, 2));
  assert.equal(a.status, 200);
  const j = JSON.parse(a.text);
  assert.deepEqual(Object.keys(j).sort(), ['data', 'deleted']);
  assert.equal(j.deleted, false);
  const dataBytes = Buffer.byteLength(JSON.stringify(j.data));
  assert.ok(dataBytes > 512 * 1024 && dataBytes < 700 * 1024, `data ${dataBytes} bytes`);
  assert.ok(a.buf.length < 1 << 20, `body ${a.buf.length} bytes`);
});

test("mode 'answer' answers exactly opts.body with 200", async (t) => {
  const r = await resolver(t);
  const bytes = '{"data":{"a":1},"deleted":false, "data":2}';
  r.mode('answer', { body: bytes });
  const a = await post(r, cart(1, 2));
  assert.equal(a.status, 200);
  assert.equal(a.text, bytes);
  const bin = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
  r.mode('answer', { body: bin });
  const b = await post(r, cart(1, 2));
  assert.deepEqual(b.buf, bin);
  r.mode('answer', { body: '' });
  const c = await post(r, cart(1, 2));
  assert.equal(c.status, 200);
  assert.equal(c.buf.length, 0);
});

test("mode 'close' destroys the socket without an answer", async (t) => {
  const r = await resolver(t);
  r.mode('close');
  await assert.rejects(post(r, cart(1, 2)), (e) => e instanceof TypeError || /socket|closed|terminated/i.test(String(e)));
  // on a raw socket: no byte comes back
  const s = signed(cart(1, 2));
  const sock = net.connect(r.port, '127.0.0.1');
  let bytes = 0;
  sock.on('data', (d) => { bytes += d.length; });
  sock.on('error', () => {});
  sock.once('connect', () => {
    sock.write(`POST /resolve HTTP/1.1\r\nhost: x\r\n${Object.entries(s.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}content-length: ${Buffer.byteLength(s.raw)}\r\n\r\n${s.raw}`);
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket not closed')), 3000);
    sock.once('close', () => { clearTimeout(timer); resolve(); });
  });
  assert.equal(bytes, 0);
  assert.equal(r.calls.length, 2);
  assert.equal(r.calls[1].status, null);
  assert.equal(r.calls[1].verified, true);
});

test("mode 'fn' answers what opts.fn(call) returns, possibly async; a throw answers 500", async (t) => {
  const r = await resolver(t);
  r.mode('fn', {
    fn: async (call) => {
      await new Promise((res) => setTimeout(res, 5));
      return { status: 201, body: { data: call.body.incoming.data, deleted: true }, headers: { 'x-test': 'yes' } };
    },
  });
  const a = await post(r, cart({ a: 1 }, { b: 2 }));
  assert.equal(a.status, 201);
  assert.equal(a.headers.get('x-test'), 'yes');
  assert.deepEqual(JSON.parse(a.text), { data: { b: 2 }, deleted: true });
  r.mode('fn', { fn: () => ({ body: 'plain' }) });
  const b = await post(r, cart(1, 2));
  assert.equal(b.status, 200);
  assert.equal(b.text, 'plain');
  r.mode('fn', { fn: () => { throw new Error('nope'); } });
  assert.equal((await post(r, cart(1, 2))).status, 500);
  assert.throws(() => r.mode('fn', {}), /opts\.fn/);
  assert.throws(() => r.mode('nonsense'), /resolver mode nonsense/);
});

test('connections counts TCP connections: a keep-alive client reuses one, new clients add one each', async (t) => {
  const r = await resolver(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const once = (a) => new Promise((resolve, reject) => {
    const s = signed(cart([1], [2]));
    const req = http.request(r.url, { method: 'POST', headers: s.headers, agent: a, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(s.raw);
  });
  for (let i = 0; i < 3; i++) assert.equal(await once(agent), 200);
  assert.equal(r.connections, 1);
  assert.deepEqual(r.calls.map((c) => c.conn), [1, 1, 1]);
  assert.equal(await once(false), 200);
  assert.equal(r.connections, 2);
  assert.equal(r.calls[3].conn, 2);
});

test('waitCalls resolves on the n-th call and times out otherwise; reset forgets calls', async (t) => {
  const r = await resolver(t);
  const w = r.waitCalls(2, { timeout: 3000 });
  await post(r, cart(1, 2));
  await post(r, cart(1, 2));
  assert.equal((await w).length, 2);
  await assert.rejects(r.waitCalls(3, { timeout: 100 }), /timed out waiting for 3 calls/);
  r.reset();
  assert.equal(r.calls.length, 0);
});

test('postSigned and resolverBody build a request the helper verifies', async (t) => {
  const r = await resolver(t);
  const body = resolverBody({ stored: { data: { a: 1 } }, incoming: { data: { b: 1 }, actor: 'b' } });
  const a = await postSigned(r.url, SECRET, body);
  assert.equal(a.status, 200);
  assert.deepEqual(a.json, { data: { a: 1, b: 1 }, deleted: false });
  assert.equal(a.requestId, body.request_id);
  assert.equal(r.calls[0].verified, true);
  assert.deepEqual(r.calls[0].problems, []);
});
