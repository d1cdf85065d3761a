// D06: an older snapshot restored behind the gateways' backs (Redis with
// appendonly no, save ''): 300 writes, BGSAVE, dump.rdb copied aside, 200
// more writes the clients see, Redis SIGKILLed, the copy put back, Redis
// restarted on the same dir.
//   (a) gateways and clients keep running; then writes through a FRESH
//       gateway (started after the restore) and through the old ones. Every
//       client gets reset epoch_changed into a new epoch; no offset carries
//       two contents across everything every client received, before and
//       after (rule b); the acked writes the restore lost are covered by the
//       announced reset (rule c).
//   (b) Redis and every gateway restart together (gateways stopped, older
//       dump restored, Redis started, new gateways on the same ports):
//       clients coming back with their old offsets, at once or after 250
//       writes in the restored Redis (past the seq they hold), every one gets
//       reset epoch_changed: nothing goes unnoticed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { copyFileSync } from 'node:fs';
import { sleep, waitFor, epochOf, seqOf } from '../integration/lib/harness.mjs';
import { scope } from '../integration/lib/feed.mjs';
import { Checker, geq } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, listAll, report,
} from './lib/clients.mjs';

const ids = Array.from({ length: 40 }, (_, i) => `k${i}`);

/** BGSAVE, wait until it finished and succeeded, copy dump.rdb aside; returns the copy's path. */
async function snapshot(redis) {
  const info = async () => Object.fromEntries((await redis.raw('INFO', 'persistence')).split(/\r?\n/)
    .filter((l) => l.includes(':')).map((l) => l.split(':')));
  const before = Number((await info()).rdb_last_save_time);
  await sleep(1100); // rdb_last_save_time has a resolution of 1 s
  assert.match(await redis.raw('BGSAVE'), /Background saving started/);
  await waitFor(async () => {
    const i = await info();
    return i.rdb_bgsave_in_progress === '0' && Number(i.rdb_last_save_time) > before ? i : null;
  }, { timeout: 10000, what: 'BGSAVE done' });
  const i = await info();
  assert.equal(i.rdb_last_bgsave_status, 'ok', 'BGSAVE succeeded');
  const copy = path.join(redis.dir, 'older.rdb');
  copyFileSync(path.join(redis.dir, 'dump.rdb'), copy);
  return copy;
}

/** Writes count changes of coll through writers (split evenly). */
async function burst(writers, count) {
  await Promise.all(writers.map((w) => w.run({ count: count / writers.length })));
  assert.deepEqual(writers.flatMap((w) => w.failed), [], 'writes do not fail');
}

const newWriters = (checker, gws, coll, tag) => Array.from({ length: 4 }, (_, w) => new Writer({
  checker, gateways: [gws[w % gws.length]], coll, actor: `admin:${tag}${w}`, ids,
}));

/** Acked applied writes the final state of coll does not cover. */
function notCovered(checker, coll, docs) {
  const fin = new Map(docs.map((d) => [d.id, d]));
  return checker.writes.filter((w) => w.coll === coll && w.applied === true
    && !(fin.get(w.id) && geq(fin.get(w.id).version, w.version)));
}

test('D06a older snapshot restored under running gateways: reset epoch_changed, no offset reused (fresh and old gateways)', { timeout: 90000 }, async () => {
  const s = scope();
  const opened = [];
  try {
    const redis = await s.redis({ appendonly: 'no', args: ['--save', ''] });
    const gwA = await s.gw({ redis, node: 'd06a-a' });
    const gwB = await s.gw({ redis, node: 'd06a-b' });
    const checker = new Checker();
    const coll = 'd06a';
    const subs = await openSubscribers(20, { checker, gateways: [gwA, gwB], coll, replica: true });
    opened.push(...subs);
    await burst(newWriters(checker, [gwA, gwB], coll, 'w'), 300);
    const copy = await snapshot(redis);
    const atSnapshot = await head(gwA, coll);
    await burst(newWriters(checker, [gwA, gwB], coll, 'x'), 200);
    const held = await head(gwA, coll);
    await waitCaughtUp(subs, held, 15000);
    const epoch0 = epochOf(held);
    const ackedBefore = checker.writes.length;

    await redis.kill();
    copyFileSync(copy, path.join(redis.dir, 'dump.rdb'));
    await redis.restart();
    const restoredAt = Date.now();
    // a fresh gateway (it never saw this collection) writes at once, as do the old ones
    const gwC = await s.gw({ redis, node: 'd06a-c' });
    // late subscribers start on a collection that has documents: list after subscribing
    const late = await openSubscribers(4, { checker, gateways: [gwC], coll, replica: true }, { label: 'late' });
    opened.push(...late);
    for (const x of late) {
      const { docs } = await listAll(gwC, coll);
      for (const d of docs) x.replica.apply(d);
    }
    await Promise.all([
      burst(newWriters(checker, [gwC], coll, 'c'), 100),
      (async () => { for (const g of [gwA, gwB]) await g.waitReady(10000); })(),
    ]);
    await burst(newWriters(checker, [gwA, gwB, gwC], coll, 'y'), 120);
    await waitFor(() => subs.every((x) => x.reloaded >= 1), { timeout: 15000, what: 'every subscriber reset and reloaded' });
    const resetMs = Date.now() - restoredAt;
    const h = await head(gwC, coll);
    const all = [...subs, ...late];
    await waitCaughtUp(all, h, 30000);
    await recordFinal(checker, gwB, [coll]);
    const final = checker.finals.get(coll);
    const counts = checker.check();
    const server = (await listAll(gwA, coll)).docs;
    let compared = 0;
    for (const x of all) compared += Checker.stateEquals(x.label, x.replica, server);

    assert.notEqual(epochOf(h), epoch0, 'a new epoch after the restore');
    for (const x of subs) {
      assert.ok(x.resets.length >= 1, `${x.label}: a reset`);
      assert.ok(x.resets.every((r) => r.reason === 'epoch_changed'), `${x.label}: resets epoch_changed: ${JSON.stringify(x.resets)}`);
      assert.notEqual(epochOf(x.resets[0].offset), epoch0, `${x.label}: the reset names a new epoch`);
    }
    const after = checker.writes.slice(ackedBefore);
    assert.ok(after.every((w) => epochOf(w.offset) !== epoch0), 'no write after the restore in the old epoch');
    const lostAtRestore = checker.writes.slice(0, ackedBefore).filter((w) => !(final.get(w.id) && geq(final.get(w.id).version, w.version)));
    report(`D06a snapshot at ${atSnapshot} restored after ${seqOf(held) - seqOf(atSnapshot)} more writes (clients held ${held}), `
      + `gateways and 20 clients kept running; every subscriber reset epoch_changed into a new epoch (all reloaded ${resetMs} ms after the restore), `
      + `220 writes via a fresh gateway and the old ones, ${lostAtRestore.length} pre-restore acks not in the final state (covered by the reset), `
      + `${compared} docs compared equal`, counts);
    for (const x of all) await x.stop();
    for (const g of [gwA, gwB, gwC]) await s.stop(g);
  } finally {
    for (const x of opened) await x.stop().catch(() => {});
    await s.cleanup();
  }
});

test('D06b Redis and every gateway restart together on an older snapshot: every returning client gets reset epoch_changed', { timeout: 90000 }, async () => {
  const s = scope();
  const opened = [];
  try {
    const redis = await s.redis({ appendonly: 'no', args: ['--save', ''] });
    let gws = [await s.gw({ redis, node: 'd06b-a' }), await s.gw({ redis, node: 'd06b-b' })];
    const ports = gws.map((g) => ({ SYNCGATE_HTTP_PORT: String(g.httpPort), SYNCGATE_WS_PORT: String(g.wsPort) }));
    const checker = new Checker();
    const coll = 'd06b';
    const subs = await openSubscribers(20, { checker, gateways: gws, coll, replica: true });
    opened.push(...subs);
    await burst(newWriters(checker, gws, coll, 'w'), 300);
    const copy = await snapshot(redis);
    await burst(newWriters(checker, gws, coll, 'x'), 200);
    const held = await head(gws[0], coll);
    await waitCaughtUp(subs, held, 15000);
    const epoch0 = epochOf(held);
    const ackedBefore = checker.writes.length;

    // everything goes down: clients offline holding their offsets
    for (const x of subs) await x.disconnect();
    for (const g of gws) await s.stop(g);
    await redis.kill();
    copyFileSync(copy, path.join(redis.dir, 'dump.rdb'));
    await redis.restart();
    const gwsNew = [];
    for (const [i, env] of ports.entries()) gwsNew.push(await s.gw({ redis, node: `d06b-${'ab'[i]}2`, env }));
    // the same URLs: the clients' gateway objects keep working
    for (const [i, g] of gws.entries()) Object.assign(g, { httpPort: gwsNew[i].httpPort, wsPort: gwsNew[i].wsPort });
    gws = gwsNew;
    // half come back at once, half after 250 writes (past the seq they hold if the epoch were kept)
    const early = subs.slice(0, 10);
    const lateSubs = subs.slice(10);
    await Promise.all(early.map((x) => x.resume()));
    await waitFor(() => early.every((x) => x.reloaded === 1), { timeout: 15000, what: 'every early client reset and reloaded' });
    await burst(newWriters(checker, gws, coll, 'y'), 248);
    const mid = await head(gws[0], coll);
    await Promise.all(lateSubs.map((x) => x.resume()));
    await waitFor(() => lateSubs.every((x) => x.reloaded === 1), { timeout: 15000, what: 'every late client reset and reloaded' });
    await burst(newWriters(checker, gws, coll, 'z'), 40);
    const h = await head(gws[1], coll);
    await waitCaughtUp(subs, h, 30000);
    await recordFinal(checker, gws[0], [coll]);
    const counts = checker.check();
    const server = (await listAll(gws[1], coll)).docs;
    let compared = 0;
    for (const x of subs) compared += Checker.stateEquals(x.label, x.replica, server);

    assert.notEqual(epochOf(h), epoch0, 'a new epoch after the restore');
    for (const x of subs) {
      assert.deepEqual(x.resets.map((r) => r.reason), ['epoch_changed'], `${x.label}: one reset epoch_changed`);
      assert.notEqual(epochOf(x.resets[0].offset), epoch0, `${x.label}: the reset names a new epoch`);
    }
    const lost = notCovered(checker, coll, server).filter((w) => checker.writes.indexOf(w) < ackedBefore);
    report(`D06b Redis and both gateways restarted together on a snapshot 200 writes older than the clients' ${held}; `
      + `10 clients back at once, 10 after 248 writes (head ${mid}): all 20 reset epoch_changed, `
      + `${lost.length} pre-restore acks not in the final state (covered by the reset), ${compared} docs compared equal`, counts);
    for (const x of subs) await x.stop();
    for (const g of gws) await s.stop(g);
  } finally {
    for (const x of opened) await x.stop().catch(() => {});
    await s.cleanup();
  }
});
