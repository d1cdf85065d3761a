// D03 (PR size): a gateway SIGKILLed under write load; writers fail over to
// the other gateway (re-reading what they were writing), subscribers of the
// dead one resubscribe on the other with `since`. Checker: no gap, no
// duplicate, no acked write lost; every final document's offset is in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, report,
} from './lib/clients.mjs';

test('D03 gateway SIGKILL under write load, failover with since', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'd03-a' });
    const gwB = await s.gw({ redis, node: 'd03-b' });
    const checker = new Checker();
    const coll = 'd03';
    const ids = Array.from({ length: 20 }, (_, i) => `k${i}`);
    // 20 subscribers: even ones start on a (and fail over to b), odd ones on b
    const subs = await openSubscribers(20, { checker, gateways: [gwA, gwB], coll });
    const writers = Array.from({ length: 4 }, (_, w) => new Writer({ checker, gateways: [gwA, gwB], coll, actor: `admin:w${w}`, ids }));
    const runs = writers.map((w) => w.run({ rate: 100 }));
    const killAfter = 2000 + Math.floor(Math.random() * 3000);
    await sleep(killAfter);
    const ackedBefore = checker.writes.length;
    await gwA.kill();
    const ackedAtKill = checker.writes.length;
    await sleep(3000);
    for (const w of writers) w.running = false;
    await Promise.all(runs);
    assert.ok(checker.writes.length - ackedAtKill > 100, `writes through b after the kill: ${checker.writes.length - ackedAtKill}`);
    // only the writes in flight at the kill may fail (no answer): one per writer at most
    const failures = writers.flatMap((w) => w.failed);
    assert.ok(failures.length <= writers.length * 2, `failed writes: ${failures.length}: ${failures.slice(0, 5).join('; ')}`);

    const h = await head(gwB, coll);
    await waitCaughtUp(subs, h, 60000);
    await recordFinal(checker, gwB, [coll]);
    const counts = checker.check();
    const movers = subs.filter((x) => x.gwIndex % 2 === 1 && x.closes.length);
    assert.equal(movers.length, 10, 'the 10 subscribers of a moved to b');
    assert.ok(counts.reconnects >= 10, `reconnects ${counts.reconnects}`);
    assert.equal(counts.resets, 0, 'no reset: the log reaches back');
    // no document whose version is absent from the log (all were written after the subscribe)
    const logged = new Set(checker.subs.get(subs[1].sub).events.filter((e) => e.type === 'change').map((e) => e.offset));
    for (const d of checker.finals.get(coll).values()) {
      assert.ok(logged.has(d.offset), `final ${d.id} at ${d.offset} not in the log`);
    }
    report(`D03 gateway a SIGKILLed ${killAfter} ms into 4 writers x 100 writes/s (${ackedBefore} acked before), `
      + `3 s more via b, 20 subscribers (10 failed over with since)`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
