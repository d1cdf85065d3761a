// RS256 and ES256 tokens (decisions 43-49): public keys from PEM files, a
// JWK Set file and a JWK Set URL served here by a real HTTP server, on REST
// and WebSocket alike; wrong keys, algorithm confusion, none, DER ES256
// signatures and unknown kids are 401; key rotation through the
// unknown-kid refresh; a JWKS server that fails keeps the keys there were.
// Tokens are signed with node:crypto.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { Redis, Gateway, BIN, ROOT, SECRET, assertCleanExit, token, waitFor, sleep } from './lib/harness.mjs';
import { request } from './lib/rest-helpers.mjs';

const ISS = 'https://idp.example/';
const AUD = 'syncgate-test';
const ALL = { read: ['*'], write: ['*'] };
const dir = mkdtempSync(path.join(tmpdir(), 'sg-jwtkeys-'));
let redis;
const gateways = [];

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keys = { r1: rsa(), e1: ec(), r2: rsa(), f1: rsa(), f2: ec(), k1: rsa(), k2: ec(), other: rsa() };
const pem = (k) => k.publicKey.export({ type: 'spki', format: 'pem' });
const jwk = (k, extra = {}) => ({ ...k.publicKey.export({ format: 'jwk' }), ...extra });
const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (sub, extra = {}) => ({ sub, iss: ISS, aud: AUD, exp: now() + 600, sync: ALL, ...extra });

/** header.payload signed with key k (RS256 / ES256 from its type; ES256 as
 * R||S unless der). */
function signed(k, header, payload, { der = false } = {}) {
  const input = `${b64(header)}.${b64(payload)}`;
  const isEc = k.privateKey.asymmetricKeyType === 'ec';
  const opts = isEc ? { key: k.privateKey, dsaEncoding: der ? 'der' : 'ieee-p1363' } : k.privateKey;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), opts).toString('base64url')}`;
}
const rs = (k, kid, payload) => signed(k, kid ? { alg: 'RS256', typ: 'JWT', kid } : { alg: 'RS256' }, payload);
const es = (k, kid, payload, o) => signed(k, kid ? { alg: 'ES256', typ: 'JWT', kid } : { alg: 'ES256' }, payload, o);
function hs(secret, header, payload) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function file(name, content) {
  const f = path.join(dir, name);
  writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
  return f;
}

async function start(config, env = {}) {
  const gw = await Gateway.start({ redis, config, env });
  gateways.push(gw);
  return gw;
}

/** PUT then GET with tok; asserts both succeed. */
async function accepted(gw, tok, what) {
  const c = `jwt.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const put = await request(gw, 'PUT', `/v1/collections/${c}/docs/a`, { token: tok, body: { data: what } });
  assert.ok(put.status === 200 || put.status === 201, `${what}: PUT ${put.status} ${put.text}`);
  const get = await request(gw, 'GET', `/v1/collections/${c}/docs/a`, { token: tok });
  assert.equal(get.status, 200, `${what}: GET ${get.text}`);
}

/** 401 unauthorized; why, when given, must match the error's message. */
async function refused(gw, tok, what, why) {
  const r = await request(gw, 'GET', '/v1/collections/jwtc/docs', { token: tok });
  assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json.error.code, 'unauthorized', what);
  if (why) assert.match(r.json.error.message, why, what);
}

/** The three WebSocket ways in: ?token=, Authorization, the auth message. */
async function wsAccepted(gw, tok, what) {
  for (const how of ['query', 'header', 'message']) {
    const c = how === 'query' ? await gw.ws({ token: tok })
      : how === 'header' ? await gw.ws({ headers: { authorization: `Bearer ${tok}` } })
        : await gw.ws();
    if (how === 'message') c.send({ type: 'auth', token: tok });
    const w = await c.wait('welcome');
    assert.equal(w.type, 'welcome', `${what} ${how}`);
    await c.close();
  }
}

async function wsRefused(gw, tok, what) {
  await assert.rejects(gw.ws({ token: tok }), (e) => e.status === 401, `${what}: handshake`);
  const c = await gw.ws();
  c.send({ type: 'auth', token: tok });
  const cl = await c.closed;
  assert.equal(cl.code, 1008, `${what}: auth message`);
}

before(async () => { redis = await Redis.start(); });

after(async () => {
  for (const gw of gateways) if (gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------ PEM files

test('PEM keys: RS256 and ES256 accepted on REST and WebSocket, HS256 as before', async () => {
  const gw = await start({
    auth: {
      issuer: ISS,
      audience: AUD,
      jwt_public_keys: [
        { kid: 'r1', pem_file: file('r1.pem', pem(keys.r1)) },
        { kid: 'e1', alg: 'ES256', pem_file: file('e1.pem', pem(keys.e1)) },
      ],
    },
  }, { SYNCGATE_JWT_PUBLIC_KEY: file('r2.pem', pem(keys.r2)) });
  gw.t = { rsa: rs(keys.r1, 'r1', claims('alice')), ecdsa: es(keys.e1, 'e1', claims('bob')) };
  await accepted(gw, gw.t.rsa, 'RS256 kid r1');
  await accepted(gw, rs(keys.r1, null, claims('alice')), 'RS256 without kid');
  await accepted(gw, gw.t.ecdsa, 'ES256 kid e1');
  await accepted(gw, es(keys.e1, null, claims('bob')), 'ES256 without kid');
  // the key of auth.jwt_public_key has no kid: it serves any
  await accepted(gw, rs(keys.r2, 'whatever', claims('carol')), 'RS256 kid-less key');
  await accepted(gw, token('dave', { sync: ALL, iss: ISS, aud: AUD }), 'HS256');
  await wsAccepted(gw, gw.t.rsa, 'RS256');
  await wsAccepted(gw, gw.t.ecdsa, 'ES256');
  test.pemGw = gw;
});

test('PEM keys: wrong key, alg confusion, none, DER ES256, unknown kid, iss/aud are 401', async () => {
  const gw = test.pemGw;
  const c = claims('mallory');
  const h = (o) => `${b64(o)}.${b64(c)}.`;
  const der = es(keys.e1, 'e1', c, { der: true });
  const bad = {
    'RS256 by another key': rs(keys.other, 'r1', c),
    'RS256 by another key, no kid': rs(keys.other, null, c),
    'ES256 by another key': es(keys.f2, 'e1', c),
    'HS256 with the RSA public PEM as secret': hs(pem(keys.r1), { alg: 'HS256', kid: 'r1' }, c),
    'HS256 with the RSA public PEM as secret, no kid': hs(pem(keys.r1), { alg: 'HS256' }, c),
    'HS256 with the EC public PEM as secret': hs(pem(keys.e1), { alg: 'HS256' }, c),
    'ES256 header, RSA signature': signed(keys.r1, { alg: 'ES256', kid: 'e1' }, c),
    'RS256 header, HS256 MAC': hs(SECRET, { alg: 'RS256', kid: 'r1' }, c),
    'alg none': h({ alg: 'none' }),
    'alg None': h({ alg: 'None', kid: 'r1' }),
    'alg NONE': h({ alg: 'NONE' }),
    'DER-encoded ES256': der,
    'unknown kid': es(keys.e1, 'nope', c),
    'unknown kid, RS256 (the kid-less key tries it)': rs(keys.r1, 'nope', c),
    'kid of the EC key on an RS256 token': rs(keys.r1, 'e1', c),
    'RS384': signed(keys.r1, { alg: 'RS384', kid: 'r1' }, c),
    'PS256 spelled rs256': signed(keys.r1, { alg: 'rs256', kid: 'r1' }, c),
    'crit': signed(keys.r1, { alg: 'RS256', kid: 'r1', crit: ['exp'], exp: 1 }, c),
    'jku pointing elsewhere': signed(keys.other, { alg: 'RS256', jku: 'http://127.0.0.1:9/jwks' }, c),
    'embedded jwk': signed(keys.other, { alg: 'RS256', jwk: jwk(keys.other) }, c),
    'wrong issuer': rs(keys.r1, 'r1', claims('mallory', { iss: 'https://evil.example/' })),
    'wrong audience': rs(keys.r1, 'r1', claims('mallory', { aud: 'other' })),
    'expired': rs(keys.r1, 'r1', claims('mallory', { exp: now() - 120 })),
  };
  assert.equal(Buffer.from(der.split('.')[2], 'base64url').length > 64, true);
  const why = {
    'alg none': /algorithm not allowed/,
    'alg None': /algorithm not allowed/,
    'RS384': /algorithm not allowed/,
    'DER-encoded ES256': /bad signature/,
    'HS256 with the RSA public PEM as secret': /bad signature/,
    'unknown kid': /unknown kid/,
    'crit': /crit/,
    'wrong audience': /audience/,
  };
  for (const [what, t] of Object.entries(bad)) await refused(gw, t, what, why[what]);
  for (const what of ['RS256 by another key', 'HS256 with the RSA public PEM as secret', 'DER-encoded ES256', 'unknown kid']) {
    await wsRefused(gw, bad[what], what);
  }
  assert.doesNotMatch(gw.logs, new RegExp(bad['unknown kid'].split('.')[2].slice(0, 40)));
  assertCleanExit(assert, await gw.stop());
});

// ------------------------------------------------------------ JWKS file

test('JWKS file without an HS256 secret: its RS256 and ES256 keys, nothing else', async () => {
  const set = {
    keys: [
      jwk(keys.f1, { kid: 'f1', alg: 'RS256', use: 'sig' }),
      jwk(keys.f2, { kid: 'f2' }),
      jwk(keys.other, { kid: 'enc1', use: 'enc' }),
      { kty: 'oct', k: b64(SECRET), kid: 'hs' },
    ],
  };
  const gw = await start({ auth: { issuer: ISS, audience: AUD, jwks_file: file('set.json', set) } },
    { SYNCGATE_JWT_SECRET: '' });
  await accepted(gw, rs(keys.f1, 'f1', claims('erin')), 'RS256 from the file');
  await accepted(gw, es(keys.f2, 'f2', claims('erin')), 'ES256 from the file');
  await wsAccepted(gw, es(keys.f2, 'f2', claims('erin')), 'ES256 from the file');
  await refused(gw, rs(keys.other, 'enc1', claims('erin')), 'a use:enc key', /unknown kid/);
  await refused(gw, token('erin', { sync: ALL, iss: ISS, aud: AUD }), 'HS256 with no secret configured',
    /algorithm not allowed/);
  await refused(gw, hs(SECRET, { alg: 'HS256', kid: 'hs' }, claims('erin')), 'an oct key from the set');
  assert.match(gw.logs, /2 keys \(2 skipped/);
  assertCleanExit(assert, await gw.stop());
});

// ------------------------------------------------------------- JWKS URL

function jwksServer() {
  const s = { mode: 'ok', set: { keys: [] }, hits: 0 };
  s.server = http.createServer((req, res) => {
    s.hits++;
    if (s.mode === 'error') { res.writeHead(500); res.end('no'); return; }
    if (s.mode === 'redirect') { res.writeHead(302, { location: `http://127.0.0.1:${s.port}/other` }); res.end(); return; }
    if (s.mode === 'huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"keys":[],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(s.set));
  });
  return new Promise((resolve) => s.server.listen(0, '127.0.0.1', () => {
    s.port = s.server.address().port;
    s.url = `http://127.0.0.1:${s.port}/.well-known/jwks.json`;
    resolve(s);
  }));
}

/** Retries a REST read with tok until it answers 200 (a refresh landed). */
async function acceptedSoon(gw, tok, what) {
  await waitFor(async () => (await request(gw, 'GET', '/v1/collections/jwtc/docs', { token: tok })).status === 200,
    { timeout: 10000, interval: 200, what });
}

test('JWKS URL: keys fetched before ready, rotation through the unknown-kid refresh, failures keep keys', async () => {
  const s = await jwksServer();
  s.set = { keys: [jwk(keys.k1, { kid: 'k1', use: 'sig', alg: 'RS256' })] };
  const gw = await start({
    auth: { issuer: ISS, audience: AUD, jwks_url: s.url, jwks_min_refresh_s: 1, jwks_refresh_s: 300 },
  }, { SYNCGATE_JWT_SECRET: '' });
  assert.equal(s.hits, 1, 'one fetch at start');
  const t1 = rs(keys.k1, 'k1', claims('fred'));
  await accepted(gw, t1, 'RS256 from the URL');
  await wsAccepted(gw, t1, 'RS256 from the URL');

  // rotation: the issuer publishes k2 and drops k1
  s.set = { keys: [jwk(keys.k2, { kid: 'k2' })] };
  const t2 = es(keys.k2, 'k2', claims('fred'));
  await sleep(1100); // past jwks_min_refresh_s since the start
  const first = await request(gw, 'GET', '/v1/collections/jwtc/docs', { token: t2 });
  assert.equal(first.status, 401, 'the request naming the new kid is answered at once');
  await acceptedSoon(gw, t2, 'the new kid after the refresh');
  await wsAccepted(gw, t2, 'the new kid');
  await refused(gw, t1, 'the dropped kid');

  // unknown kids refetch at most once per jwks_min_refresh_s
  await sleep(1100);
  const h0 = s.hits;
  for (let i = 0; i < 20; i++) await refused(gw, es(keys.f2, `x${i}`, claims('fred')), 'random kid', /unknown kid/);
  await sleep(300);
  assert.ok(s.hits - h0 <= 2, `${s.hits - h0} fetches for 20 unknown kids`);

  // failures: a 500, a redirect (never followed), an oversized body, no server
  for (const mode of ['error', 'redirect', 'huge', 'down']) {
    s.mode = mode;
    if (mode === 'down') await new Promise((r) => { s.server.closeAllConnections(); s.server.close(r); });
    await sleep(1100);
    const h = s.hits;
    await refused(gw, es(keys.f2, `y-${mode}`, claims('fred')), `unknown kid (${mode})`, /unknown kid/);
    await waitFor(() => (mode === 'down' ? /fetching .* failed \(.*\); keeping the 1 keys/.test(gw.logs.slice(-4000))
      : s.hits > h), { timeout: 5000, what: `a fetch (${mode})` });
    await sleep(200);
    await accepted(gw, t2, `the kept key (${mode})`);
  }
  assert.match(gw.logs, /HTTP status 500/);
  assert.match(gw.logs, /HTTP status 302/);
  assert.match(gw.logs, /answer too large/);
  assert.doesNotMatch(gw.logs, new RegExp(t2.split('.')[2].slice(0, 40)), 'no token in the logs');
  assertCleanExit(assert, await gw.stop());
});

test('JWKS URL down at start: not ready until the first keys arrive', async () => {
  const s = await jwksServer();
  s.mode = 'error';
  s.set = { keys: [jwk(keys.k1, { kid: 'k1' })] };
  const gw = await Gateway.start({
    redis,
    ready: false,
    config: { auth: { issuer: ISS, audience: AUD, jwks_url: s.url, jwks_min_refresh_s: 1 } },
    env: { SYNCGATE_JWT_SECRET: '' },
  });
  gateways.push(gw);
  await waitFor(() => s.hits >= 1, { what: 'first fetch' });
  const r = await gw.req('GET', '/v1/ready');
  assert.equal(r.status, 503);
  assert.match(r.json.reason, /jwks_url/);
  s.mode = 'ok';
  await gw.waitReady(10000); // retried after jwks_min_refresh_s
  await accepted(gw, rs(keys.k1, 'k1', claims('gina')), 'after the late fetch');
  assertCleanExit(assert, await gw.stop());
  s.server.close();
});

// ------------------------------------------------------------ refusals

test('refused at start: weak or wrong keys, plain-HTTP JWKS URLs, bad key entries', () => {
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const cases = {
    'RSA 1024': [{}, { SYNCGATE_JWT_PUBLIC_KEY: file('weak.pem', pem(weak)) }, /at least 2048/],
    'P-384': [{}, { SYNCGATE_JWT_PUBLIC_KEY: file('p384.pem', pem(p384)) }, /P-256/],
    'private key': [{}, {
      SYNCGATE_JWT_PUBLIC_KEY: file('priv.pem', keys.r1.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    }, /private key/],
    'missing file': [{}, { SYNCGATE_JWT_PUBLIC_KEY: path.join(dir, 'nope.pem') }, /cannot open/],
    'alg not the key\'s': [{ auth: { jwt_public_keys: [{ alg: 'RS256', pem_file: file('e.pem', pem(keys.e1)) }] } }, {}, /ES256, not RS256/],
    'unknown entry key': [{ auth: { jwt_public_keys: [{ pem: 'x' }] } }, {}, /unknown key "pem"/],
    'http JWKS URL': [{ auth: { jwks_url: 'http://idp.example/jwks.json' } }, {}, /https/],
    'ftp JWKS URL': [{ auth: { jwks_url: 'ftp://127.0.0.1/jwks.json' } }, {}, /https/],
    'JWKS file with no usable key': [{ auth: { jwks_file: file('empty.json', { keys: [{ kty: 'oct', k: 'AA' }] }) } }, {}, /kty oct/],
    'short secret with keys': [{}, { SYNCGATE_JWT_PUBLIC_KEY: file('ok.pem', pem(keys.r1)), SYNCGATE_JWT_SECRET: 'short' }, /at least 32/],
  };
  for (const [what, [config, env, re]] of Object.entries(cases)) {
    const cfg = file(`cfg-${Object.keys(cases).indexOf(what)}.json`, config);
    const r = spawnSync(BIN, ['--config', cfg], {
      env: {
        PATH: process.env.PATH,
        SYNCGATE_REDIS_URL: redis.url,
        SYNCGATE_JWT_SECRET: SECRET,
        SYNCGATE_HTTP_PORT: '1',
        SYNCGATE_WEB_ROOT: path.join(ROOT, 'web'),
        ...env,
      },
      encoding: 'utf8',
      timeout: 10000,
    });
    assert.notEqual(r.status, 0, `${what}: started`);
    assert.match(r.stdout + r.stderr, re, what);
  }
});
