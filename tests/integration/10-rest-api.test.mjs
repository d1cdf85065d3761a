// REST API of DESIGN sections 6 and 11: documents, list pages, the change
// log (with resets), wrong methods, unknown paths and /metrics.
// Authentication and permissions are in 13-rest-auth.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, adminToken, waitFor } from './lib/harness.mjs';
import { assertError, readLog, parseMetrics, docFields, seqOf, epochOf, redisKeys, request } from './lib/rest-helpers.mjs';

const TOK = adminToken('admin');
const HISTORY = 10;

let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    config: { collections: [{ match: 'trim*', history: HISTORY }, { match: 'rej*', conflict: 'reject' }] },
  });
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

const req = (method, p, opts = {}) => request(gw, method, p, { token: TOK, ...opts });
const docPath = (c, id) => `/v1/collections/${c}/docs/${id}`;
const ETAG = /^"[0-9a-f]{32}"$/;

test('PUT creates (201) then updates (200); GET answers the document with its ETag', async () => {
  const c = 'life1';
  const t0 = Date.now();
  const p1 = await req('PUT', docPath(c, 'a1'), { body: { data: { title: 'milk' } } });
  assert.equal(p1.status, 201, p1.text);
  assert.match(p1.headers.get('content-type'), /^application\/json/);
  const e1 = p1.headers.get('etag');
  assert.match(e1, ETAG);
  const j = p1.json;
  assert.equal(j.collection, c);
  assert.equal(j.id, 'a1');
  assert.equal(j.deleted, false);
  assert.deepEqual(j.version, { admin: 1 });
  assert.equal(j.actor, 'admin');
  assert.ok(Number.isInteger(j.timestamp) && j.timestamp >= t0 - 1 && j.timestamp <= Date.now() + 1);
  assert.deepEqual(j.data, { title: 'milk' });
  assert.match(j.offset, /^[^:]+:1$/, 'first change of a collection has seq 1');
  assert.equal(j.applied, true);

  const g1 = await req('GET', docPath(c, 'a1'));
  assert.equal(g1.status, 200);
  assert.equal(g1.headers.get('etag'), e1);
  assert.deepEqual(docFields(g1.json), docFields(j));
  assert.equal(g1.json.applied, undefined, 'a GET is not a write answer');

  const p2 = await req('PUT', docPath(c, 'a1'), { body: { data: { title: 'oat milk' }, version: { admin: 2 } } });
  assert.equal(p2.status, 200, p2.text);
  assert.equal(p2.json.applied, true);
  assert.deepEqual(p2.json.version, { admin: 2 });
  assert.equal(seqOf(p2.json.offset), 2);
  assert.equal(epochOf(p2.json.offset), epochOf(j.offset));
  const e2 = p2.headers.get('etag');
  assert.match(e2, ETAG);
  assert.notEqual(e2, e1, 'a new version has a new ETag');
  const g2 = await req('GET', docPath(c, 'a1'));
  assert.equal(g2.headers.get('etag'), e2);
  assert.deepEqual(g2.json.data, { title: 'oat milk' });

  // any JSON value is data
  for (const [i, data] of [null, 0, 'str', [1, { a: [] }], true, { 'ü': '☃' }].entries()) {
    const r = await req('PUT', docPath(c, `v${i}`), { body: { data } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await req('GET', docPath(c, `v${i}`))).json.data, data);
  }
});

test('data is kept as it was spelled, whitespace between tokens dropped; rule 3 compares values', async () => {
  const c = 'spelled';
  const raw = '{ "data" : { "n" : 1.50 , "s" : "caf\\u00e9 \\n" , "e" : 1E2, "a" : [ -0 , true ] } }';
  const want = '"data":{"n":1.50,"s":"caf\\u00e9 \\n","e":1E2,"a":[-0,true]}';
  const w = await req('PUT', docPath(c, 'd'), { raw, headers: { 'content-type': 'application/json' } });
  assert.equal(w.status, 201, w.text);
  assert.ok(w.text.includes(want), w.text);
  const g = await req('GET', docPath(c, 'd'));
  assert.ok(g.text.includes(want), g.text);
  assert.deepEqual(g.json.data, { n: 1.5, s: 'caf\u00e9 \n', e: 100, a: [-0, true] });
  const log = await req('GET', `/v1/collections/${c}/changes`);
  assert.ok(log.text.includes(want), log.text);
  // the same value spelled otherwise is the same data: nothing changes
  const again = await req('PUT', docPath(c, 'd'), { raw: '{"data":{"n":15e-1,"s":"caf\u00e9 \\n","e":100.0,"a":[0,true]}}', headers: { 'content-type': 'application/json' } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.applied, false, again.text);
  assert.ok(again.text.includes(want), again.text);
});

test('GET of an absent document is 404; DELETE makes a tombstone that GET hides', async () => {
  const c = 'life2';
  assertError(assert, await req('GET', docPath(c, 'none')), 404, 'not_found', 'GET absent');
  const p = await req('PUT', docPath(c, 'd1'), { body: { data: [1, 2] } });
  assert.equal(p.status, 201);
  const d = await req('DELETE', docPath(c, 'd1'));
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.deleted, true);
  assert.equal(d.json.data, null);
  assert.equal(d.json.applied, true);
  assert.deepEqual(d.json.version, { admin: 2 });
  assert.match(d.headers.get('etag'), ETAG);
  assertError(assert, await req('GET', docPath(c, 'd1')), 404, 'not_found', 'GET tombstone');
  for (const q of ['include_deleted=true', 'include_deleted=1']) {
    const t = await req('GET', `${docPath(c, 'd1')}?${q}`);
    assert.equal(t.status, 200, `?${q}: ${t.text}`);
    assert.deepEqual(docFields(t.json), docFields(d.json));
    assert.equal(t.headers.get('etag'), d.headers.get('etag'));
  }
  assertError(assert, await req('GET', `${docPath(c, 'd1')}?include_deleted=false`), 404, 'not_found');
  assertError(assert, await req('GET', `${docPath(c, 'none')}?include_deleted=true`), 404, 'not_found');
  // a repeated delete changes nothing
  const again = await req('DELETE', docPath(c, 'd1'));
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.applied, false);
  assert.equal(again.json.offset, d.json.offset);
  // PUT on a tombstone answers 201
  const back = await req('PUT', docPath(c, 'd1'), { body: { data: 'back' } });
  assert.equal(back.status, 201, back.text);
  assert.deepEqual(back.json.version, { admin: 3 });
  assert.equal(back.json.deleted, false);
  assert.equal((await req('GET', docPath(c, 'd1'))).status, 200);
});

test('DELETE of an id that never existed is 404 and creates nothing', async () => {
  const c = 'life3';
  await req('PUT', docPath(c, 'other'), { body: { data: 1 } });
  const keys = await redisKeys(redis);
  const { changes } = await readLog(gw, TOK, c);
  for (const opts of [{}, { body: {} }, { body: { version: { admin: 1 } } }, { body: { actor: 'admin:x' } }]) {
    assertError(assert, await req('DELETE', docPath(c, 'never'), opts), 404, 'not_found', JSON.stringify(opts));
    assertError(assert, await req('GET', `${docPath(c, 'never')}?include_deleted=true`), 404, 'not_found');
  }
  assert.deepEqual(await redisKeys(redis), keys);
  assert.equal(await redis.raw('HEXISTS', `sg:{${c}}:docs`, 'never'), '0');
  assert.equal((await readLog(gw, TOK, c)).changes.length, changes.length);
  // and in a collection nobody used: no document, no change
  assertError(assert, await req('DELETE', docPath('life3-unused', 'never')), 404, 'not_found');
  assert.equal(await redis.raw('EXISTS', 'sg:{life3-unused}:docs'), '0');
  assert.equal(await redis.raw('EXISTS', 'sg:{life3-unused}:log'), '0');
});

test('an empty collection: no docs, cursor null, head "<epoch>:0"', async () => {
  const l = await req('GET', '/v1/collections/empty1/docs');
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.json.docs, []);
  assert.equal(l.json.cursor, null);
  assert.match(l.json.offset, /^[^:]+:0$/);
  const ch = await req('GET', '/v1/collections/empty1/changes');
  assert.equal(ch.status, 200, ch.text);
  assert.deepEqual(ch.json, { changes: [], offset: l.json.offset, reset: false });
  const w = await req('PUT', docPath('empty1', 'x'), { body: { data: 1 } });
  assert.equal(w.json.offset, `${epochOf(l.json.offset)}:1`, 'the first change of the epoch is seq 1');
});

/** Every answer that is not the expected JSON error, as readable lines. */
function mismatches(answers, names, status, code) {
  return answers.map((r, i) => {
    try {
      assertError(assert, r, status, code, names[i]);
      return null;
    } catch (e) {
      return `${names[i]} -> ${r.status} ${r.text.slice(0, 120)}`;
    }
  }).filter(Boolean);
}

async function listAll(c, { limit, extra = '', between } = {}) {
  const pages = [];
  let cursor;
  for (let i = 0; i < 100; i++) {
    const q = [limit ? `limit=${limit}` : '', cursor ? `cursor=${encodeURIComponent(cursor)}` : '', extra]
      .filter(Boolean).join('&');
    const r = await req('GET', `/v1/collections/${c}/docs${q ? `?${q}` : ''}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['cursor', 'docs', 'offset']);
    pages.push(r.json);
    if (limit) assert.ok(r.json.docs.length <= limit, `page larger than limit: ${r.text}`);
    if (r.json.cursor === null) return pages;
    assert.equal(typeof r.json.cursor, 'string');
    cursor = r.json.cursor;
    if (between) await between(i);
  }
  throw new Error('list never ended');
}

test('list pages: cursor and limit, ids in byte order, tombstones left out, offset repeated', async () => {
  const c = 'list1';
  const ids = ['b', 'a', 'c', 'e', 'd', 'f', 'g', 'B', 'a.1', 'a-1'];
  const answers = {};
  for (const id of ids) {
    const r = await req('PUT', docPath(c, id), { body: { data: { id } } });
    assert.equal(r.status, 201);
    answers[id] = r.json;
  }
  const del = await req('DELETE', docPath(c, 'd'));
  assert.equal(del.status, 200);
  const head = del.json.offset;
  const live = ids.filter((x) => x !== 'd').sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1));

  let n = 0;
  const pages = await listAll(c, {
    limit: 2,
    between: async () => { // writes while paging do not move the list's offset
      n += 1;
      const w = await req('PUT', docPath(c, 'a'), { body: { data: { id: 'a', n } } });
      assert.equal(w.status, 200);
    },
  });
  assert.ok(pages.length >= 5, `10 ids, limit 2: several pages (${pages.length})`);
  for (const p of pages) assert.equal(p.offset, head, 'every page repeats the offset taken before the first page');
  const got = pages.flatMap((p) => p.docs);
  assert.deepEqual(got.map((d) => d.id), live);
  for (const d of got) {
    assert.equal(d.collection, c);
    assert.equal(d.deleted, false);
    if (d.id !== 'a') assert.deepEqual(docFields(d), docFields(answers[d.id]));
  }

  const one = await listAll(c);
  assert.equal(one.length, 1, 'default limit (100) holds all 10');
  assert.deepEqual(one[0].docs.map((d) => d.id), live);
  assert.notEqual(one[0].offset, head, 'a new listing takes the current head');
  assert.equal(seqOf(one[0].offset), seqOf(head) + n);

  const withDel = await listAll(c, { limit: 3, extra: 'include_deleted=true' });
  const all = withDel.flatMap((p) => p.docs);
  assert.deepEqual(all.map((d) => d.id), [...live, 'd'].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : 1)));
  const tomb = all.find((d) => d.id === 'd');
  assert.equal(tomb.deleted, true);
  assert.equal(tomb.data, null);
  for (const p of withDel) assert.equal(p.offset, withDel[0].offset);

  const exact = await listAll(c, { limit: 9 });
  assert.deepEqual(exact.flatMap((p) => p.docs).map((d) => d.id), live);
  assert.equal(exact.at(-1).cursor, null);
});

test('list: bad limit and malformed cursor are 400', async () => {
  const c = 'list2';
  await req('PUT', docPath(c, 'x'), { body: { data: 1 } });
  // independent refusals go out together (a slow error path then costs once)
  const bad = [];
  for (const limit of ['0', '-1', 'abc', '1001', '1.5', '10x', '99999999999999999999', '%20']) {
    bad.push(`/v1/collections/${c}/docs?limit=${limit}`, `/v1/collections/${c}/changes?limit=${limit}`);
  }
  for (const cursor of ['garbage', '%2Fx', 'a:b:c', 'abc%3Axyz%2Fx', '%3A%2F', '..%2F..', 'x'.repeat(600), '%00']) {
    bad.push(`/v1/collections/${c}/docs?cursor=${cursor}`);
  }
  const answers = await Promise.all(bad.map((p) => req('GET', p)));
  assert.deepEqual(mismatches(answers, bad, 400, 'bad_request'), []);
  for (const limit of ['1', '1000']) {
    assert.equal((await req('GET', `/v1/collections/${c}/docs?limit=${limit}`)).status, 200);
    assert.equal((await req('GET', `/v1/collections/${c}/changes?limit=${limit}`)).status, 200);
  }
});

test('changes: since absent, since, limit; offset is where the next read continues', async () => {
  const c = 'chg1';
  const answers = [];
  for (let i = 1; i <= 5; i++) {
    const r = await req('PUT', docPath(c, `d${i % 3}`), { body: { data: { i } } });
    assert.ok(r.status === 200 || r.status === 201);
    answers.push(r.json);
  }
  const e = epochOf(answers[0].offset);
  const all = await req('GET', `/v1/collections/${c}/changes`);
  assert.equal(all.status, 200);
  assert.equal(all.json.reset, false);
  assert.equal(all.json.offset, `${e}:5`);
  assert.deepEqual(all.json.changes.map(docFields), answers.map(docFields));

  const cases = [
    [`since=${e}:0`, [1, 2, 3, 4, 5], 5],
    [`since=${e}:2`, [3, 4, 5], 5],
    [`since=${e}:5`, [], 5],
    [`since=${e}:2&limit=2`, [3, 4], 4],
    ['limit=1', [1], 1],
  ];
  for (const [q, seqs, off] of cases) {
    const r = await req('GET', `/v1/collections/${c}/changes?${q}`);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    assert.equal(r.json.reset, false);
    assert.deepEqual(r.json.changes.map((x) => x.offset), seqs.map((s) => `${e}:${s}`), q);
    assert.equal(r.json.offset, `${e}:${off}`, q);
  }
  // paging with limit=2 continues exactly where the last page ended
  const seen = [];
  let since;
  for (let i = 0; i < 10; i++) {
    const r = await req('GET', `/v1/collections/${c}/changes?limit=2${since ? `&since=${since}` : ''}`);
    assert.ok(r.json.changes.length <= 2);
    seen.push(...r.json.changes.map((x) => seqOf(x.offset)));
    if (r.json.changes.length) assert.equal(r.json.offset, r.json.changes.at(-1).offset);
    else { assert.equal(r.json.offset, `${e}:5`); break; }
    since = r.json.offset;
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);

  const bad = ['abc', `${e}:`, ':3', `${e}:-1`, `${e}:1.5`, `${e}:x`, `${e}:1x`, `${e}%3A%20`, '%00', `${e}:1%00`];
  const refused = await Promise.all(bad.map((s) => req('GET', `/v1/collections/${c}/changes?since=${s}`)));
  assert.deepEqual(mismatches(refused, bad.map((x) => `since=${x}`), 400, 'bad_request'), []);
});

test('changes: another epoch is a reset (epoch_changed) to the head', async () => {
  const c = 'chg2';
  for (let i = 0; i < 3; i++) await req('PUT', docPath(c, `d${i}`), { body: { data: i } });
  const head = (await req('GET', `/v1/collections/${c}/changes`)).json.offset;
  const e = epochOf(head);
  const other = e === 'a0a0a0a0a0a0' ? 'b0b0b0b0b0b0' : 'a0a0a0a0a0a0';
  for (const since of [`${other}:2`, `${other}:0`, `${other}:1000`]) {
    const r = await req('GET', `/v1/collections/${c}/changes?since=${since}`);
    assert.equal(r.status, 200, `since=${since}: ${r.text}`);
    assert.deepEqual(r.json, { changes: [], offset: head, reset: true, reason: 'epoch_changed' }, `since=${since}`);
  }
  // the head itself is no reset
  const ok = await req('GET', `/v1/collections/${c}/changes?since=${head}`);
  assert.deepEqual(ok.json, { changes: [], offset: head, reset: false });
});

test('changes: since ahead of the head proves a lost tail: a new epoch, at most once per interval', async () => {
  const c = 'chg-ahead';
  for (let i = 0; i < 3; i++) await req('PUT', docPath(c, `d${i}`), { body: { data: i } });
  const head = (await req('GET', `/v1/collections/${c}/changes`)).json.offset;
  const e = epochOf(head);
  const r = await req('GET', `/v1/collections/${c}/changes?since=${e}:5`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.reset, true);
  assert.equal(r.json.reason, 'epoch_changed');
  const fresh = epochOf(r.json.offset);
  assert.notEqual(fresh, e, 'the reset names a new epoch');
  assert.equal(seqOf(r.json.offset), 3, 'the new epoch starts after what the log holds');
  assert.equal(await redis.raw('HGET', `sg:{${c}}:meta`, 'epoch'), fresh);
  // the old epoch's offsets are now all resets; the new head is no reset
  const old = await req('GET', `/v1/collections/${c}/changes?since=${head}`);
  assert.deepEqual(old.json, { changes: [], offset: r.json.offset, reset: true, reason: 'epoch_changed' });
  // a forged offset ahead in the new epoch, right after: no second rotation
  const forged = await req('GET', `/v1/collections/${c}/changes?since=${fresh}:1000`);
  assert.deepEqual(forged.json, { changes: [], offset: r.json.offset, reset: true, reason: 'epoch_changed' });
  assert.equal(await redis.raw('HGET', `sg:{${c}}:meta`, 'epoch'), fresh, 'rotated once');
  const w = await req('PUT', docPath(c, 'd9'), { body: { data: 9 } });
  assert.equal(w.json.offset, `${fresh}:4`, 'writes go on in the new epoch');
});

test('changes: a trimmed log answers reset history_trimmed; the last `history` changes stay', async () => {
  const c = 'trim1';
  const N = 260;
  for (let i = 0; i < N; i += 10) {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, k) => req('PUT', docPath(c, `d${(i + k) % 7}-${i + k}`), { body: { data: i + k } })));
    for (const r of rs) assert.equal(r.status, 201, r.text);
  }
  const xlen = Number(await redis.raw('XLEN', `sg:{${c}}:log`));
  assert.ok(xlen >= HISTORY, `at least history (${HISTORY}) entries kept, XLEN ${xlen}`);
  assert.ok(xlen < N, `the log was trimmed (XLEN ${xlen} of ${N} writes)`);
  const first = N - xlen + 1;

  const fromStart = await req('GET', `/v1/collections/${c}/changes?limit=1000`);
  assert.equal(fromStart.json.reset, false, 'since absent reads what the log retains');
  const seqs = fromStart.json.changes.map((x) => seqOf(x.offset));
  assert.deepEqual(seqs, Array.from({ length: xlen }, (_, i) => first + i));
  const head = fromStart.json.offset;
  assert.equal(seqOf(head), N);
  const e = epochOf(head);

  for (const s of [0, 1, first - 2]) {
    const r = await req('GET', `/v1/collections/${c}/changes?since=${e}:${s}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { changes: [], offset: head, reset: true, reason: 'history_trimmed' }, `since=${e}:${s}`);
  }
  const edge = await req('GET', `/v1/collections/${c}/changes?since=${e}:${first - 1}&limit=1000`);
  assert.equal(edge.json.reset, false, `since ${first - 1}: the log reaches back to ${first}`);
  assert.equal(edge.json.changes.length, xlen);
  const last = await req('GET', `/v1/collections/${c}/changes?since=${e}:${N - HISTORY}`);
  assert.equal(last.json.reset, false);
  assert.deepEqual(last.json.changes.map((x) => seqOf(x.offset)), Array.from({ length: HISTORY }, (_, i) => N - HISTORY + 1 + i));
});

test('wrong methods are 405 with Allow', async () => {
  const cases = [
    ['POST', docPath('m1', 'a'), ['GET', 'PUT', 'DELETE']],
    ['PATCH', docPath('m1', 'a'), ['GET', 'PUT', 'DELETE']],
    ['POST', '/v1/collections/m1/docs', ['GET']],
    ['PUT', '/v1/collections/m1/docs', ['GET']],
    ['DELETE', '/v1/collections/m1/docs', ['GET']],
    ['POST', '/v1/collections/m1/changes', ['GET']],
    ['DELETE', '/v1/collections/m1/changes', ['GET']],
    ['POST', '/v1/health', ['GET']],
    ['PUT', '/v1/ready', ['GET']],
    ['DELETE', '/v1/info', ['GET']],
    ['POST', '/metrics', ['GET']],
  ];
  for (const [m, p, allow] of cases) {
    const r = await req(m, p, { body: { data: 1 } });
    assertError(assert, r, 405, 'method_not_allowed', `${m} ${p}`);
    const got = (r.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();
    assert.deepEqual(got, [...allow].sort(), `Allow of ${m} ${p}`);
  }
  assert.equal(await redis.raw('EXISTS', 'sg:{m1}:docs'), '0', 'a 405 writes nothing');
});

test('unknown /v1 paths are 404 JSON errors', async () => {
  for (const p of ['/v1/nope', '/v1', '/v1/', '/v1/collections', '/v1/collections/x', '/v1/collections/x/other',
    '/v1/collections/x/changes/1', '/v1/collections/x/docsx', '/v1/health/x', '/v1/ws-nope']) {
    assertError(assert, await req('GET', p), 404, 'not_found', p);
  }
});

async function metrics() {
  const r = await request(gw, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  return parseMetrics(r.text);
}

test('/metrics: Prometheus text with the required series; counters move', async () => {
  const m0 = await metrics();
  const types = {
    syncgate_websocket_connections: 'gauge', syncgate_subscriptions: 'gauge',
    syncgate_writes_total: 'counter', syncgate_changes_delivered_total: 'counter',
    syncgate_slow_consumer_closes_total: 'counter', syncgate_redis_up: 'gauge',
    syncgate_write_duration_seconds: 'histogram',
  };
  for (const [name, type] of Object.entries(types)) assert.equal(m0.types.get(name), type, `# TYPE ${name}`);
  const W = (m, res) => m.values.get(`syncgate_writes_total{result="${res}"}`);
  for (const res of ['applied', 'already_applied', 'conflict', 'rejected', 'error']) {
    assert.ok(Number.isFinite(W(m0, res)), `writes_total{result="${res}"}`);
  }
  assert.equal(m0.values.get('syncgate_slow_consumer_closes_total'), 0);
  const up = [...m0.values].filter(([k]) => k.startsWith('syncgate_redis_up'));
  assert.ok(up.length >= 1 && up.every(([, v]) => v === 1), `redis up: ${JSON.stringify(up)}`);

  const ws = await gw.ws({ token: TOK });
  await ws.wait('welcome');
  ws.send({ type: 'subscribe', collection: 'met1' });
  await ws.wait('subscribed');
  const m1 = await metrics();
  assert.equal(m1.values.get('syncgate_websocket_connections'), m0.values.get('syncgate_websocket_connections') + 1);
  assert.equal(m1.values.get('syncgate_subscriptions'), m0.values.get('syncgate_subscriptions') + 1);

  const p = docPath('met1', 'a');
  const steps = [
    [{ body: { data: 1, version: { admin: 1 }, timestamp: 1000 } }, 201], // applied
    [{ body: { data: 2, version: { admin: 2 }, timestamp: 1000 } }, 200], // applied
    [{ body: { data: 2, version: { admin: 2 }, timestamp: 1000 } }, 200], // already_applied (rule 3)
    [{ body: { data: 0, version: { admin: 1 } } }, 200], // already_applied (rule 4)
    [{ body: { data: 9, version: { 'admin:x': 1 }, actor: 'admin:x', timestamp: 10 } }, 200], // conflict, stored wins
    [{ body: { data: 9, version: { admin: 2, other: 1 } } }, 409], // rejected
    [{ body: { data: 9 }, headers: { 'if-match': '"00000000000000000000000000000000"' } }, 412], // rejected
    [{ raw: '{"data":', headers: { 'content-type': 'application/json' } }, 400], // error
  ];
  for (const [o, status] of steps) assert.equal((await req('PUT', p, o)).status, status, JSON.stringify(o));
  await waitFor(() => ws.of('change', 'met1').length === 3, { what: '3 changes delivered' });
  const m2 = await metrics();
  const d = (res) => W(m2, res) - W(m0, res);
  assert.deepEqual(
    { applied: d('applied'), already_applied: d('already_applied'), conflict: d('conflict'), rejected: d('rejected'), error: d('error') },
    { applied: 2, already_applied: 2, conflict: 1, rejected: 2, error: 1 });
  assert.equal(m2.values.get('syncgate_changes_delivered_total') - m0.values.get('syncgate_changes_delivered_total'), 3);
  const H = 'syncgate_write_duration_seconds';
  assert.equal(m2.values.get(`${H}_count`) - m0.values.get(`${H}_count`), steps.length);
  assert.ok(m2.values.get(`${H}_sum`) > m0.values.get(`${H}_sum`));
  const buckets = [...m2.values].filter(([k]) => k.startsWith(`${H}_bucket`));
  assert.ok(buckets.length >= 2);
  assert.equal(buckets.at(-1)[0], `${H}_bucket{le="+Inf"}`);
  assert.equal(buckets.at(-1)[1], m2.values.get(`${H}_count`));
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], 'cumulative buckets');

  await ws.close();
  await waitFor(async () => (await metrics()).values.get('syncgate_websocket_connections') === m0.values.get('syncgate_websocket_connections'),
    { what: 'websocket gauge back down' });
  assert.equal((await metrics()).values.get('syncgate_subscriptions'), m0.values.get('syncgate_subscriptions'));
});

test('the gateway stops cleanly', async () => {
  assert.equal((await request(gw, 'GET', '/v1/health')).status, 200);
  assertCleanExit(assert, await gw.stop());
});
