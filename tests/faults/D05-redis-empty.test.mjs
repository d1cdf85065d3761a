// D05: Redis without persistence (appendonly no, save '') SIGKILLed and
// restarted empty while 20 subscribers (4 collections, 2 gateways) hold
// offsets. Without any write, every subscriber gets reset epoch_changed
// within 5 s of Redis' return (live collections are checked at once after
// the reconnect); a client reconnecting with the offset it held before the
// crash gets a reset too; GET of the old documents answers 404; writes then
// go on in the new epoch; checker passes, replicas equal the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor, epochOf } from '../integration/lib/harness.mjs';
import { scope, docPath } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  Subscriber, Writer, waitCaughtUp, head, recordFinal, listAll, http, report,
} from './lib/clients.mjs';

const RESET_WITHIN_MS = 5000;

test('D05 Redis restarted empty: reset epoch_changed without a write, old offsets reset, old docs 404', { timeout: 60000 }, async () => {
  const s = scope();
  const opened = [];
  try {
    const redis = await s.redis({ appendonly: 'no', args: ['--save', ''] });
    const gwA = await s.gw({ redis, node: 'd05-a' });
    const gwB = await s.gw({ redis, node: 'd05-b' });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const colls = ['d05-0', 'd05-1', 'd05-2', 'd05-3'];
    const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const writersOf = (tag) => colls.map((coll, c) => new Writer({
      checker, gateways: [gws[c % 2], gws[(c + 1) % 2]], coll, actor: `admin:${tag}${c}`, ids,
    }));
    let writers = writersOf('w');
    await Promise.all(writers.map((w) => w.run({ count: 30, random: false })));
    // 5 subscribers per collection, alternating gateways
    const subs = [];
    for (const [c, coll] of colls.entries()) {
      for (let j = 0; j < 5; j++) {
        const x = new Subscriber({ checker, gateways: gws, coll, label: `s${c}.${j}`, gwIndex: j, replica: true });
        subs.push(x);
        opened.push(x);
        await x.start();
        x.replica.load((await listAll(x.gw, coll)).docs);
      }
    }
    await Promise.all(writers.map((w) => w.run({ count: 20 })));
    for (const coll of colls) await waitCaughtUp(subs.filter((x) => x.coll === coll), await head(gwA, coll), 15000);
    const held = new Map(subs.map((x) => [x, x.last]));
    const epochs0 = new Map(colls.map((c) => [c, epochOf(held.get(subs.find((x) => x.coll === c)))]));
    const acked = checker.writes.length;

    await redis.kill();
    await sleep(500);
    const returnAt = Date.now();
    await redis.restart();
    // (the gateways may already have set their marker and new metas: count documents)
    const docsKeys = colls.map((c) => `sg:{${c}}:docs`);
    assert.equal(await redis.raw('EXISTS', ...docsKeys), '0', 'Redis came back without the documents');
    // no write now: the gateways find the live collections changed by themselves
    const resetMs = new Map();
    await waitFor(() => {
      for (const x of subs) if (x.resets.length && !resetMs.has(x)) resetMs.set(x, Date.now() - returnAt);
      return resetMs.size === subs.length;
    }, { timeout: RESET_WITHIN_MS + 5000, interval: 10, what: `a reset for every subscriber (${resetMs.size} of ${subs.length})` });
    const slowest = Math.max(...resetMs.values());
    assert.ok(slowest <= RESET_WITHIN_MS, `every subscriber reset within ${RESET_WITHIN_MS} ms of Redis' return (slowest ${slowest} ms)`);
    assert.equal(checker.writes.length, acked, 'no write since the crash');
    for (const x of subs) {
      assert.equal(x.resets[0].reason, 'epoch_changed', `${x.label}: reset epoch_changed`);
      assert.notEqual(epochOf(x.resets[0].offset), epochs0.get(x.coll), `${x.label}: the reset names a new epoch`);
    }
    await waitFor(() => subs.every((x) => x.reloaded === 1), { timeout: 10000, what: 'every subscriber reloaded' });

    // the old documents are gone
    for (const coll of colls) {
      for (const id of ids) {
        const r = await http(gwB, 'GET', docPath(coll, id));
        assert.equal(r.status, 404, `GET ${coll}/${id} after the empty restart: ${r.status} ${r.text}`);
      }
    }

    // a client back with the offset it held before the crash: reset too
    const returning = [];
    for (const x of subs) {
      const y = new Subscriber({ checker, gateways: gws, coll: x.coll, label: `${x.label}-old`, gwIndex: x.gwIndex + 1, replica: true });
      checker.subscribed(y.sub, { offset: held.get(x) }); // its earlier run ended at the held offset
      y.last = held.get(x);
      returning.push(y);
      opened.push(y);
      await y.start();
    }
    await waitFor(() => returning.every((y) => y.reloaded === 1), { timeout: 10000, what: 'every returning client reset and reloaded' });
    for (const y of returning) {
      assert.deepEqual(y.resets.map((r) => r.reason), ['epoch_changed'], `${y.label}: reset epoch_changed for its old offset`);
    }

    // writes go on in the new epoch; everyone follows
    writers = writersOf('v');
    await Promise.all(writers.map((w) => w.run({ count: 20 })));
    assert.deepEqual(writers.flatMap((w) => w.failed), [], 'writes after the restart do not fail');
    const all = [...subs, ...returning];
    for (const coll of colls) {
      const h = await head(gwA, coll);
      assert.notEqual(epochOf(h), epochs0.get(coll), `${coll}: head in a new epoch`);
      await waitCaughtUp(all.filter((x) => x.coll === coll), h, 15000);
    }
    await recordFinal(checker, gwA, colls);
    const counts = checker.check();
    let compared = 0;
    for (const coll of colls) {
      const server = (await listAll(gwB, coll)).docs;
      for (const x of all.filter((z) => z.coll === coll)) compared += Checker.stateEquals(x.label, x.replica, server);
    }
    for (const x of subs) assert.equal(x.resets.length, 1, `${x.label}: one reset`);
    report(`D05 Redis (no persistence) SIGKILLed and restarted empty with 20 subscribers on 4 collections `
      + `(${acked} acked before): all reset epoch_changed without a write (slowest ${slowest} ms after Redis' return), `
      + `20 clients back with their old offsets reset too, ${colls.length * ids.length} old docs 404, `
      + `${checker.writes.length - acked} writes in the new epoch, ${compared} docs compared equal`, counts);
    for (const x of all) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    for (const x of opened) await x.stop().catch(() => {});
    await s.cleanup();
  }
});
