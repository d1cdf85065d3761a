// Version-vector rules of DESIGN section 4 end to end (REST writes, the
// change log and live WebSocket delivery), plus the other write forms:
// unconditional writes, If-Match, tombstones, the LWW clamp and clock.
// Every case runs in its own collection with a live subscriber; after each
// case the subscriber must have received exactly the log, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, token, sleep } from './lib/harness.mjs';
import { assertError, readLog, docFields, seqOf, epochOf, request } from './lib/rest-helpers.mjs';

const TOK = token('u', { sync: { read: ['*'], write: ['*'] } });
const A = 'u:a';
const B = 'u:b';
const C = 'u:c';
const T = 1700000000000; // a past edit time: never clamped

let redis;
let gw;
let ws;
const tracked = [];
let markerN = 0;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, config: { collections: [{ match: 'rej-*', conflict: 'reject' }] } });
  ws = await gw.ws({ token: TOK });
  await ws.wait('welcome');
});

after(async () => {
  if (ws) await ws.terminate();
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

/** A collection under test: its log head, checked after every write. */
class Coll {
  constructor(name, g = gw, sock = ws) {
    this.name = name;
    this.gw = g;
    this.ws = sock;
    tracked.push(this);
  }

  async subscribe() {
    const ref = `s-${this.name}`;
    this.ws.send({ type: 'subscribe', collection: this.name, ref });
    const m = await this.ws.wait((x) => x.type === 'subscribed' && x.ref === ref, { timeout: 10000 });
    assert.equal(m.collection, this.name);
    assert.equal(seqOf(m.offset), 0, `fresh collection ${this.name} starts at seq 0: ${m.offset}`);
    this.head = m.offset;
  }

  path(id) { return `/v1/collections/${this.name}/docs/${id}`; }

  write(id, { method = 'PUT', body, headers } = {}) {
    return request(this.gw, method, this.path(id), { token: TOK, body, headers });
  }

  get(id) { return request(this.gw, 'GET', `${this.path(id)}?include_deleted=true`, { token: TOK }); }

  /** The log grew by exactly these answers (documents), with consecutive seqs. */
  async expectLog(answers, what = '') {
    const r = await request(this.gw, 'GET', `/v1/collections/${this.name}/changes?since=${this.head}`, { token: TOK });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.reset, false, r.text);
    assert.equal(r.json.changes.length, answers.length,
      `${this.name} ${what}: expected ${answers.length} new log entries, got ${JSON.stringify(r.json.changes)}`);
    let seq = seqOf(this.head);
    answers.forEach((a, i) => {
      const ch = r.json.changes[i];
      seq += 1;
      assert.equal(ch.offset, `${epochOf(this.head)}:${seq}`, `consecutive seq in ${this.name}`);
      assert.deepEqual(docFields(ch), docFields(a), `${this.name} ${what}: the log entry is the answer`);
    });
    assert.equal(r.json.offset, `${epochOf(this.head)}:${seq}`);
    this.head = r.json.offset;
  }

  /** Live delivery equals the log: one message per entry, in order, nothing else. */
  async checkWs() {
    markerN += 1;
    const m = await this.write('zz-marker', { body: { data: { marker: markerN } } });
    assert.ok(m.status === 200 || m.status === 201, m.text);
    await this.expectLog([m.json], 'marker');
    await this.ws.wait((x) => x.type === 'change' && x.collection === this.name && x.offset === m.json.offset,
      { timeout: 10000 });
    const log = await readLog(this.gw, TOK, this.name);
    const live = this.ws.of('change', this.name);
    assert.deepEqual(live.map((x) => x.offset), log.changes.map((x) => x.offset),
      `${this.name}: live changes must be exactly the log`);
    live.forEach((x, i) => assert.deepEqual(docFields(x), docFields(log.changes[i])));
  }
}

function assertDoc(r, coll, id, e, what) {
  const j = r.json;
  assert.equal(j.collection, coll, what);
  assert.equal(j.id, id, what);
  for (const k of ['version', 'data', 'deleted', 'actor', 'timestamp']) {
    if (k in e) assert.deepEqual(j[k], e[k], `${what}: ${k} of ${r.text}`);
  }
  assert.match(r.headers.get('etag') || '', /^"[0-9a-f]{32}"$/, `${what}: ETag`);
}

const put = (data, version, actor, timestamp) => ({ body: { data, version, actor, timestamp } });
const del = (version, actor, timestamp) => ({ method: 'DELETE', body: { version, actor, timestamp } });
const LWW_IN = { policy: 'lww', winner: 'incoming' };
const LWW_ST = { policy: 'lww', winner: 'stored' };

// setup: writes that must all be applied; write: the one under test.
const CASES = [
  { name: 'rule 1: another actor entry larger than stored -> 409 invalid_version',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: put({ v: 2 }, { [A]: 2, [B]: 1 }, B, T + 1),
    expect: { status: 409, code: 'invalid_version' } },
  { name: 'rule 1 against an absent document -> 409, nothing created',
    setup: [],
    write: put({ v: 1 }, { [A]: 1, [B]: 1 }, B, T),
    expect: { status: 409, code: 'invalid_version' } },
  { name: 'rule 1 on a delete -> 409 invalid_version',
    setup: [put(1, { [A]: 1 }, A, T)],
    write: del({ [A]: 1, [B]: 1, [C]: 1 }, B, T + 1),
    expect: { status: 409, code: 'invalid_version' } },
  { name: 'rule 2: W dominates S -> applied with version W',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: put({ v: 2 }, { [A]: 1, [B]: 1 }, B, T + 1),
    expect: { status: 200, applied: true, version: { [A]: 1, [B]: 1 }, data: { v: 2 }, deleted: false, actor: B, timestamp: T + 1, logged: true } },
  { name: 'rule 2 on an absent document -> 201',
    setup: [],
    write: put('x', { [A]: 1 }, A, T),
    expect: { status: 201, applied: true, version: { [A]: 1 }, data: 'x', deleted: false, actor: A, timestamp: T, logged: true } },
  { name: 'rule 2: two offline edits add 2 to the own entry, one log entry',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: put({ v: 3 }, { [A]: 1, [B]: 2 }, B, T + 2),
    expect: { status: 200, applied: true, version: { [A]: 1, [B]: 2 }, data: { v: 3 }, actor: B, logged: true } },
  { name: 'rule 2: a delete that dominates -> tombstone',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: del({ [A]: 1, [B]: 1 }, B, T + 1),
    expect: { status: 200, applied: true, version: { [A]: 1, [B]: 1 }, data: null, deleted: true, actor: B, logged: true } },
  { name: 'rule 3: same version, same data -> 200 applied:false',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: put({ v: 1 }, { [A]: 1 }, A, T),
    expect: { status: 200, applied: false, version: { [A]: 1 }, data: { v: 1 }, actor: A, timestamp: T, logged: false } },
  { name: 'rule 3: same version, different data -> 409 invalid_version',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: put({ v: 9 }, { [A]: 1 }, A, T + 1),
    expect: { status: 409, code: 'invalid_version' } },
  { name: 'rule 3: same version, delete of live data -> 409 invalid_version',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T)],
    write: del({ [A]: 1 }, A, T + 1),
    expect: { status: 409, code: 'invalid_version' } },
  { name: 'rule 3: the same delete again -> 200 applied:false',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T), del({ [A]: 2 }, A, T + 1)],
    write: del({ [A]: 2 }, A, T + 1),
    expect: { status: 200, applied: false, version: { [A]: 2 }, data: null, deleted: true, logged: false } },
  { name: 'rule 4: S dominates W -> 200 applied:false with the stored document',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T), put({ v: 2 }, { [A]: 2 }, A, T + 1)],
    write: put({ v: 'old' }, { [A]: 1 }, A, T + 5),
    expect: { status: 200, applied: false, version: { [A]: 2 }, data: { v: 2 }, actor: A, timestamp: T + 1, logged: false } },
  { name: 'rule 4: retry of an intermediate offline edit -> applied:false',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T), put({ v: 3 }, { [A]: 1, [B]: 2 }, B, T + 2)],
    write: put({ v: 2 }, { [A]: 1, [B]: 1 }, B, T + 1),
    expect: { status: 200, applied: false, version: { [A]: 1, [B]: 2 }, data: { v: 3 }, logged: false } },
  { name: 'rule 4: a dominated delete -> applied:false, document stays',
    setup: [put({ v: 1 }, { [A]: 1 }, A, T), put({ v: 2 }, { [A]: 1, [B]: 1 }, B, T + 1)],
    write: del({ [A]: 1 }, A, T + 9),
    expect: { status: 200, applied: false, version: { [A]: 1, [B]: 1 }, data: { v: 2 }, deleted: false, logged: false } },
  { name: 'rule 5 lww: later incoming wins, merged version',
    setup: [put({ v: 'a' }, { [A]: 1 }, A, T)],
    write: put({ v: 'b' }, { [B]: 1 }, B, T + 5),
    expect: { status: 200, applied: true, conflict: LWW_IN, version: { [A]: 1, [B]: 1 }, data: { v: 'b' }, actor: B, timestamp: T + 5, logged: true } },
  { name: 'rule 5 lww: later stored wins, applied:false, merged version logged',
    setup: [put({ v: 'a' }, { [A]: 1 }, A, T + 5)],
    write: put({ v: 'b' }, { [B]: 1 }, B, T),
    expect: { status: 200, applied: false, conflict: LWW_ST, version: { [A]: 1, [B]: 1 }, data: { v: 'a' }, actor: A, timestamp: T + 5, logged: true } },
  { name: 'rule 5 lww: same timestamp, larger actor string (incoming) wins',
    setup: [put('a', { [A]: 1 }, A, T)],
    write: put('b', { [B]: 1 }, B, T),
    expect: { status: 200, applied: true, conflict: LWW_IN, version: { [A]: 1, [B]: 1 }, data: 'b', actor: B, timestamp: T, logged: true } },
  { name: 'rule 5 lww: same timestamp, larger actor string (stored) wins',
    setup: [put('b', { [B]: 1 }, B, T)],
    write: put('a', { [A]: 1 }, A, T),
    expect: { status: 200, applied: false, conflict: LWW_ST, version: { [A]: 1, [B]: 1 }, data: 'b', actor: B, timestamp: T, logged: true } },
  { name: 'rule 5 lww: same timestamp and actor keeps the stored state',
    setup: [put('b1', { [B]: 1 }, B, T), put('a1', { [A]: 1, [B]: 1 }, A, T)],
    write: put('a2', { [A]: 2 }, A, T),
    expect: { status: 200, applied: false, conflict: LWW_ST, version: { [A]: 2, [B]: 1 }, data: 'a1', actor: A, timestamp: T, logged: true } },
  { name: 'rule 5 lww: three actors, merge is the entry-wise max',
    setup: [put(1, { [A]: 2 }, A, T), put(2, { [A]: 2, [B]: 3 }, B, T + 1)],
    write: put(3, { [A]: 1, [C]: 4 }, C, T + 2),
    expect: { status: 200, applied: true, conflict: LWW_IN, version: { [A]: 2, [B]: 3, [C]: 4 }, data: 3, actor: C, timestamp: T + 2, logged: true } },
  { name: 'rule 5 lww: edit wins over a concurrent tombstone -> 201',
    setup: [put('x', { [A]: 1 }, A, T), del({ [A]: 2 }, A, T + 1)],
    write: put('y', { [A]: 1, [B]: 1 }, B, T + 10),
    expect: { status: 201, applied: true, conflict: LWW_IN, version: { [A]: 2, [B]: 1 }, data: 'y', deleted: false, actor: B, logged: true } },
  { name: 'rule 5 lww: delete wins over a concurrent edit',
    setup: [put('x', { [A]: 1 }, A, T), put('edit', { [A]: 2 }, A, T + 1)],
    write: del({ [A]: 1, [B]: 1 }, B, T + 10),
    expect: { status: 200, applied: true, conflict: LWW_IN, version: { [A]: 2, [B]: 1 }, data: null, deleted: true, actor: B, logged: true } },
  { name: 'rule 5 lww: stored tombstone wins over a concurrent edit',
    setup: [put('x', { [A]: 1 }, A, T), del({ [A]: 2 }, A, T + 10)],
    write: put('late', { [A]: 1, [B]: 1 }, B, T + 1),
    expect: { status: 200, applied: false, conflict: LWW_ST, version: { [A]: 2, [B]: 1 }, data: null, deleted: true, actor: A, timestamp: T + 10, logged: true } },
  { name: 'rule 5 reject: concurrent edit -> 409 conflict with the stored document', reject: true,
    setup: [put({ v: 'a' }, { [A]: 1 }, A, T)],
    write: put({ v: 'b' }, { [B]: 1 }, B, T + 5),
    expect: { status: 409, code: 'conflict' } },
  { name: 'rule 5 reject: delete vs concurrent edit -> 409 conflict', reject: true,
    setup: [put('x', { [A]: 1 }, A, T), put('edit', { [A]: 2 }, A, T + 1)],
    write: del({ [A]: 1, [B]: 1 }, B, T + 10),
    expect: { status: 409, code: 'conflict' } },
  { name: 'reject policy: rule 2 still applies', reject: true,
    setup: [put({ v: 'a' }, { [A]: 1 }, A, T)],
    write: put({ v: 'b' }, { [A]: 1, [B]: 1 }, B, T + 5),
    expect: { status: 200, applied: true, version: { [A]: 1, [B]: 1 }, data: { v: 'b' }, logged: true } },
  { name: 'reject policy: rule 4 still answers applied:false', reject: true,
    setup: [put({ v: 'a' }, { [A]: 1 }, A, T), put({ v: 'b' }, { [A]: 2 }, A, T + 1)],
    write: put({ v: 'a' }, { [A]: 1 }, A, T),
    expect: { status: 200, applied: false, version: { [A]: 2 }, data: { v: 'b' }, logged: false } },
];

CASES.forEach((c, i) => {
  test(`case ${i}: ${c.name}`, async () => {
    const coll = new Coll(`${c.reject ? 'rej-' : ''}vr${i}`);
    const id = 'doc1';
    await coll.subscribe();
    let last;
    for (const s of c.setup) {
      const r = await coll.write(id, s);
      assert.ok(r.status === 200 || r.status === 201, `setup ${JSON.stringify(s)}: ${r.status} ${r.text}`);
      assert.equal(r.json.applied, true, `setup applied: ${r.text}`);
      await coll.expectLog([r.json], 'setup');
      last = r.json;
    }
    const before = await coll.get(id);
    const r = await coll.write(id, c.write);
    const e = c.expect;
    const what = `${c.name}: ${JSON.stringify(c.write)}`;
    assert.equal(r.status, e.status, `${what} -> ${r.text}`);
    if (e.code) {
      assertError(assert, r, e.status, e.code, what);
      if (e.code === 'conflict') {
        assert.deepEqual(docFields(r.json.stored), docFields(last), 'a 409 conflict carries the stored document');
        assert.deepEqual(r.json.conflict, { policy: 'reject', winner: 'stored' });
      }
      const after = await coll.get(id);
      assert.equal(after.status, before.status, 'nothing changed');
      assert.deepEqual(after.json, before.json, 'nothing changed');
      await coll.expectLog([], 'refused write');
    } else {
      assertDoc(r, coll.name, id, e, what);
      assert.equal(r.json.applied, e.applied, `${what}: applied -> ${r.text}`);
      assert.deepEqual(r.json.conflict, e.conflict, `${what}: conflict -> ${r.text}`);
      const g = await coll.get(id);
      assert.equal(g.status, 200);
      assert.deepEqual(docFields(g.json), docFields(r.json), 'the answer is the stored document');
      assert.equal(g.headers.get('etag'), r.headers.get('etag'));
      if (e.logged) {
        await coll.expectLog([r.json], 'applied write');
      } else {
        assert.equal(r.json.offset, last.offset, 'unchanged document keeps its offset');
        await coll.expectLog([], 'write that changes nothing');
      }
      const plain = await request(gw, 'GET', coll.path(id), { token: TOK });
      assert.equal(plain.status, r.json.deleted ? 404 : 200, 'tombstones are 404 without include_deleted');
    }
    await coll.checkWs();
  });
});

test('reject policy: the client merges and writes again', async () => {
  const coll = new Coll('rej-merge');
  await coll.subscribe();
  const s = await coll.write('d', put({ title: 'milk' }, { [A]: 1 }, A, T));
  assert.equal(s.status, 201, s.text);
  await coll.expectLog([s.json]);
  const mine = { [B]: 1 };
  const r = await coll.write('d', put({ title: 'oat milk' }, mine, B, T + 1));
  assertError(assert, r, 409, 'conflict');
  await coll.expectLog([]);
  // merge(W, S) plus the own increment
  const merged = { ...r.json.stored.version };
  for (const [k, v] of Object.entries(mine)) merged[k] = Math.max(merged[k] || 0, v);
  merged[B] += 1;
  assert.deepEqual(merged, { [A]: 1, [B]: 2 });
  const data = { title: `${r.json.stored.data.title} / oat milk` };
  const w = await coll.write('d', put(data, merged, B, T + 2));
  assert.equal(w.status, 200, w.text);
  assert.equal(w.json.applied, true);
  assert.equal(w.json.conflict, undefined);
  assert.deepEqual(w.json.version, merged);
  assert.deepEqual(w.json.data, data);
  await coll.expectLog([w.json]);
  await coll.checkWs();
});

test('unconditional writes add 1 to the writer entry; repeats change nothing', async () => {
  const coll = new Coll('uncond1');
  await coll.subscribe();
  const steps = [
    [{ body: { data: 1, actor: A } }, 201, true, { [A]: 1 }, A],
    [{ body: { data: 2, actor: B } }, 200, true, { [A]: 1, [B]: 1 }, B],
    [{ body: { data: 3, actor: B } }, 200, true, { [A]: 1, [B]: 2 }, B],
    [{ body: { data: 3, actor: B } }, 200, false, { [A]: 1, [B]: 2 }, B],
    [{ body: { data: 3, actor: A } }, 200, false, { [A]: 1, [B]: 2 }, B],
    [{ method: 'DELETE' }, 200, true, { [A]: 1, [B]: 2, u: 1 }, 'u'],
    [{ method: 'DELETE' }, 200, false, { [A]: 1, [B]: 2, u: 1 }, 'u'],
    [{ method: 'DELETE', body: { actor: A } }, 200, false, { [A]: 1, [B]: 2, u: 1 }, 'u'],
    [{ body: { data: 4 } }, 201, true, { [A]: 1, [B]: 2, u: 2 }, 'u'],
    [{ body: { data: { x: [1, 2] }, actor: C, timestamp: T } }, 200, true, { [A]: 1, [B]: 2, u: 2, [C]: 1 }, C],
  ];
  for (const [req, status, applied, version, actor] of steps) {
    const t0 = Date.now();
    const r = await coll.write('d', req);
    const what = JSON.stringify(req);
    assert.equal(r.status, status, `${what} -> ${r.text}`);
    assert.equal(r.json.applied, applied, `${what} -> ${r.text}`);
    assert.deepEqual(r.json.version, version, `${what} -> ${r.text}`);
    assert.equal(r.json.actor, actor, `${what} -> ${r.text}`);
    assert.equal(r.json.conflict, undefined);
    if (applied && !req.body?.timestamp) {
      assert.ok(r.json.timestamp >= t0 - 1 && r.json.timestamp <= Date.now() + 1,
        `no client timestamp: server time, got ${r.json.timestamp}`);
    }
    await coll.expectLog(applied ? [r.json] : [], what);
  }
  await coll.checkWs();
});

test('If-Match: the GET ETag applies; stale 412; with a body version 400', async () => {
  const coll = new Coll('ifmatch1');
  await coll.subscribe();
  const c = await coll.write('d', { body: { data: 1, actor: A } });
  assert.equal(c.status, 201);
  await coll.expectLog([c.json]);
  const g = await request(gw, 'GET', coll.path('d'), { token: TOK });
  const e1 = g.headers.get('etag');
  assert.equal(e1, c.headers.get('etag'));
  assert.match(e1, /^"[0-9a-f]{32}"$/);

  const ok = await coll.write('d', { body: { data: 2, actor: B }, headers: { 'if-match': e1 } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.applied, true);
  assert.deepEqual(ok.json.version, { [A]: 1, [B]: 1 });
  const e2 = ok.headers.get('etag');
  assert.notEqual(e2, e1);
  await coll.expectLog([ok.json]);

  const refused = [
    [{ body: { data: 3, actor: B }, headers: { 'if-match': e1 } }, 412, 'precondition_failed'],
    [{ body: { data: 3, actor: B }, headers: { 'if-match': '"0123456789abcdef0123456789abcdef"' } }, 412, 'precondition_failed'],
    [{ method: 'DELETE', body: {}, headers: { 'if-match': e1 } }, 412, 'precondition_failed'],
    [{ method: 'DELETE', headers: { 'if-match': e1 } }, 412, 'precondition_failed'],
    [{ body: { data: 3, actor: B, version: { [A]: 1, [B]: 2 } }, headers: { 'if-match': e2 } }, 400, 'bad_request'],
    [{ method: 'DELETE', body: { version: { [A]: 1, [B]: 2 } }, headers: { 'if-match': e2 } }, 400, 'bad_request'],
  ];
  for (const [req, status, code] of refused) {
    const r = await coll.write('d', req);
    assertError(assert, r, status, code, JSON.stringify(req));
    const now = await coll.get('d');
    assert.deepEqual(now.json.version, { [A]: 1, [B]: 1 });
    assert.deepEqual(now.json.data, 2);
    await coll.expectLog([], JSON.stringify(req));
  }
  // If-Match on a missing document: 412, nothing created
  for (const im of [e2, '*']) {
    const r = await coll.write('nope', { body: { data: 1 }, headers: { 'if-match': im } });
    assertError(assert, r, 412, 'precondition_failed', `If-Match ${im} on a missing document`);
    assert.equal((await coll.get('nope')).status, 404);
  }
  await coll.expectLog([]);
  // "*" matches any stored document
  const star = await coll.write('d', { body: { data: 5, actor: A }, headers: { 'if-match': '*' } });
  assert.equal(star.status, 200, star.text);
  assert.equal(star.json.applied, true);
  assert.deepEqual(star.json.version, { [A]: 2, [B]: 1 });
  await coll.expectLog([star.json]);
  // a delete under the current ETag
  const d = await coll.write('d', { method: 'DELETE', headers: { 'if-match': star.headers.get('etag') } });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.deleted, true);
  assert.equal(d.json.applied, true);
  assert.deepEqual(d.json.version, { [A]: 2, [B]: 1, u: 1 });
  await coll.expectLog([d.json]);
  assert.equal((await request(gw, 'GET', coll.path('d'), { token: TOK })).status, 404);
  await coll.checkWs();
});

test('LWW clamp: a far-future client timestamp is capped at server time + 60 s', async () => {
  const coll = new Coll('clamp-default');
  await coll.subscribe();
  const t0 = Date.now();
  const r = await coll.write('d', put('future', { [A]: 1 }, A, 2 ** 53 - 1));
  const t1 = Date.now();
  assert.equal(r.status, 201, r.text);
  assert.ok(r.json.timestamp >= t0 + 60000 - 1 && r.json.timestamp <= t1 + 60000 + 1,
    `timestamp ${r.json.timestamp} not in [${t0 + 60000}, ${t1 + 60000}]`);
  await coll.expectLog([r.json]);
  // an edit made now loses against the (clamped) future one
  const n = await coll.write('d', put('now', { [B]: 1 }, B, Date.now()));
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.applied, false);
  assert.deepEqual(n.json.conflict, LWW_ST);
  assert.equal(n.json.data, 'future');
  assert.equal(n.json.timestamp, r.json.timestamp);
  await coll.expectLog([n.json]);
  await coll.checkWs();
});

test('LWW clamp follows lww_clamp_ms', async () => {
  const g2 = await Gateway.start({ redis, node: 'clamp', config: { lww_clamp_ms: 1000 } });
  const w2 = await g2.ws({ token: TOK });
  await w2.wait('welcome');
  const coll = new Coll('clamp-small', g2, w2);
  await coll.subscribe();
  const t0 = Date.now();
  const r = await coll.write('d', put('future', { [A]: 1 }, A, t0 + 86400000));
  const t1 = Date.now();
  assert.equal(r.status, 201, r.text);
  assert.ok(r.json.timestamp >= t0 + 1000 - 1 && r.json.timestamp <= t1 + 1000 + 1,
    `timestamp ${r.json.timestamp} not in [${t0 + 1000}, ${t1 + 1000}]`);
  await coll.expectLog([r.json]);
  while (Date.now() <= r.json.timestamp + 5) await sleep(50);
  const ts = Date.now();
  const n = await coll.write('d', put('now', { [B]: 1 }, B, ts));
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.applied, true, `a current edit beats the clamped one: ${n.text}`);
  assert.deepEqual(n.json.conflict, LWW_IN);
  assert.equal(n.json.timestamp, ts);
  assert.deepEqual(n.json.version, { [A]: 1, [B]: 1 });
  await coll.expectLog([n.json]);
  await coll.checkWs();
  await w2.close();
  assertCleanExit(assert, await g2.stop());
});

test('lww_clock=server ignores client timestamps', async () => {
  const g3 = await Gateway.start({ redis, node: 'sclock', config: { lww_clock: 'server' } });
  const w3 = await g3.ws({ token: TOK });
  await w3.wait('welcome');
  const coll = new Coll('server-clock', g3, w3);
  await coll.subscribe();
  const t0 = Date.now();
  const r = await coll.write('d', put('first', { [A]: 1 }, A, t0 + 3600000));
  const t1 = Date.now();
  assert.equal(r.status, 201, r.text);
  assert.ok(r.json.timestamp >= t0 - 1 && r.json.timestamp <= t1 + 1,
    `server time expected, got ${r.json.timestamp} (request at ${t0}..${t1})`);
  await coll.expectLog([r.json]);
  // an ancient client timestamp does not lose: the server clock decides
  const n = await coll.write('d', put('second', { [B]: 1 }, B, 1));
  assert.equal(n.status, 200, n.text);
  assert.equal(n.json.applied, true, n.text);
  assert.deepEqual(n.json.conflict, LWW_IN);
  assert.ok(n.json.timestamp >= r.json.timestamp, `server time, got ${n.json.timestamp}`);
  assert.equal(n.json.data, 'second');
  await coll.expectLog([n.json]);
  await coll.checkWs();
  await w3.close();
  assertCleanExit(assert, await g3.stop());
});

test('every log is gap-free: seq 1..N in one epoch, each entry published once', async () => {
  assert.ok(tracked.length >= CASES.length);
  for (const c of tracked.filter((x) => x.gw === gw)) { // the others are stopped
    const log = await readLog(gw, TOK, c.name);
    const epoch = epochOf(log.offset);
    log.changes.forEach((ch, i) => {
      assert.equal(ch.offset, `${epoch}:${i + 1}`, `${c.name} entry ${i}`);
      assert.equal(ch.collection, c.name);
    });
    assert.equal(log.offset, `${epoch}:${log.changes.length}`);
    assert.equal(log.offset, c.head, `${c.name}: no write outside the checked ones`);
    const xlen = Number(await redis.raw('XLEN', `sg:{${c.name}}:log`));
    assert.equal(xlen, log.changes.length, `${c.name}: stream length`);
  }
});

test('the gateway stops cleanly', async () => {
  await ws.close();
  ws = null;
  assertCleanExit(assert, await gw.stop());
});
