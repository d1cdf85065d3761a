// The client library (web/syncgate.js) in Node against real gateways and a
// real redis-server: load and live updates, the offline queue and its
// persistence, conflicts (lww, reject with and without a merge), tokens
// (refresh before expiry, close 4001, 1008), reconnects, resets, refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  Redis, Gateway, adminToken, token, uniqueColl, sleep, waitFor, seqOf,
} from './lib/harness.mjs';
import { SyncGate, memoryStorage, stringStorage } from '../../web/syncgate.js';

let redis;
let gw;
const clients = [];

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    config: { collections: [{ match: 'rj-*', conflict: 'reject' }, { match: 'nr-*', history: 10 }] },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await gw.stop();
  await redis.stop();
});

/** A client on gw (or url) with fast retries; closed after the tests. */
function client(opts = {}) {
  const c = new SyncGate({
    url: gw.url,
    WebSocket,
    storage: 'memory',
    getToken: () => adminToken('node'),
    backoff: { minMs: 50, maxMs: 400 },
    heartbeatMs: 2000,
    ...opts,
  });
  clients.push(c);
  return c;
}

const online = (c) => waitFor(() => c.status === 'online', { what: 'online', timeout: 10000 });

async function serverDocs(coll) {
  const r = await gw.req('GET', `/v1/collections/${coll}/docs?limit=1000&include_deleted=true`, { token: adminToken() });
  assert.equal(r.status, 200);
  return new Map(r.json.docs.map((d) => [d.id, d]));
}

async function serverChanges(coll) {
  const r = await gw.req('GET', `/v1/collections/${coll}/changes?limit=1000`, { token: adminToken() });
  assert.equal(r.status, 200);
  return r.json;
}

/** The client's local copy equals the gateway's documents (data and version). */
async function assertEqualToServer(col, what) {
  const srv = await serverDocs(col.name);
  const live = [...srv.values()].filter((d) => !d.deleted);
  await waitFor(() => col.docs().length === live.length
    && live.every((d) => {
      const l = col.get(d.id);
      return l && JSON.stringify(l.data) === JSON.stringify(d.data)
        && JSON.stringify(Object.entries(l.version).sort()) === JSON.stringify(Object.entries(d.version).sort());
    }), { what: `${what}: local copy equal to the server`, timeout: 10000 });
}

test('subscribe gives the current state, then every change, from both sides', async () => {
  const coll = uniqueColl('node-live');
  const r = await gw.req('PUT', `/v1/collections/${coll}/docs/seed`, { token: adminToken(), body: { data: { n: 0 } } });
  assert.equal(r.status, 201);
  const a = client();
  const b = client();
  const ca = a.collection(coll);
  const cb = b.collection(coll);
  const calls = [];
  cb.subscribe((docs, change) => calls.push({ size: docs.size, change }));
  await online(a);
  await online(b);
  await waitFor(() => cb.get('seed'), { what: 'b loaded the seed' });
  assert.equal(calls[0].change, null, 'the first call carries the state, no change');
  const res = await ca.put('x', { title: 'milk' });
  assert.equal(res.queued, false);
  assert.equal(res.applied, true);
  assert.deepEqual(res.doc.data, { title: 'milk' });
  assert.equal(res.doc.version[a.actor], 1);
  await waitFor(() => cb.get('x')?.data?.title === 'milk', { what: 'b sees a put' });
  assert.ok(calls.some((c) => c.change && c.change.id === 'x' && c.change.source === 'remote'));
  await cb.put('x', { title: 'oat milk' });
  await waitFor(() => ca.get('x')?.data?.title === 'oat milk', { what: 'a sees b' });
  assert.deepEqual(ca.get('x').version, { [a.actor]: 1, [b.actor]: 1 });
  await ca.delete('x');
  await waitFor(() => cb.get('x') === undefined, { what: 'b sees the delete' });
  assert.equal(cb.docs().some((d) => d.id === 'x'), false);
  await assertEqualToServer(cb, 'b');
});

test('the local copy changes at once; offline writes queue and go out in order, once each', async () => {
  const coll = uniqueColl('node-offline');
  const a = client();
  const b = client();
  const ca = a.collection(coll);
  const cb = b.collection(coll);
  await online(a);
  await online(b);
  a.goOffline();
  assert.equal(a.status, 'offline');
  const r1 = await ca.put('t1', { title: 'one', done: false });
  assert.equal(r1.queued, true);
  assert.equal(ca.get('t1').data.title, 'one');
  assert.equal(ca.get('t1').pending, true);
  await ca.put('t1', { title: 'one', done: true });
  await ca.put('t2', { title: 'two' });
  await ca.delete('t2');
  assert.equal(ca.pendingCount(), 4);
  assert.equal(ca.get('t2'), undefined);
  await sleep(200);
  assert.equal(cb.get('t1'), undefined, 'nothing left the offline client');
  a.goOnline();
  await a.flush(10000);
  assert.equal(ca.pendingCount(), 0);
  await waitFor(() => cb.get('t1')?.data?.done === true, { what: 'b sees the queued writes' });
  const log = await serverChanges(coll);
  assert.deepEqual(log.changes.map((c) => [c.id, c.deleted]), [['t1', false], ['t1', false], ['t2', false], ['t2', true]],
    'one change per edit, in order');
  assert.equal(ca.get('t1').pending, undefined);
  await assertEqualToServer(ca, 'a');
});

test('a queue kept in storage survives a restart of the client and is sent once', async () => {
  const coll = uniqueColl('node-persist');
  const shared = memoryStorage();
  const a1 = client({ storage: shared, offline: true });
  const c1 = a1.collection(coll);
  await c1.put('p1', { v: 1 });
  await c1.put('p2', { v: 2 });
  await c1.put('p1', { v: 3 });
  a1.close();
  // a new instance on the same storage: same device, same queue, same local copy
  const a2 = client({ storage: shared, offline: true });
  const c2 = a2.collection(coll);
  await c2.ready();
  assert.equal(c2.get('p1').data.v, 3, 'the local copy came back from storage');
  assert.equal(c2.pendingCount(), 3);
  assert.equal(a2.actor, a1.actor, 'the same device and slot: the same actor');
  a2.goOnline();
  await a2.flush(10000);
  const log = await serverChanges(coll);
  assert.equal(log.changes.length, 3, 'one change per edit');
  const srv = await serverDocs(coll);
  assert.equal(srv.get('p1').data.v, 3);
  assert.deepEqual(srv.get('p1').version, { [a2.actor]: 2 });
});

test('a string store (AsyncStorage-like) works as storage', async () => {
  const m = new Map();
  const store = {
    getItem: async (k) => (m.has(k) ? m.get(k) : null),
    setItem: async (k, v) => { m.set(k, v); },
    removeItem: async (k) => { m.delete(k); },
    getAllKeys: async () => [...m.keys()],
  };
  const coll = uniqueColl('node-rn');
  const a = client({ storage: stringStorage(store, '@app/'), offline: true });
  await a.collection(coll).put('k', { ok: true });
  assert.ok([...m.keys()].some((k) => k.startsWith('@app/syncgate:out:')), 'the queue is in the store');
  a.goOnline();
  await a.flush(10000);
  assert.equal((await serverDocs(coll)).get('k').data.ok, true);
  assert.equal([...m.keys()].some((k) => k.startsWith('@app/syncgate:out:')), false, 'sent writes leave the store');
});

test('an offline edit that conflicts is settled by lww and reported through `conflict`', async () => {
  const coll = uniqueColl('node-lww');
  const a = client();
  const b = client();
  const ca = a.collection(coll);
  const cb = b.collection(coll);
  await online(a);
  await online(b);
  await ca.put('d', { title: 'start' });
  await waitFor(() => cb.get('d'), { what: 'b has d' });
  const seen = { a: [], b: [] };
  ca.on('conflict', (ev) => seen.a.push(ev));
  b.on('conflict', (ev) => seen.b.push(ev));
  a.goOffline();
  await ca.put('d', { title: 'from a (earlier)' });
  await sleep(20);
  await cb.put('d', { title: 'from b (later)' });
  a.goOnline();
  await a.flush(10000);
  await waitFor(() => seen.a.length === 1 && seen.b.length === 1, { what: 'both told of the conflict' });
  const ev = seen.a[0];
  assert.equal(ev.policy, 'lww');
  assert.equal(ev.winner, 'stored', 'b wrote later: the stored state wins');
  assert.equal(ev.mine, true);
  assert.equal(ev.incoming.data.title, 'from a (earlier)');
  assert.equal(ev.stored.data.title, 'from b (later)');
  assert.equal(ev.result.data.title, 'from b (later)');
  assert.equal(seen.b[0].mine, false);
  await waitFor(() => ca.get('d').data.title === 'from b (later)' && !ca.get('d').pending, { what: 'a converged' });
  assert.deepEqual(ca.get('d').version, cb.get('d').version);
  await assertEqualToServer(ca, 'a');
});

test('reject: a 409 goes to the app\'s merge, whose answer is written on top', async () => {
  const coll = uniqueColl('rj-merge');
  const merges = [];
  const a = client();
  const b = client();
  const ca = a.collection(coll, {
    merge: (mine, stored) => {
      merges.push({ mine, stored });
      return { items: [...new Set([...stored.data.items, ...mine.data.items])].sort() };
    },
  });
  const cb = b.collection(coll);
  await online(a);
  await online(b);
  await ca.put('list', { items: ['bread'] });
  await waitFor(() => cb.get('list'), { what: 'b has the list' });
  a.goOffline();
  await ca.put('list', { items: ['bread', 'eggs'] });
  await cb.put('list', { items: ['bread', 'milk'] });
  const conflicts = [];
  ca.on('conflict', (ev) => conflicts.push(ev));
  a.goOnline();
  await a.flush(10000);
  assert.equal(merges.length, 1);
  assert.deepEqual(merges[0].stored.data.items, ['bread', 'milk']);
  assert.equal(conflicts.length, 1);
  assert.equal(conflicts[0].policy, 'reject');
  assert.equal(conflicts[0].merged, true);
  await waitFor(() => JSON.stringify(cb.get('list')?.data?.items) === '["bread","eggs","milk"]', { what: 'b sees the merge' });
  await assertEqualToServer(ca, 'a');
});

test('reject without a merge: reported, the local copy goes back to the stored state', async () => {
  const coll = uniqueColl('rj-plain');
  const a = client();
  const b = client();
  const ca = a.collection(coll);
  const cb = b.collection(coll);
  await online(a);
  await online(b);
  await ca.put('k', { v: 'first' });
  await waitFor(() => cb.get('k'), { what: 'b has k' });
  a.goOffline();
  await ca.put('k', { v: 'mine' });
  await cb.put('k', { v: 'theirs' });
  const conflicts = [];
  ca.on('conflict', (ev) => conflicts.push(ev));
  a.goOnline();
  await a.flush(10000);
  await waitFor(() => conflicts.length === 1, { what: 'the refusal reported' });
  assert.equal(conflicts[0].winner, 'stored');
  assert.equal(conflicts[0].stored.data.v, 'theirs');
  assert.equal(conflicts[0].incoming.data.v, 'mine');
  await sleep(300); // the trail entry of the same refusal must not be told again
  assert.equal(conflicts.length, 1);
  assert.equal(ca.get('k').data.v, 'theirs');
  await assertEqualToServer(ca, 'a');
});

test('a write the gateway refuses rejects its promise, rolls back and emits error', async () => {
  const coll = uniqueColl('node-forbid');
  const a = client({ getToken: () => token('ro', { sync: { read: ['*'], write: ['other'] } }) });
  const ca = a.collection(coll);
  await online(a);
  const errors = [];
  a.on('error', (e) => errors.push(e));
  await assert.rejects(ca.put('x', { a: 1 }), (e) => e.code === 'forbidden' && e.status === 403);
  assert.equal(ca.get('x'), undefined, 'rolled back');
  assert.equal(errors[0].code, 'forbidden');
  await assert.rejects(ca.put('bad id with spaces', { a: 1 }), (e) => e.code === 'bad_request');
  await assert.rejects(ca.put('y', undefined), TypeError);
});

test('an own count the gateway is past (lost local state) is written again on top, not dropped', async () => {
  const coll = uniqueColl('node-stale');
  const a = client({ device: 'fixed1' });
  const ca = a.collection(coll);
  await online(a);
  for (let i = 1; i <= 3; i++) await ca.put('s', { n: i });
  a.close();
  // the same device with its storage wiped, offline: it knows nothing of its own 3 edits
  const a2 = client({ device: 'fixed1', offline: true });
  const c2 = a2.collection(coll);
  await c2.ready();
  const pending = c2.put('s', { n: 'fresh' });
  assert.deepEqual(c2.get('s').version, { [a2.actor]: 1 });
  a2.goOnline();
  await pending;
  await a2.flush(10000);
  const srv = await serverDocs(coll);
  assert.equal(srv.get('s').data.n, 'fresh');
  assert.equal(srv.get('s').version[a2.actor], 4);
});

test('tokens: refreshed before they expire, with no change lost and no 4001', async () => {
  const coll = uniqueColl('node-token');
  const g = await Gateway.start({ redis, config: { auth: { leeway_s: 0 } }, node: 'gw-tok' });
  try {
    let calls = 0;
    const a = client({
      url: g.url,
      getToken: () => { calls++; return token('tok', { sync: { read: ['*'], write: ['*'] }, expiresIn: 3 }); },
    });
    const statuses = [];
    a.on('status', (s, d) => statuses.push([s, d.code]));
    const ca = a.collection(coll);
    await online(a);
    const writes = 40;
    for (let i = 0; i < writes; i++) {
      await g.req('PUT', `/v1/collections/${coll}/docs/w${i}`, { token: adminToken(), body: { data: { i } } });
      await sleep(200);
    }
    await waitFor(() => ca.docs().length === writes, { what: 'every change arrived', timeout: 10000 });
    assert.ok(calls >= 3, `getToken called ${calls} times`);
    assert.equal(statuses.filter(([, code]) => code === 4001).length, 0, `no 4001: ${JSON.stringify(statuses)}`);
    await ca.put('mine', { ok: true });
    assert.equal((await serverDocs(coll)).get('mine').data.ok, true);
  } finally {
    await g.stop();
  }
});

test('tokens: a close 4001 (the refresh came late) gets a new token and resumes without a gap', async () => {
  const coll = uniqueColl('node-4001');
  const g = await Gateway.start({ redis, config: { auth: { leeway_s: 0 } }, node: 'gw-4001' });
  try {
    let calls = 0;
    const a = client({
      url: g.url,
      getToken: async () => {
        calls++;
        if (calls === 2) await sleep(2500); // the refresh is slow: the socket expires first
        return token('late', { sync: { read: ['*'], write: ['*'] }, expiresIn: calls === 1 ? 2 : 3600 });
      },
    });
    const codes = [];
    a.on('status', (s, d) => { if (d.code) codes.push(d.code); });
    const ca = a.collection(coll);
    await online(a);
    for (let i = 0; i < 20; i++) {
      await g.req('PUT', `/v1/collections/${coll}/docs/w${i}`, { token: adminToken(), body: { data: { i } } });
      await sleep(200);
    }
    await waitFor(() => ca.docs().length === 20, { what: 'every change arrived', timeout: 10000 });
    assert.ok(codes.includes(4001), `the socket closed with 4001: ${codes}`);
    await online(a);
  } finally {
    await g.stop();
  }
});

test('close 1008 (a token the gateway refuses) stops the retries and says why', async () => {
  let calls = 0;
  const a = client({ getToken: () => { calls++; return token('x', { secret: 'another-secret-0123456789-abcdefghijkl' }); } });
  const errors = [];
  a.on('error', (e) => errors.push(e));
  await waitFor(() => errors.some((e) => e.code === 'policy'), { what: 'a policy error' });
  assert.equal(a.status, 'offline');
  const before = calls;
  await sleep(1000);
  assert.equal(calls, before, 'no retry after 1008');
  assert.match(errors.find((e) => e.code === 'policy').message, /1008/);
});

test('a gateway restart: the client comes back and catches up from its offset, no reset', async () => {
  const coll = uniqueColl('node-restart');
  const g1 = await Gateway.start({ redis, node: 'gw-r1' });
  const g2 = await Gateway.start({ redis, node: 'gw-r2' });
  try {
    const a = client({ url: g1.url });
    const resets = [];
    a.on('reset', (r) => resets.push(r));
    const ca = a.collection(coll);
    await online(a);
    await ca.put('before', { n: 0 });
    const ports = { SYNCGATE_HTTP_PORT: String(g1.httpPort), SYNCGATE_WS_PORT: String(g1.wsPort) };
    await g1.stop();
    await waitFor(() => a.status !== 'online', { what: 'the client noticed' });
    for (let i = 0; i < 5; i++) {
      await g2.req('PUT', `/v1/collections/${coll}/docs/while${i}`, { token: adminToken(), body: { data: { i } } });
    }
    const queued = await ca.put('offline-write', { mine: true });
    assert.equal(queued.queued, true);
    const g1b = await Gateway.start({ redis, node: 'gw-r1', env: ports });
    try {
      await online(a);
      await waitFor(() => ca.docs().length === 7, { what: 'caught up', timeout: 10000 });
      await a.flush(10000);
      assert.equal(resets.length, 0);
      await assertEqualToServer(ca, 'after restart');
    } finally {
      await g1b.stop();
    }
  } finally {
    await g2.stop();
  }
});

test('a reset (history trimmed while offline) reloads the collection', async () => {
  const coll = uniqueColl('nr-reset');
  const a = client();
  const ca = a.collection(coll);
  await online(a);
  await ca.put('keep', { n: 0 });
  a.goOffline();
  for (let i = 0; i < 150; i++) {
    await gw.req('PUT', `/v1/collections/${coll}/docs/r${i % 7}`, { token: adminToken(), body: { data: { i } } });
  }
  await gw.req('DELETE', `/v1/collections/${coll}/docs/keep`, { token: adminToken() });
  const resets = [];
  ca.on('reset', (r) => resets.push(r));
  a.goOnline();
  await waitFor(() => resets.length === 1, { what: 'a reset' });
  assert.equal(resets[0].reason, 'history_trimmed');
  await assertEqualToServer(ca, 'after the reset');
  assert.equal(ca.get('keep'), undefined);
  assert.ok(seqOf(resets[0].offset) >= 151);
});

test('edits made before any token was seen take the subject once a token comes', async () => {
  const coll = uniqueColl('node-anon');
  let up = false;
  const a = client({
    offline: true,
    getToken: () => {
      if (!up) throw new Error('no network');
      return adminToken('late-sub');
    },
  });
  const ca = a.collection(coll);
  await ca.ready();
  assert.match(a.actor, /^anonymous:/);
  const r = await ca.put('first', { n: 1 });
  assert.equal(r.queued, true);
  up = true;
  a.goOnline();
  await online(a);
  await a.flush(10000);
  assert.match(a.actor, /^late-sub:/);
  const doc = (await serverDocs(coll)).get('first');
  assert.equal(doc.actor, a.actor);
  assert.deepEqual(doc.version, { [a.actor]: 1 });
});

test('on() and subscribe() return functions that stop the calls; close() stops everything', async () => {
  const coll = uniqueColl('node-off');
  const a = client();
  const ca = a.collection(coll);
  await online(a);
  const seen = { sg: 0, coll: 0, sub: 0 };
  const offSg = a.on('change', () => { seen.sg++; });
  const offColl = ca.on('change', () => { seen.coll++; });
  const unsub = ca.subscribe(() => { seen.sub++; });
  await ca.put('one', { n: 1 });
  await waitFor(() => seen.sg > 0 && seen.coll > 0 && seen.sub > 1, { what: 'the listeners called' });
  offSg();
  offColl();
  unsub();
  const before = { ...seen };
  await ca.put('two', { n: 2 });
  await gw.req('PUT', `/v1/collections/${coll}/docs/three`, { token: adminToken(), body: { data: { n: 3 } } });
  await waitFor(() => ca.get('three'), { what: 'the live change arrived' });
  assert.deepEqual(seen, before, 'removed listeners are not called');
  assert.throws(() => a.on('change', 'not a function'), TypeError);
  a.close();
  assert.equal(a.status, 'offline');
  await assert.rejects(ca.put('four', { n: 4 }), (e) => e.code === 'closed');
});

test('a write whose request gets no answer is given up after requestTimeoutMs and sent again, once stored', async () => {
  const coll = uniqueColl('node-hang');
  const http = await import('node:http');
  let held = 0;
  // a proxy in front of the gateway that swallows the first PUT (no answer, ever)
  const proxy = http.createServer(async (req, res) => {
    if (req.method === 'PUT' && held === 0) {
      held++;
      return; // never answered
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers.connection;
    const r = await fetch(`${gw.url}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') || 'application/json' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    const a = client({ url: `http://127.0.0.1:${proxy.address().port}`, requestTimeoutMs: 500 });
    const ca = a.collection(coll);
    await online(a);
    const t0 = Date.now();
    const r = await ca.put('h', { v: 1 });
    assert.equal(r.queued, true, 'the first attempt timed out: queued');
    assert.ok(Date.now() - t0 >= 450, 'it waited for the timeout');
    await a.flush(10000);
    assert.equal(held, 1);
    const log = await serverChanges(coll);
    assert.equal(log.changes.length, 1, 'stored once');
    assert.equal(ca.get('h').pending, undefined);
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});
