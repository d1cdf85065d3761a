// syncgate --health: the container health check. One GET of /v1/health on
// the configured listener; exit 0 on 200, 1 on anything else, within the
// probe's 2 s timeout, with one line saying why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis, Gateway, BIN, freePort } from './lib/harness.mjs';

let redis;
let gw;
const dir = mkdtempSync(path.join(tmpdir(), 'sg-health-'));

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'gw-health' });
});

after(async () => {
  if (gw) await gw.stop();
  if (redis) await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs syncgate --health with env and args; { code, out, err, ms }. */
function probe(env, args = []) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ['--health', ...args], {
      env: { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const kill = setTimeout(() => p.kill('SIGKILL'), 10000);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({ code, signal, out, err, ms: Date.now() - t0 });
    });
  });
}

test('exit 0 against a running gateway (port from the environment)', async () => {
  const r = await probe({ SYNCGATE_BIND: '127.0.0.1', SYNCGATE_HTTP_PORT: String(gw.httpPort) });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`healthy: 200 from http://127\\.0\\.0\\.1:${gw.httpPort}/v1/health`));
});

test('the port comes from the config file too; bind 0.0.0.0 is probed on loopback', async () => {
  const f = path.join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ bind: '0.0.0.0', http_port: gw.httpPort }));
  const r = await probe({}, ['--config', f]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${gw.httpPort}/`));
  const viaEnv = await probe({ SYNCGATE_CONFIG: f });
  assert.equal(viaEnv.code, 0, viaEnv.err);
});

test('exit 1 when nothing listens', async () => {
  const port = await freePort();
  const r = await probe({ SYNCGATE_BIND: '127.0.0.1', SYNCGATE_HTTP_PORT: String(port) });
  assert.equal(r.code, 1);
  assert.match(r.err, /unhealthy: no answer from http:\/\/127\.0\.0\.1:\d+\/v1\/health/);
  assert.equal(r.out, '');
});

test('exit 1 on a status other than 200', async () => {
  const srv = http.createServer((q, s) => { s.writeHead(q.url === '/v1/health' ? 503 : 200); s.end('{}'); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const r = await probe({ SYNCGATE_BIND: '127.0.0.1', SYNCGATE_HTTP_PORT: String(srv.address().port) });
    assert.equal(r.code, 1);
    assert.match(r.err, /unhealthy: 503 from/);
  } finally {
    srv.close();
  }
});

test('exit 1 within the timeout when the listener accepts and never answers', async () => {
  const held = [];
  const srv = net.createServer((c) => held.push(c));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const r = await probe({ SYNCGATE_BIND: '127.0.0.1', SYNCGATE_HTTP_PORT: String(srv.address().port) });
    assert.equal(r.code, 1);
    assert.match(r.err, /unhealthy: no answer/);
    assert.ok(r.ms < 5000, `gave up after ${r.ms} ms`);
  } finally {
    for (const c of held) c.destroy();
    srv.close();
  }
});

test('exit 1 (not 2, which Docker reserves) with a clear message on a bad configuration', async () => {
  const r = await probe({ SYNCGATE_HTTP_PORT: 'eighty' });
  assert.equal(r.code, 1);
  assert.match(r.err, /syncgate --health: .*http_port/i);
  const other = await probe({}, ['--print-config']);
  assert.equal(other.code, 1);
  assert.match(other.err, /takes no other action flag/);
});
