// WebSocket protocol (DESIGN 7, 11; decisions 16-18): every client and server
// message, errors that leave the socket usable, close codes for binary and
// oversized messages, byte-identical fan-out, replay with `since`, reset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Redis, Gateway, assertCleanExit, adminToken, seqOf, epochOf,
  readerToken as reader, uniqueColl as coll,
} from './lib/harness.mjs';

const WS_MAX = 1024;
const SUBS_MAX = 3;
let redis;
let gw;
let stopped = false;
const admin = adminToken();

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    node: 'gw-proto',
    config: { limits: { ws_message_bytes: WS_MAX, subscriptions_per_connection: SUBS_MAX } },
  });
});

after(async () => {
  if (gw && !stopped) await gw.kill();
  if (redis) await redis.stop();
});

async function put(c, id, data) {
  const r = await gw.req('PUT', `/v1/collections/${c}/docs/${id}`, { body: { data }, token: admin });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${c}/${id}: ${r.status} ${r.text}`);
  return r.json;
}

async function head(c) {
  const r = await gw.req('GET', `/v1/collections/${c}/changes?limit=1000`, { token: admin });
  assert.equal(r.status, 200, r.text);
  return r.json.offset;
}

async function client(sub = 'alice') {
  const c = await gw.ws({ token: reader(sub) });
  await c.wait('welcome');
  return c;
}

/** Sends msg, returns the first message of `type` after it. */
async function ask(c, msg, type, timeout = 5000) {
  const from = c.messages.length;
  c.send(msg);
  return c.wait(type, { from, timeout });
}

async function subscribe(c, collection, extra = {}) {
  const from = c.messages.length;
  c.send({ type: 'subscribe', collection, ...extra });
  return c.wait((m) => m.type === 'subscribed' && m.collection === collection, { from });
}

let pingN = 0;
/** The socket still answers: a ping with a fresh ref gets its pong. */
async function assertUsable(c) {
  const ref = `alive-${++pingN}`;
  const from = c.messages.length;
  c.send({ type: 'ping', ref });
  const p = await c.wait((m) => m.type === 'pong' && m.ref === ref, { from });
  assert.equal(p.ref, ref);
}

const changeSeqs = (c, collection) => c.of('change', collection).map((m) => seqOf(m.offset));

test('welcome comes first with node, session and protocol 1; sessions differ', async () => {
  const a = await gw.ws({ token: reader('alice') });
  const b = await gw.ws({ token: reader('bob') });
  await a.wait('welcome');
  await b.wait('welcome');
  for (const c of [a, b]) {
    assert.equal(c.messages[0].type, 'welcome');
    assert.equal(c.messages[0].node, 'gw-proto');
    assert.equal(c.messages[0].protocol, 1);
    assert.equal(typeof c.messages[0].session, 'string');
    assert.ok(c.messages[0].session.length > 0);
    assert.equal(c.messages[0].__binary, false);
  }
  assert.notEqual(a.messages[0].session, b.messages[0].session);
  await a.close();
  await b.close();
});

test('subscribe answers subscribed with the head offset and the ref echoed as sent', async () => {
  const c = await client();
  const empty = coll('subs');
  const s0 = await subscribe(c, empty, { ref: 42 });
  assert.equal(s0.collection, empty);
  assert.equal(s0.ref, 42);
  assert.match(s0.offset, /^[A-Za-z0-9]+:0$/);
  assert.equal(s0.offset, await head(empty));

  const full = coll('subs');
  await put(full, 'd1', { n: 1 });
  const w2 = await put(full, 'd2', { n: 2 });
  const s1 = await subscribe(c, full, { ref: 'r-ü-"q"' });
  assert.equal(s1.ref, 'r-ü-"q"');
  assert.equal(s1.offset, w2.offset);
  assert.equal(seqOf(s1.offset), 2);

  const objRef = { a: [1, 'x', null, 2.5], b: { c: true, d: {} }, e: '' };
  const c3 = coll('subs');
  const s2 = await subscribe(c, c3, { ref: objRef });
  assert.deepEqual(s2.ref, objRef);
  assert.equal(s2.collection, c3);
  // no replay without since
  await assertUsable(c);
  assert.equal(c.of('change').length, 0);
  await c.close();
});

test('a PUT produces a change with every document field and the offset', async () => {
  const c = await client();
  const name = coll('chg');
  const s = await subscribe(c, name);
  const data = { title: 'milk', n: 3, tags: ['a', 'b'], nested: { x: null, y: 1.5 } };
  const w = await put(name, 'doc-1', data);
  const m = await c.wait((x) => x.type === 'change' && x.id === 'doc-1');
  assert.equal(m.collection, name);
  assert.equal(m.id, 'doc-1');
  assert.deepEqual(m.data, data);
  assert.equal(m.deleted, false);
  assert.deepEqual(m.version, w.version);
  assert.deepEqual(m.version, { admin: 1 });
  assert.equal(m.actor, 'admin');
  assert.equal(m.timestamp, w.timestamp);
  assert.equal(typeof m.timestamp, 'number');
  assert.equal(m.offset, w.offset);
  assert.equal(epochOf(m.offset), epochOf(s.offset));
  assert.equal(seqOf(m.offset), seqOf(s.offset) + 1);

  // a delete arrives as a tombstone change
  const d = await gw.req('DELETE', `/v1/collections/${name}/docs/doc-1`, { token: admin });
  assert.equal(d.status, 200, d.text);
  const t = await c.wait((x) => x.type === 'change' && x.deleted === true);
  assert.equal(t.id, 'doc-1');
  assert.equal(t.data, null);
  assert.deepEqual(t.version, { admin: 2 });
  assert.equal(seqOf(t.offset), seqOf(m.offset) + 1);
  // a write that changes nothing publishes nothing
  const again = await gw.req('DELETE', `/v1/collections/${name}/docs/doc-1`, { token: admin });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.applied, false);
  await put(name, 'doc-2', { n: 2 });
  await c.wait((x) => x.type === 'change' && x.id === 'doc-2');
  assert.deepEqual(changeSeqs(c, name), [1, 2, 3]);
  await c.close();
});

test('unsubscribe answers unsubscribed and stops changes for that collection only', async () => {
  const c = await client();
  const witness = await client('bob');
  const a = coll('unsub');
  const b = coll('unsub');
  await subscribe(c, a);
  await subscribe(c, b);
  await subscribe(witness, a);
  await put(a, 'x', 1);
  await c.wait((m) => m.type === 'change' && m.collection === a);
  const u = await ask(c, { type: 'unsubscribe', collection: a }, 'unsubscribed');
  assert.equal(u.collection, a);
  await put(a, 'y', 2);
  await put(b, 'z', 3);
  await witness.wait((m) => m.type === 'change' && m.id === 'y');
  await c.wait((m) => m.type === 'change' && m.collection === b);
  await assertUsable(c);
  assert.deepEqual(c.of('change', a).map((m) => m.id), ['x']);
  // subscribing again works and starts at the current head
  const s = await subscribe(c, a);
  assert.equal(seqOf(s.offset), 2);
  await c.close();
  await witness.close();
});

test('ping answers pong with the ref as sent', async () => {
  const c = await client();
  const deep = JSON.parse(`${'['.repeat(10)}"d"${']'.repeat(10)}`);
  for (const ref of [7, -1.5, 'abc', '', { k: [1, { z: 'y' }] }, [], deep, 0, false, null]) {
    const p = await ask(c, { type: 'ping', ref }, 'pong');
    assert.deepEqual(p.ref, ref);
  }
  const p = await ask(c, { type: 'ping' }, 'pong');
  assert.equal(p.type, 'pong');
  assert.ok(p.ref === undefined || p.ref === null);
  await c.close();
});

test('errors have type, code, message and ref; the socket stays usable after each', async () => {
  const c = await client();
  const ok = coll('err');
  await subscribe(c, ok);
  const cases = [
    { what: 'invalid JSON', raw: '{"type":"ping",', code: 'bad_request', noRef: true },
    { what: 'not an object', raw: '[1,2,3]', code: 'bad_request', noRef: true },
    { what: 'missing type', msg: { ref: 1 }, code: 'bad_request' },
    { what: 'unknown type', msg: { type: 'frobnicate', ref: 'u1' }, code: 'bad_request' },
    { what: 'missing collection', msg: { type: 'subscribe', ref: 2 }, code: 'bad_request' },
    { what: 'collection not a string', msg: { type: 'subscribe', collection: 5, ref: 3 }, code: 'bad_request' },
    { what: 'bad collection name', msg: { type: 'subscribe', collection: 'bad name!', ref: 4 }, code: 'bad_request' },
    { what: 'collection starting with a dot', msg: { type: 'subscribe', collection: '.hidden', ref: 5 }, code: 'bad_request' },
    { what: 'collection too long', msg: { type: 'subscribe', collection: `a${'b'.repeat(128)}`, ref: 6 }, code: 'bad_request' },
    { what: 'since without colon', msg: { type: 'subscribe', collection: coll('err'), since: 'nocolon', ref: 7 }, code: 'bad_request' },
    { what: 'since with bad seq', msg: { type: 'subscribe', collection: coll('err'), since: 'abc:x1', ref: 8 }, code: 'bad_request' },
    { what: 'since a number', msg: { type: 'subscribe', collection: coll('err'), since: 12, ref: 9 }, code: 'bad_request' },
    { what: 'since with negative seq', msg: { type: 'subscribe', collection: coll('err'), since: 'abc:-1', ref: 10 }, code: 'bad_request' },
    { what: 'duplicate subscribe', msg: { type: 'subscribe', collection: ok, ref: { dup: true } }, code: 'bad_request' },
    { what: 'unsubscribe without collection', msg: { type: 'unsubscribe', ref: 'nc' }, code: 'bad_request' },
    { what: 'unsubscribe of unknown', msg: { type: 'unsubscribe', collection: coll('err'), ref: 'un' }, code: 'not_found' },
    { what: 'ref over 256 bytes (kept for the life of a subscription: bounded)', msg: { type: 'subscribe', collection: coll('longref'), ref: 'r'.repeat(255) }, code: 'bad_request', noRef: true },
    { what: 'nested too deep', raw: `{"type":"ping","ref":${'['.repeat(100)}${']'.repeat(100)}}`, code: 'bad_request', noRef: true },
    { what: 'duplicate keys', raw: '{"type":"ping","type":"subscribe","collection":"x","ref":11}', code: 'bad_request', anyRef: true },
  ];
  for (const k of cases) {
    const e = await ask(c, k.raw ?? k.msg, 'error');
    assert.equal(e.code, k.code, `${k.what}: ${e.__raw}`);
    assert.equal(typeof e.message, 'string', k.what);
    assert.ok(e.message.length > 0, k.what);
    if (k.noRef) assert.ok(e.ref === undefined || e.ref === null, `${k.what}: ${e.__raw}`);
    else if (!k.anyRef) assert.deepEqual(e.ref, k.msg.ref, `${k.what}: ${e.__raw}`);
    await assertUsable(c);
  }
  // a ref of exactly 256 bytes serialized is fine
  const edge = 'r'.repeat(254);
  assert.equal((await ask(c, { type: 'ping', ref: edge }, 'pong')).ref, edge);
  // none of them subscribed anything; the one real subscription still delivers
  assert.deepEqual(c.of('subscribed').map((m) => m.collection), [ok]);
  await put(ok, 'still', true);
  await c.wait((m) => m.type === 'change' && m.id === 'still');
  assert.equal(c.of('change').length, 1);
  await c.close();
});

test('a binary frame closes with 1003', async () => {
  const c = await client();
  c.sock.send(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
  const cl = await c.closed;
  assert.equal(cl.code, 1003);
  assert.equal(c.of('pong').length, 0);
});

const pingOfSize = (size, ref = 'big') => {
  const base = JSON.stringify({ type: 'ping', ref, pad: '' });
  return JSON.stringify({ type: 'ping', ref, pad: 'p'.repeat(size - base.length) });
};

test('a message of exactly limits.ws_message_bytes is accepted, whole and in fragments', async () => {
  const c = await client();
  const m = pingOfSize(WS_MAX, 'whole');
  assert.equal(Buffer.byteLength(m), WS_MAX);
  const p = await ask(c, m, 'pong');
  assert.equal(p.ref, 'whole');
  const f = pingOfSize(WS_MAX, 'frag');
  const from = c.messages.length;
  for (let i = 0; i < f.length; i += 100) {
    c.sock.send(f.slice(i, i + 100), { fin: i + 100 >= f.length });
  }
  const q = await c.wait('pong', { from });
  assert.equal(q.ref, 'frag');
  await c.close();
});

test('a message over limits.ws_message_bytes as one frame closes with 1009', async () => {
  const c = await client();
  c.send(pingOfSize(WS_MAX + 1));
  const cl = await c.closed;
  assert.equal(cl.code, 1009);
  assert.equal(c.of('pong').length, 0);
  const d = await client();
  d.send(pingOfSize(WS_MAX * 50));
  assert.equal((await d.closed).code, 1009);
});

test('a message over limits.ws_message_bytes in many fragments closes with 1009', async () => {
  // The client is still sending when the gateway refuses: the close frame
  // must reach it all the same, every time (a close that leaves input
  // unread resets the connection and the client sees 1006).
  const m = pingOfSize(WS_MAX * 4);
  const codes = {};
  for (let k = 0; k < 100; k++) {
    const c = await client();
    for (let i = 0; i < m.length; i += 64) {
      if (c.sock.readyState !== 1) break;
      c.sock.send(m.slice(i, i + 64), { fin: i + 64 >= m.length });
    }
    const cl = await c.closed;
    codes[cl.code] = (codes[cl.code] || 0) + 1;
    assert.equal(c.of('pong').length, 0);
  }
  assert.deepEqual(codes, { 1009: 100 });
  // fragments each small, never finished: the cap applies to the sum
  const d = await client();
  for (let i = 0; i < 40 && d.sock.readyState === 1; i++) d.sock.send('x'.repeat(100), { fin: false });
  assert.equal((await d.closed).code, 1009);
});

test('past limits.subscriptions_per_connection: error, the socket stays', async () => {
  const c = await client();
  const names = [coll('cap'), coll('cap'), coll('cap')];
  for (const x of names) await subscribe(c, x);
  const extra = coll('cap');
  const e = await ask(c, { type: 'subscribe', collection: extra, ref: 'over' }, 'error');
  assert.equal(e.code, 'bad_request');
  assert.equal(e.ref, 'over');
  await assertUsable(c);
  assert.equal(c.of('subscribed').length, SUBS_MAX);
  // existing subscriptions still deliver, the refused one does not
  await put(names[2], 'a', 1);
  await put(extra, 'b', 2);
  await put(names[0], 'c', 3);
  await c.wait((m) => m.type === 'change' && m.id === 'c');
  await assertUsable(c);
  assert.deepEqual(c.of('change').map((m) => m.id), ['a', 'c']);
  // after an unsubscribe there is room again
  await ask(c, { type: 'unsubscribe', collection: names[1] }, 'unsubscribed');
  const s = await subscribe(c, extra);
  assert.equal(seqOf(s.offset), 1);
  await c.close();
});

test('the same change arrives byte-identical to different subscribers', async () => {
  const name = coll('same');
  const a = await client('alice');
  const b = await client('bob');
  const c = await client('carol');
  await subscribe(a, name);
  await subscribe(b, name, { ref: 'b' });
  await subscribe(c, coll('other'));
  await subscribe(c, name);
  for (let i = 0; i < 5; i++) await put(name, `d${i}`, { i, s: 'ü€𝄞', arr: [i, i * 2] });
  for (const x of [a, b, c]) await x.wait((m) => m.type === 'change' && m.id === 'd4');
  const ra = a.of('change', name).map((m) => m.__raw);
  assert.equal(ra.length, 5);
  assert.deepEqual(b.of('change', name).map((m) => m.__raw), ra);
  assert.deepEqual(c.of('change', name).map((m) => m.__raw), ra);
  assert.equal(new Set(ra).size, 5);
  // a late subscriber gets the same bytes by replay
  const d = await client('dan');
  await subscribe(d, name, { since: `${epochOf(a.of('change', name)[0].offset)}:0` });
  await d.wait((m) => m.type === 'change' && m.id === 'd4');
  assert.deepEqual(d.of('change', name).map((m) => m.__raw), ra);
  for (const x of [a, b, c, d]) await x.close();
});

test('since replays exactly the missed changes, then goes live', async () => {
  const name = coll('since');
  const w = [];
  for (let i = 1; i <= 5; i++) w.push(await put(name, `d${i}`, { i }));
  const c = await client();
  const s = await subscribe(c, name, { since: w[1].offset, ref: 'since' });
  assert.equal(s.ref, 'since');
  assert.equal(s.offset, w[4].offset);
  await c.wait((m) => m.type === 'change' && m.id === 'd5');
  await put(name, 'd6', { i: 6 });
  await c.wait((m) => m.type === 'change' && m.id === 'd6');
  await assertUsable(c);
  assert.deepEqual(changeSeqs(c, name), [3, 4, 5, 6]);
  assert.deepEqual(c.of('change', name).slice(0, 3).map((m) => m.data.i), [3, 4, 5]);
  assert.ok(c.messages.indexOf(s) < c.messages.indexOf(c.of('change', name)[0]), 'subscribed before replay');
  assert.equal(c.of('reset').length, 0);

  // since = head replays nothing; since = <epoch>:0 replays everything
  const d = await client();
  await subscribe(d, name, { since: w[4].offset.replace(/:\d+$/, ':6') });
  const e = await client();
  await subscribe(e, name, { since: `${epochOf(w[0].offset)}:0` });
  await e.wait((m) => m.type === 'change' && m.id === 'd6');
  await put(name, 'd7', { i: 7 });
  await d.wait((m) => m.type === 'change' && m.id === 'd7');
  await e.wait((m) => m.type === 'change' && m.id === 'd7');
  assert.deepEqual(changeSeqs(d, name), [7]);
  assert.deepEqual(changeSeqs(e, name), [1, 2, 3, 4, 5, 6, 7]);
  for (const x of [c, d, e]) await x.close();
});

test('since while writes go on: no gap and no duplicate at the seam', async () => {
  const name = coll('seam');
  const total = 60;
  const offsets = [];
  let c;
  const writer = (async () => {
    for (let i = 1; i <= total; i++) {
      offsets.push((await put(name, `d${i % 7}`, { i })).offset);
      if (i === 20) {
        c = await gw.ws({ token: reader('seam') });
        await c.wait('welcome');
        c.send({ type: 'subscribe', collection: name, since: offsets[9] });
      }
    }
  })();
  await writer;
  await c.wait((m) => m.type === 'change' && m.offset === offsets[total - 1], { timeout: 15000 });
  await assertUsable(c);
  const seqs = changeSeqs(c, name);
  assert.deepEqual(seqs, Array.from({ length: total - 10 }, (_, k) => k + 11));
  assert.deepEqual(c.of('change', name).map((m) => m.data.i), seqs);
  await c.close();
});

test("since of another epoch, or ahead of the head, gets a reset and stays live", async () => {
  const name = coll('reset');
  await put(name, 'a', 1);
  const w = await put(name, 'b', 2);
  const c = await client();
  const from = c.messages.length;
  c.send({ type: 'subscribe', collection: name, since: 'otherepoch0123:1', ref: 'r' });
  const r = await c.wait('reset', { from });
  assert.equal(r.collection, name);
  assert.equal(r.reason, 'epoch_changed');
  assert.equal(r.offset, w.offset);
  const s = await c.wait('subscribed', { from });
  assert.equal(s.ref, 'r');
  const w3 = await put(name, 'c', 3);
  const ch = await c.wait((m) => m.type === 'change' && m.id === 'c');
  assert.equal(ch.offset, w3.offset);
  await assertUsable(c);
  assert.deepEqual(changeSeqs(c, name), [3], 'nothing replayed from another epoch');

  // since ahead of the head in the current epoch: Redis lost the tail; the
  // collection gets a new epoch and every subscriber of the old one a reset
  const d = await client();
  const fd = d.messages.length;
  const fc = c.messages.length;
  d.send({ type: 'subscribe', collection: name, since: `${epochOf(w.offset)}:99` });
  const r2 = await d.wait('reset', { from: fd });
  assert.equal(r2.reason, 'epoch_changed');
  assert.notEqual(epochOf(r2.offset), epochOf(w3.offset), 'a new epoch');
  assert.equal(seqOf(r2.offset), seqOf(w3.offset));
  const rc = await c.wait('reset', { from: fc });
  assert.equal(rc.offset, r2.offset, 'the live subscriber is moved to the new epoch too');
  const w4 = await put(name, 'd', 4);
  assert.equal(epochOf(w4.offset), epochOf(r2.offset));
  await d.wait((m) => m.type === 'change' && m.id === 'd');
  assert.deepEqual(changeSeqs(d, name), [4]);
  await c.close();
  await d.close();
});

test('since older than the retained log gets reset history_trimmed', async () => {
  const name = coll('trim');
  for (let i = 1; i <= 6; i++) await put(name, `d${i}`, { i });
  const h = await head(name);
  // the log loses its oldest entries (as retention would do)
  const trimmed = await redis.cli('XTRIM', `sg:{${name}}:log`, 'MAXLEN', '2');
  assert.equal(trimmed, '(integer) 4');
  const c = await client();
  const from = c.messages.length;
  c.send({ type: 'subscribe', collection: name, since: `${epochOf(h)}:1` });
  const r = await c.wait('reset', { from });
  assert.equal(r.reason, 'history_trimmed');
  assert.equal(r.collection, name);
  assert.equal(r.offset, h);
  await put(name, 'd7', { i: 7 });
  await c.wait((m) => m.type === 'change' && m.id === 'd7');
  await assertUsable(c);
  assert.deepEqual(changeSeqs(c, name), [7]);
  // since still inside the log replays normally
  const d = await client();
  await subscribe(d, name, { since: `${epochOf(h)}:5` });
  await d.wait((m) => m.type === 'change' && m.id === 'd7');
  assert.deepEqual(changeSeqs(d, name), [6, 7]);
  assert.equal(d.of('reset').length, 0);
  await c.close();
  await d.close();
});

test('gateway exits cleanly with sockets still open', async () => {
  const c = await client();
  await subscribe(c, coll('end'));
  const r = await gw.stop();
  stopped = true;
  let timer;
  const cl = await Promise.race([c.closed,
    new Promise((r) => { timer = setTimeout(() => r({ code: 'not closed' }), 15000); })]);
  clearTimeout(timer);
  assertCleanExit(assert, r);
  assert.equal(cl.code, 1001, 'SIGTERM closes sockets with 1001 "gateway shutting down"');
});
