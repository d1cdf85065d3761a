// Startup, health, readiness, info, config printing and clean shutdown.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Redis, Gateway, BIN, assertCleanExit, SECRET } from './lib/harness.mjs';

let redis;
before(async () => { redis = await Redis.start(); });
after(async () => { await redis.stop(); });

test('health, ready and info answer; SIGTERM exits 0', async () => {
  const gw = await Gateway.start({ redis, node: 'n1' });
  const h = await gw.req('GET', '/v1/health');
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  const r = await gw.req('GET', '/v1/ready');
  assert.equal(r.status, 200);
  assert.equal(r.json.ready, true);
  const i = await gw.req('GET', '/v1/info');
  assert.equal(i.status, 200);
  assert.equal(i.json.name, 'syncgate');
  assert.equal(i.json.node, 'n1');
  assert.equal(i.json.auth, 'jwt');
  assert.equal(i.json.ws_url, `ws://127.0.0.1:${gw.wsPort}/v1/ws`);
  assertCleanExit(assert, await gw.stop());
});

test('--print-config hides the secret; --help lists every env var', () => {
  const out = execFileSync(BIN, ['--print-config'], {
    env: { SYNCGATE_JWT_SECRET: SECRET, SYNCGATE_REDIS_URL: 'redis://:hunter2hunter2@127.0.0.1:6379/2' },
  }).toString();
  const cfg = JSON.parse(out);
  assert.equal(cfg['auth.jwt_secret'], '***');
  assert.doesNotMatch(out, /hunter2/);
  assert.doesNotMatch(out, new RegExp(SECRET));
  const help = execFileSync(BIN, ['--help']).toString();
  for (const v of ['SYNCGATE_NODE_ID', 'SYNCGATE_BIND', 'SYNCGATE_HTTP_PORT', 'SYNCGATE_WS_PORT',
    'SYNCGATE_REDIS_URL', 'SYNCGATE_AUTH_MODE', 'SYNCGATE_JWT_SECRET', 'SYNCGATE_JWT_PUBLIC_KEY',
    'SYNCGATE_WEB_ROOT', 'SYNCGATE_LOG_LEVEL']) {
    assert.match(help, new RegExp(v));
  }
});

test('a port already in use stops the start (exit 1), the running gateway is untouched', async () => {
  const { spawn } = await import('node:child_process');
  const gw = await Gateway.start({ redis, node: 'first' });
  for (const clash of [{ SYNCGATE_WS_PORT: String(gw.wsPort) }, { SYNCGATE_HTTP_PORT: String(gw.httpPort) }]) {
    const env = { ...gw.env, ...clash };
    // a free port for the side that does not clash
    const { freePort } = await import('./lib/harness.mjs');
    if (!clash.SYNCGATE_HTTP_PORT) env.SYNCGATE_HTTP_PORT = String(await freePort());
    if (!clash.SYNCGATE_WS_PORT) env.SYNCGATE_WS_PORT = String(await freePort());
    const p = spawn(BIN, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    const killer = setTimeout(() => p.kill('SIGKILL'), 10000);
    const code = await new Promise((r) => p.once('exit', (c) => r(c)));
    clearTimeout(killer);
    assert.equal(code, 1, out);
    assert.match(out, /cannot listen/);
  }
  const i = await gw.req('GET', '/v1/info');
  assert.equal(i.json.node, 'first');
  assertCleanExit(assert, await gw.stop());
});
