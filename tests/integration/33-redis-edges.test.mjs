// Redis states only an operator (or another program) makes, and races that
// are no loss: a log whose last generated id is past its last entry (XADD
// would fail after the HSETs: a partial write), a stored document without
// the offset tail, rotate.lua with the meta key gone, and writes racing
// pub/sub (not a gap to repair). Also the scripts' new-life check: a
// collection whose meta names another Redis process gets a new epoch on
// its first touch, however fresh the gateway touching it is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis, Gateway, ROOT, adminToken, uniqueColl, seqOf, epochOf, sleep } from './lib/harness.mjs';
import { subscribe, waitSeq, metricSum, putOk, req, docPath } from './lib/feed.mjs';

let redis;
let gw;
const T = adminToken();

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis });
});

after(async () => {
  await gw.stop();
  await redis.stop();
});

const key = (c, k) => `sg:{${c}}:${k}`;

/** A script as the gateway sends it: pubsub/lua/NAME.lua with its includes. */
function script(name) {
  const dir = path.join(ROOT, 'pubsub/lua');
  return readFileSync(path.join(dir, `${name}.lua`), 'utf8').replace(/^--#include ([a-z_]+)$/gm,
    (_, lib) => readFileSync(path.join(dir, 'lib', `${lib}.lua`), 'utf8'));
}

test('a log whose last generated id is past its last entry: the write is refused before it stores anything', async () => {
  const c = uniqueColl('edge-xadd');
  const first = await putOk(gw, c, 'a', { n: 1 });
  // an id far ahead, then deleted: the last entry is seq 1, the last generated id 1000
  await redis.cli('XADD', key(c, 'log'), '1000-0', 'd', 'x');
  await redis.cli('XDEL', key(c, 'log'), '1000-0');
  const before = {
    doc: await redis.raw('HGET', key(c, 'docs'), 'a'),
    seq: await redis.raw('HGET', key(c, 'meta'), 'seq'),
    xlen: await redis.raw('XLEN', key(c, 'log')),
    ids: await redis.raw('ZCARD', key(c, 'ids')),
  };
  const r = await req(gw, 'PUT', docPath(c, 'b'), { body: { data: { n: 2 } } });
  assert.ok(r.status >= 500, `refused with a 5xx: ${r.status} ${r.text}`);
  assert.ok(r.json && r.json.error, 'a JSON error body');
  const afterState = {
    doc: await redis.raw('HGET', key(c, 'docs'), 'a'),
    seq: await redis.raw('HGET', key(c, 'meta'), 'seq'),
    xlen: await redis.raw('XLEN', key(c, 'log')),
    ids: await redis.raw('ZCARD', key(c, 'ids')),
  };
  assert.deepEqual(afterState, before, 'nothing of the write was stored');
  assert.equal(await redis.raw('HEXISTS', key(c, 'docs'), 'b'), '0');
  assert.equal(seqOf(first.offset), 1);
});

test('reads of collections never written leave nothing permanent in Redis; the first write keeps the epoch', async () => {
  const names = Array.from({ length: 20 }, (_, i) => uniqueColl(`edge-read${i}`));
  for (const [i, c] of names.entries()) {
    const r = i % 2 ? await req(gw, 'GET', `/v1/collections/${c}/changes`) : await req(gw, 'GET', `/v1/collections/${c}/docs`);
    assert.equal(r.status, 200, r.text);
    assert.equal(seqOf(r.json.offset), 0);
  }
  for (const c of names) {
    const keys = (await redis.raw('KEYS', `sg:{${c}}:*`)).split('\n').filter(Boolean);
    assert.deepEqual(keys, [key(c, 'meta')], `${c}: only the epoch is kept`);
    const ttl = Number(await redis.raw('PTTL', key(c, 'meta')));
    assert.ok(ttl > 0 && ttl <= 900000, `${c}: the epoch of a read expires (PTTL ${ttl})`);
  }
  // the first write adopts the epoch the read made, and keeps it
  const c = names[1];
  const head = (await req(gw, 'GET', `/v1/collections/${c}/changes`)).json.offset;
  const w = await putOk(gw, c, 'd', { n: 1 });
  assert.equal(epochOf(w.offset), epochOf(head), 'the write continues the epoch the read saw');
  assert.equal(seqOf(w.offset), 1);
  assert.equal(await redis.raw('PTTL', key(c, 'meta')), '-1', 'written: permanent');
  // forgotten before any write: the next read makes a new epoch, and a
  // reader with the old head gets a reset, not a gap
  const lone = names[2];
  const old = (await req(gw, 'GET', `/v1/collections/${lone}/changes`)).json.offset;
  await redis.raw('DEL', key(lone, 'meta'));
  const r = await req(gw, 'GET', `/v1/collections/${lone}/changes?since=${old}`);
  assert.equal(r.status, 200, r.text);
  assert.notEqual(epochOf(r.json.offset), epochOf(old), 'a new epoch, made by the read');
  assert.equal(r.json.reset, true, r.text);
  assert.deepEqual(r.json.changes, []);
});

test('a stored document without the offset tail is replaced by the next write (not 503 forever)', async () => {
  const c = uniqueColl('edge-tail');
  await putOk(gw, c, 'seed', { n: 0 });
  // valid document JSON, but its offset is not the last member
  const odd = JSON.stringify({
    collection: c, id: 'x', offset: 'zzzz:9', deleted: false, version: { other: 1 },
    actor: 'other', timestamp: 1, data: { by: 'hand' },
  });
  await redis.cli('HSET', key(c, 'docs'), 'x', odd);
  await redis.cli('ZADD', key(c, 'ids'), '0', 'x');
  const r = await req(gw, 'PUT', docPath(c, 'x'), { body: { data: { by: 'gateway' } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.data, { by: 'gateway' });
  const g = await req(gw, 'GET', docPath(c, 'x'));
  assert.deepEqual(g.json.data, { by: 'gateway' });
  assert.match(await redis.raw('HGET', key(c, 'docs'), 'x'), /"offset":"[^"]+"}$/);
});

test('rotate.lua with the meta key gone starts the new epoch after the log, and writes go on', async () => {
  const c = uniqueColl('edge-rot');
  let last;
  for (let i = 0; i < 5; i++) last = await putOk(gw, c, `d${i}`, { i });
  await redis.cli('DEL', key(c, 'meta'));
  const out = await redis.raw('EVAL', script('rotate'), '2', key(c, 'meta'), key(c, 'log'),
    epochOf(last.offset), '9', 'newepoch0001', '0', '10000');
  const [epoch, seq, base, rotated] = out.split('\n');
  assert.deepEqual([epoch, seq, base, rotated], ['newepoch0001', '5', '5', '1']);
  const w = await putOk(gw, c, 'd9', { after: true });
  assert.equal(w.offset, 'newepoch0001:6', 'the next write follows the log, no 500');
});

test('concurrent writes through two gateways with subscribers on both: no gap repair without a loss', async () => {
  const c = uniqueColl('edge-race');
  const g2 = await Gateway.start({ redis, node: 'gw2' });
  try {
    const subs = [await subscribe(gw, c), await subscribe(g2, c)];
    const before = await metricSum([gw, g2], 'syncgate_gap_repairs_total');
    let n = 0;
    const end = Date.now() + 3000;
    await Promise.all(Array.from({ length: 8 }, (_, k) => (async () => {
      while (Date.now() < end) {
        await putOk(k % 2 ? g2 : gw, c, `d${k}`, { k, n: n++ });
      }
    })()));
    const head = (await req(gw, 'GET', `/v1/collections/${c}/changes?limit=1`)).json;
    const last = await req(gw, 'GET', `/v1/collections/${c}/changes?since=${epochOf(head.offset)}:${n - 1}`);
    for (const s of subs) await waitSeq(s.c, c, seqOf(last.json.offset));
    const repairs = (await metricSum([gw, g2], 'syncgate_gap_repairs_total')) - before;
    assert.equal(repairs, 0, `${n} writes, no loss, yet ${repairs} gap repairs`);
    for (const s of subs) await s.c.close();
  } finally {
    await g2.stop();
  }
});

test('a collection whose meta names another Redis process gets a new epoch on its first touch, even from a new gateway', async () => {
  const c = uniqueColl('edge-life');
  const w = await putOk(gw, c, 'a', { n: 1 });
  assert.match(await redis.raw('HGET', key(c, 'meta'), 'run'), /^[0-9a-f]{40}$/, 'the meta names the Redis that served it');
  // as if this data came from another process (a restore, a failover)
  await redis.cli('HSET', key(c, 'meta'), 'run', 'f'.repeat(40));
  const fresh = await Gateway.start({ redis, node: 'fresh' });
  try {
    const r = await req(fresh, 'GET', `/v1/collections/${c}/changes?since=${w.offset}`);
    assert.equal(r.json.reset, true);
    assert.equal(r.json.reason, 'epoch_changed');
    assert.notEqual(epochOf(r.json.offset), epochOf(w.offset));
    const w2 = await putOk(fresh, c, 'a', { n: 2 });
    assert.equal(epochOf(w2.offset), epochOf(r.json.offset));
    assert.equal(seqOf(w2.offset), 2, 'seqs go on after the log');
  } finally {
    await fresh.stop();
  }
  // a meta from before the check (no run field) adopts the live process, no new epoch
  const c2 = uniqueColl('edge-adopt');
  const v = await putOk(gw, c2, 'a', { n: 1 });
  await redis.cli('HDEL', key(c2, 'meta'), 'run');
  const v2 = await putOk(gw, c2, 'a', { n: 2 });
  assert.equal(epochOf(v2.offset), epochOf(v.offset));
  await sleep(0);
});

test('a write that changes nothing (a conflict refused by policy reject) checks the life too: its conflict follows a head of this Redis', async () => {
  const rej = await Gateway.start({ redis, node: 'rej', config: { collections: [{ match: 'rej-*', conflict: 'reject' }] } });
  try {
    const c = uniqueColl('rej-life');
    const w = await putOk(rej, c, 'a', { n: 1 }, { version: { 'admin:x': 1 }, actor: 'admin:x' });
    await redis.cli('HSET', key(c, 'meta'), 'run', 'f'.repeat(40));
    const epoch0 = await redis.raw('HGET', key(c, 'meta'), 'epoch');
    assert.equal(epoch0, epochOf(w.offset));
    // concurrent with the stored version: refused, nothing stored, the conflict kept
    const r = await req(rej, 'PUT', docPath(c, 'a'), {
      token: T, body: { data: { n: 0 }, version: { 'admin:y': 1 }, actor: 'admin:y' },
    });
    assert.equal(r.status, 409, r.text);
    const epoch1 = await redis.raw('HGET', key(c, 'meta'), 'epoch');
    assert.notEqual(epoch1, epoch0, 'the meta got a new epoch: it named another Redis process');
    assert.match(await redis.raw('HGET', key(c, 'meta'), 'run'), /^[0-9a-f]{40}$/);
    assert.notEqual(await redis.raw('HGET', key(c, 'meta'), 'run'), 'f'.repeat(40));
    const trail = await redis.raw('XREVRANGE', key(c, 'conflicts'), '+', '-', 'COUNT', '1');
    assert.ok(trail.includes(`"offset":"${epoch1}:1"`), `the conflict follows the new epoch's head: ${trail}`);
  } finally {
    await rej.stop();
  }
});

test('FLUSHALL without a reconnect: followed collections get a reset into a new epoch within the recheck (no write needed)', async () => {
  const c = uniqueColl('edge-flush');
  const w = await putOk(gw, c, 'a', { n: 1 });
  const s = await subscribe(gw, c);
  await sleep(200);
  await redis.cli('FLUSHALL');
  // the gateway sets its instance marker every recheck (10 s); a flush removes it
  const deadline = Date.now() + 15000;
  while (!s.c.of('reset', c).length && Date.now() < deadline) await sleep(100);
  const r = s.c.of('reset', c)[0];
  assert.ok(r, 'a reset came without any write');
  assert.equal(r.reason, 'epoch_changed');
  assert.notEqual(epochOf(r.offset), epochOf(w.offset));
  assert.equal(seqOf(r.offset), 0, 'an empty collection');
  await s.c.close();
});
