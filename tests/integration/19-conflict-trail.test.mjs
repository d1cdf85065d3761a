// The conflict trail (DESIGN sections 6 and 7): every conflict, whatever its
// policy and outcome, is one entry of the collection's trail, with both
// versions, the decision, the winner, the resolver's answer or why it was not
// used, and the request id; GET .../conflicts reads it page by page (read
// permission), and a subscription made with "conflicts":true receives the
// entries in order with its changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, token, sleep, waitFor, uniqueColl, seqOf } from './lib/harness.mjs';
import { startResolver } from './lib/resolver.mjs';
import { assertError, readLog, request } from './lib/rest-helpers.mjs';

const SECRET = 'resolver-secret-for-tests-0123456789-abcdef';
const TOK = token('u', { sync: { read: ['*'], write: ['*'] } });

let redis;
let r;
let gw;

before(async () => {
  redis = await Redis.start();
  r = await startResolver({ secret: SECRET });
  gw = await Gateway.start({
    redis,
    env: { SYNCGATE_RESOLVER_SECRET: SECRET },
    config: {
      collections: [
        { match: 'rej-*', conflict: 'reject' },
        { match: 'cb-*', conflict: 'callback', resolver_url: r.url, resolver_timeout_ms: 500 },
        { match: 'short-*', conflict_history: 3 },
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
const put = (c, id, body, tok = TOK) => request(gw, 'PUT', docPath(c, id), { token: tok, body });
const trail = (c, q = '', tok = TOK) => request(gw, 'GET', `/v1/collections/${c}/conflicts${q}`, { token: tok });

/** S by u:a (ts 1000), then W by u:b (ts tsb): concurrent. */
async function pair(c, id, tsb, extra = {}) {
  const s = await put(c, id, { data: { v: 's' }, version: { 'u:a': 1 }, actor: 'u:a', timestamp: 1000 });
  assert.equal(s.status, 201, s.text);
  return put(c, id, { data: { v: 'i' }, version: { 'u:b': 1 }, actor: 'u:b', timestamp: tsb, ...extra });
}

test('lww conflicts: one entry each, with both versions, the winner, the change and the request id', async () => {
  const c = uniqueColl('trail-lww');
  const w1 = await pair(c, 'x', 2000); // incoming wins
  const w2 = await pair(c, 'y', 500);  // stored wins
  const t = await trail(c);
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.conflicts.length, 2);
  const [e1, e2] = t.json.conflicts;
  assert.equal(e1.type, 'conflict');
  assert.equal(e1.collection, c);
  assert.equal(e1.id, 'x');
  assert.equal(e1.policy, 'lww');
  assert.equal(e1.winner, 'incoming');
  assert.equal(e1.applied, true);
  assert.deepEqual(e1.stored, { data: { v: 's' }, version: { 'u:a': 1 }, actor: 'u:a', timestamp: 1000, deleted: false });
  assert.deepEqual(e1.incoming, { data: { v: 'i' }, version: { 'u:b': 1 }, actor: 'u:b', timestamp: 2000, deleted: false });
  assert.equal(e1.offset, w1.json.offset, 'the change it produced');
  assert.equal(e1.request_id, w1.headers.get('x-request-id'));
  assert.equal(e1.node, 'gw');
  assert.equal(typeof e1.time, 'number');
  assert.equal(e1.resolver, undefined);
  assert.equal(e2.winner, 'stored');
  assert.equal(e2.applied, true, 'stored-wins is a change too (merged version)');
  assert.equal(e2.offset, w2.json.offset);
  assert.match(e1.trail_id, /^\d+-\d+$/);
  assert.equal(t.json.cursor, e2.trail_id);
  // writes without a conflict leave no entry
  await put(c, 'z', { data: 1 });
  await put(c, 'x', { data: 2, version: { 'u:a': 1, 'u:b': 1, 'u:c': 1 }, actor: 'u:c' });
  assert.equal((await trail(c)).json.conflicts.length, 2);
});

test('reject and callback conflicts, resolved or fallen back', async () => {
  const c = uniqueColl('rej-trail');
  const w = await pair(c, 'x', 2000);
  assert.equal(w.status, 409);
  const [e] = (await trail(c)).json.conflicts;
  assert.equal(e.policy, 'reject');
  assert.equal(e.winner, 'stored');
  assert.equal(e.applied, false);
  const head = (await readLog(gw, TOK, c)).offset;
  assert.equal(e.offset, head, 'no change: the head it followed');

  const cb = uniqueColl('cb-trail');
  r.mode('fn', { fn: () => ({ body: { data: { merged: true }, deleted: false } }) });
  const ok = await pair(cb, 'x', 2000);
  assert.equal(ok.json.conflict.winner, 'resolver');
  r.mode('status', { code: 500 });
  const bad = await pair(cb, 'y', 2000);
  assert.equal(bad.json.conflict.reason, 'http_status');
  r.mode('merge');
  const [ec, ef] = (await trail(cb)).json.conflicts;
  assert.equal(ec.policy, 'callback');
  assert.equal(ec.winner, 'resolver');
  assert.equal(ec.resolver.status, 200);
  assert.deepEqual(ec.resolver.answer, { data: { merged: true }, deleted: false });
  assert.equal(typeof ec.resolver.ms, 'number');
  assert.equal(ec.offset, ok.json.offset);
  assert.equal(ef.winner, 'incoming');
  assert.equal(ef.fallback, 'lww');
  assert.equal(ef.reason, 'http_status');
  assert.equal(ef.resolver.status, 500);
  assert.equal(ef.resolver.answer, null);
  assert.equal(ef.request_id, bad.headers.get('x-request-id'));
});

test('pages with since and limit; bad input is 400; read permission is needed', async () => {
  const c = uniqueColl('trail-pages');
  for (let i = 0; i < 5; i++) await pair(c, `d${i}`, 2000);
  const all = (await trail(c)).json.conflicts;
  assert.equal(all.length, 5);
  assert.deepEqual(all.map((e) => e.id), ['d0', 'd1', 'd2', 'd3', 'd4']);
  const seen = [];
  let since;
  for (let k = 0; k < 10; k++) {
    const p = await trail(c, `?limit=2${since ? `&since=${since}` : ''}`);
    assert.equal(p.status, 200);
    if (p.json.conflicts.length === 0) {
      assert.equal(p.json.cursor, since, 'an empty page keeps the cursor');
      break;
    }
    assert.ok(p.json.conflicts.length <= 2);
    seen.push(...p.json.conflicts.map((e) => e.id));
    since = p.json.cursor;
  }
  assert.deepEqual(seen, ['d0', 'd1', 'd2', 'd3', 'd4']);
  // an empty trail
  const empty = await trail(uniqueColl('trail-none'));
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.json, { conflicts: [], cursor: null });
  for (const q of ['?since=abc', '?since=1-', '?since=-1', '?since=1-2-3', '?limit=0', '?limit=x', '?since=1%00-2']) {
    assertError(assert, await trail(c, q), 400, 'bad_request', q);
  }
  assertError(assert, await trail(c, '', token('n', { sync: { read: ['other'], write: ['*'] } })), 403, 'forbidden');
  assertError(assert, await request(gw, 'GET', `/v1/collections/${c}/conflicts`), 401, 'unauthorized');
  assertError(assert, await request(gw, 'POST', `/v1/collections/${c}/conflicts`, { token: TOK, body: {} }), 405, 'method_not_allowed');
  assertError(assert, await trail('bad name!'), 400, 'bad_request');
});

test('retention: conflict_history bounds the trail', async () => {
  const c = uniqueColl('short-trail');
  // two writers that never read: every write after the first conflicts
  for (let n = 1; n <= 130; n++) {
    for (const a of ['u:a', 'u:b']) {
      const x = await put(c, 'd', { data: n, version: { [a]: n }, actor: a });
      assert.equal(x.status === 200 || x.status === 201, true, x.text);
    }
  }
  const len = Number(await redis.raw('XLEN', `sg:{${c}}:conflicts`));
  assert.ok(len >= 3 && len < 259, `kept ${len} of 259 conflicts`);
  const t = (await trail(c, '?limit=1000')).json.conflicts;
  assert.equal(t.length, len);
  assert.equal(t.at(-1).incoming.version['u:b'], 130, 'the newest are kept');
});

test('WebSocket: "conflicts":true gets each entry right before its change; others get changes only', async () => {
  const c = uniqueColl('rej-live');
  const a = await gw.ws({ token: TOK });
  const b = await gw.ws({ token: TOK });
  await a.wait('welcome');
  await b.wait('welcome');
  a.send({ type: 'subscribe', collection: c, conflicts: true, ref: 1 });
  b.send({ type: 'subscribe', collection: c, ref: 2 });
  await a.wait('subscribed');
  await b.wait('subscribed');
  const w = await pair(c, 'x', 2000); // refused: no change
  assert.equal(w.status, 409);
  await put(c, 'x', { data: 'next', version: { 'u:a': 2 }, actor: 'u:a' });
  await waitFor(() => a.of('change', c).length === 2 && b.of('change', c).length === 2, { what: 'changes' });
  await sleep(100);
  const seqA = a.messages.filter((m) => m.collection === c && m.type !== 'subscribed').map((m) => `${m.type}:${seqOf(m.offset)}`);
  assert.deepEqual(seqA, ['change:1', 'conflict:1', 'change:2'], 'the refused conflict after the change it followed');
  assert.equal(a.of('conflict', c)[0].trail_id, (await trail(c)).json.conflicts[0].trail_id);
  assert.equal(b.of('conflict').length, 0);
  a.close();
  b.close();
});

test('WebSocket: settled conflicts come with their change, live and in a since replay', async () => {
  const c = uniqueColl('live-lww');
  const a = await gw.ws({ token: TOK });
  await a.wait('welcome');
  a.send({ type: 'subscribe', collection: c, conflicts: true });
  const sub = await a.wait('subscribed');
  await pair(c, 'x', 2000);
  await pair(c, 'y', 500);
  await put(c, 'z', { data: 1 });
  await waitFor(() => a.of('change', c).length === 5, { what: '5 changes' });
  const want = ['change:1', 'conflict:2', 'change:2', 'change:3', 'conflict:4', 'change:4', 'change:5'];
  const got = (x) => x.messages.filter((m) => m.collection === c && (m.type === 'change' || m.type === 'conflict'))
    .map((m) => `${m.type}:${seqOf(m.offset)}`);
  assert.deepEqual(got(a), want);
  const entries = a.of('conflict', c);
  assert.equal(entries[0].winner, 'incoming');
  assert.equal(entries[1].winner, 'stored');
  const rest = (await trail(c)).json.conflicts;
  assert.deepEqual(entries.map((e) => e.offset), rest.map((e) => e.offset));
  // the same entries, byte for byte, with their place in the trail
  assert.deepEqual(entries.map((e) => e.trail_id), rest.map((e) => e.trail_id));
  assert.deepEqual(entries.map((e) => e.__raw), rest.map((e) => JSON.stringify(e)));
  // a replay from the start gives the same sequence
  const b = await gw.ws({ token: TOK });
  await b.wait('welcome');
  b.send({ type: 'subscribe', collection: c, conflicts: true, since: sub.offset });
  await b.wait('subscribed');
  await waitFor(() => b.of('change', c).length === 5, { what: 'replay' });
  assert.deepEqual(got(b), want);
  // conflicts must be a boolean
  b.send({ type: 'subscribe', collection: uniqueColl('x'), conflicts: 'yes', ref: 'bad' });
  const err = await b.wait((m) => m.type === 'error' && m.ref === 'bad');
  assert.equal(err.code, 'bad_request');
  a.close();
  b.close();
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
  gw = null;
});
