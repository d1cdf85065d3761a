// Bad input (DESIGN sections 3, 10, 11, 12): every malformed request gets
// the right 4xx JSON error and changes nothing (the whole Redis content and
// the change log are compared before and after); the process stays up.
// The JSONTestSuite corpus and limits on sizes are in 14-bad-input-corpus.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, token } from './lib/harness.mjs';
import { assertError, redisSnapshot, readLog, request, rawHttp } from './lib/rest-helpers.mjs';

const TOK = token('u', { sync: { read: ['*'], write: ['*'] } });
const C = 'bad1';
let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis });
  const s = await request(gw, 'PUT', `/v1/collections/${C}/docs/seed`, { token: TOK, body: { data: { n: 1 } } });
  assert.equal(s.status, 201, s.text);
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

const seedPath = `/v1/collections/${C}/docs/seed`;
const JSONCT = { 'content-type': 'application/json' };

/**
 * Runs each case and asserts its error answer and that Redis (every key,
 * every value) and the change log of C are exactly as before.
 * case: {what, method, path, raw|body, headers, status, code, viaSocket}
 */
async function refuse(cases) {
  const failures = [];
  let slow = 0;
  for (const c of cases) {
    if (slow >= 3) { failures.push('stopped: 3 answers took over 2 s each'); break; }
    const before = await redisSnapshot(redis);
    const head = (await readLog(gw, TOK, C)).offset;
    const opts = { token: TOK, headers: { ...(c.raw !== undefined ? JSONCT : {}), ...c.headers } };
    if (c.raw !== undefined) opts.raw = c.raw;
    else if (c.body !== undefined) opts.body = c.body;
    const r = c.viaSocket
      ? await rawHttp(gw.httpPort, { method: c.method || 'PUT', path: c.path, headers: { authorization: `Bearer ${TOK}`, ...opts.headers }, body: c.raw })
      : await request(gw, c.method || 'PUT', c.path || seedPath, opts);
    if (r.ms > 2000) { slow += 1; failures.push(`${c.what}: answered after ${r.ms} ms`); }
    try {
      assertError(assert, r, c.status || 400, c.code || 'bad_request', c.what);
    } catch (e) {
      failures.push(`${c.what}: ${r.status} ${r.text.slice(0, 160)}`);
      continue;
    }
    const after = await redisSnapshot(redis);
    if (after !== before) failures.push(`${c.what}: Redis changed`);
    const head2 = (await readLog(gw, TOK, C)).offset;
    if (head2 !== head) failures.push(`${c.what}: change log moved ${head} -> ${head2}`);
  }
  assert.deepEqual(failures, [], 'every bad request: the right error, nothing changed');
}

test('malformed JSON bodies: 400', async () => {
  const bodies = ['', ' ', '{', '{"data":}', '{"data":1,}', "{'data':1}", '{"data":1}x', '{"data":1} {"data":2}',
    'nul', '{"data":NaN}', '{"data":Infinity}', '{"data":-Infinity}', '{"data":01}', '{"data":.5}', '{"data":1.}',
    '{"data":"\\x41"}', '{"data":"a\tb"}', '{"data":"\u0001"}', '{"data":[1,]}', '{"data":1 /* c */}',
    '{data:1}', '{"data":tru}', '{"data":"\\u0000"}', '{"data":1e400}', '{"data":-1e400}',
    '{"data":123456789012345678901234567890}'];
  const cases = bodies.map((raw) => ({ what: `PUT ${JSON.stringify(raw)}`, raw }));
  cases.push({ what: 'invalid UTF-8 in a string', raw: Buffer.from([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
  cases.push({ what: 'NUL byte in the body', raw: Buffer.from('{"data":1}\u0000') });
  cases.push({ what: 'DELETE with malformed JSON', method: 'DELETE', raw: '{"version":' });
  await refuse(cases);
});

test('bodies that are not a write object, unknown and server-owned fields: 400', async () => {
  const bodies = ['[]', '1', '"s"', 'null', 'true', '[{"data":1}]', '{}', '{"version":{"u":2}}', '{"Data":1}',
    '{"data":1,"extra":1}', '{"data":1,"offset":"x:1"}', '{"data":1,"collection":"bad1"}', '{"data":1,"id":"seed"}',
    '{"data":1,"deleted":false}', '{"data":1,"deleted":true}', '{"data":1,"applied":true}', '{"data":1,"conflict":{}}',
    '{"data":1,"type":"change"}', '{"data":1,"":1}'];
  const cases = bodies.map((raw) => ({ what: `PUT ${raw}`, raw }));
  for (const raw of ['[]', '"x"', '1', '{"data":null}', '{"data":1}', '{"deleted":true}', '{"offset":"a:1"}', '{"extra":1}']) {
    cases.push({ what: `DELETE ${raw}`, method: 'DELETE', raw });
  }
  await refuse(cases);
});

test('bad collection names, ids and actors: 400 bad_request', async () => {
  const docs = (coll, id) => `/v1/collections/${coll}/docs/${id}`;
  const badColls = ['.x', '-x', '_x', 'a*', 'a%20b', 'a%00b', '%00', 'a$b', 'a%7Bb%7D', '%C3%A4', 'a:b', 'a@b',
    'a~b', 'a'.repeat(129), 'a'.repeat(1000)];
  const badIds = ['a*', 'a%20b', '%00', 'a%00', 'a%2Fb', 'a$', 'a%7B', '%C3%A4', 'a?b'.replace('?', '%3F'), 'i'.repeat(257), 'i'.repeat(5000), 'a#'.replace('#', '%23')];
  const cases = [];
  for (const coll of badColls) {
    cases.push({ what: `PUT collection ${coll.slice(0, 40)}`, path: docs(coll, 'x'), body: { data: 1 } });
    cases.push({ what: `GET collection ${coll.slice(0, 40)}`, method: 'GET', path: docs(coll, 'x') });
    cases.push({ what: `list collection ${coll.slice(0, 40)}`, method: 'GET', path: `/v1/collections/${coll}/docs` });
    cases.push({ what: `changes collection ${coll.slice(0, 40)}`, method: 'GET', path: `/v1/collections/${coll}/changes` });
  }
  for (const id of badIds) {
    cases.push({ what: `PUT id ${id.slice(0, 40)}`, path: docs(C, id), body: { data: 1 } });
    cases.push({ what: `DELETE id ${id.slice(0, 40)}`, method: 'DELETE', path: docs(C, id) });
    cases.push({ what: `GET id ${id.slice(0, 40)}`, method: 'GET', path: docs(C, id) });
  }
  // dot segments and empty names go out unnormalized over a plain socket
  for (const path of [docs('..', 'x'), docs('../x', 'y'), docs(C, '../x'), docs(C, '..%2Fx'), docs(C, ''), docs('', 'x'),
    docs(C, './x')]) {
    cases.push({ what: `PUT raw path ${path}`, path, raw: '{"data":1}', viaSocket: true });
  }
  const badActors = ['../x', 'a*', 'a b', `u:${'a'.repeat(127)}`, '', 'u\u0000', 'u:ä', 'u/x', 'u:a~b', 123, null, ['u'], { a: 1 }, true];
  for (const actor of badActors) {
    cases.push({ what: `actor ${JSON.stringify(actor).slice(0, 40)}`, body: { data: 1, actor } });
    cases.push({ what: `DELETE actor ${JSON.stringify(actor).slice(0, 40)}`, method: 'DELETE', body: { actor } });
  }
  await refuse(cases);
  // the longest legal names work
  const ok = await request(gw, 'PUT', docs('a'.repeat(128), 'i'.repeat(256)), { token: TOK, body: { data: 1, actor: `u:${'a'.repeat(126)}` } });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.actor.length, 128);
  const odd = await request(gw, 'PUT', docs('A-9_.x', 'a.b:c@d~e-f_G'), { token: TOK, body: { data: 1, actor: 'u:A-9_.@x' } });
  assert.equal(odd.status, 201, odd.text);
});

test('wrong types in version: 400 bad_request', async () => {
  const raws = ['{"u":-1}', '{"u":0}', '{"u":1.5}', '{"u":"3"}', '{"u":9007199254740992}', '{"u":18446744073709551616}',
    '{"u":1e300}', '{"u":{"n":1}}', '{"u":[1]}', '{"u":null}', '{"u":true}', '[]', '[["u",2]]', '"u:2"', '5', 'null',
    '{"a b":2}', '{"":2}', `{"${'x'.repeat(129)}":2}`, '{"u*":2}', '{"u":2,"x":-3}', '{"u":-0}'];
  const cases = raws.map((v) => ({ what: `version ${v.slice(0, 50)}`, raw: `{"data":1,"version":${v}}` }));
  for (const v of ['{"u":0}', '{"u":1.5}', '[]', '{"u":"2"}']) {
    cases.push({ what: `DELETE version ${v}`, method: 'DELETE', raw: `{"version":${v}}` });
  }
  await refuse(cases);
});

test('version counts up to 2^53-1 are accepted; the server never stores a larger one', async () => {
  const p = '/v1/collections/bad-big/docs/d';
  const max = 2 ** 53 - 1;
  const a = await request(gw, 'PUT', p, { token: TOK, raw: `{"data":1,"version":{"u":${max}}}`, headers: JSONCT });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.json.version.u, max);
  // an unconditional write would need 2^53: refused with a 4xx, never stored
  const b = await request(gw, 'PUT', p, { token: TOK, body: { data: 2 } });
  assert.ok(b.status >= 400 && b.status < 500, `unconditional write past 2^53-1: ${b.status} ${b.text}`);
  const g = await request(gw, 'GET', p, { token: TOK });
  assert.equal(g.json.version.u, max);
  assert.equal(g.json.data, 1);
});

test('bad timestamps: 400 bad_request', async () => {
  const raws = ['-5', '-1', '1e400', '"x"', '"1700000000000"', '1.5', '9007199254740992', '18446744073709551616',
    'null', 'true', '{}', '[]'];
  const cases = raws.map((t) => ({ what: `timestamp ${t}`, raw: `{"data":1,"timestamp":${t}}` }));
  cases.push({ what: 'DELETE timestamp -5', method: 'DELETE', raw: '{"timestamp":-5}' });
  await refuse(cases);
  const ok = await request(gw, 'PUT', '/v1/collections/bad-ts/docs/d', { token: TOK, raw: '{"data":1,"timestamp":0}', headers: JSONCT });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.timestamp, 0);
});

test('duplicate keys: 400 bad_request', async () => {
  const raws = ['{"data":{"a":1,"a":2}}', '{"data":{"a":1,"a":1}}', '{"data":1,"data":2}', '{"data":1,"data":1}',
    '{"data":1,"version":{"u":2},"version":{"u":3}}', '{"data":1,"version":{"u":2,"u":2}}',
    '{"data":[{"x":1,"x":1}]}', '{"data":1,"actor":"u","actor":"u:b"}', '{"data":1,"timestamp":1,"timestamp":2}',
    '{"data":{"a":{"b":{"c":1,"c":2}}}}', '{"data":{"\\u0061":1,"a":2}}'];
  const cases = raws.map((raw) => ({ what: raw, raw }));
  cases.push({ what: 'DELETE duplicate version', method: 'DELETE', raw: '{"version":{"u":2},"version":{"u":2}}' });
  await refuse(cases);
});

test('nesting: depth 64 is accepted, 65 is 400', async () => {
  const nest = (k) => `${'['.repeat(k)}${']'.repeat(k)}`;
  const nestObj = (k) => `${'{"a":'.repeat(k - 1)}{}${'}'.repeat(k - 1)}`;
  // the body object is level 1: data nested 63 deep makes 64
  for (const [i, data] of [nest(63), nestObj(63), `[${Array(20).fill('"[[[{[[[[["').join(',')},"\\\\",${nest(62)}]`].entries()) {
    const r = await request(gw, 'PUT', `/v1/collections/bad-deep/docs/ok${i}`, { token: TOK, raw: `{"data":${data}}`, headers: JSONCT });
    assert.equal(r.status, 201, `depth 64 (${i}): ${r.text.slice(0, 200)}`);
  }
  const deep = await request(gw, 'GET', '/v1/collections/bad-deep/docs/ok0', { token: TOK });
  assert.equal(deep.status, 200);
  assert.equal(JSON.stringify(deep.json.data), nest(63));
  await refuse([
    { what: 'arrays 65 deep', raw: `{"data":${nest(64)}}` },
    { what: 'objects 65 deep', raw: `{"data":${nestObj(64)}}` },
    { what: 'arrays 1000 deep', raw: `{"data":${nest(1000)}}` },
    { what: 'version nested', raw: `{"data":1,"version":{"u":${nest(70)}}}` },
    { what: 'unclosed 100000 deep', raw: `{"data":${'['.repeat(100000)}` },
  ]);
});

test('the process is alive and stops cleanly', async () => {
  const h = await request(gw, 'GET', '/v1/health');
  assert.equal(h.status, 200);
  const seed = await request(gw, 'GET', seedPath, { token: TOK });
  assert.deepEqual(seed.json.data, { n: 1 });
  assert.deepEqual(seed.json.version, { u: 1 });
  assertCleanExit(assert, await gw.stop());
});
