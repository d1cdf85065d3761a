// D14 (PR size): read-your-writes across gateways: 500 trials of a PUT via
// gateway a, then at once a GET via gateway b; b's version must dominate or
// equal the version a's PUT answered (0 stale reads). Two writers run the
// trials concurrently on shared documents; two subscribers feed the checker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scope, docPath } from '../integration/lib/feed.mjs';
import { Checker, geq, canonical } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, http, report,
} from './lib/clients.mjs';

const TRIALS = 500;

test('D14 read-your-writes across gateways: PUT via a, GET via b', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gwA = await s.gw({ redis, node: 'd14-a' });
    const gwB = await s.gw({ redis, node: 'd14-b' });
    const checker = new Checker();
    const coll = 'd14';
    const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const subs = await openSubscribers(2, { checker, gateways: [gwA, gwB], coll, reconnect: false });
    const stale = [];
    let trials = 0;
    await Promise.all([0, 1].map(async (w) => {
      const wr = new Writer({ checker, gateways: [gwA], coll, actor: `admin:w${w}`, ids });
      for (let i = 0; i < TRIALS / 2; i++) {
        const id = ids[(i * 3 + w) % ids.length];
        const r = await wr.write(id, { failover: false });
        if (r.status === 409) { i -= 1; continue; } // not a trial: retried with the stored version
        assert.ok(r.status === 200 || r.status === 201, `PUT via a: ${r.status} ${r.error || r.text}`);
        const g = await http(gwB, 'GET', docPath(coll, id));
        assert.equal(g.status, 200, `GET via b: ${g.status} ${g.error || g.text}`);
        trials += 1;
        if (!geq(g.json.version, r.json.version)) {
          stale.push(`${id}: a answered ${canonical(r.json.version)} at ${r.json.offset}, b read ${canonical(g.json.version)} at ${g.json.offset}`);
        }
      }
    }));
    assert.equal(trials, TRIALS);
    assert.deepEqual(stale, [], 'stale reads via b');
    await waitCaughtUp(subs, await head(gwA, coll));
    await recordFinal(checker, gwB, [coll]);
    const counts = checker.check();
    report(`D14 read-your-writes: ${TRIALS} trials PUT via a then GET via b, ${stale.length} stale`, counts);
    for (const x of subs) await x.stop();
    await s.stop(gwA);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
