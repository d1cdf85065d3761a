// The callback conflict policy (DESIGN sections 4, 10, 11; RELIABILITY D15,
// F11, F12): a concurrent write goes to the collection's resolver, signed;
// the answer is stored with merge(W, S), logged and published once; a write
// that races the stored document is decided again; every failure of the
// resolver gives the fallback within resolver_timeout_ms + 200 ms, counted
// by reason, logged with the request id; nothing invalid is stored; and
// while resolvers hang, everything else goes on at full speed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis, Gateway, ROOT, BIN, assertCleanExit, token, sleep, waitFor, uniqueColl } from './lib/harness.mjs';
import { startResolver, checkSignature } from './lib/resolver.mjs';
import { assertError, readLog, request, parseMetrics } from './lib/rest-helpers.mjs';

const SECRET = 'resolver-secret-for-tests-0123456789-abcdef';
const TOK = token('u', { sync: { read: ['*'], write: ['*'] } });
const TIMEOUT = 500;

let redis;
let r; // the test resolver (modes)
let gw;

before(async () => {
  redis = await Redis.start();
  r = await startResolver({ secret: SECRET });
  gw = await Gateway.start({
    redis,
    env: { SYNCGATE_RESOLVER_SECRET: SECRET, SYNCGATE_RESOLVER_MAX_INFLIGHT: '64' },
    config: {
      collections: [
        { match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: TIMEOUT },
        { match: 'cbr-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: TIMEOUT, fallback: 'reject' },
      ],
    },
  });
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (r) await r.close();
  if (redis) await redis.stop();
});

const docPath = (c, id) => `/v1/collections/${c}/docs/${id}`;
const put = (g, c, id, body, opts = {}) => request(g, 'PUT', docPath(c, id), { token: TOK, body, timeout: 10000, ...opts });

/** Stores {v:'s'} by u:a, then sends a concurrent {v:'i'} by u:b: rule 5. */
async function conflict(g, c, id = 'd', incoming = { v: 'i' }) {
  const s = await put(g, c, id, { data: { v: 's' }, version: { 'u:a': 1 }, actor: 'u:a', timestamp: 1000 });
  assert.equal(s.status, 201, s.text);
  const t0 = Date.now();
  const w = await put(g, c, id, { data: incoming, version: { 'u:b': 1 }, actor: 'u:b', timestamp: 2000 });
  return { w, ms: Date.now() - t0 };
}

async function metrics(g = gw) {
  return parseMetrics((await request(g, 'GET', '/metrics')).text).values;
}

test('the resolver merges two concurrent edits: stored with merge(W, S), logged and published once', async () => {
  const c = uniqueColl('cb-merge');
  r.reset();
  r.mode('fn', { fn: (call) => ({ body: { data: { merged: [call.body.stored.data, call.body.incoming.data] }, deleted: false } }) });
  const ws = await gw.ws({ token: TOK });
  await ws.wait('welcome');
  ws.send({ type: 'subscribe', collection: c });
  await ws.wait('subscribed');
  const before0 = Date.now();
  const { w } = await conflict(gw, c);
  assert.equal(w.status, 200, w.text);
  assert.deepEqual(w.json.conflict, { policy: 'callback', winner: 'resolver' });
  assert.equal(w.json.applied, true);
  assert.deepEqual(w.json.data, { merged: [{ v: 's' }, { v: 'i' }] });
  assert.deepEqual(w.json.version, { 'u:a': 1, 'u:b': 1 }, 'merge(W, S)');
  assert.equal(w.json.actor, 'u:b', 'the writer that caused the conflict');
  assert.ok(w.json.timestamp >= before0 && w.json.timestamp <= Date.now(), 'server time of the resolution');
  assert.equal(w.headers.get('etag'), (await request(gw, 'GET', docPath(c, 'd'), { token: TOK })).headers.get('etag'));
  // the call: one, signed, both versions in full
  assert.equal(r.calls.length, 1);
  const call = r.calls[0];
  assert.deepEqual(call.problems, []);
  assert.ok(call.verified, call.verifyReason);
  assert.equal(call.body.collection, c);
  assert.equal(call.body.id, 'd');
  assert.deepEqual(call.body.stored, { data: { v: 's' }, version: { 'u:a': 1 }, actor: 'u:a', timestamp: 1000, deleted: false });
  assert.deepEqual(call.body.incoming, { data: { v: 'i' }, version: { 'u:b': 1 }, actor: 'u:b', timestamp: 2000, deleted: false });
  // a forged signature would not pass the app's check
  assert.equal(checkSignature('another-secret-of-enough-length-000000', call.headers, call.bytes).ok, false);
  // stored once, logged once, published once
  const log = (await readLog(gw, TOK, c)).changes;
  assert.equal(log.length, 2);
  assert.deepEqual(log[1].data, w.json.data);
  assert.equal(log[1].offset, w.json.offset);
  await waitFor(() => ws.of('change', c).length === 2, { what: '2 changes' });
  await sleep(150);
  assert.equal(ws.of('change', c).length, 2);
  assert.deepEqual(ws.of('change', c)[1].data, w.json.data);
  // a retry of the same write is rule 4 now: no second call, nothing new
  const again = await put(gw, c, 'd', { data: { v: 'i' }, version: { 'u:b': 1 }, actor: 'u:b', timestamp: 2000 });
  assert.equal(again.status, 200);
  assert.equal(again.json.applied, false);
  assert.equal(r.calls.length, 1);
  assert.equal((await readLog(gw, TOK, c)).changes.length, 2);
  ws.close();
});

test('a resolver may answer a tombstone; deletes go to it too', async () => {
  const c = uniqueColl('cb-del');
  r.mode('answer', { body: '{"deleted":true}' });
  const { w } = await conflict(gw, c);
  assert.equal(w.status, 200, w.text);
  assert.equal(w.json.deleted, true);
  assert.equal(w.json.data, null);
  assert.equal((await request(gw, 'GET', docPath(c, 'd'), { token: TOK })).status, 404);
  // a concurrent delete against a live document: the resolver brings it back
  r.mode('answer', { body: '{"data":{"back":true},"deleted":false}' });
  r.reset();
  await put(gw, c, 'd2', { data: 1, version: { 'u:a': 1 }, actor: 'u:a' });
  const del = await request(gw, 'DELETE', docPath(c, 'd2'), { token: TOK, body: { version: { 'u:b': 1 }, actor: 'u:b' } });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.json.deleted, false);
  assert.deepEqual(del.json.data, { back: true });
  assert.equal(r.calls.at(-1).body.incoming.deleted, true);
  assert.equal(r.calls.at(-1).body.incoming.data, null);
});

const failures = [
  ['down (port closed)', 'unreachable', async () => ({ url: `http://127.0.0.1:${await closedPort()}/resolve` })],
  ['slower than the timeout', 'timeout', () => r.mode('hang')],
  ['HTTP 500', 'http_status', () => r.mode('status', { code: 500 })],
  ['invalid JSON', 'invalid_json', () => r.mode('garbage')],
  ['a 10 MiB body', 'body_too_large', () => r.mode('huge')],
  ['extra fields', 'bad_answer', () => r.mode('extra')],
  ['data over the 512 KiB document limit', 'too_large', () => r.mode('bigdata')],
  ['a 204 without a body', 'invalid_json', () => r.mode('fn', { fn: () => ({ status: 204, body: '' }) })],
  ['closes the connection', 'unreachable', () => r.mode('close')],
];

async function closedPort() {
  const s = net.createServer();
  await new Promise((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address();
  await new Promise((res) => s.close(res));
  return port;
}

test('every resolver failure gives the fallback within resolver_timeout_ms + 200 ms, by reason', async () => {
  for (const [what, reason, setup] of failures) {
    const alt = await setup();
    let g = gw;
    if (alt) {
      g = await Gateway.start({
        redis, node: 'down', env: { SYNCGATE_RESOLVER_SECRET: SECRET },
        config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: alt.url, resolver_timeout_ms: TIMEOUT }] },
      });
    }
    try {
      const m0 = await metrics(g);
      const c = uniqueColl('cb-fail');
      const { w, ms } = await conflict(g, c);
      assert.equal(w.status, 200, `${what}: ${w.text}`);
      assert.deepEqual(w.json.conflict, { policy: 'callback', winner: 'incoming', fallback: 'lww', reason }, what);
      assert.ok(ms < TIMEOUT + 200, `${what}: answered in ${ms} ms`);
      // what lww decided is what is stored; nothing of the bad answer
      const stored = (await request(g, 'GET', docPath(c, 'd'), { token: TOK })).json;
      assert.deepEqual(stored.data, { v: 'i' }, what);
      assert.deepEqual(stored.version, { 'u:a': 1, 'u:b': 1 });
      const m1 = await metrics(g);
      const key = `syncgate_resolver_fallbacks_total{reason="${reason}"}`;
      assert.equal(m1.get(key) - m0.get(key), 1, `${what}: ${key}`);
      const reqId = w.headers.get('x-request-id');
      assert.ok(g.logLines().some((l) => l.req === reqId && l.msg.includes(reason)), `${what}: logged with ${reqId}`);
      assert.equal((await request(g, 'GET', '/v1/ready')).status, 200, `${what}: still ready`);
    } finally {
      if (g !== gw) assertCleanExit(assert, await g.stop());
    }
  }
  r.mode('merge');
});

test('a 302 is never followed: no connection reaches its target', async () => {
  let hits = 0;
  const target = net.createServer((s) => { hits++; s.destroy(); });
  await new Promise((res) => target.listen(0, '127.0.0.1', res));
  r.mode('redirect', { location: `http://127.0.0.1:${target.address().port}/resolve` });
  const { w, ms } = await conflict(gw, uniqueColl('cb-302'));
  assert.equal(w.json.conflict.reason, 'http_status', w.text);
  assert.ok(ms < TIMEOUT + 200);
  await sleep(200);
  assert.equal(hits, 0, 'the redirect target saw no connection');
  await new Promise((res) => target.close(res));
  r.mode('merge');
});

test('fallback reject: 409 with the stored document and the reason', async () => {
  r.mode('status', { code: 503 });
  const c = uniqueColl('cbr-rej');
  const { w } = await conflict(gw, c);
  assertError(assert, w, 409, 'conflict');
  assert.deepEqual(w.json.conflict, { policy: 'callback', winner: 'stored', fallback: 'reject', reason: 'http_status' });
  assert.deepEqual(w.json.stored.data, { v: 's' });
  assert.deepEqual((await request(gw, 'GET', docPath(c, 'd'), { token: TOK })).json.data, { v: 's' }, 'nothing changed');
  assert.equal((await readLog(gw, TOK, c)).changes.length, 1);
  r.mode('merge');
});

test('past resolver.max_inflight: the fallback at once, reason overloaded', async () => {
  const g = await Gateway.start({
    redis, node: 'small', env: { SYNCGATE_RESOLVER_SECRET: SECRET, SYNCGATE_RESOLVER_MAX_INFLIGHT: '2' },
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: TIMEOUT }] },
  });
  try {
    r.mode('hang');
    const c = uniqueColl('cb-over');
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) await put(g, c, id, { data: 1, version: { 'u:a': 1 }, actor: 'u:a' });
    const t0 = Date.now();
    const rs = await Promise.all(ids.map(async (id) => {
      const x = await put(g, c, id, { data: 2, version: { 'u:b': 1 }, actor: 'u:b' });
      return { reason: x.json.conflict.reason, ms: Date.now() - t0 };
    }));
    const over = rs.filter((x) => x.reason === 'overloaded');
    const slow = rs.filter((x) => x.reason === 'timeout');
    assert.equal(over.length, 3, JSON.stringify(rs));
    assert.equal(slow.length, 2, JSON.stringify(rs));
    for (const x of over) assert.ok(x.ms < 200, `overloaded answers at once: ${x.ms}`);
    const m = await metrics(g);
    assert.equal(m.get('syncgate_resolver_fallbacks_total{reason="overloaded"}'), 3);
    assert.equal(m.get('syncgate_resolver_calls_in_flight'), 0);
  } finally {
    r.mode('merge');
    assertCleanExit(assert, await g.stop());
  }
});

test('writes waiting for their documents are bounded (limits.writes_waiting): 429 past it', async () => {
  const g = await Gateway.start({
    redis, node: 'queue', env: { SYNCGATE_RESOLVER_SECRET: SECRET, SYNCGATE_LIMIT_WRITES_WAITING: '2' },
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: 1500 }] },
  });
  try {
    r.mode('hang');
    const c = uniqueColl('cb-queue');
    await put(g, c, 'd', { data: 0, version: { 'u:a': 1 }, actor: 'u:a' });
    // the first conflicting write holds the document (its resolver hangs),
    // two wait behind it, the fourth is refused at once
    const held = put(g, c, 'd', { data: 1, version: { 'u:b': 1 }, actor: 'u:b' });
    await waitFor(async () => (await metrics(g)).get('syncgate_resolver_calls_in_flight') === 1, { what: 'the call' });
    const waiting = [2, 3].map((k) => put(g, c, 'd', { data: k, version: { [`u:w${k}`]: 1 }, actor: `u:w${k}` }));
    await waitFor(async () => (await metrics(g)).get('syncgate_write_waits_total') === 2, { what: 'two waiting' });
    const t0 = Date.now();
    const over = await put(g, c, 'd', { data: 4, version: { 'u:w4': 1 }, actor: 'u:w4' });
    assertError(assert, over, 429, 'rate_limited');
    assert.ok(Date.now() - t0 < 300, 'refused at once');
    // another document is not held: it goes through
    const other = await put(g, c, 'free', { data: 1 });
    assert.equal(other.status, 201, other.text);
    for (const x of [await held, ...(await Promise.all(waiting))]) assert.equal(x.json.conflict.reason, 'timeout', x.text);
  } finally {
    r.mode('merge');
    assertCleanExit(assert, await g.stop());
  }
});

test('connections to a resolver are reused (keep-alive)', async () => {
  r.mode('merge');
  const c0 = r.connections;
  const c = uniqueColl('cb-keep');
  for (let i = 0; i < 20; i++) {
    const { w } = await conflict(gw, c, `k${i}`);
    assert.equal(w.json.conflict.winner, 'resolver', w.text);
  }
  assert.ok(r.connections - c0 <= 2, `20 calls over ${r.connections - c0} connections`);
});

/** RELIABILITY F11: 200 conflicting writes (40 documents x 5 writers at
 * once) through g, each answered in time with the fallback for reason. */
async function twoHundredConflicts(g, reason) {
  const c = uniqueColl('cb-f11');
  const ids = Array.from({ length: 40 }, (_, i) => `f${i}`);
  for (const id of ids) await put(g, c, id, { data: 0, version: { 'u:a': 1 }, actor: 'u:a' });
  const t0 = Date.now();
  const rs = await Promise.all(ids.flatMap((id) => [1, 2, 3, 4, 5].map(async (k) => {
    const x = await put(g, c, id, { data: k, version: { [`u:w${k}`]: 1 }, actor: `u:w${k}` });
    return { status: x.status, reason: x.json?.conflict?.reason, ms: Date.now() - t0, text: x.text };
  })));
  assert.equal(rs.length, 200);
  for (const x of rs) {
    assert.equal(x.status, 200, x.text);
    assert.equal(x.reason, reason, x.text);
    assert.ok(x.ms < TIMEOUT + 200 + 300, `answered after ${x.ms} ms`);
  }
  assert.equal((await request(g, 'GET', '/v1/ready')).status, 200);
  assert.equal((await metrics(g)).get('syncgate_resolver_calls_in_flight'), 0, 'no call left behind');
}

test('200 conflicting writes while the resolver hangs, then while it is down: each answers in time', async () => {
  r.mode('hang');
  try {
    await twoHundredConflicts(gw, 'timeout');
  } finally {
    r.mode('merge');
  }
  const down = await Gateway.start({
    redis, node: 'f11-down', env: { SYNCGATE_RESOLVER_SECRET: SECRET },
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: `http://127.0.0.1:${await closedPort()}/resolve`, resolver_timeout_ms: TIMEOUT }] },
  });
  try {
    await twoHundredConflicts(down, 'unreachable');
  } finally {
    assertCleanExit(assert, await down.stop());
  }
});

test('while 50 resolver calls hang, other collections flow at full speed over REST and WebSocket', async () => {
  // a gateway whose resolver budget outlasts the measurement
  const g = await Gateway.start({
    redis, node: 'long', env: { SYNCGATE_RESOLVER_SECRET: SECRET, SYNCGATE_LOG_LEVEL: 'warn' },
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: 8000 }] },
  });
  const sub = await g.ws({ token: TOK });
  try {
    await sub.wait('welcome');
    const other = uniqueColl('plain');
    sub.send({ type: 'subscribe', collection: other });
    await sub.wait('subscribed');
    // write to another collection, wait for its delivery on the socket
    async function probe(n) {
      const lat = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        const before1 = sub.of('change', other).length;
        const x = await put(g, other, `p${i % 5}`, { data: { i, t } });
        assert.ok(x.status === 200 || x.status === 201, x.text);
        await waitFor(() => sub.of('change', other).length > before1, { interval: 1, what: 'delivery' });
        lat.push(performance.now() - t);
      }
      return lat.sort((x, y) => x - y);
    }
    const base = await probe(30);
    const c = uniqueColl('cb-hang50');
    const ids = Array.from({ length: 50 }, (_, i) => `h${i}`);
    for (const id of ids) await put(g, c, id, { data: 0, version: { 'u:a': 1 }, actor: 'u:a' });
    r.mode('hang');
    const hanging = ids.map((id) => put(g, c, id, { data: 1, version: { 'u:b': 1 }, actor: 'u:b' }, { timeout: 20000 }));
    await waitFor(async () => (await metrics(g)).get('syncgate_resolver_calls_in_flight') === 50, { what: '50 calls in flight' });
    const during = await probe(30);
    assert.equal((await metrics(g)).get('syncgate_resolver_calls_in_flight'), 50, 'still hanging while measured');
    const p = (a, q) => a[Math.min(a.length - 1, Math.floor(a.length * q))];
    assert.ok(p(during, 0.9) < p(base, 0.9) + 25, `p90 ${p(during, 0.9).toFixed(1)} ms vs ${p(base, 0.9).toFixed(1)} ms without`);
    assert.equal((await request(g, 'GET', '/v1/ready')).status, 200);
    const rs = await Promise.all(hanging);
    for (const x of rs) assert.equal(x.json.conflict.reason, 'timeout', x.text);
  } finally {
    r.mode('merge');
    sub.close();
    assertCleanExit(assert, await g.stop());
  }
});

/** Starts the example resolver as a real process on a free port. */
async function startCartResolver() {
  const proc = spawn(process.execPath, [path.join(ROOT, 'examples/cart-resolver/server.mjs')], {
    env: { PATH: process.env.PATH, SYNCGATE_RESOLVER_SECRET: SECRET, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`cart resolver did not start: ${out}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\d+)/);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => reject(new Error(`cart resolver exited ${code}: ${out}`)));
  });
  return {
    proc, port, url: `http://127.0.0.1:${port}/resolve`,
    stop: () => new Promise((res) => { proc.once('exit', res); proc.kill('SIGTERM'); }),
  };
}

/**
 * Writers add their own item to a cart, read-modify-write from their last
 * read; resolutions merge. Returns the history.
 */
async function cartWriters(gws, c, W, N) {
  const history = [];
  await Promise.all(Array.from({ length: W }, async (_, w) => {
    const actor = `u:w${w}`;
    const g = gws[w % gws.length];
    for (let i = 0; i < N; i++) {
      const cur = await request(g, 'GET', docPath(c, 'cart'), { token: TOK });
      const base = cur.status === 200 ? cur.json : { data: { items: {} }, version: {} };
      const items = { ...base.data.items, [`w${w}-${i}`]: { qty: 1 } };
      const v = { ...base.version, [actor]: (base.version[actor] || 0) + 1 };
      const x = await put(g, c, 'cart', { data: { items }, version: v, actor });
      history.push({ sku: `w${w}-${i}`, W: v, status: x.status, json: x.json, text: x.text });
    }
  }));
  return history;
}

test('D15 with the example cart resolver, one gateway: every acknowledged item is in the cart', async () => {
  const cart = await startCartResolver();
  const g = await Gateway.start({
    redis, node: 'cart', env: { SYNCGATE_RESOLVER_SECRET: SECRET },
    config: { collections: [{ match: 'carts*', conflict: 'callback', resolver_url: cart.url, resolver_timeout_ms: 5000 }] },
  });
  try {
    const c = uniqueColl('carts');
    const history = await cartWriters([g], c, 4, 10);
    assert.deepEqual(history.filter((h) => h.status !== 200 && h.status !== 201).map((h) => h.text), []);
    const resolved = history.filter((h) => h.json.conflict);
    assert.ok(resolved.length > 0, 'the writers conflicted');
    for (const h of resolved) assert.equal(h.json.conflict.winner, 'resolver', h.text);
    const final = (await request(g, 'GET', docPath(c, 'cart'), { token: TOK })).json;
    for (const h of history) assert.ok(final.data.items[h.sku], `item ${h.sku} is in the cart`);
    assert.equal(Object.keys(final.data.items).length, 40);
    for (const h of history) for (const [k, n] of Object.entries(h.W)) assert.ok(final.version[k] >= n);
  } finally {
    assertCleanExit(assert, await g.stop());
    await cart.stop();
  }
});

test('D15: four writers race through two gateways while the resolver is slow; answers stored only on the state they were asked about', async () => {
  const slow = await startResolver({ secret: SECRET });
  const merge = (s, i) => {
    const a = s && !s.deleted ? s.data.items : {};
    const b = i && !i.deleted ? i.data.items : {};
    return { items: { ...a, ...b } };
  };
  slow.mode('fn', { fn: async (call) => { await sleep(100); return { body: { data: merge(call.body.stored, call.body.incoming), deleted: false } }; } });
  const cfg = { collections: [{ match: 'carts*', conflict: 'callback', resolver_url: slow.url, resolver_timeout_ms: 5000 }] };
  const ga = await Gateway.start({ redis, node: 'ra', env: { SYNCGATE_RESOLVER_SECRET: SECRET }, config: cfg });
  const gb = await Gateway.start({ redis, node: 'rb', env: { SYNCGATE_RESOLVER_SECRET: SECRET }, config: cfg });
  try {
    const c = uniqueColl('carts-race');
    const rounds0 = (await metrics(ga)).get('syncgate_write_rounds_total') + (await metrics(gb)).get('syncgate_write_rounds_total');
    const history = await cartWriters([ga, gb], c, 4, 8);
    assert.deepEqual(history.filter((h) => h.status !== 200 && h.status !== 201).map((h) => h.text), []);
    const rounds = (await metrics(ga)).get('syncgate_write_rounds_total') + (await metrics(gb)).get('syncgate_write_rounds_total') - rounds0;
    assert.ok(rounds > 0, 'the stored document changed under a resolution at least once');
    // bounded: at most 3 resolver calls per conflicting write
    const conflicting = history.filter((h) => h.json.conflict).length;
    assert.ok(slow.calls.length <= 3 * conflicting, `${slow.calls.length} calls for ${conflicting} conflicts`);
    for (const h of history) {
      if (h.json.conflict && h.json.conflict.fallback) assert.equal(h.json.conflict.reason, 'contention', h.text);
    }
    // R6: every applied write once in the log, versions growing, converged
    const log = (await readLog(ga, TOK, c)).changes;
    const offs = new Set(log.map((d) => d.offset));
    for (const h of history.filter((x) => x.json.applied)) {
      assert.ok(offs.delete(h.json.offset), `applied ${h.json.offset} in the log once`);
    }
    for (let k = 1; k < log.length; k++) {
      const a = log[k].version;
      const b = log[k - 1].version;
      assert.ok(Object.entries(b).every(([x, n]) => (a[x] || 0) >= n), 'log versions grow');
    }
    const fa = await request(ga, 'GET', docPath(c, 'cart'), { token: TOK });
    const fb = await request(gb, 'GET', docPath(c, 'cart'), { token: TOK });
    assert.equal(fa.text, fb.text, 'both gateways read the same cart');
    for (const h of history) for (const [k, n] of Object.entries(h.W)) assert.ok(fa.json.version[k] >= n, 'acknowledged versions covered');
    // the final state is what its last change stored; when that change
    // settled a conflict through the resolver, it is the resolver's answer
    // to exactly that stored state (the trail holds the answer)
    const trail = (await request(ga, 'GET', `/v1/collections/${c}/conflicts?limit=1000`, { token: TOK })).json.conflicts;
    const last = trail.find((e) => e.offset === fa.json.offset);
    if (last && last.winner === 'resolver') {
      assert.deepEqual(fa.json.data, last.resolver.answer.data);
      assert.deepEqual(last.resolver.answer.data, merge(last.stored, last.incoming), 'the answer to the state it was asked about');
    }
    for (const e of trail.filter((x) => x.winner === 'resolver')) {
      assert.deepEqual(e.resolver.answer.data, merge(e.stored, e.incoming), `resolution at ${e.offset} merged what was stored then`);
      const d = log.find((x) => x.offset === e.offset);
      assert.ok(d, `resolution ${e.offset} is a change`);
      assert.deepEqual(d.data, e.resolver.answer.data);
    }
  } finally {
    assertCleanExit(assert, await ga.stop());
    assertCleanExit(assert, await gb.stop());
    await slow.close();
  }
});

test('SIGTERM while resolver calls hang: the writes take the fallback and answer, the gateway exits 0 at once', async () => {
  const g = await Gateway.start({
    redis, node: 'term', env: { SYNCGATE_RESOLVER_SECRET: SECRET },
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: 60000 }] },
  });
  r.mode('hang');
  const c = uniqueColl('cb-term');
  try {
    for (let i = 0; i < 5; i++) await put(g, c, `d${i}`, { data: 1, version: { 'u:a': 1 }, actor: 'u:a' });
    const calls0 = r.calls.length;
    const pending = Array.from({ length: 5 }, (_, i) => put(g, c, `d${i}`, { data: 2, version: { 'u:b': 1 }, actor: 'u:b' }, { timeout: 20000 }));
    // and one queued behind d0's hanging call
    pending.push(put(g, c, 'd0', { data: 3, version: { 'u:c': 1 }, actor: 'u:c' }, { timeout: 20000 }));
    await r.waitCalls(calls0 + 5);
    const t0 = Date.now();
    const stopped = g.stop();
    const rs = await Promise.all(pending);
    for (const x of rs) {
      assert.equal(x.status, 200, x.text);
      assert.equal(x.json.conflict.fallback, 'lww', x.text);
      assert.equal(x.json.conflict.reason, 'error', x.text);
    }
    assertCleanExit(assert, await stopped);
    assert.ok(Date.now() - t0 < 3000, `drained in ${Date.now() - t0} ms, not after the resolver timeout`);
  } finally {
    r.mode('merge');
    if (g.proc.exitCode === null && g.proc.signalCode === null) await g.kill();
  }
});

test('a callback collection without its secret, or with a non-http URL, refuses to start', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-cb-cfg-'));
  try {
    for (const [what, env, collections, says] of [
      ['no secret', {}, [{ match: 'x', conflict: 'callback', resolver_url: 'http://127.0.0.1:9/r' }], /SYNCGATE_RESOLVER_SECRET \(at least 32 bytes\)/],
      ['short secret', { SYNCGATE_RESOLVER_SECRET: 'short' }, [{ match: 'x', conflict: 'callback', resolver_url: 'http://127.0.0.1:9/r' }], /at least 32 bytes/],
      ['its own variable unset', { SYNCGATE_RESOLVER_SECRET: SECRET }, [{ match: 'x', conflict: 'callback', resolver_url: 'http://127.0.0.1:9/r', resolver_secret_env: 'CART_SECRET' }], /CART_SECRET/],
      ['no URL', { SYNCGATE_RESOLVER_SECRET: SECRET }, [{ match: 'x', conflict: 'callback' }], /needs resolver_url/],
      ['file URL', { SYNCGATE_RESOLVER_SECRET: SECRET }, [{ match: 'x', conflict: 'callback', resolver_url: 'file:///etc/passwd' }], /resolver_url: an http/],
      ['ftp URL', { SYNCGATE_RESOLVER_SECRET: SECRET }, [{ match: 'x', conflict: 'callback', resolver_url: 'ftp://127.0.0.1/r' }], /resolver_url: an http/],
    ]) {
      const f = path.join(dir, 'c.json');
      writeFileSync(f, JSON.stringify({ collections }));
      const res = spawnSync(BIN, ['--config', f], {
        env: { PATH: process.env.PATH, SYNCGATE_JWT_SECRET: 'x'.repeat(40), SYNCGATE_REDIS_URL: redis.url, ...env },
        timeout: 10000, encoding: 'utf8',
      });
      assert.equal(res.status, 2, `${what}: exit code (${res.stderr})`);
      assert.match(res.stderr, says, what);
      assert.doesNotMatch(res.stderr, /short/, `${what}: the secret is never printed`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
  gw = null;
});
