// D08 (shortened): 100 clients each drop their socket every 0.5-2 s and
// resubscribe with `since` = their last offset, alternating gateways, under
// ~200 writes/s. Per client seq consecutive across all reconnects (no gap, no
// duplicate at the replay-to-live seam), no per-document version regression,
// no reset (the log reaches back).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker, geq, canonical } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, report,
} from './lib/clients.mjs';

const CLIENTS = 100;
const SECONDS = 10;

test('D08 100 clients resubscribing with since every 0.5-2 s under writes', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'd08-a' });
    const gwB = await s.gw({ redis, node: 'd08-b' });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const coll = 'd08';
    const ids = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const subs = await openSubscribers(CLIENTS, { checker, gateways: gws, coll, reconnect: false });
    const writers = Array.from({ length: 4 }, (_, w) => new Writer({ checker, gateways: [gws[w % 2]], coll, actor: `admin:w${w}`, ids }));
    const runs = writers.map((w) => w.run({ rate: 50 }));
    const end = Date.now() + SECONDS * 1000;
    let planned = 0;
    const churn = subs.map(async (x, i) => {
      while (Date.now() < end) {
        await sleep(500 + Math.floor(Math.random() * 1500));
        if (Date.now() >= end) break;
        await x.reconnect({ terminate: (planned++ + i) % 2 === 0 });
      }
    });
    await Promise.all(churn);
    for (const w of writers) w.running = false;
    await Promise.all(runs);
    assert.deepEqual(writers.flatMap((w) => w.failed), [], 'writes do not fail');

    const h = await head(gwA, coll);
    await waitCaughtUp(subs, h, 60000);
    await recordFinal(checker, gwA, [coll]);
    const counts = checker.check();
    assert.equal(counts.resets, 0, 'no reset: the log was not trimmed');
    assert.ok(counts.reconnects >= CLIENTS * 3, `reconnects ${counts.reconnects}`);
    for (const x of subs) {
      assert.deepEqual(x.errors, [], `${x.label}: errors`);
      const lastV = new Map();
      for (const e of checker.subs.get(x.sub).events) {
        if (e.type !== 'change') continue;
        const prev = lastV.get(e.doc.id);
        assert.ok(!prev || geq(e.doc.version, prev), `${x.label}: ${e.doc.id} version regressed at ${e.offset}: ${canonical(e.doc.version)} after ${canonical(prev)}`);
        lastV.set(e.doc.id, e.doc.version);
      }
      assert.equal(x.changes, checker.writes.length, `${x.label}: every change once`);
    }
    report(`D08 ${CLIENTS} clients resubscribing with since every 0.5-2 s (alternating gateways, half terminated) `
      + `under 200 writes/s for ${SECONDS} s`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
