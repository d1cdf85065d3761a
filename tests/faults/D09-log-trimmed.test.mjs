// D09: the log trimmed past offline clients (collection history 100, Redis
// streams in nodes of 10 entries so trimming is fine-grained): on
// resubscribing with `since` each gets `reset` history_trimmed, lists the
// collection, resubscribes from the list's offset (writes go on meanwhile),
// and its state then equals the server's, document by document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, listAll, http, report,
} from './lib/clients.mjs';
import { docPath } from '../integration/lib/feed.mjs';

const OFFLINE_CHANGES = 1000;

test('D09 log trimmed past offline clients: reset history_trimmed, reload, state equals server', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis({ args: ['--stream-node-max-entries', '10'] });
    const config = { collections: [{ match: 'small*', history: 100 }] };
    const gwA = await s.gw({ redis, node: 'd09-a', config });
    const gwB = await s.gw({ redis, node: 'd09-b', config });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const coll = 'small-d09';
    const ids = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const writers = Array.from({ length: 4 }, (_, w) => new Writer({ checker, gateways: [gws[w % 2]], coll, actor: `admin:w${w}`, ids }));
    await Promise.all(writers.map((w) => w.run({ count: 10 })));
    const offline = await openSubscribers(10, { checker, gateways: gws, coll, replica: true }, { label: 'off' });
    const online = await openSubscribers(4, { checker, gateways: gws, coll, replica: true }, { label: 'on' });
    await Promise.all(writers.map((w) => w.run({ count: 5 })));
    await waitCaughtUp([...offline, ...online], await head(gwA, coll));
    for (const x of offline) await x.disconnect();

    // 1000 changes while they are away, a few of them deletes
    let deletes = 0;
    await Promise.all(writers.map(async (w, k) => {
      for (let i = 0; i < OFFLINE_CHANGES / writers.length; i++) {
        if (i % 50 === 49) {
          const id = ids[(i + k) % ids.length];
          const r = await http(w.gw, 'DELETE', docPath(coll, id));
          if (r.status === 200) { checker.ack(coll, id, r.json, {}); deletes += 1; w.versions.delete(id); continue; }
        }
        await w.write(ids[Math.floor(Math.random() * ids.length)]);
      }
    }));
    const xlen = Number(await redis.raw('XLEN', `sg:{${coll}}:log`));
    assert.ok(xlen < 300, `log trimmed (XLEN ${xlen})`);

    // back online while writes go on: reset, reload (list), resubscribe from the list
    const more = writers.map((w) => w.run({ rate: 20 }));
    await Promise.all(offline.map((x) => x.resume()));
    await waitFor(() => offline.every((x) => x.reloaded === 1), { timeout: 30000, what: 'every offline client reloaded' });
    await waitFor(() => checker.writes.length > 1100 + 40, { timeout: 30000, what: 'writes after the reload' });
    for (const w of writers) w.running = false;
    await Promise.all(more);
    assert.deepEqual(writers.flatMap((w) => w.failed), [], 'writes do not fail');

    const h = await head(gwA, coll);
    const all = [...offline, ...online];
    await waitCaughtUp(all, h, 60000);
    await recordFinal(checker, gwB, [coll]);
    const counts = checker.check();
    for (const x of offline) {
      assert.deepEqual(x.resets.map((r) => r.reason), ['history_trimmed'], `${x.label}: one reset history_trimmed`);
      assert.deepEqual(x.errors, [], `${x.label}: errors`);
    }
    for (const x of online) assert.equal(x.resets.length, 0, `${x.label}: no reset while online`);
    const server = (await listAll(gwB, coll)).docs;
    let compared = 0;
    for (const x of all) compared += Checker.stateEquals(x.label, x.replica, server);
    assert.ok(deletes > 0, 'some deletes');
    report(`D09 log trimmed (history 100, XLEN ${xlen}) past 10 offline clients by ${OFFLINE_CHANGES} changes `
      + `(${deletes} deletes), reset history_trimmed, reload under writes, ${compared} docs compared equal`, counts);
    for (const x of all) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
