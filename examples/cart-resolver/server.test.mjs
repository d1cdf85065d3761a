// server.mjs as a real process: start-up line, signature and timestamp
// checks, replay refusal, the merge answer, errors, log lines, SIGTERM.
// Requests are signed here per the wire contract. Run: node --test examples/cart-resolver/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, 'server.mjs');
const SECRET = 'cart-resolver-test-secret-0123456789abcdef';

/** Starts server.mjs with env; resolves once it printed "listening on <port>". */
function startServer(env = {}) {
  const all = { PATH: process.env.PATH, SYNCGATE_RESOLVER_SECRET: SECRET, PORT: '0', ...env };
  const proc = spawn(process.execPath, [SERVER], {
    env: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const s = { proc, out: '', err: '' };
  s.exit = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.stdout.on('data', (d) => { s.out += d; });
  proc.stderr.on('data', (d) => { s.err += d; });
  s.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within 5 s: ${s.out} ${s.err}`)), 5000);
    proc.stdout.on('data', () => {
      const m = /^listening on (\d+)$/m.exec(s.out);
      if (m) { clearTimeout(timer); s.port = Number(m[1]); resolve(s); }
    });
    s.exit.then((r) => { clearTimeout(timer); reject(new Error(`exited ${JSON.stringify(r)}: ${s.err}`)); });
  });
  s.ready.catch(() => {});
  return s;
}

async function stopServer(s) {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return s.exit;
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 5000);
  const r = await s.exit;
  clearTimeout(t);
  return r;
}

let srv;
before(async () => { srv = await startServer().ready; });
after(async () => { if (srv) await stopServer(srv); });

const nowS = () => Math.floor(Date.now() / 1000);
const cartDoc = (items, o = {}) => ({
  data: { items }, version: { 'alice:phone': 2 }, actor: 'alice:phone', timestamp: 1764150000123, deleted: false, ...o,
});

/** POSTs a body signed per the contract; options tamper with it. */
async function call(body, { secret = SECRET, ts = nowS(), id, raw, headers = {}, p = '/resolve', method = 'POST' } = {}) {
  const rid = id ?? randomBytes(16).toString('hex');
  const bytes = raw ?? JSON.stringify({ request_id: rid, collection: 'carts', id: 'c1', ...body });
  const sig = createHmac('sha256', secret).update(`${ts}.${bytes}`).digest('hex');
  const res = await fetch(`http://127.0.0.1:${srv.port}${p}`, {
    method,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'syncgate/test',
      'x-syncgate-request-id': rid,
      'x-syncgate-timestamp': String(ts),
      'x-syncgate-signature': `v1=${sig}`,
      ...headers,
    },
    body: method === 'GET' ? undefined : bytes,
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, id: rid };
}

const conflict = () => ({
  stored: cartDoc({ mug: { qty: 1 }, tea: { qty: 2 } }),
  incoming: cartDoc({ mug: { qty: 3 } }, { actor: 'bob:web', version: { 'bob:web': 1, 'alice:phone': 1 }, timestamp: 1764150000456 }),
});

/** The JSON log lines printed so far. */
const logLines = () => srv.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

test('a signed call is merged and answered {data, deleted}; one log line per call', async () => {
  const r = await call(conflict());
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { data: { items: { mug: { qty: 3 }, tea: { qty: 2 } } }, deleted: false });
  const deadline = Date.now() + 2000;
  while (!logLines().some((l) => l.request_id === r.id) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  const line = logLines().find((l) => l.request_id === r.id);
  assert.ok(line, srv.out);
  assert.equal(line.status, 200);
  assert.equal(line.outcome, 'merged');
  assert.equal(line.collection, 'carts');
  assert.equal(line.items, 2);
  assert.equal(srv.out.includes(SECRET), false, 'the secret never reaches a log line');
});

test('two tombstones answer a tombstone', async () => {
  const r = await call({
    stored: { data: null, version: { a: 1 }, actor: 'a', timestamp: 1, deleted: true },
    incoming: { data: null, version: { b: 1 }, actor: 'b', timestamp: 2, deleted: true },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { data: null, deleted: true });
});

test('a replayed request id is refused with 409; the first call succeeded', async () => {
  const id = randomBytes(16).toString('hex');
  assert.equal((await call(conflict(), { id })).status, 200);
  const again = await call(conflict(), { id });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code, 'replayed');
});

test('a bad signature, another secret, a stale or future timestamp are refused with 401', async () => {
  assert.equal((await call(conflict(), { secret: `${SECRET}-other` })).status, 401);
  assert.equal((await call(conflict(), { ts: nowS() - 301 })).status, 401);
  assert.equal((await call(conflict(), { ts: nowS() + 301 })).status, 401);
  assert.equal((await call(conflict(), { headers: { 'x-syncgate-signature': 'v1=00' } })).status, 401);
  assert.equal((await call(conflict(), { headers: { 'x-syncgate-timestamp': 'soon' } })).status, 401);
  const r = await call(conflict(), { headers: { 'x-syncgate-signature': '' } });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'bad_signature');
  // a refused call does not burn its id: the genuine one still passes
  const id = randomBytes(16).toString('hex');
  assert.equal((await call(conflict(), { id, secret: 'x'.repeat(40) })).status, 401);
  assert.equal((await call(conflict(), { id })).status, 200);
});

test('bad bodies: invalid JSON or a request id that differs from the header is 400; not a cart is 422', async () => {
  assert.equal((await call(null, { raw: '{"request_id":' })).status, 400);
  const id = randomBytes(16).toString('hex');
  assert.equal((await call(null, { id, raw: JSON.stringify({ request_id: 'x', ...conflict() }) })).status, 400);
  const notCart = await call({ ...conflict(), incoming: { ...conflict().incoming, data: [1, 2] } });
  assert.equal(notCart.status, 422);
  assert.equal(notCart.json.error.code, 'not_a_cart');
});

test('other paths are 404, other methods 405, bodies over 2 MiB 413', async () => {
  assert.equal((await call(conflict(), { p: '/' })).status, 404);
  assert.equal((await call(conflict(), { method: 'GET' })).status, 405);
  const big = await call(null, { raw: JSON.stringify({ pad: 'x'.repeat(3 << 20) }) });
  assert.equal(big.status, 413);
});

test('start-up refuses a missing or short secret; SIGTERM exits 0', async () => {
  for (const secret of [undefined, 'short']) {
    const s = startServer({ SYNCGATE_RESOLVER_SECRET: secret });
    let timer;
    const r = await Promise.race([s.exit, new Promise((res) => { timer = setTimeout(() => res('running'), 5000); })]);
    clearTimeout(timer);
    if (r === 'running') await stopServer(s);
    assert.deepEqual(r, { code: 2, signal: null }, s.err);
    assert.match(s.err, /SYNCGATE_RESOLVER_SECRET/);
  }
  const s = await startServer().ready;
  const t0 = Date.now();
  const r = await stopServer(s);
  assert.deepEqual(r, { code: 0, signal: null }, s.err);
  assert.ok(Date.now() - t0 < 3000, `stopped in ${Date.now() - t0} ms`);
});
