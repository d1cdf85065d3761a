// D01 (PR size): concurrent read-modify-write writers through two gateways,
// one lww and one reject collection; the history checker plus: per document
// the log's versions strictly increase under dominance, no refused write in
// the log, final GET equal on both gateways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scope } from '../integration/lib/feed.mjs';
import { Checker, geq, canonical } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, listAll, report,
} from './lib/clients.mjs';

const WRITERS = 8;
const PER = 200;
const DOCS = 20;

test('D01 concurrent writers through two gateways (lww and reject)', { timeout: 240000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const config = { collections: [{ match: 'rj-*', conflict: 'reject' }] };
    const gwA = await s.gw({ redis, node: 'd01-a', config });
    const gwB = await s.gw({ redis, node: 'd01-b', config });
    const gws = [gwA, gwB];
    const checker = new Checker();
    const colls = ['lw-d01', 'rj-d01'];
    const ids = Array.from({ length: DOCS }, (_, i) => `doc${i}`);
    const subs = [];
    for (const coll of colls) subs.push(...await openSubscribers(4, { checker, gateways: gws, coll, reconnect: false }, { label: `${coll}-s` }));

    const writers = [];
    for (const coll of colls) {
      for (let w = 0; w < WRITERS; w++) {
        const wr = new Writer({ checker, gateways: [gws[w % 2]], coll, actor: `admin:d${w}`, ids });
        wr.gwIndex = 0;
        writers.push(wr);
      }
    }
    // the two collections one after the other keep the load at 8 concurrent writers
    for (const coll of colls) {
      await Promise.all(writers.filter((w) => w.coll === coll).map((w) => w.run({ count: PER })));
    }
    for (const w of writers) assert.deepEqual(w.failed, [], `writer ${w.coll} ${w.actor}: failures`);
    const rj = writers.filter((w) => w.coll === 'rj-d01');
    const conflicts = rj.reduce((n, w) => n + w.conflicts, 0);
    assert.ok(conflicts > 0, 'the reject collection saw concurrent writes refused');

    for (const coll of colls) {
      const h = await head(gwA, coll);
      await waitCaughtUp(subs.filter((x) => x.coll === coll), h, 60000);
    }
    await recordFinal(checker, gwB, colls);
    const counts = checker.check();

    // the log: per document strictly increasing versions; only acked data
    const acked = new Set(checker.writes.map((w) => canonical(w.data)));
    for (const coll of colls) {
      const one = subs.find((x) => x.coll === coll);
      const ev = checker.subs.get(one.sub).events.filter((e) => e.type === 'change');
      // every acked write is one change in the log, and the log holds nothing else
      const answered = new Set(checker.writes.filter((w) => w.coll === coll).map((w) => w.offset));
      assert.equal(ev.length, answered.size, `${coll}: changes in the log vs distinct acked offsets`);
      for (const e of ev) assert.ok(answered.has(e.offset), `${coll}: change ${e.offset} was never an answer`);
      const lastV = new Map();
      for (const e of ev) {
        const prev = lastV.get(e.doc.id);
        if (prev) {
          assert.ok(geq(e.doc.version, prev) && canonical(e.doc.version) !== canonical(prev),
            `${coll}/${e.doc.id} at ${e.offset}: version ${canonical(e.doc.version)} does not dominate ${canonical(prev)}`);
        }
        lastV.set(e.doc.id, e.doc.version);
        assert.ok(acked.has(canonical(e.doc.data)), `${coll} ${e.offset}: data ${canonical(e.doc.data)} never acked to a writer`);
      }
      // final state equal through both gateways
      const a = (await listAll(gwA, coll)).docs.map(canonical);
      const b = (await listAll(gwB, coll)).docs.map(canonical);
      assert.deepEqual(a, b, `${coll}: final list differs between gateways`);
    }
    for (const x of subs) assert.deepEqual(x.errors, [], `${x.label} errors`);
    report(`D01 ${WRITERS} writers x ${PER} read-modify-writes on ${DOCS} docs through 2 gateways, lww then reject `
      + `(${conflicts} refused as conflicts)`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
