// `make run` keeps its state: scripts/run-dev.sh (what make run starts
// after building) keeps its private Redis's data (AOF) and the HS256
// secret in its dev folder, so that after a stop (SIGTERM to its process
// group, as Ctrl-C does) and a start a document written before is still
// there and tokens minted before (the token file's and the dev endpoint's)
// are still accepted; with --reset (make run-reset) the store is empty and
// the secret new, so the old tokens fail. Everything on free ports, the
// dev folder a temp dir (SYNCGATE_DEV_DIR).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ROOT, freePort, waitFor } from './lib/harness.mjs';

let dir;
let env;
let http;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sg-rundev-'));
  const [h, w, r, c] = [await freePort(), await freePort(), await freePort(), await freePort()];
  http = `http://127.0.0.1:${h}`;
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME || dir,
    SYNCGATE_BIN: BIN,
    SYNCGATE_DEV_DIR: path.join(dir, 'dev'),
    SYNCGATE_HTTP_PORT: String(h),
    SYNCGATE_WS_PORT: String(w),
    SYNCGATE_DEV_REDIS_PORT: String(r),
    SYNCGATE_DEV_RESOLVER_PORT: String(c),
    ASAN_OPTIONS: 'detect_leaks=1:exitcode=23',
    LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'tests/lsan.supp')}:print_suppressions=0`,
  };
});

after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const groupAlive = (pid) => {
  try { process.kill(-pid, 0); return true; } catch { return false; }
};

/** Starts scripts/run-dev.sh in its own process group; resolves when ready. */
async function start(args = []) {
  const p = spawn('sh', [path.join(ROOT, 'scripts/run-dev.sh'), ...args], {
    env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.out = '';
  p.stdout.on('data', (b) => { p.out += b; });
  p.stderr.on('data', (b) => { p.out += b; });
  p.exited = new Promise((r) => p.once('exit', (code, signal) => r({ code, signal })));
  try {
    await waitFor(async () => p.exitCode === null && (await fetch(`${http}/v1/ready`)).status === 200,
      { timeout: 30000, what: 'make run ready' });
  } catch (e) {
    await stop(p).catch(() => {});
    throw new Error(`${e.message}\n${p.out}`);
  }
  return p;
}

/** SIGTERM to the process group (as Ctrl-C in a terminal); all of it exits. */
async function stop(p) {
  if (groupAlive(p.pid)) process.kill(-p.pid, 'SIGTERM');
  const r = await p.exited;
  await waitFor(() => !groupAlive(p.pid), { timeout: 15000, what: 'the process group gone' });
  assert.equal(r.code, 0, `run-dev exit ${JSON.stringify(r)}\n${p.out}`);
  assert.match(p.out, /syncgate dev: stopped/);
  return r;
}

const req = async (method, p, token, body) => {
  const res = await fetch(`${http}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
};

const devDir = () => env.SYNCGATE_DEV_DIR;
const read = (f) => readFileSync(path.join(devDir(), f), 'utf8').trim();

test('a restart keeps documents and tokens; --reset gives an empty store and a new secret', { timeout: 120000 }, async () => {
  // first start: a fresh folder
  let p = await start();
  const secret1 = read('token-secret');
  assert.match(secret1, /^[0-9a-f]{64}$/);
  assert.equal(statSync(path.join(devDir(), 'token-secret')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(devDir(), 'token')).mode & 0o777, 0o600);
  assert.match(p.out, /data kept in .*\/redis/);
  const fileToken = read('token');
  const minted = await req('POST', '/v1/dev/token', null, { sub: 'alice', ttl_s: 3600 });
  assert.equal(minted.status, 200, minted.text);
  const pageToken = minted.json.token; // what an open demo page holds
  const put = await req('PUT', '/v1/collections/todos/docs/kept', fileToken, { data: { title: 'milk' } });
  assert.equal(put.status, 201, put.text);
  const put2 = await req('PUT', '/v1/collections/notes/docs/n1', pageToken, { data: 'from a page' });
  assert.equal(put2.status, 201, put2.text);
  await stop(p);
  assert.equal((await fetch(`${http}/v1/health`).catch(() => null)), null, 'the gateway is gone');

  // second start: the same secret, the documents and the old tokens
  p = await start();
  assert.equal(read('token-secret'), secret1);
  for (const tok of [fileToken, pageToken, read('token')]) {
    const g = await req('GET', '/v1/collections/todos/docs/kept', tok);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.json.data, { title: 'milk' });
  }
  const n = await req('GET', '/v1/collections/notes/docs/n1', pageToken);
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.data, 'from a page');
  // and writes go on on top of the kept version
  const again = await req('PUT', '/v1/collections/todos/docs/kept', fileToken,
    { data: { title: 'oat milk' }, version: { dev: 2 } });
  assert.equal(again.status, 200, again.text);
  await stop(p);

  // make run-reset: wiped; the old tokens are refused (bad signature)
  p = await start(['--reset']);
  assert.match(p.out, /wiped/);
  const secret2 = read('token-secret');
  assert.match(secret2, /^[0-9a-f]{64}$/);
  assert.notEqual(secret2, secret1);
  for (const tok of [fileToken, pageToken]) {
    const g = await req('GET', '/v1/collections/todos/docs/kept', tok);
    assert.equal(g.status, 401, g.text);
  }
  const fresh = read('token');
  assert.notEqual(fresh, fileToken);
  const g = await req('GET', '/v1/collections/todos/docs/kept', fresh);
  assert.equal(g.status, 404, g.text);
  const list = await req('GET', '/v1/collections/todos/docs', fresh);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.json.docs, []);
  await stop(p);
});

test('make run-reset is make run with --reset; a bad argument is refused', () => {
  const n = spawnSync('make', ['-n', '--no-print-directory', 'run-reset'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(n.status, 0, n.stderr);
  assert.match(n.stdout, /sh scripts\/run-dev\.sh --reset/);
  const bad = spawnSync('sh', [path.join(ROOT, 'scripts/run-dev.sh'), '--bogus'], { env, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /usage: .*run-dev\.sh \[--reset\]/);
});
