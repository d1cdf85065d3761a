// D10: a write that fails in Redis leaves nothing behind. Two gateways, 10
// subscribers on a collection that already has documents and a log.
// (a) its log stream is swapped for a string (moved aside, restored after):
// PUT, PUT with a version and DELETE through both gateways get a 5xx JSON
// error; (b) Redis at maxmemory with noeviction: every write gets 503
// unavailable with Retry-After. In both, Redis' whole content (minus the
// filler) is the same before and after, and no subscriber receives a frame
// for the collection. After each fault the writes go on, the subscribers get
// them with no gap, and the checker passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../integration/lib/harness.mjs';
import { scope, docPath } from '../integration/lib/feed.mjs';
import { redisSnapshot } from '../integration/lib/rest-helpers.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, listAll, http, report,
} from './lib/clients.mjs';

/** Every write a client can make of coll, through each gateway: the answers. */
async function attempts(gws, coll, doc) {
  const out = [];
  for (const gw of gws) {
    const cur = await http(gw, 'GET', docPath(coll, doc.id));
    const version = cur.status === 200 ? { ...cur.json.version, 'admin:d10': 99 } : { 'admin:d10': 99 };
    out.push(await http(gw, 'PUT', docPath(coll, doc.id), { body: { data: { lost: true }, version, actor: 'admin:d10' } }));
    out.push(await http(gw, 'PUT', docPath(coll, `new-${gw.node}`), { body: { data: { lost: true } } }));
    out.push(await http(gw, 'DELETE', docPath(coll, doc.id)));
  }
  return out;
}

test('D10 failed writes (log of the wrong type, Redis out of memory) leave Redis and subscribers unchanged', { timeout: 120000 }, async () => {
  const s = scope();
  let subs = [];
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'd10-a' });
    const gwB = await s.gw({ redis, node: 'd10-b' });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const coll = 'd10';
    const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const writers = [0, 1].map((w) => new Writer({ checker, gateways: [gws[w], gws[1 - w]], coll, actor: `admin:w${w}`, ids }));
    // subscribed before the first write, so every replica sees every document
    subs = await openSubscribers(10, { checker, gateways: gws, coll, replica: true });
    await Promise.all(writers.map((w) => w.run({ count: 20 })));
    await waitCaughtUp(subs, await head(gwA, coll), 20000);
    const logKey = `sg:{${coll}}:log`;
    const faults = [];
    // a document the writers made (they pick ids at random: k0 may not be)
    let known = null;
    for (const id of ids) {
      if ((await http(gwA, 'GET', docPath(coll, id))).status === 200) { known = id; break; }
    }
    assert.ok(known, 'the writers stored documents');

    const underFault = async (what, expect) => {
      const before = await redisSnapshot(redis);
      const frames = subs.map((x) => x.changes + x.resets.length);
      const answers = await attempts(gws, coll, { id: known });
      for (const r of answers) {
        assert.ok(expect(r), `${what}: ${r.status} ${r.error || r.text}`);
        assert.equal(typeof r.json?.error?.code, 'string', `${what}: a JSON error body: ${r.text}`);
      }
      await sleep(300);
      return { before, frames, answers };
    };
    const unchanged = async (what, { before, frames }) => {
      assert.equal(await redisSnapshot(redis), before, `${what}: Redis content changed`);
      assert.deepEqual(subs.map((x) => x.changes + x.resets.length), frames, `${what}: a subscriber got a frame`);
    };
    const recovers = async (what) => {
      await Promise.all(writers.map((w) => w.run({ count: 10 })));
      await waitCaughtUp(subs, await head(gwA, coll), 20000);
      faults.push(what);
    };

    // (a) the log is a string: refused before anything is written
    assert.equal(await redis.cli('RENAME', logKey, `${logKey}-aside`), 'OK');
    assert.equal(await redis.cli('SET', logKey, 'not-a-stream'), 'OK');
    const a = await underFault('wrong-type log', (r) => r.status >= 500 && r.status < 600 && ['internal', 'unavailable'].includes(r.json?.error?.code));
    await unchanged('wrong-type log', a);
    assert.equal(await redis.raw('DEL', logKey), '1');
    assert.equal(await redis.cli('RENAME', `${logKey}-aside`, logKey), 'OK');
    await recovers('wrong-type log');

    // (b) out of memory (noeviction): 503 unavailable + Retry-After, nothing stored
    const used = Number((await redis.cli('INFO', 'memory')).match(/used_memory:(\d+)/)[1]);
    assert.equal(await redis.cli('CONFIG', 'SET', 'maxmemory', String(used + 256 * 1024)), 'OK');
    assert.equal(await redis.cli('EVAL', "return redis.call('SET', KEYS[1], string.rep('x', ARGV[1]))", '1', 'd10-filler', String(1024 * 1024)), 'OK');
    const full = await redis.cli('SET', 'd10-probe', 'x');
    assert.match(full, /OOM/, `Redis is full: ${full}`);
    const b = await underFault('out of memory', (r) => r.status === 503 && r.json?.error?.code === 'unavailable' && Number(r.headers.get('retry-after')) > 0);
    await unchanged('out of memory', b);
    const ready = await http(gwA, 'GET', '/v1/ready');
    assert.equal(ready.status, 200, `reads still work, so the gateway stays ready: ${ready.text}`);
    assert.equal(await redis.raw('DEL', 'd10-filler'), '1');
    assert.equal(await redis.cli('CONFIG', 'SET', 'maxmemory', '0'), 'OK');
    await recovers('out of memory');

    await recordFinal(checker, gwB, [coll]);
    const counts = checker.check();
    const server = (await listAll(gwA, coll)).docs;
    let compared = 0;
    for (const x of subs) {
      assert.deepEqual(x.resets, [], `${x.label}: no reset`);
      assert.deepEqual(x.errors, [], `${x.label}: errors`);
      compared += Checker.stateEquals(x.label, x.replica, server);
    }
    assert.ok(!server.some((d) => d.data?.lost), 'no refused write is in the final state');
    report(`D10 failed writes (${faults.join(', ')}): ${a.answers.length + b.answers.length} refused, `
      + `Redis and ${subs.length} subscribers unchanged, then ${compared} docs compared equal`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await Promise.all(subs.map((x) => x.stop()));
    await s.cleanup();
  }
});
