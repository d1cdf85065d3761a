// Pages bounded by bytes, not only by count (limits.page_bytes): a list or
// changes page of large documents ends early, with the cursor or offset
// that continues it, so every document comes exactly once; a WebSocket
// replay of them (batches cut the same way) misses nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, adminToken, seqOf } from './lib/harness.mjs';
import { request } from './lib/rest-helpers.mjs';

const TOK = adminToken('pages');
const PAGE = 64 * 1024;
const N = 12;
const BIG = 'x'.repeat(20000);

let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'gw-pages', config: { limits: { page_bytes: PAGE } } });
  for (let i = 0; i < N; i++) {
    const r = await request(gw, 'PUT', `/v1/collections/big/docs/d${String(i).padStart(2, '0')}`, { token: TOK, body: { data: { i, pad: BIG } } });
    assert.equal(r.status, 201, r.text);
  }
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

test('list pages of large documents end early and continue with their cursor', async () => {
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const r = await request(gw, 'GET', `/v1/collections/big/docs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: TOK });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.ok(r.json.docs.length >= 1);
    assert.ok(r.text.length < PAGE + 2 * 21000, `a page of ${r.text.length} bytes`);
    seen.push(...r.json.docs.map((d) => d.id));
    cursor = r.json.cursor;
    pages++;
  } while (cursor && pages < 50);
  assert.ok(pages >= 3, `${pages} pages: the byte budget cut them`);
  assert.deepEqual(seen, Array.from({ length: N }, (_, i) => `d${String(i).padStart(2, '0')}`));
});

test('changes pages end early and continue from their offset', async () => {
  const seqs = [];
  let since = '';
  let pages = 0;
  for (;;) {
    const r = await request(gw, 'GET', `/v1/collections/big/changes?limit=100${since ? `&since=${since}` : ''}`, { token: TOK });
    assert.equal(r.status, 200, r.text.slice(0, 200));
    if (!r.json.changes.length) break;
    assert.ok(r.text.length < PAGE + 2 * 21000, `a page of ${r.text.length} bytes`);
    seqs.push(...r.json.changes.map((c) => seqOf(c.offset)));
    since = r.json.offset;
    pages++;
    assert.ok(pages < 50);
  }
  assert.ok(pages >= 3, `${pages} pages`);
  assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 1));
});

test('a WebSocket replay of large changes misses nothing', async () => {
  const c = await gw.ws({ token: TOK });
  await c.wait('welcome');
  const head = (await request(gw, 'GET', '/v1/collections/big/changes?limit=1', { token: TOK })).json.changes[0].offset;
  c.send({ type: 'subscribe', collection: 'big', since: head.replace(/:\d+$/, ':0'), ref: 1 });
  await c.wait((m) => m.type === 'change' && seqOf(m.offset) === N, { timeout: 10000 });
  assert.deepEqual(c.of('change', 'big').map((m) => seqOf(m.offset)), Array.from({ length: N }, (_, i) => i + 1));
  await c.close();
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
});
