// The SIGTERM shutdown under valgrind: every part (REST with MHD's libuv
// handles, WebSocket sessions, both Redis connections, the resolver, the
// hub) is torn down while it still has work, and memcheck must see no
// invalid read or write and no definite leak. libuv runs close callbacks in
// reverse uv_close order, so a struct that embeds several handles and is
// freed by the first callback is read after free by the later ones. Those
// reads happen inside libuv, which is not instrumented: the ASan build does
// not see them (checked: with rest_mhd.c freeing its struct in the first
// close callback, 00-startup passes under ASan), valgrind does ("Invalid
// read of size 8 at uv_run ... inside a block free'd", exit 99).
//
// Two shutdowns: a write in flight at SIGTERM that Redis then answers
// within the drain, and one that Redis (paused) never answers, so the drain
// times out and finish() fails the commands while MHD still holds the
// suspended request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  Redis, Gateway, BIN, ROOT, adminToken, sleep, uniqueColl,
} from './lib/harness.mjs';
import { feedClient } from './lib/feed.mjs';

// valgrind cannot run an ASan binary (both replace malloc and claim the
// shadow memory): when SYNCGATE_BIN names a sanitizer build (build-*/, as
// build-address-undefined/syncgate), valgrind runs the normal build,
// build/syncgate from the repo root, instead.
const SANITIZED = /(^|[\\/])build-[^\\/]+[\\/]syncgate$/.test(BIN);
const VG_BIN = SANITIZED ? path.join(ROOT, 'build/syncgate') : BIN;
// no suppressions: on this build the run is clean without any (a
// library's noise, if it ever shows, goes in a documented tests/valgrind.supp)
const VALGRIND = [
  'valgrind', '--error-exitcode=99', '--leak-check=full',
  '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite',
  '--track-origins=no', '--num-callers=30',
];

const T = adminToken('vg');
// no time limit of its own: under valgrind a request may take seconds
const { put, subscribe } = feedClient({ token: T, timeout: 0 });

let redis;
before(async () => {
  execFileSync('valgrind', ['--version']); // fails the suite clearly when absent
  assert.ok(existsSync(VG_BIN), `${VG_BIN} missing: valgrind runs the normal build (make)`);
  redis = await Redis.start();
});
after(async () => { if (redis) await redis.stop(); });

function startUnderValgrind(env = {}) {
  return Gateway.start({
    redis, node: 'vg', bin: VG_BIN, wrap: VALGRIND, readyTimeout: 60000,
    env: { SYNCGATE_SHUTDOWN_TIMEOUT_S: '3', ...env },
    // commands wait long enough to still be in flight at the drain deadline
    config: { redis: { timeout_ms: 30000 } },
  });
}

/** Sockets: three subscribers that got a change, one that only said hello. */
async function openSockets(gw, coll) {
  const subs = [];
  for (let i = 0; i < 3; i++) subs.push((await subscribe(gw, coll)).c);
  const idle = await gw.ws({ token: T });
  await idle.wait('welcome', { timeout: 20000 });
  const w = await put(gw, coll, 'a', { data: { n: 1 } });
  assert.ok(w.status === 200 || w.status === 201, `PUT: ${w.status} ${w.text}`);
  for (const c of subs) await c.wait('change', { timeout: 20000 });
  const g = await gw.req('GET', `/v1/collections/${coll}/docs/a`, { token: T });
  assert.equal(g.status, 200, g.text);
  return [...subs, idle];
}

/** SIGTERM, then the exit (valgrind's leak check at exit is slow). */
async function assertValgrindClean(gw, exit) {
  const r = await exit;
  const report = gw.stderr.slice(-6000);
  assert.equal(r.signal, null, `died by signal ${r.signal}\n${report}`);
  assert.doesNotMatch(gw.stderr, /Invalid (read|write|free)|uninitialised|definitely lost: [1-9]/,
    report);
  assert.equal(r.code, 0, `exit code ${r.code} (99: valgrind found errors)\n${report}`);
  assert.match(gw.stderr, /ERROR SUMMARY: 0 errors/, report);
}

function withDeadline(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(t));
}

test('SIGTERM with sockets open and a write in flight that Redis answers in the drain', async () => {
  const gw = await startUnderValgrind();
  let paused = false;
  try {
    const coll = uniqueColl('vg-drain');
    const sockets = await openSockets(gw, coll);
    redis.signal('SIGSTOP');
    paused = true;
    const inflight = put(gw, coll, 'b', { data: { n: 2 } })
      .catch((e) => ({ status: 0, text: e.message }));
    await sleep(1500); // the write reaches the gateway and waits on Redis
    const stopped = gw.stop({ timeout: 90000 });
    await sleep(300);
    redis.signal('SIGCONT');
    paused = false;
    const w = await withDeadline(inflight, 60000, 'in-flight write');
    assert.ok(w.status === 200 || w.status === 201, `in-flight write: ${w.status} ${w.text}`);
    for (const c of sockets) await withDeadline(c.closed, 60000, 'socket close');
    await assertValgrindClean(gw, stopped);
  } finally {
    if (paused) redis.signal('SIGCONT');
    await gw.kill();
  }
});

test('SIGTERM while Redis never answers: the drain times out with a request suspended', async () => {
  const gw = await startUnderValgrind();
  let paused = false;
  try {
    const coll = uniqueColl('vg-stuck');
    await openSockets(gw, coll);
    redis.signal('SIGSTOP');
    paused = true;
    const inflight = put(gw, coll, 'b', { data: { n: 2 } })
      .catch((e) => ({ status: 0, text: e.message }));
    await sleep(1500);
    const stopped = gw.stop({ timeout: 90000 });
    const w = await withDeadline(inflight, 60000, 'stuck write');
    // finish() fails the command; the answer is resumed and sent before
    // MHD stops (rest_mhd_stop runs the daemon once more)
    assert.equal(w.status, 503, `stuck write: ${w.status} ${w.text}`);
    await assertValgrindClean(gw, stopped);
  } finally {
    if (paused) redis.signal('SIGCONT');
    await gw.kill();
  }
});
