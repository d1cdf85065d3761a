// F06: graceful shutdown with 2,000 WebSockets and 50 writes in flight.
// Redis is paused for a moment so the 50 PUTs are inside the gateway when
// SIGTERM comes. Every socket gets close 1001; every in-flight write
// completes 2xx (or the documented 503); exit code 0 (sanitizers clean)
// within 10 s. The checker covers what the subscribers received and the
// acked writes (final state read through a second gateway).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, assertCleanExit } from '../integration/lib/harness.mjs';
import { scope, timed, readyStatus } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, recordFinal, report,
} from './lib/clients.mjs';

const SOCKETS = 2000;
const WRITES = 50;

test('F06 SIGTERM with 2000 sockets and 50 writes in flight', { timeout: 180000 }, async () => {
  const s = scope();
  try {
    const redis = await s.redis();
    const gw = await s.gw({ redis, node: 'f06-a', config: { redis: { timeout_ms: 6000, heartbeat_ms: 3000 } } });
    const checker = new Checker();
    const coll = 'f06';
    const ids = Array.from({ length: WRITES }, (_, i) => `k${i}`);
    const subs = await openSubscribers(SOCKETS, { checker, gateways: [gw], coll, reconnect: false }, { parallel: 100 });
    const writers = ids.map((id, w) => new Writer({ checker, gateways: [gw], coll, actor: `admin:w${w}`, ids: [id] }));
    // warm up: each writer knows its document's version, subscribers see changes
    await Promise.all(writers.map((w) => w.write(w.ids[0], { failover: false })));
    assert.equal(checker.writes.length, WRITES);

    redis.signal('SIGSTOP');
    const inflight = writers.map((w) => w.write(w.ids[0], { failover: false }));
    let settled = 0;
    for (const p of inflight) p.then(() => { settled += 1; });
    await sleep(500);
    assert.equal(settled, 0, 'the writes are in flight when SIGTERM comes');
    const t0 = Date.now();
    gw.signal('SIGTERM');
    await sleep(300);
    const ready = await readyStatus(gw);
    redis.signal('SIGCONT');
    const results = await Promise.all(inflight);
    const bad = results.filter((r) => !(r.status === 200 || r.status === 201
      || (r.status === 503 && r.json?.error?.code === 'unavailable' && /^\d+$/.test(r.headers.get('retry-after') || ''))));
    assert.deepEqual(bad.map((r) => `${r.status} ${r.error || r.text}`).slice(0, 5), [], `in-flight writes (${bad.length} bad)`);
    const ok = results.filter((r) => r.status === 200 || r.status === 201).length;

    const exit = (await timed(() => gw.exit, 12000)).r;
    const ms = Date.now() - t0;
    assert.ok(exit, 'gateway did not exit within 12 s of SIGTERM');
    assert.ok(ms < 10000, `exit after ${ms} ms`);
    assertCleanExit(assert, { ...exit, stderr: gw.stderr });
    const codes = new Map();
    for (const x of subs) for (const c of x.closes) codes.set(c, (codes.get(c) || 0) + 1);
    assert.deepEqual([...codes], [[1001, SOCKETS]], 'every socket closed once with 1001');
    assert.notEqual(ready, 200, 'not ready once SIGTERM came');

    const gwB = await s.gw({ redis, node: 'f06-b' });
    await recordFinal(checker, gwB, [coll]);
    const counts = checker.check();
    report(`F06 SIGTERM with ${SOCKETS} sockets and ${WRITES} writes in flight (Redis paused across the signal): `
      + `${ok} writes 2xx, ${WRITES - ok} 503, ${SOCKETS} closes 1001, exit 0 after ${ms} ms`, counts);
    await s.stop(gwB);
  } finally {
    await s.cleanup();
  }
});
