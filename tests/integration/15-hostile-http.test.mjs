// Hostile HTTP on the REST port (RELIABILITY B01/B04/B05; DESIGN 2, 3, 10):
// raw bytes over node:net, no HTTP client in between. Every malformed request
// is shaped so that a lenient parse would WRITE (a PUT with a valid admin
// token), so "nothing was written" is a real check: the answer is a 4xx (or
// the connection is closed), Redis (every key, every value) and the
// collection's change offset are unchanged, and /v1/health answers 200 right
// after. Where the RFCs allow two behaviours both are accepted, and the test
// prints which one happened (t.diagnostic). limits.http_timeout_s is 2 so
// idle and trickling connections must be closed within a few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis, Gateway, assertCleanExit, adminToken, token, sleep } from './lib/harness.mjs';
import { readFileSync } from 'node:fs';
import { redisSnapshot, redisKeys, request } from './lib/rest-helpers.mjs';

const TIMEOUT_S = 2; // limits.http_timeout_s
const BOUND = TIMEOUT_S * 1000 + 2000; // an answer or a close must come within this
const LINGER = 600; // after a complete answer: time for anything pipelined behind it
const FAST_MS = 1000; // a normal request next to slow ones (generous: ASan, shared CPU)
const C = 'hh'; // the collection every hostile write aims at
const TOK = adminToken('hostile');
const AUTH = `Authorization: Bearer ${TOK}\r\n`;

let redis;
let gw;
let stopped = false;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'gw-hostile-http', config: { limits: { http_timeout_s: TIMEOUT_S, http_header_timeout_s: TIMEOUT_S, http_body_timeout_s: TIMEOUT_S } } });
  // the collection exists (its offset is stable), so any write shows up
  const r = await request(gw, 'PUT', `/v1/collections/${C}/docs/seed`, { token: TOK, body: { data: 'seed' } });
  assert.equal(r.status, 201, r.text);
});

after(async () => {
  if (gw && !stopped) await gw.kill();
  if (redis) await redis.stop();
});

// ------------------------------------------------------------------ helpers

/** A well-formed JSON PUT body for document `tag`. */
const body = (tag) => JSON.stringify({ data: { tag } });

/** A complete, valid PUT of document `id` (what a smuggled request looks like). */
function validPut(id, { eol = '\r\n', host = true, extra = '' } = {}) {
  const b = body(id);
  return `PUT /v1/collections/${C}/docs/${id} HTTP/1.1${eol}${host ? `Host: 127.0.0.1${eol}` : ''}`
    + `${AUTH.replace('\r\n', eol)}Content-Type: application/json${eol}${extra}Content-Length: ${b.length}${eol}${eol}${b}`;
}

/** A deterministic 1 MiB of noise (xorshift32, seed 0x5eed), reproducible in reports. */
function noise(n) {
  const out = Buffer.alloc(n);
  let x = 0x5eed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Parses what the server sent as a sequence of HTTP/1.x responses framed by
 * Content-Length. `junk` holds bytes that are not a well-formed response.
 */
function parseResponses(buf) {
  const responses = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    const head = end < 0 ? '' : buf.subarray(off, end).toString('latin1');
    const m = head.match(/^HTTP\/1\.[01] (\d{3})[ \r]/);
    if (!m) return { responses, junk: buf.subarray(off) };
    const headers = {};
    for (const l of head.split('\r\n').slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const cl = headers['content-length'];
    const from = end + 4;
    const to = cl === undefined ? buf.length : from + Number(cl);
    if (to > buf.length) return { responses, junk: buf.subarray(off), partial: true };
    responses.push({ status: Number(m[1]), headers, body: buf.subarray(from, to).toString('utf8') });
    off = to;
  }
  return { responses, junk: Buffer.alloc(0) };
}

const show = (buf, n = 400) => JSON.stringify(buf.subarray(0, n).toString('latin1'));

/**
 * Sends `bytes` on a fresh connection (in pieces; a server that closes early
 * may reset the rest) and collects the answer until the server closes, LINGER
 * ms after a complete answer, or `timeout`. closed: the server ended it.
 */
function exchange(bytes, { timeout = BOUND, linger = LINGER } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(gw.httpPort, '127.0.0.1');
    const bufs = [];
    let closed = false;
    let closedMs = null;
    let done = false;
    let lingerTimer = null;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(lingerTimer);
      s.destroy();
      const buf = Buffer.concat(bufs);
      resolve({ buf, ...parseResponses(buf), closed, closedMs, ms: Date.now() - t0 });
    };
    const timer = setTimeout(finish, timeout);
    s.on('data', (d) => {
      bufs.push(d);
      const p = parseResponses(Buffer.concat(bufs));
      clearTimeout(lingerTimer);
      if (p.responses.length && !p.junk.length) lingerTimer = setTimeout(finish, linger);
    });
    const gone = () => { if (!closed) { closed = true; closedMs = Date.now() - t0; } finish(); };
    s.on('end', gone);
    s.on('close', gone);
    s.on('error', gone); // EPIPE / ECONNRESET: the server closed on us
    s.on('connect', async () => {
      for (let i = 0; i < bytes.length && !done && !s.destroyed; i += 65536) {
        if (!s.write(bytes.subarray(i, i + 65536))) {
          await new Promise((r) => { s.once('drain', r); s.once('close', r); });
        }
      }
    });
  });
}

/** Everything that a write could touch. */
async function state() {
  const r = await request(gw, 'GET', `/v1/collections/${C}/changes?limit=1000`, { token: TOK });
  assert.equal(r.status, 200, r.text);
  return { snapshot: await redisSnapshot(redis), keys: await redisKeys(redis), offset: r.json.offset };
}

async function assertUnchanged(before, what) {
  const now = await state();
  assert.deepEqual(now.keys, before.keys, `${what}: Redis KEYS * changed`);
  assert.equal(now.offset, before.offset, `${what}: GET /v1/collections/${C}/changes offset moved (a write went through)`);
  assert.equal(now.snapshot, before.snapshot, `${what}: Redis content changed`);
}

async function assertHealthy(what) {
  const r = await request(gw, 'GET', '/v1/health', { timeout: 5000 });
  assert.equal(r.status, 200, `${what}: /v1/health right after -> ${r.status}`);
  assert.equal(gw.proc.exitCode, null, `${what}: the gateway exited`);
}

/** One answer, a 4xx, or none and the connection closed. */
function assertRefused(r, what) {
  const statuses = r.responses.map((x) => x.status);
  assert.ok(r.responses.length <= 1, `${what}: one request must get one answer, got ${statuses}: ${show(r.buf)}`);
  if (r.responses.length === 0) {
    assert.ok(r.closed, `${what}: no answer and the connection still open after ${r.ms} ms: ${show(r.buf)}`);
  } else {
    const s = r.responses[0].status;
    assert.ok(s >= 400 && s < 500, `${what}: expected a 4xx (or a close), got ${s}: ${show(r.buf)}`);
  }
}

/** Whatever was sent back is whole HTTP/1.x answers framed by Content-Length. */
function assertWellFormed(r, what) {
  assert.equal(r.junk.length, 0, `${what}: the bytes sent back are not well-formed HTTP (an answer's Content-Length does not match what follows): ${show(r.buf)}`);
}

/** The common case: refused, nothing written, still healthy, a well-formed answer. */
async function refused(t, what, bytes, opts) {
  const before = await state();
  const r = await exchange(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'), opts);
  t.diagnostic(`${what}: ${r.responses.map((x) => x.status).join(',') || 'no answer'}${r.closed ? `, closed after ${r.closedMs} ms` : ''}`);
  assertRefused(r, what);
  await assertUnchanged(before, what);
  await assertHealthy(what);
  assertWellFormed(r, what);
  return r;
}

/** The subject of a JWT (its payload, unverified: the test made it). */
function jwtSub(tok) {
  return JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()).sub;
}

// ------------------------------------------------------------ the cases (B05)

test('HTTP/1.1 request without Host: 400 (RFC 9112 3.2), nothing written', async (t) => {
  await refused(t, 'no Host', validPut('nohost', { host: false }));
});

test('unknown and lower-case methods: 4xx, nothing written', async (t) => {
  const b = body('m');
  for (const m of ['FOO', 'put', 'P@T', 'PUT\x01']) {
    await t.test(`method ${JSON.stringify(m)}`, (st) => refused(st, `method ${JSON.stringify(m)}`, `${m} /v1/collections/${C}/docs/m HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: ${b.length}\r\n\r\n${b}`));
  }
});

test('Content-Length and Transfer-Encoding together: 400, or chunked alone and the connection closed (RFC 9112 6.1)', async (t) => {
  // chunked: one write of "clte"; by Content-Length: 3 bytes, and the rest
  // would be parsed as garbage. A valid PUT is pipelined behind it: after
  // answering such a request the server MUST close, so it must never run.
  const b = body('clte');
  const bytes = `PUT /v1/collections/${C}/docs/clte HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 3\r\n`
    + `Transfer-Encoding: chunked\r\n\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n${validPut('after-clte')}`;
  const before = await state();
  const r = await exchange(Buffer.from(bytes, 'latin1'));
  const statuses = r.responses.map((x) => x.status);
  t.diagnostic(`CL+TE: answers ${statuses.join(',') || 'none'}${r.closed ? `, closed after ${r.closedMs} ms` : ', left open'}`);
  const doc = await request(gw, 'GET', `/v1/collections/${C}/docs/after-clte`, { token: TOK });
  assert.equal(doc.status, 404, 'CL+TE: the request pipelined behind it was executed (the connection was not closed)');
  assert.ok(r.responses.length <= 1, `CL+TE: more than one answer on the connection: ${statuses}`);
  if (r.responses.length && r.responses[0].status < 400) {
    // processed by Transfer-Encoding alone: allowed, if it then closed
    t.diagnostic('CL+TE: processed as chunked (RFC 9112 allows it when the connection closes)');
    assert.ok([200, 201].includes(r.responses[0].status), show(r.buf));
    assert.equal(JSON.parse(r.responses[0].body).data.tag, 'clte', 'body read as chunked, not by Content-Length');
    assert.ok(r.closed && r.closedMs < LINGER + 500, `CL+TE: connection not closed right after the answer (closed: ${r.closed}, ${r.closedMs} ms)`);
  } else {
    assertRefused(r, 'CL+TE');
    await assertUnchanged(before, 'CL+TE');
  }
  await assertHealthy('CL+TE');
  assertWellFormed(r, 'CL+TE');
});

test('two different Content-Lengths: 400 and close (RFC 9112 6.3), nothing written, nothing smuggled', async (t) => {
  // by the first length: a write of "cl1", then a smuggled PUT; by the
  // second: invalid JSON. Either reading is wrong.
  const b = body('cl1');
  const smuggled = validPut('smuggled-cl');
  await refused(t, 'two Content-Lengths', `PUT /v1/collections/${C}/docs/cl1 HTTP/1.1\r\nHost: x\r\n${AUTH}`
    + `Content-Length: ${b.length}\r\nContent-Length: ${b.length + smuggled.length}\r\n\r\n${b}${smuggled}`);
});

test('negative and signed Content-Length: 400, nothing written, still healthy', async (t) => {
  // libmicrohttpd 0.9.75 answers these itself, before the gateway sees the
  // request, and writes its 400 header block twice (docs/operations.md,
  // "Known limitations"; HAProxy in front rejects such requests). So this
  // case checks status, state and health, not the framing of the answer.
  const b = body('neg');
  for (const cl of ['-1', '-15', '+15']) {
    await t.test(`Content-Length: ${cl}`, async (st) => {
      const before = await state();
      const r = await exchange(Buffer.from(`PUT /v1/collections/${C}/docs/neg HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: ${cl}\r\n\r\n${b}`, 'latin1'));
      st.diagnostic(`Content-Length: ${cl}: ${r.responses.map((x) => x.status).join(',') || 'no answer'}`);
      assert.ok(r.responses.length ? r.responses[0].status === 400 : r.closed, show(r.buf));
      await assertUnchanged(before, `Content-Length: ${cl}`);
      await assertHealthy(`Content-Length: ${cl}`);
    });
  }
});

test('bare LF line endings: 400, or parsed exactly as sent (RFC 9112 2.2 allows either)', async (t) => {
  const before = await state();
  const r = await exchange(Buffer.from(validPut('barelf', { eol: '\n' }), 'latin1'));
  assert.ok(r.responses.length === 1 || (r.responses.length === 0 && r.closed), `bare LF: ${show(r.buf)}`);
  if (r.responses.length && r.responses[0].status < 400) {
    t.diagnostic(`bare LF: accepted (${r.responses[0].status}) and parsed as sent`);
    assert.equal(r.responses[0].status, 201, show(r.buf));
    const got = JSON.parse(r.responses[0].body);
    assert.deepEqual([got.id, got.data], ['barelf', { tag: 'barelf' }]);
    const now = await state();
    assert.deepEqual(now.keys, before.keys, 'bare LF: only the one document, no other key');
    const log = await request(gw, 'GET', `/v1/collections/${C}/changes?since=${encodeURIComponent(before.offset)}`, { token: TOK });
    assert.deepEqual(log.json.changes.map((x) => x.id), ['barelf'], 'bare LF: exactly one change');
  } else {
    t.diagnostic(`bare LF: refused (${r.responses[0]?.status ?? 'closed'})`);
    assertRefused(r, 'bare LF');
    await assertUnchanged(before, 'bare LF');
  }
  await assertHealthy('bare LF');
  assertWellFormed(r, 'bare LF');
});

test('NUL in a header: never more than the credential before the NUL', async (t) => {
  // libmicrohttpd 0.9.75 ends a header value at a NUL and tells the
  // gateway only the part before it (docs/operations.md, "Known
  // limitations"). So "Bearer <token>\0junk" is either refused or acts as
  // exactly <token>: the write, if any, is the token's subject's own.
  const b = body('nul');
  await t.test('NUL after the token in Authorization', async (st) => {
    const before = await state();
    const r = await exchange(Buffer.from(`PUT /v1/collections/${C}/docs/nul HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOK}\0junk\r\nContent-Length: ${b.length}\r\n\r\n${b}`, 'latin1'));
    const s0 = r.responses[0]?.status;
    st.diagnostic(`NUL after the token: ${s0 ?? 'closed'}`);
    if (s0 && s0 < 300) {
      const doc = JSON.parse(r.responses[0].body);
      assert.equal(doc.actor, jwtSub(TOK), 'written as the token subject, nothing else');
      assert.deepEqual(doc.data, JSON.parse(b).data);
    } else {
      assertRefused(r, 'NUL after the token');
      await assertUnchanged(before, 'NUL after the token');
    }
    await assertHealthy('NUL after the token');
  });
  await t.test('NUL in a header name', (st) => refused(st, 'NUL in a header name', `PUT /v1/collections/${C}/docs/nul HTTP/1.1\r\nHost: x\r\n${AUTH}X-A\0b: c\r\nContent-Length: ${b.length}\r\n\r\n${b}`));
});

test('HTTP/0.9 request lines: a 4xx status line or a close, never a bare body', async (t) => {
  await refused(t, 'HTTP/0.9 GET', 'GET /v1/health\r\n\r\n');
  await refused(t, 'HTTP/0.9 PUT', `PUT /v1/collections/${C}/docs/h09\r\n${body('h09')}`);
});

test('chunk size ffffffffffffffff and 2^64: 4xx or close, nothing written', async (t) => {
  for (const size of ['ffffffffffffffff', '10000000000000000', 'fffffffffffffffff0']) {
    await t.test(`chunk size ${size}`, (st) => refused(st, `chunk size ${size}`, `PUT /v1/collections/${C}/docs/chunk HTTP/1.1\r\nHost: x\r\n${AUTH}`
      + `Transfer-Encoding: chunked\r\n\r\n${size}\r\n${body('chunk')}\r\n0\r\n\r\n`));
  }
});

test('1 MiB of random bytes: 4xx or close, nothing written', async (t) => {
  await refused(t, '1 MiB of noise', noise(1 << 20));
  // the same noise after a valid request line and headers, as a body with no length
  await refused(t, 'noise as a chunked body', Buffer.concat([
    Buffer.from(`PUT /v1/collections/${C}/docs/noise HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n`),
    noise(1 << 20),
  ]));
});

// ------------------------------------------------------------- sizes (B04)

test('one 64 KiB header: 431 (or close), nothing written', async (t) => {
  await refused(t, '64 KiB header', validPut('big-header', { extra: `X-Big: ${'b'.repeat(65536)}\r\n` }));
});

test('200 headers: 431 (or close), nothing written', async (t) => {
  // each small (~40 bytes, 8 KB in all): the count is what is tested
  const extra = Array.from({ length: 200 }, (_, i) => `X-H-${i}: ${'v'.repeat(30)}\r\n`).join('');
  const r = await refused(t, '200 headers', validPut('many-headers', { extra }));
  // an answer (not a close) is the gateway's own, with its own error code
  for (const x of r.responses) {
    assert.equal(x.status, 431, `200 headers: ${x.status} ${x.body}`);
    assert.equal(JSON.parse(x.body).error.code, 'request_header_fields_too_large', x.body);
  }
});

test('200 headers of ~100 bytes (20 KB): 431 (or close), nothing written', async (t) => {
  // past what the HTTP library's 32 KiB per connection holds with the
  // fields' bookkeeping: its own 431 is allowed here, any other answer not
  const extra = Array.from({ length: 200 }, (_, i) => `X-H-${i}: ${'v'.repeat(90)}\r\n`).join('');
  const r = await refused(t, '200 headers of 100 bytes', validPut('many-big-headers', { extra }));
  for (const x of r.responses) assert.equal(x.status, 431, `200 x 100 bytes: ${x.status} ${x.body}`);
});

test('a 16 KiB request head within the field limit is served', async () => {
  // 90 fields of ~180 bytes: the limit is the field count, not this size
  const extra = Array.from({ length: 90 }, (_, i) => `X-H-${i}: ${'v'.repeat(170)}\r\n`).join('');
  const r = await exchange(Buffer.from(validPut('head-16k', { extra }), 'latin1'));
  assert.equal(r.responses.length, 1, `16 KiB head: ${r.responses.map((x) => x.status)}`);
  assert.equal(r.responses[0].status, 201, r.responses[0].body);
  const one = Array.from({ length: 1 }, () => `X-Big: ${'b'.repeat(24 * 1024)}\r\n`).join('');
  const r2 = await exchange(Buffer.from(validPut('head-24k', { extra: one }), 'latin1'));
  assert.equal(r2.responses[0]?.status, 201, `one 24 KiB header: ${r2.responses.map((x) => x.status)}`);
});

test('a request line of 100 KiB: 414 (or close), nothing written', async (t) => {
  const b = body('long');
  await refused(t, '100 KiB request line', `PUT /v1/collections/${C}/docs/long?pad=${'p'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: ${b.length}\r\n\r\n${b}`);
});

// -------------------------------------------------------------- pipelining

test('pipelined reads are answered in order; after a malformed request nothing behind it runs', async (t) => {
  const get = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`;
  const ok = await exchange(Buffer.from(get('/v1/health') + get(`/v1/collections/${C}/changes`) + get('/v1/nope') + get('/v1/info'), 'latin1'));
  assert.equal(ok.junk.length, 0, show(ok.buf));
  assert.deepEqual(ok.responses.map((x) => x.status), [200, 200, 404, 200], show(ok.buf));
  assert.equal(JSON.parse(ok.responses[0].body).status, 'ok');
  assert.ok('changes' in JSON.parse(ok.responses[1].body));
  assert.equal(JSON.parse(ok.responses[3].body).name, 'syncgate');

  // a good read, a PUT with a broken chunk, then a valid PUT: the server
  // stops at the broken one
  const before = await state();
  const bad = `PUT /v1/collections/${C}/docs/pipe1 HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\nzz\r\n${body('pipe1')}\r\n0\r\n\r\n`;
  const r = await exchange(Buffer.from(get('/v1/health') + bad + validPut('pipe2'), 'latin1'));
  const statuses = r.responses.map((x) => x.status);
  t.diagnostic(`pipeline with a broken chunk: ${statuses}${r.closed ? `, closed after ${r.closedMs} ms` : ''}`);
  assert.equal(r.junk.length, 0, show(r.buf));
  assert.equal(statuses[0], 200, show(r.buf));
  assert.equal(statuses.length, 2, `the request behind the broken one was answered: ${statuses}`);
  assert.ok(statuses[1] >= 400 && statuses[1] < 500, show(r.buf));
  assert.ok(r.closed, 'the connection is closed after the malformed request');
  await assertUnchanged(before, 'pipeline');
  await assertHealthy('pipeline');
});

// ------------------------------------------------------- slow clients (B01)

/** Writes `text` one byte every `every` ms; resolves when the server closes it or after `max` ms. */
function trickle(text, { every = 200, max, first = '' }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(gw.httpPort, '127.0.0.1');
    if (first) s.write(first);
    const got = [];
    let i = 0;
    let closedAt = null;
    const iv = setInterval(() => {
      if (i < text.length && !s.destroyed) s.write(text[i++]);
    }, every);
    const end = () => {
      clearInterval(iv);
      clearTimeout(timer);
      s.destroy();
      resolve({ closedMs: closedAt, sent: i, answer: Buffer.concat(got).toString('latin1') });
    };
    const timer = setTimeout(end, max);
    s.on('data', (d) => got.push(d));
    const gone = () => { if (closedAt === null) closedAt = Date.now() - t0; end(); };
    s.on('end', gone);
    s.on('close', gone);
    s.on('error', () => {});
  });
}

const slowHead = (i) => `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow-${i}: ${'a'.repeat(4096)}`;

test('slowloris: 200 connections sending headers one byte per 200 ms; a normal client keeps getting fast answers', async (t) => {
  const rss = () => Number(readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]);
  const rss0 = rss();
  const slow = Array.from({ length: 200 }, (_, i) => trickle(slowHead(i), { max: 4000 }));
  const lat = [];
  const statuses = [];
  let rssMax = rss0;
  const t0 = Date.now();
  while (Date.now() - t0 < 3600) {
    for (const p of ['/v1/health', `/v1/collections/${C}/changes`]) {
      const r = await request(gw, 'GET', p, { token: TOK, timeout: 5000 });
      statuses.push(r.status);
      lat.push(r.ms);
    }
    rssMax = Math.max(rssMax, rss());
    await sleep(100);
  }
  const ended = await Promise.all(slow);
  const sorted = [...lat].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
  const closed = ended.filter((e) => e.closedMs !== null).length;
  t.diagnostic(`slowloris: 200 connections held, ${closed} closed by the header deadline (${TIMEOUT_S} s); `
    + `gateway RSS ${(rss0 / 1024).toFixed(1)} MiB before, ${(rssMax / 1024).toFixed(1)} at peak; `
    + `${lat.length} healthy requests, p50 ${sorted[Math.floor(sorted.length / 2)]} ms, p99 ${p99} ms`);
  assert.ok(statuses.length >= 10, `only ${statuses.length} requests in 3.6 s`);
  assert.ok(statuses.every((s) => s === 200), `statuses ${statuses}`);
  assert.ok(Math.max(...lat) < FAST_MS, `a normal request took ${Math.max(...lat)} ms next to slowloris (all: ${lat})`);
  assert.equal(closed, 200, 'every trickling connection was closed');
  await assertHealthy('slowloris');
});

test(`an idle connection is closed by the server within limits.http_timeout_s (${TIMEOUT_S} s) + slack`, async () => {
  for (const [what, bytes] of [['silent', ''], ['half a request line', 'GET /v1/hea']]) {
    const r = await exchange(Buffer.from(bytes), { timeout: TIMEOUT_S * 1000 + 4000 });
    assert.ok(r.closed, `${what}: still open after ${r.ms} ms`);
    assert.ok(r.closedMs <= TIMEOUT_S * 1000 + 2000, `${what}: closed only after ${r.closedMs} ms`);
    assert.equal(r.responses.filter((x) => x.status < 400).length, 0, `${what}: ${show(r.buf)}`);
  }
  await assertHealthy('idle');
});

test(`every answer carries Keep-Alive: timeout=${TIMEOUT_S}; a kept-alive client drops the idle connection before the server closes it`, async () => {
  const r = await request(gw, 'GET', '/v1/health');
  assert.equal(r.headers.get('keep-alive'), `timeout=${TIMEOUT_S}`);
  const file = await request(gw, 'GET', '/v1/nope');
  assert.equal(file.status, 404);
  assert.equal(file.headers.get('keep-alive'), `timeout=${TIMEOUT_S}`);
  // a request sent just as the server's idle timer fires: the client's pool must
  // have dropped the connection already (undici uses timeout - 1 s)
  for (let i = 0; i < 3; i++) {
    await new Promise((res) => setTimeout(res, TIMEOUT_S * 1000 - 20 + i * 20));
    const again = await request(gw, 'GET', '/v1/health');
    assert.equal(again.status, 200);
  }
});

test('a connection trickling its header one byte per 200 ms is closed after limits.http_header_timeout_s (DESIGN 10: header timeout)', async () => {
  // checked once a second: the deadline plus up to 1 s, plus slack
  const bound = TIMEOUT_S * 1000 + 2500;
  const r = await trickle(slowHead('t'), { max: bound + 2000 });
  assert.ok(r.closedMs !== null && r.closedMs <= bound,
    `the server kept a trickling connection open for ${r.closedMs ?? `more than ${bound + 2000}`} ms (${r.sent} header bytes, never complete): idle-only timeout`);
  assert.doesNotMatch(r.answer, /^HTTP\/1\.[01] 2/, 'an incomplete request must not be answered 2xx');
  await assertHealthy('trickle');
});

test('keep-alive gives no way around it: the second request trickled is closed too', async () => {
  // after an answer the next headers must be in within the idle time plus
  // the header time; checked once a second, plus slack
  const bound = 2 * TIMEOUT_S * 1000 + 2500;
  const r = await trickle(slowHead('k'), { max: bound + 3000, first: 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n' });
  assert.match(r.answer, /^HTTP\/1\.1 200/, 'the first request was answered');
  assert.ok(r.closedMs !== null && r.closedMs <= bound,
    `a kept-alive connection trickling its second request stayed open ${r.closedMs ?? `more than ${bound + 3000}`} ms (${r.sent} bytes)`);
  assert.equal((r.answer.match(/HTTP\/1\.1 2/g) || []).length, 1, 'the trickled request was never answered');
  // a kept-alive connection used normally is not cut: three requests 1 s apart
  const s = net.connect(gw.httpPort, '127.0.0.1');
  let got = '';
  s.on('data', (d) => { got += d.toString('latin1'); });
  for (let i = 0; i < 3; i++) {
    s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(1000);
  }
  s.destroy();
  assert.equal((got.match(/HTTP\/1\.1 200/g) || []).length, 3, got.slice(0, 300));
  await assertHealthy('keep-alive trickle');
});

test('a body trickled one byte per 200 ms is cut after limits.http_body_timeout_s, and nothing is written', async () => {
  const before = await state();
  const b = body('slowbody');
  const head = `PUT /v1/collections/${C}/docs/slowbody HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Type: application/json\r\nContent-Length: ${b.length + 4000}\r\n\r\n`;
  const bound = TIMEOUT_S * 1000 + 2500;
  const r = await trickle(b + ' '.repeat(4000), { first: head, max: bound + 3000 });
  assert.ok(r.closedMs !== null && r.closedMs <= bound,
    `a trickled body kept the connection ${r.closedMs ?? `more than ${bound + 3000}`} ms (${r.sent} bytes)`);
  assert.doesNotMatch(r.answer, /^HTTP\/1\.[01] 2/);
  await assertUnchanged(before, 'slow body');
  await assertHealthy('slow body');
});

/** The gateway's peak resident memory so far, KiB. */
function peakKiB() {
  const m = readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(m[1]);
}

test('bodies of requests refused on their headers are never kept: 64 x 1 MiB without a token cost no memory', async () => {
  const before = await state();
  const peak0 = peakKiB();
  const big = Buffer.alloc(1024 * 1024 - 64, 0x20);
  const put = (i, auth) => Buffer.concat([Buffer.from(`PUT /v1/collections/${C}/docs/big${i} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${big.length + 10}\r\n\r\n{"data":1}`), big]);
  const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => exchange(put(i, i % 2 ? 'Authorization: Bearer nope\r\n' : ''), { timeout: 20000 })));
  for (const r of rs) assert.deepEqual(r.responses.map((x) => x.status), [401], show(r.buf));
  const grew = peakKiB() - peak0;
  assert.ok(grew < 16 * 1024, `peak RSS grew by ${grew} KiB for 64 refused 1 MiB uploads (buffered before authenticating?)`);
  // a write-only path the token may not use: 403, the same way
  const ro = token('ro', { sync: { read: ['*'], write: [] } });
  const r = await exchange(Buffer.concat([Buffer.from(`PUT /v1/collections/${C}/docs/ro HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ro}\r\nContent-Length: ${big.length + 10}\r\n\r\n{"data":1}`), big]), { timeout: 20000 });
  assert.deepEqual(r.responses.map((x) => x.status), [403], show(r.buf));
  // a client that waits for 100 Continue gets the 401 instead, and sends nothing
  const e = await exchange(Buffer.from(`PUT /v1/collections/${C}/docs/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n`), { timeout: 5000 });
  assert.deepEqual(e.responses.map((x) => x.status), [401], show(e.buf));
  assert.doesNotMatch(e.buf.toString('latin1'), /100 Continue/);
  await assertUnchanged(before, 'refused uploads');
  await assertHealthy('refused uploads');
});

/** Runs Debian's slowhttptest against the gateway while a normal client
 * keeps asking; resolves with its per-second statistics (-g: closed
 * connections, service available), how long it ran and the client's
 * latencies. It stops early once no connection is left open (its last
 * second is then missing from the statistics), else after SLOW_TEST_S. */
const SLOW_TEST_S = 20;
async function slowhttptest(args) {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/sg-slowhttp-`);
  const started = Date.now();
  const p = spawn('slowhttptest', [...args, '-c', '200', '-r', '100', '-i', '1', '-l', String(SLOW_TEST_S), '-x', '10', '-p', '2',
    '-g', '-o', `${dir}/stats`], { stdio: 'ignore' });
  let elapsedMs;
  const done = new Promise((res) => p.on('close', res)).then(() => { elapsedMs = Date.now() - started; });
  const lat = [];
  const statuses = [];
  let running = true;
  done.then(() => { running = false; });
  while (running) {
    const r = await request(gw, 'GET', '/v1/health', { timeout: 5000 });
    statuses.push(r.status);
    lat.push(r.ms);
    await sleep(50);
  }
  await done;
  // Seconds,Closed,Pending,Connected,Service Available
  const rows = readFileSync(`${dir}/stats.csv`, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...lat].sort((x, y) => x - y);
  return {
    rows,
    closed: Math.max(0, ...rows.map((r) => r[1])),
    held: Math.max(0, ...rows.map((r) => r[3])),
    available: rows.every((r) => r[4] > 0),
    statuses,
    elapsedMs,
    p99: sorted[Math.floor(sorted.length * 0.99)],
  };
}

test('Debian slowhttptest, slow headers and slow bodies: the service stays available, the slow connections are cut', async (t) => {
  const target = `http://127.0.0.1:${gw.httpPort}`;
  for (const [what, args] of [
    ['slow headers (-H)', ['-H', '-u', `${target}/v1/health`]],
    ['slow bodies (-B)', ['-B', '-t', 'PUT', '-u', `${target}/v1/collections/${C}/docs/slow`]],
  ]) {
    const r = await slowhttptest(args);
    assert.ok(r.rows.length >= 3, `${what}: slowhttptest ran (${JSON.stringify(r.rows)})`);
    assert.ok(r.available, `${what}: the service was always available (${JSON.stringify(r.rows)})`);
    // cut by the gateway: slowhttptest saw them closed, and it ended long
    // before its own end (its slow requests would have lasted SLOW_TEST_S)
    assert.ok(r.closed >= 100, `${what}: the gateway cut the slow connections (${JSON.stringify(r.rows)})`);
    assert.ok(r.elapsedMs < (SLOW_TEST_S - 8) * 1000,
      `${what}: slowhttptest ran ${r.elapsedMs} ms: connections were left open (${JSON.stringify(r.rows)})`);
    assert.ok(r.statuses.every((s) => s === 200), `${what}: ${r.statuses}`);
    assert.ok(r.p99 < FAST_MS, `${what}: a normal request p99 ${r.p99} ms`);
    t.diagnostic(`slowhttptest ${what}: ran ${r.elapsedMs} ms, 200 connections, at most ${r.held} held at once, ${r.closed} cut by the gateway, `
      + `service available throughout; ${r.statuses.length} normal requests, p99 ${r.p99} ms`);
  }
  await assertHealthy('slowhttptest');
});

test('a request target without a leading slash never reaches files beside web_root', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-webroot-'));
  mkdirSync(path.join(dir, 'w'));
  writeFileSync(path.join(dir, 'w', 'index.html'), 'inside');
  writeFileSync(path.join(dir, 'wsecret.txt'), 'outside the web root');
  const g = await Gateway.start({ redis, node: 'webroot', env: { SYNCGATE_WEB_ROOT: path.join(dir, 'w') } });
  try {
    const inside = await rawAnswer(g.httpPort, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(inside, /^HTTP\/1\.1 200[\s\S]*inside$/);
    for (const target of ['secret.txt', 'index.html', '*']) {
      const a = await rawAnswer(g.httpPort, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.doesNotMatch(a, /outside the web root/, target);
      assert.doesNotMatch(a, /^HTTP\/1\.1 200/, `${target}: ${a.slice(0, 60)}`);
    }
    // dotfiles are not served; symbolic links only while they stay inside
    const { symlinkSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'w', '.env'), 'SECRET=1');
    mkdirSync(path.join(dir, 'w', '.git'));
    writeFileSync(path.join(dir, 'w', '.git', 'config'), 'secret');
    mkdirSync(path.join(dir, 'w', 'sub'));
    writeFileSync(path.join(dir, 'w', 'sub', 'real.txt'), 'inside too');
    symlinkSync(path.join(dir, 'wsecret.txt'), path.join(dir, 'w', 'out.txt'));
    symlinkSync(dir, path.join(dir, 'w', 'up'));
    symlinkSync('sub/real.txt', path.join(dir, 'w', 'in.txt'));
    for (const target of ['/.env', '/.git/config', '/out.txt', '/up/wsecret.txt']) {
      const a = await rawAnswer(g.httpPort, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(a, /^HTTP\/1\.1 404/, `${target}: ${a.slice(0, 60)}`);
      assert.doesNotMatch(a, /outside the web root|SECRET|secret$/, target);
    }
    const inLink = await rawAnswer(g.httpPort, 'GET /in.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(inLink, /^HTTP\/1\.1 200[\s\S]*inside too$/);
  } finally {
    assertCleanExit(assert, await g.stop());
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Sends raw bytes, resolves with everything read until the peer closes
 * or 1 s of silence after some bytes. */
function rawAnswer(port, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let out = '';
    let t = setTimeout(() => s.destroy(), 5000);
    s.on('data', (d) => {
      out += d;
      clearTimeout(t);
      t = setTimeout(() => s.destroy(), 300);
    });
    s.on('close', () => { clearTimeout(t); resolve(out); });
    s.on('error', () => {});
  });
}

test('the gateway is alive and exits cleanly', async () => {
  const r = await request(gw, 'GET', `/v1/collections/${C}/docs/seed`, { token: TOK });
  assert.equal(r.status, 200);
  await assertHealthy('end');
  assertCleanExit(assert, await gw.stop());
  stopped = true;
});
