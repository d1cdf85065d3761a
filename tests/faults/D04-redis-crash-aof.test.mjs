// D04: Redis (appendonly yes, appendfsync everysec) SIGKILLed under ~200
// writes/s through two gateways with 20 subscribers; writes go on for 2 s
// (every answer 503 + Retry-After within about the 1000 ms command timeout,
// none 2xx, none hanging); Redis restarts on the same dir.
//   (a) default config: every subscriber gets one reset epoch_changed into a
//       new epoch, reloads (list) and resubscribes from the list's offset;
//       writes go on in the new epoch; checker passes, replicas equal the
//       server.
//   (b) redis.lossless_restarts: true (writes paused 1.5 s before the kill so
//       the AOF is fsynced): 0 acked writes lost, the epoch is kept, the
//       subscribers resume with no reset and no gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor, epochOf } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker, geq } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, listAll, report,
} from './lib/clients.mjs';

const TIMEOUT_MS = 1000;
const OUTAGE_MS = 2000;

async function crash({ lossless }) {
  const s = scope();
  let subs = [];
  let writers = [];
  try {
    const redis = await s.redis({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
    const config = { redis: { timeout_ms: TIMEOUT_MS, ...(lossless ? { lossless_restarts: true } : {}) } };
    const tag = lossless ? 'b' : 'a';
    const gwA = await s.gw({ redis, node: `d04${tag}-a`, config });
    const gwB = await s.gw({ redis, node: `d04${tag}-b`, config });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const coll = `d04${tag}`;
    const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
    subs = await openSubscribers(20, { checker, gateways: gws, coll, replica: true });
    const epoch0 = epochOf(subs[0].last);
    // 8 writers x 25/s, half on each gateway (failing over to the other)
    writers = Array.from({ length: 8 }, (_, w) => new Writer({
      checker, gateways: [gws[w % 2], gws[(w + 1) % 2]], coll, actor: `admin:w${w}`, ids, timeout: 5000,
    }));
    let runs = writers.map((w) => w.run({ rate: 25 }));
    await sleep(3000);
    if (lossless) {
      // everything acknowledged is fsynced (everysec) before the kill
      for (const w of writers) w.running = false;
      await Promise.all(runs);
      await sleep(1500);
      runs = writers.map((w) => w.run({ rate: 25 }));
      await sleep(100);
    }
    const ackedBefore = checker.writes.length;
    await redis.kill();
    const killedAt = Date.now();
    await sleep(OUTAGE_MS);
    await redis.restart();
    const backAt = Date.now();
    for (const g of gws) await g.waitReady(10000);
    const readyMs = Date.now() - backAt;

    // the outage: requests begun after the kill and answered before the restart
    const log = writers.flatMap((w) => w.log);
    const during = log.filter((x) => x.start >= killedAt + 50 && x.start + x.ms <= backAt);
    const bad = during.filter((x) => x.status !== 503 || !/^\d+$/.test(x.retryAfter || ''));
    const slow = log.filter((x) => x.start >= killedAt && x.start < backAt && x.ms > 2 * TIMEOUT_MS);
    assert.ok(during.length >= 16, `requests during the outage: ${during.length}`);
    assert.deepEqual(bad.slice(0, 5).map((x) => `${x.method} ${x.status} ${x.error || x.code} ${x.ms} ms`), [],
      `during the outage every answer is 503 + Retry-After (${bad.length} not)`);
    assert.deepEqual(slow.slice(0, 5).map((x) => `${x.method} ${x.status} ${x.ms} ms`), [],
      `no request during the outage took longer than 2x the ${TIMEOUT_MS} ms command timeout`);
    const ok = log.filter((x) => x.start >= killedAt + 50 && x.start < backAt && x.status >= 200 && x.status < 300);
    assert.equal(ok.length, 0, 'no 2xx while Redis is down');
    const maxMs = Math.max(...during.map((x) => x.ms));

    // writes go on after the restart
    const nBack = checker.writes.length;
    await waitFor(() => checker.writes.length > nBack + 200, { timeout: 15000, what: 'writes after the restart' });
    if (!lossless) {
      await waitFor(() => subs.every((x) => (x.reloaded || 0) >= 1), { timeout: 15000, what: 'every subscriber reloaded' });
    }
    await sleep(500);
    for (const w of writers) w.running = false;
    await Promise.all(runs);
    const after = checker.writes.slice(nBack);
    const epochs = new Set(after.map((w) => epochOf(w.offset)));

    const h = await head(gwB, coll);
    await waitCaughtUp(subs, h, 30000);
    await recordFinal(checker, gwA, [coll]);
    const counts = checker.check();
    const server = (await listAll(gwA, coll)).docs;
    let compared = 0;
    for (const x of subs) compared += Checker.stateEquals(x.label, x.replica, server);
    const fin = checker.finals.get(coll);
    const lost = checker.writes.filter((w) => w.applied === true && !(fin.get(w.id) && geq(fin.get(w.id).version, w.version)));
    const epoch1 = epochOf(h);

    if (!lossless) {
      assert.notEqual(epoch1, epoch0, 'a new epoch after the restart');
      assert.deepEqual([...epochs], [epoch1], 'writes after the restart are in the new epoch');
      for (const x of subs) {
        assert.deepEqual(x.resets.map((r) => r.reason), ['epoch_changed'], `${x.label}: one reset epoch_changed`);
        assert.equal(epochOf(x.resets[0].offset), epoch1, `${x.label}: the reset names the new epoch`);
      }
    } else {
      assert.equal(epoch1, epoch0, 'the epoch is kept');
      assert.deepEqual([...epochs], [epoch0], 'writes after the restart continue the epoch');
      assert.equal(counts.resets, 0, 'no reset');
      assert.equal(lost.length, 0, `acked writes lost: ${lost.slice(0, 3).map((w) => `${w.id}@${w.offset}`).join(', ')}`);
    }
    const what = lossless
      ? `D04b lossless_restarts: Redis (AOF everysec) SIGKILLed 1.5 s after a write pause, ${ackedBefore} acked before, `
        + `${OUTAGE_MS} ms outage (${during.length} requests all 503 + Retry-After, slowest ${maxMs} ms), restart on the same dir, `
        + `ready ${readyMs} ms after; epoch kept, ${lost.length} acked writes lost, ${after.length} writes after, 20 subscribers kept their sockets and caught up, ${compared} docs compared equal`
      : `D04a Redis (AOF everysec) SIGKILLed under 200 writes/s via 2 gateways (${ackedBefore} acked before), `
        + `${OUTAGE_MS} ms outage (${during.length} requests all 503 + Retry-After, slowest ${maxMs} ms), restart on the same dir, `
        + `ready ${readyMs} ms after; 20 subscribers reset epoch_changed + reloaded, ${after.length} writes in the new epoch, `
        + `${lost.length} acked writes not in the final state (covered by the reset), ${compared} docs compared equal`;
    report(what, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    for (const w of writers) w.running = false;
    for (const x of subs) await x.stop().catch(() => {});
    await s.cleanup();
  }
}

test('D04a Redis SIGKILL (AOF everysec), restart: reset epoch_changed, reload, writes in the new epoch', { timeout: 60000 }, () => crash({ lossless: false }));
test('D04b Redis SIGKILL (AOF everysec) with lossless_restarts: epoch kept, no reset, no gap, nothing lost', { timeout: 60000 }, () => crash({ lossless: true }));
