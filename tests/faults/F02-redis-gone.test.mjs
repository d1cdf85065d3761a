// F02: Redis gone (SIGKILL) for 15 s with 10 subscribers and a writer, then
// back on the same dir. The gateway stays up (health 200, ready 503); its
// reconnect attempts (the command link's "cannot connect" log lines) come at
// growing intervals, not all equal (jitter), never more than the 5 s cap
// (+25 % jitter); after the restart it is ready within one capped attempt
// (at most 5 s + 25 % + the connect) and writing at once, and
// the subscribers (redis.lossless_restarts: the epoch is kept) resume with
// no gap, no duplicate and no reset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor, epochOf } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import { openSubscribers, Writer, waitCaughtUp, head, recordFinal, http, report } from './lib/clients.mjs';

const OUTAGE_MS = 15000;
const CAP_MS = 5000;

test('F02 Redis gone 15 s: the gateway stays up, reconnects with capped jittered backoff, subscribers resume without a gap', { timeout: 120000 }, async () => {
  const s = scope();
  let subs = [];
  let writer;
  try {
    const redis = await s.redis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const config = { redis: { timeout_ms: 1000, lossless_restarts: true } };
    const gw = await s.gw({ redis, node: 'f02', config });
    const checker = new Checker();
    const coll = 'f02';
    const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
    subs = await openSubscribers(10, { checker, gateways: [gw], coll });
    const epoch0 = epochOf(subs[0].last);
    writer = new Writer({ checker, gateways: [gw], coll, actor: 'admin:w0', ids, timeout: 5000 });
    let run = writer.run({ rate: 20 });
    await sleep(1500);
    writer.running = false;
    await run;
    const ackedBefore = checker.writes.length;

    const logFrom = gw.logs.length;
    await redis.kill();
    const killedAt = Date.now();
    await sleep(OUTAGE_MS);
    assert.equal((await http(gw, 'GET', '/v1/health')).status, 200, 'the gateway stays up');
    assert.equal((await http(gw, 'GET', '/v1/ready')).status, 503, 'not ready while Redis is gone');
    assert.equal(gw.proc.exitCode, null);

    // the command link's attempts while Redis was gone
    const attempts = gw.logs.slice(logFrom).split('\n').filter(Boolean)
      .map((l) => { try { return JSON.parse(l); } catch { return null; } })
      .filter((l) => l && /redis command: cannot connect/.test(l.msg))
      .map((l) => Date.parse(l.ts));
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
    assert.ok(attempts.length >= 5, `reconnect attempts in ${OUTAGE_MS} ms: ${attempts.length}`);
    assert.ok(gaps.every((g) => g <= CAP_MS * 1.25 + 1000), `no gap over the cap: ${gaps}`);
    assert.ok(gaps[gaps.length - 1] > gaps[0], `the intervals grow: ${gaps}`);
    assert.ok(new Set(gaps.slice(-3)).size > 1, `jittered, not identical: ${gaps}`);
    const capped = gaps.filter((g) => g >= CAP_MS * 0.75).length;
    assert.ok(capped >= 1, `the cap is reached: ${gaps}`);

    await redis.restart();
    const backAt = Date.now();
    await gw.waitReady(CAP_MS * 1.25 + 2000); // the next attempt, at most one capped delay away
    const readyMs = Date.now() - backAt;
    run = writer.run({ rate: 20 });
    const nBack = checker.writes.length;
    await waitFor(() => checker.writes.length > nBack + 20, { timeout: 5000, what: 'writing within 5 s of ready' });
    writer.running = false;
    await run;
    const h = await head(gw, coll);
    await waitCaughtUp(subs, h, 5000);
    await recordFinal(checker, gw, [coll]);
    const counts = checker.check();
    assert.equal(epochOf(h), epoch0, 'the epoch is kept (lossless_restarts)');
    assert.equal(counts.resets, 0, 'no reset');
    report(`F02 Redis SIGKILLed for ${OUTAGE_MS} ms (${ackedBefore} acked before, ${Date.now() - killedAt} ms to the end), `
      + `gateway up throughout, ${attempts.length} reconnect attempts at ${gaps.map((g) => (g / 1000).toFixed(1)).join('/')} s, `
      + `ready ${readyMs} ms after the restart, 10 subscribers caught up with no gap`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gw);
  } finally {
    if (writer) writer.running = false;
    for (const x of subs) await x.stop().catch(() => {});
    await s.cleanup();
  }
});
