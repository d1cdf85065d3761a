// Redis connection faults and graceful shutdown (DESIGN.md sections 5, 9, 10;
// RELIABILITY.md D07, F01, F02, F06): the pub/sub link killed under writes,
// Redis hung (SIGSTOP), Redis killed and restarted from its AOF, SIGTERM with
// open sockets and in-flight writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { assertCleanExit, seqOf, epochOf, sleep, waitFor } from './lib/harness.mjs';
import {
  ADMIN as T, req, docPath, put, putOk, timed, readyStatus, subscribe, waitSeq, assertConsecutive,
  metric, scope,
} from './lib/feed.mjs';

// ------------------------------------------------------------ helpers

function assertUnavailable(r, what) {
  assert.ok(r, `${what}: no answer (hung)`);
  assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json?.error?.code, 'unavailable', `${what}: ${r.text}`);
  assert.match(r.headers.get('retry-after') || '', /^\d+$/, `${what}: Retry-After`);
}

// ------------------------------------------------------------ tests

test('(a) pub/sub link killed repeatedly during writes: every change in order, no gap', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'ps-a' });
    const gwB = await s.gw({ redis, node: 'ps-b' });
    const coll = 'pskill';
    const subs = [];
    for (const gw of [gwA, gwA, gwB, gwB]) subs.push(await subscribe(gw, coll));
    const start = subs[0].subscribed.offset;
    const before = [];
    for (const gw of [gwA, gwB]) {
      before.push((await metric(gw, 'syncgate_redis_reconnects_total')) +
        (await metric(gw, 'syncgate_gap_repairs_total')));
    }

    let stop = false;
    const offsets = [];
    const failed = [];
    const writers = [0, 1, 2, 3].map(async (w) => {
      const gw = w % 2 ? gwB : gwA;
      for (let i = 0; !stop; i++) {
        const r = await put(gw, coll, `k${w}-${i % 10}`, { data: { w, i } });
        if (r.status === 200 || r.status === 201) offsets.push(r.json.offset);
        else failed.push(`${r.status} ${r.text}`);
        await sleep(3);
      }
    });
    let killed = 0;
    try {
      for (let k = 0; k < 10; k++) {
        await sleep(500 + Math.floor(Math.random() * 300));
        const out = await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
        killed += Number(out.replace(/\D/g, '')) || 0;
      }
      await sleep(500);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    assert.ok(killed >= 4, `pub/sub connections killed: ${killed}`);
    assert.deepEqual(failed, [], 'losing the pub/sub link does not stop writes');
    assert.ok(offsets.length > 100, `writes during the test: ${offsets.length}`);
    const last = Math.max(...offsets.map(seqOf));
    assert.equal(last - seqOf(start), offsets.length, 'write answers have no gaps');

    for (const [k, sub] of subs.entries()) {
      await waitSeq(sub.c, coll, last, 30000);
      const got = sub.c.of('change', coll);
      assertConsecutive(got, start, `subscriber ${k}`);
      assert.equal(got.length, offsets.length, `subscriber ${k}: count`);
      assert.equal(sub.c.of('reset').length, 0, `subscriber ${k}: no reset`);
    }
    for (const [i, gw] of [gwA, gwB].entries()) {
      const now = (await metric(gw, 'syncgate_redis_reconnects_total')) +
        (await metric(gw, 'syncgate_gap_repairs_total'));
      assert.ok(now > before[i], `gateway ${i}: reconnects + gap repairs ${before[i]} -> ${now}`);
    }
    await waitFor(async () => (await readyStatus(gwA)) === 200, { timeout: 10000, what: 'ready' });
    for (const sub of subs) await sub.c.close();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});

test('(b) Redis hung (SIGSTOP): 503 + Retry-After within the command timeout; recovers after SIGCONT, no gap', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'hung', config: { redis: { timeout_ms: 500 } } });
    const coll = 'hung';
    const sub = await subscribe(gw, coll);
    const acked = [];
    for (let i = 0; i < 10; i++) acked.push((await putOk(gw, coll, `h${i % 3}`, { i })).offset);
    await waitSeq(sub.c, coll, seqOf(acked[9]));

    redis.signal('SIGSTOP');
    const stoppedAt = Date.now();
    // answers must come within the command timeout, not hang: slow answers
    // are collected and asserted at the end so the recovery is checked too
    const slow = [];
    const calls = [0, 1, 2].map((i) => ['write', () => put(gw, coll, `h${i}`, { data: { stopped: i } })]);
    calls.push(['read', () => req(gw, 'GET', docPath(coll, 'h0'))]);
    const answers = await Promise.all(calls.map(([, fn]) => timed(fn)));
    for (const [i, a] of answers.entries()) {
      if (!a.r) {
        slow.push(`${calls[i][0]} ${i} while Redis is hung: no answer within 8 s`);
        continue;
      }
      assertUnavailable(a.r, `${calls[i][0]} ${i} while Redis is hung`);
      if (a.ms >= 3000) slow.push(`${calls[i][0]} ${i} while Redis is hung answered after ${a.ms} ms`);
    }
    await waitFor(async () => (await readyStatus(gw)) === 503,
      { timeout: Math.max(500, 3500 - (Date.now() - stoppedAt)), what: 'ready 503 while Redis is hung' });
    await sleep(1500);
    const later = await timed(() => put(gw, coll, 'h1', { data: { later: 1 } }));
    if (!later.r) slow.push('write 2 s into the hang: no answer within 8 s');
    else {
      assertUnavailable(later.r, 'write 2 s into the hang');
      if (later.ms >= 3000) slow.push(`write 2 s into the hang answered after ${later.ms} ms`);
    }
    assert.equal(gw.proc.exitCode, null, 'gateway still running');

    redis.signal('SIGCONT');
    await gw.waitReady(15000);
    const after = await putOk(gw, coll, 'h2', { after: 1 });
    acked.push(after.offset);
    await waitSeq(sub.c, coll, seqOf(after.offset));
    const got = sub.c.of('change', coll);
    // writes answered 503 may still have been run by Redis when it woke up;
    // whatever happened, the subscriber sees it without a gap
    assertConsecutive(got, sub.subscribed.offset, 'subscriber');
    const seen = new Set(got.map((m) => m.offset));
    for (const o of acked) assert.ok(seen.has(o), `acknowledged ${o} delivered`);
    assert.equal(sub.c.of('reset').length, 0, 'no reset');
    assert.deepEqual(slow, [], 'every answer while Redis was hung came within 3 s');
    await sub.c.close();
    await s.stop(gw);
  } finally {
    await s.cleanup();
  }
});

test('(c) Redis killed and restarted from AOF, restarts declared lossless: 503s meanwhile, then subscribers continue, same epoch, no gap', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const cfg = { redis: { timeout_ms: 500, lossless_restarts: true } };
    const gwA = await s.gw({ redis, node: 'kill-a', config: cfg });
    const gwB = await s.gw({ redis, node: 'kill-b', config: cfg });
    const coll = 'killed';
    const subs = [await subscribe(gwA, coll), await subscribe(gwA, coll), await subscribe(gwB, coll)];
    const start = subs[0].subscribed.offset;
    let last;
    for (let i = 0; i < 20; i++) last = await putOk(i % 2 ? gwB : gwA, coll, `d${i % 4}`, { i });
    for (const sub of subs) await waitSeq(sub.c, coll, seqOf(last.offset));
    const epoch = await redis.raw('HGET', `sg:{${coll}}:meta`, 'epoch');
    assert.equal(epoch, epochOf(last.offset));
    await sleep(1500); // appendfsync everysec

    await redis.kill();
    for (const gw of [gwA, gwB]) {
      await waitFor(async () => (await readyStatus(gw)) === 503, { timeout: 5000, what: 'ready 503' });
    }
    const calls = [
      ['write', () => put(gwA, coll, 'd0', { data: { down: 1 } })],
      ['delete', () => req(gwB, 'DELETE', docPath(coll, 'd1'))],
      ['read', () => req(gwA, 'GET', docPath(coll, 'd0'))],
      ['list', () => req(gwB, 'GET', `/v1/collections/${coll}/docs`)],
      ['changes', () => req(gwA, 'GET', `/v1/collections/${coll}/changes?since=${last.offset}`)],
    ];
    const answers = [];
    for (const [, fn] of calls) answers.push(await timed(fn, 5000)); // one at a time, like a client
    const slow = [];
    for (const [i, a] of answers.entries()) {
      if (!a.r) {
        slow.push(`${calls[i][0]} while Redis is down: no answer within 5 s`);
        continue;
      }
      assertUnavailable(a.r, `${calls[i][0]} while Redis is down`);
      if (a.ms >= 3000) slow.push(`${calls[i][0]} while Redis is down answered after ${a.ms} ms`);
    }
    await sleep(1500);
    for (const gw of [gwA, gwB]) {
      assert.equal(gw.proc.exitCode, null, 'gateway stays up');
      assert.equal((await req(gw, 'GET', '/v1/health')).status, 200);
    }

    await redis.restart();
    await gwA.waitReady(20000);
    await gwB.waitReady(20000);
    const more = [];
    for (let i = 0; i < 10; i++) more.push(await putOk(i % 2 ? gwA : gwB, coll, `d${i % 4}`, { again: i }));
    for (const m of more) assert.equal(epochOf(m.offset), epoch, 'epoch unchanged');
    assert.equal(seqOf(more[0].offset), seqOf(last.offset) + 1, 'nothing lost, nothing skipped');
    assert.equal(await redis.raw('HGET', `sg:{${coll}}:meta`, 'epoch'), epoch);
    for (const [k, sub] of subs.entries()) {
      await waitSeq(sub.c, coll, seqOf(more[9].offset));
      const got = sub.c.of('change', coll);
      assertConsecutive(got, start, `subscriber ${k}`);
      assert.equal(got.length, 30);
      assert.equal(sub.c.of('reset').length, 0, `subscriber ${k}: no reset`);
    }
    assert.deepEqual(slow, [], 'every answer while Redis was down came within 3 s');
    for (const sub of subs) await sub.c.close();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});

test('(c2) Redis killed and restarted from AOF, default config: every subscriber gets a reset into a new epoch, no offset reused', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const cfg = { redis: { timeout_ms: 500 } };
    const gwA = await s.gw({ redis, node: 'life-a', config: cfg });
    const gwB = await s.gw({ redis, node: 'life-b', config: cfg });
    const coll = 'lives';
    const idle = 'lives-idle'; // nobody subscribes: its first touch rotates it
    const subs = [await subscribe(gwA, coll), await subscribe(gwB, coll)];
    let last;
    for (let i = 0; i < 10; i++) last = await putOk(i % 2 ? gwB : gwA, coll, `d${i % 3}`, { i });
    const idleLast = await putOk(gwA, idle, 'x', { n: 1 });
    for (const sub of subs) await waitSeq(sub.c, coll, seqOf(last.offset));
    const epoch = epochOf(last.offset);
    await sleep(1500); // appendfsync everysec: everything is on disk, nothing is lost
    await redis.kill();
    await redis.restart();
    await gwA.waitReady(20000);
    await gwB.waitReady(20000);
    // the live collection: a reset into a new epoch for every subscriber,
    // without a write (the gateways check live collections at once)
    for (const [k, sub] of subs.entries()) {
      await waitFor(() => sub.c.of('reset', coll).length > 0, { timeout: 10000, what: `subscriber ${k} reset` });
      const r = sub.c.of('reset', coll)[0];
      assert.equal(r.reason, 'epoch_changed', `subscriber ${k}`);
      assert.notEqual(epochOf(r.offset), epoch, `subscriber ${k}: a new epoch`);
    }
    const after = await putOk(gwB, coll, 'd0', { after: 1 });
    assert.notEqual(epochOf(after.offset), epoch, 'writes go on in the new epoch');
    assert.ok(seqOf(after.offset) > seqOf(last.offset), 'seqs go on growing');
    // the idle collection, touched first by a write through a gateway that never served it
    const gwC = await s.gw({ redis, node: 'life-c', config: cfg });
    const w = await putOk(gwC, idle, 'x', { n: 2 });
    assert.notEqual(epochOf(w.offset), epochOf(idleLast.offset), 'an idle collection gets a new epoch on its first touch');
    // an old offset of either is answered with a reset, never accepted
    const ch = await req(gwC, 'GET', `/v1/collections/${coll}/changes?since=${last.offset}`);
    assert.equal(ch.json.reset, true);
    assert.equal(ch.json.reason, 'epoch_changed');
    // no offset carries two contents across everything the subscribers got
    const seen = new Map();
    for (const sub of subs) {
      for (const m of sub.c.of('change', coll)) {
        const body = JSON.stringify({ ...m, type: undefined });
        assert.ok(!seen.has(m.offset) || seen.get(m.offset) === body, `offset ${m.offset} carried two contents`);
        seen.set(m.offset, body);
      }
    }
    for (const sub of subs) await sub.c.close();
    for (const g of [gwA, gwB, gwC]) await s.stop(g);
  } finally {
    await s.cleanup();
  }
});

test('(h2) SIGTERM while Redis never answers: at the drain deadline the stuck write gets 503 + Retry-After, then exit 0', async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({
      redis, node: 'stuck', config: { shutdown_timeout_s: 2, redis: { timeout_ms: 20000, heartbeat_ms: 10000 } },
    });
    const coll = 'stuck';
    await putOk(gw, coll, 'a', { n: 1 });
    redis.signal('SIGSTOP');
    try {
      const stuck = put(gw, coll, 'b', { data: { n: 2 } }).catch((e) => ({ status: 0, text: e.message }));
      await sleep(500);
      const t0 = Date.now();
      gw.signal('SIGTERM');
      const r = (await timed(() => stuck, 10000)).r;
      assert.ok(r, 'the stuck write got an answer');
      assert.equal(r.status, 503, `stuck write: ${r.status} ${r.text}`);
      assert.ok(r.headers.get('retry-after'), 'with Retry-After');
      assert.equal(r.json.error.code, 'unavailable');
      const exit = (await timed(() => gw.exit, 10000)).r;
      assert.ok(exit, 'exited');
      assert.ok(Date.now() - t0 < 8000, 'within the drain');
      assertCleanExit(assert, { ...exit, stderr: gw.stderr });
    } finally {
      redis.signal('SIGCONT');
    }
  } finally {
    await s.cleanup();
  }
});

/** GET over one kept-alive connection (agent), resolving { status } or { error }. */
function getVia(agent, gw, p) {
  return new Promise((resolve) => {
    const req = http.get(`${gw.url}${p}`, { agent, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

test('(h) SIGTERM with open sockets and in-flight writes: ready 503, 1001 closes, writes complete, exit 0 in 10 s', async () => {
  const s = scope();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const redis = await s.redis();
    const gw = await s.gw({
      redis, node: 'term', config: { redis: { timeout_ms: 6000, heartbeat_ms: 3000 } },
    });
    const coll = 'term';
    const clients = [];
    for (let i = 0; i < 30; i++) {
      if (i % 2) clients.push((await subscribe(gw, coll)).c);
      else {
        const c = await gw.ws({ token: T });
        await c.wait('welcome', { timeout: 10000 });
        clients.push(c);
      }
    }
    assert.equal((await getVia(agent, gw, '/v1/ready')).status, 200, 'ready before SIGTERM');

    // Redis paused: the writes below are in flight inside the gateway at SIGTERM
    redis.signal('SIGSTOP');
    const writes = Array.from({ length: 20 }, (_, i) => put(gw, coll, `w${i}`, { data: { i } })
      .catch((e) => ({ status: 0, text: `${e.message} ${e.cause?.message || ''}` })));
    let settled = 0;
    for (const w of writes) w.then(() => { settled += 1; });
    await sleep(1000);
    assert.equal(settled, 0, 'the writes are still in flight when SIGTERM comes');
    const t0 = Date.now();
    gw.signal('SIGTERM');
    // the signal is handled on the gateway's next loop turn: under a loaded
    // CI machine that can take a moment, so poll (bounded) for the 503
    let ready;
    for (let k = 0; k < 40; k++) {
      await sleep(50);
      ready = await getVia(agent, gw, '/v1/ready');
      if (ready.status !== 200) break;
    }
    assert.equal(ready.status, 503, `ready right after SIGTERM on a kept-alive connection: ${JSON.stringify(ready)}`);
    const fresh = await getVia(undefined, gw, '/v1/ready');
    assert.notEqual(fresh.status, 200, 'no new connection is told ready');
    await sleep(500);
    redis.signal('SIGCONT');

    const results = await Promise.all(writes);
    for (const [i, r] of results.entries()) {
      assert.ok(r.status === 200 || r.status === 201, `in-flight write ${i}: ${r.status} ${r.text}`);
    }
    const closes = (await Promise.all(clients.map((c) => timed(() => c.closed, 12000)))).map((x) => x.r);
    for (const [i, cl] of closes.entries()) {
      assert.ok(cl, `socket ${i} not closed`);
      assert.equal(cl.code, 1001, `socket ${i} close code`);
    }
    const exit = (await timed(() => gw.exit, 12000)).r;
    const ms = Date.now() - t0;
    assert.ok(exit, 'gateway did not exit within 12 s of SIGTERM');
    assert.ok(ms < 10000, `exit after ${ms} ms`);
    assertCleanExit(assert, { ...exit, stderr: gw.stderr });
    assert.match(gw.logs, /draining/);
    for (const r of results) {
      const got = await redis.raw('HGET', `sg:{${coll}}:docs`, r.json.id);
      assert.match(got, new RegExp(`"offset":"${r.json.offset}"`), 'acknowledged write stored');
    }
  } finally {
    agent.destroy();
    await s.cleanup();
  }
});
