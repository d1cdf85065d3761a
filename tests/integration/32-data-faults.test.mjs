// Redis data faults (DESIGN.md section 10, RELIABILITY.md D05, D06, D10):
// a lost log tail (restored snapshot), Redis back empty, an eviction policy
// other than noeviction, a collection key of the wrong type, and the
// scripts flushed (NOSCRIPT, then EVAL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { seqOf, epochOf, sleep, waitFor, copyFileSync } from './lib/harness.mjs';
import {
  ADMIN as T, req, docPath, put, putOk, readyStatus, subscribe, waitSeq, assertConsecutive,
  metricSum, scope,
} from './lib/feed.mjs';

// ------------------------------------------------------------ helpers

/** A write retried while the gateway answers 503 (a new epoch being set up). */
async function putRetry(gw, coll, id, data, timeout = 20000) {
  const end = Date.now() + timeout;
  for (;;) {
    let r;
    try {
      r = await req(gw, 'PUT', docPath(coll, id), { body: { data }, timeout: 5000 });
    } catch (e) { // no answer in time: retried like a client would (the bug is checked in 31 (c))
      r = { status: 0, text: e.message };
    }
    if (r.status === 200 || r.status === 201) {
      assert.equal(r.json.applied, true, r.text);
      return r.json;
    }
    assert.ok(r.status === 503 || r.status === 0, `PUT ${coll}/${id}: ${r.status} ${r.text}`);
    if (r.status === 503) assert.ok(r.headers.get('retry-after'), 'a 503 carries Retry-After');
    assert.ok(Date.now() < end, `PUT ${coll}/${id} still failing: ${r.status} ${r.text}`);
    await sleep(100);
  }
}

/** No offset ever carried two different changes for this client. */
function assertOneChangePerOffset(c, label) {
  const seen = new Map();
  for (const m of c.messages) {
    if (m.type !== 'change') continue;
    const { __raw: raw } = m;
    const was = seen.get(m.offset);
    assert.ok(was === undefined || was === raw,
      `${label}: two different changes under ${m.offset}:\n  ${was}\n  ${raw}`);
    seen.set(m.offset, raw);
  }
}

// ------------------------------------------------------------ tests

test('(d) lost log tail (older snapshot restored): every subscriber gets reset, never two changes under one offset', async () => {
  const s = scope();
  try {
    const redis = await s.redis({ appendonly: 'no' });
    const gwA = await s.gw({ redis, node: 'tail-a' });
    const gwB = await s.gw({ redis, node: 'tail-b' });
    const coll = 'tail';
    const subs = [];
    for (const gw of [gwA, gwA, gwB, gwB]) subs.push(await subscribe(gw, coll));
    const late = await subscribe(gwB, coll); // leaves before the loss, comes back with a lost offset
    const all = [...subs, late];

    let last;
    for (let i = 0; i < 50; i++) last = await putOk(i % 2 ? gwB : gwA, coll, `d${i % 7}`, { before: i });
    for (const sub of all) await waitSeq(sub.c, coll, seqOf(last.offset));
    const epoch = epochOf(last.offset);
    const saved = seqOf(last.offset);
    assert.equal(await redis.cli('SAVE'), 'OK');
    const dump = path.join(redis.dir, 'dump.rdb');
    const aside = path.join(redis.dir, 'dump.old');
    copyFileSync(dump, aside);

    for (let i = 0; i < 30; i++) last = await putOk(i % 2 ? gwA : gwB, coll, `d${i % 9}`, { lost: i });
    for (const sub of all) {
      await waitSeq(sub.c, coll, seqOf(last.offset));
      assertConsecutive(sub.c.of('change', coll), sub.subscribed.offset, 'before the loss');
    }
    const lostOffset = last.offset;
    await late.c.close();

    await redis.cli('SHUTDOWN', 'NOSAVE').catch(() => {});
    await redis.exit;
    copyFileSync(aside, dump);
    await redis.restart();
    assert.equal(await redis.raw('HGET', `sg:{${coll}}:meta`, 'seq'), String(saved), 'the old snapshot loaded');

    // write at once, through both gateways, while they find out
    const after = [];
    for (let i = 0; i < 10; i++) after.push(await putRetry(i % 2 ? gwB : gwA, coll, `d${i % 5}`, { after: i }));
    const newEpoch = epochOf(after[0].offset);
    assert.notEqual(newEpoch, epoch, 'writes after the loss carry a new epoch');
    for (const a of after) assert.equal(epochOf(a.offset), newEpoch);
    assert.equal(await redis.raw('HGET', `sg:{${coll}}:meta`, 'epoch'), newEpoch);

    for (const [k, sub] of subs.entries()) {
      const reset = await sub.c.wait('reset', { timeout: 15000 });
      assert.equal(reset.collection, coll);
      assert.equal(reset.reason, 'epoch_changed', `subscriber ${k}: ${reset.__raw}`);
      assert.equal(epochOf(reset.offset), newEpoch, `subscriber ${k}: reset offset`);
      await sub.c.wait((m) => m.type === 'change' && m.offset === after[9].offset, { timeout: 15000 });
      assertOneChangePerOffset(sub.c, `subscriber ${k}`);
      const i = sub.c.messages.indexOf(reset);
      const before = sub.c.messages.slice(0, i).filter((m) => m.type === 'change');
      assertConsecutive(before, sub.subscribed.offset, `subscriber ${k} before its reset`);
      const since = sub.c.messages.slice(i).filter((m) => m.type === 'change');
      assertConsecutive(since, reset.offset, `subscriber ${k} after its reset`);
      assert.equal(sub.c.of('reset').length, 1, `subscriber ${k}: one reset`);
    }

    for (const gw of [gwA, gwB]) {
      const back = await subscribe(gw, coll, { since: lostOffset });
      const r = await back.c.wait('reset', { timeout: 10000 });
      assert.equal(r.reason, 'epoch_changed', r.__raw);
      assert.equal(epochOf(r.offset), newEpoch);
      assert.equal(back.c.of('change', coll).filter((m) => epochOf(m.offset) === epoch).length, 0,
        'nothing replayed from the lost epoch');
      await back.c.close();
      const ch = await req(gw, 'GET', `/v1/collections/${coll}/changes?since=${lostOffset}`);
      assert.equal(ch.status, 200, ch.text);
      assert.equal(ch.json.reset, true, ch.text);
      assert.equal(ch.json.reason, 'epoch_changed');
    }
    assert.ok(await metricSum([gwA, gwB], 'syncgate_epoch_rotations_total') >= 1, 'rotation counted');
    for (const sub of subs) await sub.c.close();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});

test('(e) Redis back empty: every subscriber gets reset epoch_changed without any write', async () => {
  const s = scope();
  try {
    const redis = await s.redis({ appendonly: 'no' });
    const gwA = await s.gw({ redis, node: 'empty-a' });
    const gwB = await s.gw({ redis, node: 'empty-b' });
    const coll = 'empty';
    const subs = [];
    for (const gw of [gwA, gwA, gwB]) subs.push(await subscribe(gw, coll));
    let last;
    for (let i = 0; i < 20; i++) last = await putOk(i % 2 ? gwB : gwA, coll, `e${i % 4}`, { i });
    for (const sub of subs) await waitSeq(sub.c, coll, seqOf(last.offset));
    const epoch = epochOf(last.offset);

    await redis.kill();
    await redis.restart();
    assert.equal(await redis.raw('DBSIZE'), '0', 'Redis came back empty');
    const back = Date.now();
    const resets = [];
    for (const [k, sub] of subs.entries()) {
      const r = await sub.c.wait('reset', { timeout: Math.max(1000, 10000 - (Date.now() - back)) });
      assert.equal(r.reason, 'epoch_changed', `subscriber ${k}: ${r.__raw}`);
      assert.notEqual(epochOf(r.offset), epoch);
      resets.push(r);
    }
    const newEpoch = epochOf(resets[0].offset);
    for (const r of resets) assert.equal(r.offset, resets[0].offset, 'one new epoch for everyone');

    await gwA.waitReady(15000);
    await gwB.waitReady(15000);
    const g = await req(gwB, 'GET', docPath(coll, 'e0'));
    assert.equal(g.status, 404, `old document after the loss: ${g.status} ${g.text}`);
    const w = await putRetry(gwA, coll, 'e0', { fresh: true });
    assert.equal(epochOf(w.offset), newEpoch);
    for (const [k, sub] of subs.entries()) {
      await sub.c.wait((m) => m.type === 'change' && m.offset === w.offset, { timeout: 10000 });
      assertOneChangePerOffset(sub.c, `subscriber ${k}`);
      const i = sub.c.messages.indexOf(resets[k]);
      assertConsecutive(sub.c.messages.slice(i).filter((m) => m.type === 'change'), resets[k].offset,
        `subscriber ${k} after its reset`);
    }
    for (const gw of [gwA, gwB]) {
      const again = await subscribe(gw, coll, { since: last.offset });
      const r = await again.c.wait('reset', { timeout: 10000 });
      assert.equal(r.reason, 'epoch_changed', r.__raw);
      await again.c.close();
    }
    // RELIABILITY D05: a metric or a log line counts the epoch change
    const rotations = await metricSum([gwA, gwB], 'syncgate_epoch_rotations_total');
    const logged = [...gwA.logLines(), ...gwB.logLines()]
      .filter((l) => /epoch/i.test(l.msg || '') && (l.msg || '').includes(coll));
    assert.ok(rotations >= 1 || logged.length > 0,
      `epoch change not counted: syncgate_epoch_rotations_total ${rotations}, no log line naming ` +
      `the collection's new epoch\n${gwA.logs}`);
    for (const sub of subs) await sub.c.close();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});

test('(f) maxmemory-policy other than noeviction: ready 503 within ~15 s and the log says why', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'evict' });
    assert.equal(await readyStatus(gw), 200);
    assert.equal(await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'), 'OK');
    const t0 = Date.now();
    await waitFor(async () => (await readyStatus(gw)) === 503,
      { timeout: 16000, interval: 200, what: 'ready 503 under allkeys-lru' });
    const ready = await req(gw, 'GET', '/v1/ready');
    assert.equal(ready.status, 503);
    assert.match(ready.text, /noeviction|maxmemory/, `ready says why: ${ready.text}`);
    const why = gw.logLines().filter((l) => /noeviction|maxmemory/.test(l.msg || ''));
    assert.ok(why.length > 0, `a log line says why:\n${gw.logs}`);
    assert.ok(['warn', 'error'].includes(why[0].level), JSON.stringify(why[0]));
    assert.ok(Date.now() - t0 < 16000);

    assert.equal(await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction'), 'OK');
    await gw.waitReady(16000);
    await s.stop(gw);
  } finally {
    await s.cleanup();
  }
});

test('(g) log key of the wrong type: the write fails with a 5xx JSON error and nothing changes', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'wrongtype' });
    const coll = 'broken';
    const logKey = `sg:{${coll}}:log`;
    assert.equal(await redis.cli('SET', logKey, 'not-a-stream'), 'OK');
    const c = await gw.ws({ token: T });
    await c.wait('welcome', { timeout: 10000 });
    c.send({ type: 'subscribe', collection: coll, ref: 'b' });
    c.send({ type: 'subscribe', collection: 'healthy', ref: 'h' });
    await c.wait((m) => m.type === 'subscribed' && m.ref === 'h', { timeout: 10000 });
    // the broken collection's subscribe must be answered (subscribed or error);
    // checked at the end so the write checks below run either way
    const answered = await c.wait((m) => m.ref === 'b', { timeout: 5000 }).catch(() => null);
    const before = {
      meta: await redis.raw('HGETALL', `sg:{${coll}}:meta`),
      docs: await redis.raw('EXISTS', `sg:{${coll}}:docs`),
      ids: await redis.raw('EXISTS', `sg:{${coll}}:ids`),
    };

    for (const body of [{ data: { x: 1 } }, { data: { x: 2 }, version: { admin: 1 } }]) {
      const r = await put(gw, coll, 'doc1', body);
      assert.ok(r.status >= 500 && r.status < 600, `write: ${r.status} ${r.text}`);
      assert.ok(r.json && r.json.error && typeof r.json.error.code === 'string', `JSON error: ${r.text}`);
      assert.ok(['internal', 'unavailable'].includes(r.json.error.code), r.text);
    }
    const d = await req(gw, 'DELETE', docPath(coll, 'doc1'));
    assert.ok(d.status === 404 || d.status >= 500, `delete: ${d.status} ${d.text}`);

    assert.equal(await redis.raw('TYPE', logKey), 'string');
    assert.equal(await redis.raw('GET', logKey), 'not-a-stream');
    assert.equal(await redis.raw('HGETALL', `sg:{${coll}}:meta`), before.meta, 'meta unchanged');
    assert.equal(await redis.raw('EXISTS', `sg:{${coll}}:docs`), before.docs, 'no document stored');
    assert.equal(await redis.raw('EXISTS', `sg:{${coll}}:ids`), before.ids, 'no id stored');
    const g = await req(gw, 'GET', docPath(coll, 'doc1'));
    assert.ok(g.status === 404 || g.status >= 500, `read after: ${g.status} ${g.text}`);
    assert.notEqual(g.status, 200);

    const ok = await putOk(gw, 'healthy', 'h1', { fine: true });
    await c.wait((m) => m.type === 'change' && m.offset === ok.offset, { timeout: 10000 });
    await sleep(200);
    assert.equal(c.of('change', coll).length, 0, 'no change published for the broken collection');
    assert.equal((await readyStatus(gw)), 200, 'the gateway stays ready');
    assert.ok(answered, `subscribe to the broken collection got neither subscribed nor error: ${
      JSON.stringify(c.messages.map((m) => m.__raw))}`);
    await c.close();
    await s.stop(gw);
  } finally {
    await s.cleanup();
  }
});

test('(h) scripts flushed from Redis (SCRIPT FLUSH): calls fall back to EVAL and succeed', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'flush' });
    const coll = 'flushed';
    let last = await putOk(gw, coll, 'a', { n: 0 });
    // the 10 s recheck reloads the scripts; if it ran between the flush and
    // the write, no EVAL was needed: flush again
    let evals = 0;
    for (let i = 1; i <= 3 && !evals; i++) {
      assert.equal(await redis.cli('SCRIPT', 'FLUSH'), 'OK');
      assert.equal(await redis.cli('CONFIG', 'RESETSTAT'), 'OK');
      const w = await putOk(gw, coll, `d${i}`, { n: i });
      assert.equal(epochOf(w.offset), epochOf(last.offset));
      assert.equal(seqOf(w.offset), seqOf(last.offset) + 1);
      last = w;
      const stats = await redis.raw('INFO', 'commandstats');
      const m = /cmdstat_eval:calls=(\d+)/.exec(stats);
      evals = m ? Number(m[1]) : 0;
    }
    assert.ok(evals > 0, 'the write went out as EVAL after NOSCRIPT');
    const l = await req(gw, 'GET', `/v1/collections/${coll}/docs`);
    assert.equal(l.status, 200, l.text);
    assert.equal(l.json.offset, last.offset, l.text);
    assert.equal(await readyStatus(gw), 200);
    await s.stop(gw);
  } finally {
    await s.cleanup();
  }
});
