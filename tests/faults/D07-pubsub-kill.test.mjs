// D07 (shortened): the gateways' pub/sub links killed every 300 ms
// (CLIENT KILL TYPE pubsub) under ~200 writes/s through two gateways; the
// gateways repair from the log: every subscriber's seq consecutive, no gap,
// no duplicate; the repair counters moved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../integration/lib/harness.mjs';
import { scope, metric } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, report,
} from './lib/clients.mjs';

const SECONDS = 8;

test('D07 pub/sub links killed every 300 ms under writes', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'd07-a' });
    const gwB = await s.gw({ redis, node: 'd07-b' });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const coll = 'd07';
    const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const subs = await openSubscribers(20, { checker, gateways: gws, coll, reconnect: false });
    const repairs = async (gw) => (await metric(gw, 'syncgate_redis_reconnects_total'))
      + (await metric(gw, 'syncgate_gap_repairs_total'));
    const before = [await repairs(gwA), await repairs(gwB)];
    const writers = Array.from({ length: 4 }, (_, w) => new Writer({ checker, gateways: [gws[w % 2]], coll, actor: `admin:w${w}`, ids }));
    const runs = writers.map((w) => w.run({ rate: 50 }));
    let killed = 0;
    let kills = 0;
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      await sleep(300);
      const out = await redis.cli('CLIENT', 'KILL', 'TYPE', 'pubsub');
      killed += Number(out.replace(/\D/g, '')) || 0;
      kills += 1;
    }
    for (const w of writers) w.running = false;
    await Promise.all(runs);
    assert.deepEqual(writers.flatMap((w) => w.failed), [], 'losing the pub/sub link does not fail writes');
    assert.ok(killed >= kills / 2, `pub/sub links killed: ${killed} in ${kills} rounds`);

    const h = await head(gwA, coll);
    await waitCaughtUp(subs, h, 60000);
    await recordFinal(checker, gwA, [coll]);
    const counts = checker.check();
    assert.equal(counts.resets, 0, 'no reset');
    for (const x of subs) {
      assert.deepEqual(x.closes, [], `${x.label}: socket stayed open`);
      assert.equal(x.changes, checker.writes.length, `${x.label}: every change`);
    }
    for (const [i, gw] of gws.entries()) {
      const now = await repairs(gw);
      assert.ok(now > before[i], `gateway ${i}: reconnects + gap repairs ${before[i]} -> ${now}`);
    }
    const r = [await metric(gwA, 'syncgate_gap_repairs_total'), await metric(gwB, 'syncgate_gap_repairs_total')];
    report(`D07 pubsub links killed every 300 ms (${killed} links in ${kills} rounds; gap repairs a=${r[0]} b=${r[1]}) `
      + `under 200 writes/s for ${SECONDS} s, 20 subscribers on 2 gateways`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
