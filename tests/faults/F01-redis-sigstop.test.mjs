// F01 (shortened): Redis hung (SIGSTOP 5 s, TCP open, no answers) under
// ~200 writes/s and 100 subscribers; command timeout 1000 ms. Every request
// during the hang answers 503 + Retry-After within about the timeout (none
// past 2x), /v1/ready 503; pending work bounded (RSS); after SIGCONT the
// gateway is ready and writing again within 5 s; subscribers see no gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from '../integration/lib/harness.mjs';
import { scope, readyStatus } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, rssKiB, report,
} from './lib/clients.mjs';

const TIMEOUT_MS = 1000;
const STOP_MS = 5000;

test('F01 Redis SIGSTOP 5 s under load: 503 within the timeout, recovery, no gap', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'f01', config: { redis: { timeout_ms: TIMEOUT_MS } } });
    const checker = new Checker();
    const coll = 'f01';
    const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const subs = await openSubscribers(100, { checker, gateways: [gw], coll, reconnect: false });
    // 8 writers x 25/s: during the hang each waits for its 503 in turn
    const writers = Array.from({ length: 8 }, (_, w) => new Writer({ checker, gateways: [gw], coll, actor: `admin:w${w}`, ids }));
    const runs = writers.map((w) => w.run({ rate: 25 }));
    await sleep(2000);
    const rss0 = await rssKiB(gw.proc.pid);
    const ackedBefore = checker.writes.length;
    redis.signal('SIGSTOP');
    const stoppedAt = Date.now();
    await waitFor(async () => (await readyStatus(gw)) === 503, { timeout: 4000, what: 'ready 503 while Redis is hung' });
    let rssMax = rss0;
    while (Date.now() < stoppedAt + STOP_MS) {
      rssMax = Math.max(rssMax, await rssKiB(gw.proc.pid));
      await sleep(250);
    }
    redis.signal('SIGCONT');
    const contAt = Date.now();
    await gw.waitReady(10000);
    const readyMs = Date.now() - contAt;
    // a write that starts now succeeds: wait for one per writer (bounded)
    const n0 = writers.map((w) => w.acked);
    await waitFor(() => writers.every((w, i) => w.acked > n0[i]), { timeout: 5000, what: 'writes again after SIGCONT' });
    const recoveredMs = Date.now() - contAt;
    await sleep(1000);
    for (const w of writers) w.running = false;
    await Promise.all(runs);

    const log = writers.flatMap((w) => w.log);
    // requests that began once Redis was hung and were answered before it woke
    const during = log.filter((x) => x.start >= stoppedAt + 50 && x.start + x.ms <= contAt);
    const slow = log.filter((x) => x.ms > 2 * TIMEOUT_MS);
    const bad = during.filter((x) => x.status !== 503 || x.code !== 'unavailable' || !/^\d+$/.test(x.retryAfter || ''));
    assert.ok(during.length >= 8, `requests during the hang: ${during.length}`);
    assert.deepEqual(bad.slice(0, 5), [], `during the hang every answer is 503 unavailable + Retry-After (${bad.length} not)`);
    assert.deepEqual(slow.slice(0, 5).map((x) => `${x.method} ${x.status} ${x.ms} ms`), [],
      `no request took longer than 2x the ${TIMEOUT_MS} ms command timeout (${slow.length} did)`);
    const maxMs = Math.max(...during.map((x) => x.ms));
    // the requests in flight when Redis stopped wait for the command timeout
    const maxAll = Math.max(...log.filter((x) => x.start < contAt).map((x) => x.ms));
    assert.ok(readyMs <= 5000, `ready ${readyMs} ms after SIGCONT`);
    assert.ok(rssMax - rss0 < 50 * 1024, `RSS growth ${rssMax - rss0} KiB during the hang`);
    // after the recovery, no failure at all
    const after = log.filter((x) => x.start >= contAt + recoveredMs);
    assert.deepEqual(after.filter((x) => x.status !== 200 && x.status !== 201 && x.status !== 404 && x.status !== 409).slice(0, 5), [], 'after recovery');

    await waitCaughtUp(subs, await head(gw, coll), 60000);
    await recordFinal(checker, gw, [coll]);
    const counts = checker.check();
    assert.equal(counts.resets, 0, 'no reset');
    for (const x of subs) assert.deepEqual(x.closes, [], `${x.label}: socket stayed open`);
    report(`F01 Redis SIGSTOP ${STOP_MS} ms under 200 writes/s, 100 subscribers, timeout ${TIMEOUT_MS} ms `
      + `(${ackedBefore} acked before; ${during.length} requests during the hang all 503 + Retry-After, slowest ${maxMs} ms; slowest request overall ${maxAll} ms; `
      + `RSS +${Math.round((rssMax - rss0) / 1024)} MiB; ready ${readyMs} ms and writing ${recoveredMs} ms after SIGCONT)`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gw);
  } finally {
    await s.cleanup();
  }
});

