// Delivery guarantees (DESIGN.md section 5, RELIABILITY.md D08, D09, P3):
// per subscription, changes arrive in seq order with no gap and no duplicate;
// across gateways; across `since` resubscribes (also while writes go on);
// `reset` history_trimmed when the log no longer reaches back; a write that
// changes nothing publishes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Redis, Gateway, assertCleanExit, seqOf, epochOf, sleep, waitFor,
} from './lib/harness.mjs';
import {
  ADMIN as T, docPath, feedClient, waitSeq, assertConsecutive,
} from './lib/feed.mjs';

// requests without a time limit of their own, as Gateway.req
const { put, putOk, subscribe, metric } = feedClient({ token: T, timeout: 0 });

const CONFIG = { collections: [{ match: 'small*', history: 20 }] };

let redis;
let gwA;
let gwB;

before(async () => {
  redis = await Redis.start();
  gwA = await Gateway.start({ redis, node: 'gw-a', config: CONFIG });
  gwB = await Gateway.start({ redis, node: 'gw-b', config: CONFIG });
});

after(async () => {
  const ra = gwA ? await gwA.stop() : null;
  const rb = gwB ? await gwB.stop() : null;
  if (redis) await redis.stop();
  if (ra) assertCleanExit(assert, ra);
  if (rb) assertCleanExit(assert, rb);
});

// ------------------------------------------------------------ helpers

async function listAll(gw, coll, onPage = async () => {}) {
  const docs = [];
  let cursor = null;
  let offset = null;
  for (let page = 0; page < 1000; page++) {
    const q = cursor ? `?limit=7&cursor=${encodeURIComponent(cursor)}` : '?limit=7';
    const r = await gw.req('GET', `/v1/collections/${coll}/docs${q}`, { token: T });
    assert.equal(r.status, 200, r.text);
    if (offset === null) offset = r.json.offset;
    else assert.equal(r.json.offset, offset, 'every page repeats the first page offset');
    docs.push(...r.json.docs);
    cursor = r.json.cursor;
    await onPage(page);
    if (!cursor) return { docs, offset };
  }
  throw new Error('list did not end');
}

const geq = (a, b) => Object.keys(b).every((k) => (a[k] || 0) >= b[k]);

/** A client-side replica: applies documents by version (DESIGN section 11). */
function applyChange(state, m) {
  const cur = state.get(m.id);
  if (cur && geq(cur.version, m.version)) return;
  state.set(m.id, { data: m.data, deleted: m.deleted, version: m.version });
}

// ------------------------------------------------------------ tests

test('burst of concurrent writers: every subscriber gets every change in seq order, no gap, no duplicate', async () => {
  const coll = 'burst';
  const subs = [];
  for (const gw of [gwA, gwA, gwA, gwB, gwB]) subs.push(await subscribe(gw, coll));
  // also a second subscription on the same socket: it must not disturb the first
  subs[0].c.send({ type: 'subscribe', collection: 'burst-other', ref: 'other' });
  await subs[0].c.wait((m) => m.type === 'subscribed' && m.ref === 'other', { timeout: 10000 });
  const start = subs[0].subscribed.offset;
  for (const s of subs) assert.equal(s.subscribed.offset, start, 'all start at the same head');

  const WRITERS = 8;
  const PER = 375; // 3000 writes
  const answers = new Map(); // offset -> answer
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    const gw = w % 2 ? gwB : gwA;
    for (let i = 0; i < PER; i++) {
      const id = `d${(w * 7 + i) % 40}`;
      const a = await putOk(gw, coll, id, { w, i });
      if (i % 50 === 0) await putOk(gw, 'burst-other', `o${w}`, { i });
      assert.ok(!answers.has(a.offset), `offset ${a.offset} answered twice`);
      answers.set(a.offset, a);
    }
  }));
  assert.equal(answers.size, WRITERS * PER);
  const seqs = [...answers.keys()].map(seqOf).sort((x, y) => x - y);
  assert.equal(seqs[0], seqOf(start) + 1);
  assert.equal(seqs[seqs.length - 1], seqOf(start) + WRITERS * PER, 'write answers have no gaps');
  const last = seqs[seqs.length - 1];

  for (const [k, s] of subs.entries()) {
    await waitSeq(s.c, coll, last, 60000);
    const got = s.c.of('change', coll);
    assertConsecutive(got, start, `subscriber ${k}`);
    assert.equal(got.length, WRITERS * PER, `subscriber ${k} change count`);
    for (const m of got) {
      const a = answers.get(m.offset);
      assert.ok(a, `subscriber ${k}: change ${m.offset} was never answered to a writer`);
      assert.deepEqual([m.id, m.data, m.version], [a.id, a.data, a.version], `content of ${m.offset}`);
    }
    assert.equal(s.c.of('reset').length, 0, `subscriber ${k} got a reset`);
  }
  // a change is serialized once: same bytes to every subscriber of one gateway
  const rawA = subs.slice(0, 3).map((s) => s.c.of('change', coll).map((m) => m.__raw));
  assert.deepEqual(rawA[1], rawA[0]);
  assert.deepEqual(rawA[2], rawA[0]);
  const other = subs[0].c.of('change', 'burst-other');
  assert.equal(other.length, WRITERS * Math.ceil(PER / 50));
  assertConsecutive(other, `${epochOf(other[0].offset)}:0`, 'second subscription');
  for (const s of subs) await s.c.close();
});

test('two gateways: a subscriber on A gets every change written through B, in order', async () => {
  const coll = 'cross';
  const { c, subscribed } = await subscribe(gwA, coll);
  const offsets = [];
  await Promise.all(Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; i < 100; i++) offsets.push((await putOk(gwB, coll, `x${w}`, { w, i })).offset);
  }));
  const last = Math.max(...offsets.map(seqOf));
  await waitSeq(c, coll, last);
  const got = c.of('change', coll);
  assertConsecutive(got, subscribed.offset, 'subscriber on A');
  assert.deepEqual(got.map((m) => m.offset).sort(), offsets.sort());
  await c.close();
});

test('since: a client that missed N writes gets exactly them, then live', async () => {
  const coll = 'since';
  const first = await subscribe(gwA, coll);
  for (let i = 0; i < 10; i++) await putOk(gwA, coll, `s${i % 3}`, { i });
  const before10 = await waitSeq(first.c, coll, seqOf(first.subscribed.offset) + 10);
  const lastOffset = assertConsecutive(first.c.of('change', coll), first.subscribed.offset, 'first');
  assert.equal(lastOffset, before10.offset);
  await first.c.close();

  const missed = [];
  for (let i = 0; i < 25; i++) missed.push(await putOk(gwB, coll, `s${i % 4}`, { m: i }));
  const second = await subscribe(gwB, coll, { since: lastOffset });
  assert.equal(second.subscribed.offset, missed[missed.length - 1].offset, 'subscribed.offset is the head');
  await waitSeq(second.c, coll, seqOf(missed[missed.length - 1].offset));
  const replay = second.c.of('change', coll);
  assert.deepEqual(replay.map((m) => [m.offset, m.id, m.data]),
    missed.map((a) => [a.offset, a.id, a.data]), 'exactly the missed changes');
  const live = [];
  for (let i = 0; i < 5; i++) live.push(await putOk(gwA, coll, 'live', { i }));
  await waitSeq(second.c, coll, seqOf(live[4].offset));
  const all = second.c.of('change', coll);
  assertConsecutive(all, lastOffset, 'after resubscribe');
  assert.deepEqual(all.slice(25).map((m) => m.data), live.map((a) => a.data));
  assert.equal(second.c.of('reset').length, 0);
  await second.c.close();
});

test('since while writes keep arriving: no gap, no duplicate at the seam, across many resubscribes', async () => {
  const coll = 'seam';
  let stop = false;
  let written = 0;
  let lastAnswered = 0;
  let writers = [];
  const startWriters = () => Array.from({ length: 3 }, async (_, w) => {
    const gw = w === 1 ? gwB : gwA;
    for (let i = 0; !stop; i++) {
      const a = await putOk(gw, coll, `w${w}-${i % 5}`, { w, i });
      written += 1;
      lastAnswered = Math.max(lastAnswered, seqOf(a.offset));
    }
  });
  try {
    let { c, subscribed } = await subscribe(gwA, coll);
    const start = subscribed.offset;
    writers = startWriters();
    const all = [];
    let last = start;
    const ROUNDS = 16;
    for (let round = 0; round < ROUNDS; round++) {
      const seen = written;
      // stay connected until some live changes arrived, then drop
      await waitFor(() => written >= seen + 5, { timeout: 20000, what: 'writes progress' });
      await sleep(50 + Math.floor(Math.random() * 200));
      if (round % 2) await c.terminate(); else await c.close();
      const got = c.of('change', coll);
      all.push(...got);
      last = assertConsecutive(all, start, `after round ${round}`);
      // miss a few writes, then resubscribe with the last offset, alternating gateways
      const missFrom = written;
      await waitFor(() => written >= missFrom + 3, { timeout: 20000, what: 'missed writes' });
      ({ c } = await subscribe(round % 2 ? gwA : gwB, coll, { since: last }));
      assert.equal(c.of('reset').length, 0, 'no reset while the log reaches back');
    }
    stop = true;
    await Promise.all(writers);
    await waitSeq(c, coll, lastAnswered);
    all.push(...c.of('change', coll));
    const end = assertConsecutive(all, start, 'final');
    assert.equal(seqOf(end), lastAnswered, 'received up to the last write');
    assert.equal(all.length, written);
    const lastVersion = new Map(); // no per-document version regression
    for (const m of all) {
      const v = m.version.admin;
      assert.ok(v > (lastVersion.get(m.id) || 0), `${m.id} went from ${lastVersion.get(m.id)} to ${v}`);
      lastVersion.set(m.id, v);
    }
    assert.equal(c.of('reset').length, 0);
    await c.close();
  } finally {
    stop = true;
    await Promise.allSettled(writers);
  }
});

test('reset history_trimmed when the log no longer reaches back; list + resubscribe converges', async () => {
  const coll = 'small-trim';
  const first = await subscribe(gwA, coll);
  for (let i = 0; i < 5; i++) await putOk(gwA, coll, `t${i}`, { i });
  const old = (await waitSeq(first.c, coll, seqOf(first.subscribed.offset) + 5)).offset;
  await first.c.close();

  // 400 writes (history 20): the log is trimmed far past the client's offset
  const alive = new Set([0, 1, 2, 3, 4].map((i) => `t${i}`));
  for (let i = 0; i < 400; i++) {
    const id = `t${i % 30}`;
    if (i % 9 === 4 && alive.has(id)) {
      const r = await gwB.req('DELETE', docPath(coll, id), { token: T });
      assert.equal(r.status, 200, r.text);
      alive.delete(id);
    } else {
      await putOk(gwB, coll, id, { round: i });
      alive.add(id);
    }
  }
  const xlen = Number(await redis.raw('XLEN', `sg:{${coll}}:log`));
  assert.ok(xlen < 300, `log trimmed (XLEN ${xlen})`);
  const rc = await gwA.req('GET', `/v1/collections/${coll}/changes?since=${encodeURIComponent(old)}`, { token: T });
  assert.equal(rc.status, 200, rc.text);
  assert.equal(rc.json.reset, true, rc.text);
  assert.equal(rc.json.reason, 'history_trimmed');

  const second = await subscribe(gwA, coll, { since: old });
  const reset = await second.c.wait('reset', { timeout: 10000 });
  assert.equal(reset.collection, coll);
  assert.equal(reset.reason, 'history_trimmed');
  assert.equal(second.c.of('change', coll).filter((m) => seqOf(m.offset) <= seqOf(reset.offset)).length, 0,
    'no replayed change before the reset');

  // reload: list (with writes between pages), then resubscribe with the list's offset
  const { docs, offset } = await listAll(gwA, coll, async (page) => {
    if (page === 0) for (let i = 0; i < 3; i++) await putOk(gwB, coll, `t${29 - i}`, { between: i });
  });
  const state = new Map(docs.map((d) => [d.id, { data: d.data, deleted: d.deleted, version: d.version }]));
  second.c.send({ type: 'unsubscribe', collection: coll });
  await second.c.wait('unsubscribed', { timeout: 10000 });
  // at most 17 changes after the list offset: history 20 still holds them
  for (let i = 0; i < 8; i++) await putOk(gwB, coll, `t${(i * 5) % 30}`, { after: i });
  const r = await gwB.req('DELETE', docPath(coll, 't2'), { token: T });
  assert.ok(r.status === 200, r.text);
  const ref = 'again';
  second.c.send({ type: 'subscribe', collection: coll, since: offset, ref });
  await second.c.wait((m) => m.type === 'subscribed' && m.ref === ref, { timeout: 10000 });
  for (let i = 0; i < 5; i++) await putOk(gwA, coll, `t${10 + i}`, { live: i });
  const head = (await gwA.req('GET', `/v1/collections/${coll}/changes?since=${encodeURIComponent(offset)}`,
    { token: T })).json;
  assert.equal(head.reset, false, JSON.stringify(head));
  await second.c.wait((m) => m.type === 'change' && seqOf(m.offset) >= seqOf(head.offset),
    { timeout: 30000, from: second.c.messages.findIndex((m) => m.ref === ref) });
  const at = second.c.messages.findIndex((m) => m.type === 'subscribed' && m.ref === ref);
  const since = second.c.messages.slice(at).filter((m) => m.type === 'change' && m.collection === coll);
  assertConsecutive(since, offset, 'after resubscribe with the list offset');
  for (const m of since) applyChange(state, m);

  const server = await listAll(gwB, coll);
  const mine = [...state.entries()].filter(([, d]) => !d.deleted)
    .map(([id, d]) => [id, d.data, d.version]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const theirs = server.docs.map((d) => [d.id, d.data, d.version]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  assert.deepEqual(mine, theirs, 'client state equals the server state');
  assert.ok(!state.get('t2') || state.get('t2').deleted, 'the delete reached the client');
  await second.c.close();
});

test('a write that changes nothing publishes nothing', async () => {
  const coll = 'noop';
  const { c, subscribed } = await subscribe(gwA, coll);
  const actor = 'admin:phone';
  const v1 = await put(gwA, coll, 'n', { data: { v: 1 }, version: { [actor]: 1 }, actor });
  assert.equal(v1.status, 201, v1.text);
  assert.equal(v1.json.applied, true);
  const v2 = await put(gwB, coll, 'n', { data: { v: 2 }, version: { [actor]: 2 }, actor });
  assert.equal(v2.status, 200, v2.text);
  assert.equal(v2.json.applied, true);
  await waitSeq(c, coll, seqOf(v2.json.offset));
  const metaSeq = await redis.cli('HGET', `sg:{${coll}}:meta`, 'seq');
  const xlen = await redis.raw('XLEN', `sg:{${coll}}:log`);
  const already = await metric(gwB, 'syncgate_writes_total{result="already_applied"}');

  const noops = [
    { data: { v: 2 }, version: { [actor]: 2 }, actor }, // rule 4 retry of v2
    { data: { v: 1 }, version: { [actor]: 1 }, actor }, // older, dominated by stored
    { data: { v: 2 }, actor }, // unconditional, same data
  ];
  for (const gw of [gwA, gwB]) {
    for (const body of noops) {
      const r = await put(gw, coll, 'n', body);
      assert.equal(r.status, 200, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json.applied, false, r.text);
      assert.equal(r.json.offset, v2.json.offset, 'answer is the stored document');
      assert.deepEqual(r.json.data, { v: 2 });
    }
  }
  const gone = await gwA.req('DELETE', docPath(coll, 'never-existed'), { token: T });
  assert.equal(gone.status, 404, gone.text);

  assert.equal(await redis.cli('HGET', `sg:{${coll}}:meta`, 'seq'), metaSeq, 'seq did not move');
  assert.equal(await redis.raw('XLEN', `sg:{${coll}}:log`), xlen, 'nothing logged');
  assert.equal(await metric(gwB, 'syncgate_writes_total{result="already_applied"}'), already + 3);
  const marker = await putOk(gwB, coll, 'marker', { m: 1 });
  assert.equal(seqOf(marker.offset), seqOf(v2.json.offset) + 1, 'next write takes the next seq');
  await waitSeq(c, coll, seqOf(marker.offset));
  await sleep(200);
  const got = c.of('change', coll);
  assertConsecutive(got, subscribed.offset, 'noop subscriber');
  assert.deepEqual(got.map((m) => [m.id, m.data]), [['n', { v: 1 }], ['n', { v: 2 }], ['marker', { m: 1 }]]);
  await c.close();
});

test('the first local subscriber subscribes in Redis, the last one unsubscribes', async () => {
  const coll = 'refcount';
  const chan = `sg:{${coll}}:live`;
  const numsub = async () => Number((await redis.raw('PUBSUB', 'NUMSUB', chan)).split('\n')[1]);
  assert.equal(await numsub(), 0);
  const a = await subscribe(gwA, coll);
  const b = await subscribe(gwA, coll);
  // one Redis subscription for the gateway, however many local subscribers
  await waitFor(async () => (await numsub()) === 1, { what: 'one channel subscription' });
  const c = await subscribe(gwB, coll);
  await waitFor(async () => (await numsub()) === 2, { what: 'one per gateway' });
  a.c.send({ type: 'unsubscribe', collection: coll });
  await a.c.wait('unsubscribed');
  await sleep(100);
  assert.equal(await numsub(), 2, 'gateway A still has a subscriber');
  b.c.close();
  await waitFor(async () => (await numsub()) === 1, { what: 'A unsubscribed after its last subscriber left' });
  c.c.send({ type: 'unsubscribe', collection: coll });
  await c.c.wait('unsubscribed');
  await waitFor(async () => (await numsub()) === 0, { what: 'no subscription left' });
  a.c.close();
  c.c.close();
});
