// CORS on the REST API (RELIABILITY A16): pages of the origins in
// cors_origins may call it (the preflight answers what they may send, the
// answers name the origin, never "*"); other origins get no
// Access-Control-Allow-Origin and a 403 preflight; without cors_origins no
// CORS header at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Redis, Gateway, assertCleanExit, token } from './lib/harness.mjs';

const APP = 'https://app.example';
const TOK = token('cors', { sync: { read: ['*'], write: ['*'] } });

let redis;
let gw;
let plain;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'gw-cors', config: { cors_origins: `${APP}, http://localhost:3000` } });
  plain = await Gateway.start({ redis, node: 'gw-nocors' });
});

after(async () => {
  for (const g of [gw, plain]) if (g && g.proc.exitCode === null && g.proc.signalCode === null) await g.kill();
  if (redis) await redis.stop();
});

/** One request with the headers given as is (Origin included). */
function raw(g, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: g.httpPort, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a preflight from an allowed origin: 204 with the methods and headers it may use', async () => {
  const r = await raw(gw, 'OPTIONS', '/v1/collections/todos/docs/a', {
    origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type, idempotency-key',
  });
  assert.equal(r.status, 204, r.text);
  assert.equal(r.headers['access-control-allow-origin'], APP);
  assert.match(r.headers.vary, /Origin/);
  assert.match(r.headers['access-control-allow-methods'], /PUT/);
  assert.match(r.headers['access-control-allow-methods'], /DELETE/);
  for (const h of ['Authorization', 'Content-Type', 'If-Match', 'Idempotency-Key']) assert.match(r.headers['access-control-allow-headers'], new RegExp(h));
  assert.equal(r.headers['access-control-allow-credentials'], undefined, 'bearer tokens, no cookies: no credentials');
});

test('the actual requests of an allowed origin name it; ETag is readable', async () => {
  const w = await raw(gw, 'PUT', '/v1/collections/todos/docs/a', {
    origin: APP, authorization: `Bearer ${TOK}`, 'content-type': 'application/json',
  }, '{"data":1}');
  assert.equal(w.status, 201, w.text);
  assert.equal(w.headers['access-control-allow-origin'], APP);
  assert.match(w.headers['access-control-expose-headers'], /ETag/);
  const e = await raw(gw, 'GET', '/v1/collections/todos/docs/a', { origin: 'http://localhost:3000' });
  assert.equal(e.status, 401);
  assert.equal(e.headers['access-control-allow-origin'], 'http://localhost:3000', 'errors are readable too');
});

test('other origins: no Access-Control-Allow-Origin, a 403 preflight, and the origin list is never "*"', async () => {
  for (const origin of ['https://evil.example', 'https://app.example.evil', 'null', 'http://app.example']) {
    const p = await raw(gw, 'OPTIONS', '/v1/collections/todos/docs/a', { origin, 'access-control-request-method': 'PUT' });
    assert.equal(p.status, 403, `${origin}: ${p.text}`);
    assert.equal(p.headers['access-control-allow-origin'], undefined, origin);
    const g = await raw(gw, 'GET', '/v1/health', { origin });
    assert.equal(g.headers['access-control-allow-origin'], undefined, origin);
  }
  // without cors_origins: no CORS headers, and OPTIONS is refused
  const g = await raw(plain, 'GET', '/v1/health', { origin: APP });
  assert.equal(g.headers['access-control-allow-origin'], undefined);
  const p = await raw(plain, 'OPTIONS', '/v1/health', { origin: APP, 'access-control-request-method': 'GET' });
  assert.equal(p.status, 403);
});

test('the gateways stop cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
  assertCleanExit(assert, await plain.stop());
});
