// The dev token endpoint and the static files. POST /v1/dev/token exists
// only with --dev (SYNCGATE_DEV=1, "dev" in the file), only on a loopback
// bind; its tokens work on REST and expire per ttl_s; bad bodies mint
// nothing. Static files: types, weak ETag and 304, HEAD, and no way out of
// the web root (dots and slashes, plain or percent-encoded).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Redis, Gateway, BIN, SECRET, assertCleanExit, freePort, sleep, uniqueColl,
} from './lib/harness.mjs';
import { assertError, rawHttp, request } from './lib/rest-helpers.mjs';

const MARKER = 'outside-the-web-root-7f3a91';
let redis;
let dev;   // --dev, jwt, leeway 0 (expiry is exact)
let plain; // no --dev, a web root of test files
let site;  // temp dir: site/web is the web root, site/secret.txt beside it

before(async () => {
  redis = await Redis.start();
  site = mkdtempSync(path.join(tmpdir(), 'sg-site-'));
  const web = path.join(site, 'web');
  mkdirSync(path.join(web, 'sub'), { recursive: true });
  writeFileSync(path.join(site, 'secret.txt'), MARKER);
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(web, 'app.js'), 'export const x = 1;\n');
  writeFileSync(path.join(web, 'style.css'), 'body { color: red }\n');
  writeFileSync(path.join(web, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(path.join(web, 'sub', 'page.html'), '<p>sub</p>');
  dev = await Gateway.start({ redis, node: 'dev', args: ['--dev'], env: { SYNCGATE_AUTH_LEEWAY_S: '0' } });
  plain = await Gateway.start({ redis, node: 'plain', env: { SYNCGATE_WEB_ROOT: web } });
});

after(async () => {
  for (const g of [dev, plain]) {
    if (g && g.proc.exitCode === null && g.proc.signalCode === null) await g.kill();
  }
  if (redis) await redis.stop();
  if (site) rmSync(site, { recursive: true, force: true });
});

const claimsOf = (tok) => JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString());
const mint = (g, body, opts = {}) => request(g, 'POST', '/v1/dev/token',
  body === undefined ? opts : typeof body === 'string' ? { raw: body, ...opts } : { body, ...opts });
const minted = (g) => g.logLines().filter((l) => /dev token minted/.test(l.msg || '')).length;

// ------------------------------------------------------------ dev endpoint

test('without --dev the path does not exist: 404 JSON error for every method, no dev in /v1/info', async () => {
  for (const m of ['POST', 'GET', 'PUT', 'DELETE']) {
    assertError(assert, await request(plain, m, '/v1/dev/token', m === 'POST' ? { body: {} } : {}), 404, 'not_found', m);
  }
  const i = await request(plain, 'GET', '/v1/info');
  assert.equal(i.status, 200);
  assert.equal('dev' in i.json, false, i.text);
  assert.equal(minted(plain), 0);
});

test('--dev: a loud warning at start and "dev":true in /v1/info', async () => {
  const warn = dev.logLines().find((l) => l.level === 'warn' && /dev mode/.test(l.msg));
  assert.ok(warn, dev.logs);
  assert.match(warn.msg, /POST \/v1\/dev\/token mints tokens for anyone who can reach this port/);
  const i = await request(dev, 'GET', '/v1/info');
  assert.equal(i.json.dev, true, i.text);
  assert.equal(i.json.auth, 'jwt');
});

test('POST /v1/dev/token with no body: sub dev, 1 h, all permissions, signed with the secret', async () => {
  const t0 = Math.floor(Date.now() / 1000);
  const r = await mint(dev);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.deepEqual(Object.keys(r.json).sort(), ['dev', 'expires_at', 'sub', 'token']);
  assert.equal(r.json.dev, true);
  assert.equal(r.json.sub, 'dev');
  const c = claimsOf(r.json.token);
  assert.equal(c.sub, 'dev');
  assert.equal(c.exp - c.iat, 3600);
  assert.equal(c.exp, r.json.expires_at);
  assert.ok(c.iat >= t0 - 1 && c.iat <= t0 + 2, `iat ${c.iat} vs ${t0}`);
  assert.deepEqual(c.sync, { read: ['*'], write: ['*'] });
  const { default: jwt } = await import('jsonwebtoken');
  assert.equal(jwt.verify(r.json.token, SECRET, { algorithms: ['HS256'] }).sub, 'dev');
  // the token is never logged
  assert.doesNotMatch(dev.logs, new RegExp(r.json.token.split('.')[2]));
});

test('a minted token works on REST (read and write), then expires per ttl_s', async () => {
  const coll = uniqueColl('devtok');
  const r = await mint(dev, { sub: 'alice', ttl_s: 2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.sub, 'alice');
  const c = claimsOf(r.json.token);
  assert.equal(c.sub, 'alice');
  assert.equal(c.exp - c.iat, 2);
  assert.equal(r.json.expires_at, c.exp);
  const put = await request(dev, 'PUT', `/v1/collections/${coll}/docs/a1`, { token: r.json.token, body: { data: { t: 1 } } });
  assert.equal(put.status, 201, put.text);
  assert.equal(put.json.actor, 'alice');
  const get = await request(dev, 'GET', `/v1/collections/${coll}/docs/a1`, { token: r.json.token });
  assert.equal(get.status, 200, get.text);
  assert.deepEqual(get.json.data, { t: 1 });
  // exp passes (leeway 0): refused as expired
  const wait = c.exp * 1000 - Date.now() + 300;
  if (wait > 0) await sleep(wait);
  const late = await request(dev, 'GET', `/v1/collections/${coll}/docs/a1`, { token: r.json.token });
  assertError(assert, late, 401, 'unauthorized', 'expired dev token');
  assert.match(late.json.error.message, /expired/);
});

test('ttl_s bounds: 1 and 86400 are accepted', async () => {
  for (const ttl of [1, 86400]) {
    const r = await mint(dev, { ttl_s: ttl });
    assert.equal(r.status, 200, r.text);
    const c = claimsOf(r.json.token);
    assert.equal(c.exp - c.iat, ttl);
  }
});

test('bad bodies: 400 bad_request JSON error, nothing minted', async () => {
  const before = minted(dev);
  const bad = [
    'not json', '{', '[]', 'null', '"dev"', '{"sub":"a","sub":"b"}',
    { sub: '' }, { sub: 'a*' }, { sub: 'a b' }, { sub: '${sub}' }, { sub: 'x'.repeat(129) }, { sub: 7 },
    { ttl_s: 0 }, { ttl_s: 86401 }, { ttl_s: -1 }, { ttl_s: 1.5 }, { ttl_s: '60' }, { ttl_s: null },
    { admin: true }, { sub: 'ok', sync: { read: ['*'] } },
  ];
  for (const b of bad) {
    const r = await mint(dev, b);
    assertError(assert, r, 400, 'bad_request', JSON.stringify(b));
    assert.equal(r.json.token, undefined);
    assert.doesNotMatch(r.text, /eyJ/);
  }
  await sleep(50);
  assert.equal(minted(dev), before, 'a bad body minted a token');
});

test('other methods: 405 with Allow: POST', async () => {
  for (const m of ['GET', 'PUT', 'DELETE', 'HEAD']) {
    const r = await request(dev, m, '/v1/dev/token');
    assert.equal(r.status, 405, `${m}: ${r.text}`);
    assert.equal(r.headers.get('allow'), 'POST', m);
    if (m !== 'HEAD') assertError(assert, r, 405, 'method_not_allowed', m);
  }
});

test('auth.mode none with --dev: token null, auth none', async () => {
  const g = await Gateway.start({ redis, node: 'open', args: ['--dev'], env: { SYNCGATE_AUTH_MODE: 'none' } });
  try {
    const r = await mint(g);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { token: null, auth: 'none', dev: true });
    assertError(assert, await mint(g, { ttl_s: 0 }), 400, 'bad_request', 'auth none, bad ttl');
    assert.equal((await request(g, 'GET', '/v1/info')).json.dev, true);
  } finally {
    assertCleanExit(assert, await g.stop());
  }
});

test('SYNCGATE_DEV=1 and {"dev":true} in the config file turn it on too', async () => {
  for (const opts of [{ env: { SYNCGATE_DEV: '1' } }, { config: { dev: true } }]) {
    const g = await Gateway.start({ redis, node: 'dev2', ...opts });
    try {
      const r = await mint(g, { sub: 'bob' });
      assert.equal(r.status, 200, `${JSON.stringify(opts)}: ${r.text}`);
      assert.equal(claimsOf(r.json.token).sub, 'bob');
    } finally {
      assertCleanExit(assert, await g.stop());
    }
  }
});

/** Runs the binary to its exit (10 s at most); {code, out}. */
async function runToExit(args, env) {
  const p = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const killer = setTimeout(() => p.kill('SIGKILL'), 10000);
  const code = await new Promise((r) => p.once('exit', (c) => r(c)));
  clearTimeout(killer);
  return { code, out };
}

test('--dev refuses to start on a bind address that is not loopback', async () => {
  const base = { ...dev.env, SYNCGATE_HTTP_PORT: String(await freePort()), SYNCGATE_WS_PORT: String(await freePort()) };
  for (const [args, env] of [
    [['--dev'], { SYNCGATE_BIND: '0.0.0.0' }],
    [['--dev', '--bind', '0.0.0.0'], {}],
    [[], { SYNCGATE_DEV: '1', SYNCGATE_BIND: '0.0.0.0' }],
    [['--dev'], { SYNCGATE_BIND: '192.168.1.10' }],
  ]) {
    const { code, out } = await runToExit(args, { ...base, ...env });
    assert.notEqual(code, 0, out);
    assert.match(out, /loopback/, out);
    assert.doesNotMatch(out, /ready to serve|http listening/, out);
  }
  // the same bind without dev starts (and is stopped at once)
  const g = await Gateway.start({ redis, node: 'any', env: { SYNCGATE_BIND: '0.0.0.0' } });
  assertCleanExit(assert, await g.stop());
});

// ------------------------------------------------------------ static files

test('static types, no-cache and nosniff, the real web root\'s /syncgate.js as text/javascript', async () => {
  const want = {
    '/': 'text/html; charset=utf-8',
    '/index.html': 'text/html; charset=utf-8',
    '/app.js': 'text/javascript; charset=utf-8',
    '/style.css': 'text/css; charset=utf-8',
    '/logo.svg': 'image/svg+xml',
    '/sub/page.html': 'text/html; charset=utf-8',
  };
  for (const [p, type] of Object.entries(want)) {
    const r = await request(plain, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), type, p);
    assert.equal(r.headers.get('cache-control'), 'no-cache', p);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
  }
  const js = await request(dev, 'GET', '/syncgate.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(js.text, /export class SyncGate\b/);
  // the library's siblings come the same way (it imports them)
  const deps = [...js.text.matchAll(/from '\.\/(syncgate\/[a-z]+\.js)'/g)];
  assert.ok(deps.length >= 5, `the library imports its siblings: ${deps.length}`);
  for (const m of deps) {
    const dep = await request(dev, 'GET', `/${m[1]}`);
    assert.equal(dep.status, 200, m[1]);
    assert.equal(dep.headers.get('content-type'), 'text/javascript; charset=utf-8', m[1]);
  }
  const svg = await request(dev, 'GET', '/favicon.svg');
  assert.equal(svg.status, 200);
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assertError(assert, await request(dev, 'GET', '/favicon.ico'), 404, 'not_found', 'no favicon.ico');
});

test('weak ETag from size and mtime; If-None-Match answers 304 without a body; a change changes it', async () => {
  const f = path.join(site, 'web', 'etag.txt');
  writeFileSync(f, 'one');
  const r = await request(plain, 'GET', '/etag.txt');
  assert.equal(r.status, 200);
  const etag = r.headers.get('etag');
  const st = statSync(f, { bigint: true });
  assert.equal(etag, `W/"${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`);
  for (const inm of [etag, etag.slice(2), `"nope", ${etag}`, '*']) {
    const nm = await rawHttp(plain.httpPort, { path: '/etag.txt', headers: { 'if-none-match': inm } });
    assert.equal(nm.status, 304, inm);
    assert.equal(nm.text, '', inm);
    assert.equal(nm.headers.get('etag'), etag, inm);
    assert.equal(nm.headers.get('cache-control'), 'no-cache', inm);
  }
  const other = await request(plain, 'GET', '/etag.txt', { headers: { 'if-none-match': 'W/"0-0"' } });
  assert.equal(other.status, 200);
  assert.equal(other.text, 'one');
  writeFileSync(f, 'two!');
  const changed = await request(plain, 'GET', '/etag.txt', { headers: { 'if-none-match': etag } });
  assert.equal(changed.status, 200);
  assert.equal(changed.text, 'two!');
  assert.notEqual(changed.headers.get('etag'), etag);
});

test('HEAD answers the GET headers without a body', async () => {
  const g = await request(plain, 'GET', '/app.js');
  const h = await rawHttp(plain.httpPort, { method: 'HEAD', path: '/app.js' });
  assert.equal(h.status, 200);
  assert.equal(h.text, '');
  assert.equal(h.headers.get('content-length'), String(Buffer.byteLength(g.text)));
  assert.equal(h.headers.get('etag'), g.headers.get('etag'));
  assert.equal(h.headers.get('content-type'), 'text/javascript; charset=utf-8');
});

test('no way out of the web root: dots and slashes, plain or encoded, are 404 and never a file', async () => {
  const attempts = [
    '/../secret.txt', '/./../secret.txt', '/sub/../../secret.txt', '/..', '/../',
    '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt',
    '/..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/sub%2f..%2f..%2fsecret.txt',
    '/%252e%252e/secret.txt', '/..%5csecret.txt', '/..\\secret.txt',
    '//etc/passwd', '///etc/passwd', '/%2fetc%2fpasswd', '/%2F%2Fetc/passwd',
    '/../../../../etc/passwd', '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/sub/%2e%2e/%2e%2e/secret.txt', '/secret.txt%00.html', '/index.html%00',
  ];
  for (const p of attempts) {
    const r = await rawHttp(plain.httpPort, { path: p });
    assertError(assert, r, 404, 'not_found', p);
    assert.doesNotMatch(r.text, new RegExp(MARKER), p);
    assert.doesNotMatch(r.text, /root:/, p);
  }
  // the file itself is there, one level up: the refusals are the rule's
  assert.equal((await rawHttp(plain.httpPort, { path: '/sub/page.html' })).status, 200);
});

test('both gateways exit cleanly on SIGTERM (no sanitizer report)', async () => {
  for (const g of [dev, plain]) assertCleanExit(assert, await g.stop());
});
