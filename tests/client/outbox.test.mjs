// Unit tests of the client library's write queue (web/syncgate/outbox.js)
// over the in-memory store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Outbox, classifyAnswer } from '../../web/syncgate/outbox.js';
import { memoryStorage } from '../../web/syncgate/storage.js';

const entry = (over = {}) => ({
  collection: 'todos', id: 'a', deleted: false, data: { t: 1 }, version: { me: 1 },
  actor: 'me', timestamp: 1, key: 'k', ...over,
});

test('the queue keeps order, survives a reload from storage, and forgets removed entries', async () => {
  const st = memoryStorage();
  const q = new Outbox(st, 'sg:out:0:');
  await q.load();
  const e1 = q.add(entry({ key: 'k1' }));
  const e2 = q.add(entry({ id: 'b', key: 'k2' }));
  const e3 = q.add(entry({ version: { me: 2 }, key: 'k3' }));
  assert.deepEqual([e1.seq, e2.seq, e3.seq], [1, 2, 3]);
  assert.equal(q.head(), e1);
  assert.equal(q.latest('todos', 'a'), e3);
  assert.equal(q.usedOwn('todos', 'a', 'me'), 2);
  assert.equal(q.count('todos'), 3);
  assert.equal(q.count('other'), 0);
  await q.remove(e1);
  const again = new Outbox(st, 'sg:out:0:');
  await again.load();
  assert.deepEqual(again.entries.map((e) => e.key), ['k2', 'k3']);
  assert.equal(again.add(entry({ key: 'k4' })).seq, 4, 'numbering goes on after the last kept entry');
});

test('more than nine entries keep their order in storage (keys sort as numbers)', async () => {
  const st = memoryStorage();
  const q = new Outbox(st, 'p:');
  await q.load();
  for (let i = 0; i < 25; i++) q.add(entry({ key: `k${i}` }));
  const r = new Outbox(st, 'p:');
  await r.load();
  assert.deepEqual(r.entries.map((e) => e.key), Array.from({ length: 25 }, (_, i) => `k${i}`));
});

test('adopt takes another slot\'s queue first, in its order, and empties it', async () => {
  const st = memoryStorage();
  const other = new Outbox(st, 'sg:out:1:');
  await other.load();
  other.add(entry({ key: 'o1', actor: 'me1' }));
  other.add(entry({ key: 'o2', actor: 'me1' }));
  const q = new Outbox(st, 'sg:out:0:');
  await q.load();
  q.add(entry({ key: 'm1' }));
  assert.equal(await q.adopt('sg:out:1:'), 2);
  assert.deepEqual(q.entries.map((e) => e.key), ['o1', 'o2', 'm1']);
  assert.deepEqual(await st.keys('sg:out:1:'), []);
  const r = new Outbox(st, 'sg:out:0:');
  await r.load();
  assert.deepEqual(r.entries.map((e) => e.key), ['o1', 'o2', 'm1']);
  assert.equal(await q.adopt('sg:out:9:'), 0);
});

test('classifyAnswer sorts the gateway\'s answers', () => {
  const e = entry({ data: { t: 1 }, version: { me: 2 } });
  assert.equal(classifyAnswer(200, { applied: true, data: { t: 1 }, version: { me: 2 } }, e), 'done');
  assert.equal(classifyAnswer(201, { applied: true }, e), 'done');
  // already applied, same data: a retry or a duplicate
  assert.equal(classifyAnswer(200, { applied: false, data: { t: 1 }, deleted: false, version: { me: 2 } }, e), 'done');
  // already applied with other data: our own count was behind the gateway's
  assert.equal(classifyAnswer(200, { applied: false, data: { t: 9 }, deleted: false, version: { me: 5 } }, e), 'stale');
  // lost a conflict: done (the conflict is reported, not retried)
  assert.equal(classifyAnswer(200, { applied: false, conflict: { policy: 'lww', winner: 'stored' }, data: { t: 9 }, version: { me: 2, o: 1 } }, e), 'done');
  assert.equal(classifyAnswer(409, { error: { code: 'conflict' }, stored: { version: {} } }, e), 'conflict');
  assert.equal(classifyAnswer(409, { error: { code: 'invalid_version' } }, e), 'refused');
  assert.equal(classifyAnswer(401, { error: { code: 'unauthorized' } }, e), 'auth');
  for (const s of [408, 429, 500, 503]) assert.equal(classifyAnswer(s, null, e), 'retry', String(s));
  for (const s of [400, 403, 404, 413, 422]) assert.equal(classifyAnswer(s, { error: { code: 'x' } }, e), 'refused', String(s));
  const del = entry({ deleted: true, data: null });
  assert.equal(classifyAnswer(200, { applied: false, deleted: true, data: null, version: { me: 1 } }, del), 'done');
  assert.equal(classifyAnswer(200, { applied: false, deleted: false, data: { t: 1 }, version: { me: 3 } }, del), 'stale');
});
