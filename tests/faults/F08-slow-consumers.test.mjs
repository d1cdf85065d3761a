// F08 (PR size, quick): 200 subscribers in a child Node process that is
// SIGSTOPped and 50 healthy ones here; ~4 KiB writes at 200/s from 8
// writers (limits.queue_bytes 1 MiB keeps it short, about 1.3 s of changes:
// a healthy reader in this busy process may stall that long and still keep
// up, which an unpaced run on a loaded machine did not). Every paused connection is
// closed with 4008 (the gateway's counter, and the code the child reads once
// resumed); the gateway's RSS stays bounded; the healthy subscribers lose
// nothing (checker: every change, no gap, no duplicate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../integration/lib/harness.mjs';
import { scope, metric, ADMIN } from '../integration/lib/feed.mjs';
import { Checker } from './lib/checker.mjs';
import {
  openSubscribers, Writer, waitCaughtUp, head, recordFinal, rssKiB, report,
} from './lib/clients.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PAUSED = 200;
const HEALTHY = 50;
const QUEUE = 1048576;
const PAD = 'x'.repeat(4096);
const MAX_WRITES = 20000;

test('F08 slow consumers: 200 paused closed 4008, RSS bounded, 50 healthy lose nothing', { timeout: 240000 }, async () => {
  const s = scope();
  let child;
  try {
    const redis = await s.redis();
    // under ASan, freed memory sits in the allocator's quarantine (256 MiB by
    // default) and shows as RSS; a small quarantine keeps VmRSS about the
    // gateway's own memory (the variable is ignored by the normal build)
    const gw = await s.gw({
      redis, node: 'f08', config: { limits: { queue_bytes: QUEUE } },
      env: { ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23:quarantine_size_mb=16' },
    });
    const checker = new Checker();
    const coll = 'f08';
    const ids = Array.from({ length: 40 }, (_, i) => `k${i}`);
    const base = await metric(gw, 'syncgate_slow_consumer_closes_total');

    child = spawn(process.execPath, [path.join(here, 'lib/paused-clients.mjs'), gw.wsUrl, ADMIN, coll, String(PAUSED)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    await waitFor(() => out.includes('ready\n'), { timeout: 30000, what: 'paused clients subscribed' });
    const healthy = await openSubscribers(HEALTHY, { checker, gateways: [gw], coll, reconnect: false });
    const rss0 = await rssKiB(gw.proc.pid);
    child.kill('SIGSTOP');

    const writers = Array.from({ length: 8 }, (_, w) => new Writer({ checker, gateways: [gw], coll, actor: `admin:w${w}`, ids, pad: PAD }));
    let rssMax = rss0;
    const t0 = Date.now();
    const runs = writers.map((w) => w.run({ count: MAX_WRITES / writers.length, rate: 25 }));
    let closed = 0;
    const sampler = (async () => {
      while (writers.some((w) => w.running)) {
        rssMax = Math.max(rssMax, await rssKiB(gw.proc.pid));
        closed = (await metric(gw, 'syncgate_slow_consumer_closes_total')) - base;
        if (closed >= PAUSED) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await sampler;
    const closedAfter = Date.now() - t0;
    const writtenAtClose = checker.writes.length;
    for (const w of writers) w.running = false;
    await Promise.all(runs);
    rssMax = Math.max(rssMax, await rssKiB(gw.proc.pid));
    assert.deepEqual(writers.flatMap((w) => w.failed), [], 'writes do not fail');
    assert.equal(closed, PAUSED, `slow-consumer closes after ${checker.writes.length} writes`);

    // resumed, the child reads what was left and the close
    child.kill('SIGCONT');
    const codes = () => [...out.matchAll(/^close \d+ (\d+)$/gm)].map((m) => Number(m[1]));
    await waitFor(() => codes().length === PAUSED, { timeout: 30000, what: `the ${PAUSED} paused sockets closed (got ${codes().length})` });
    const seen = new Map();
    for (const c of codes()) seen.set(c, (seen.get(c) || 0) + 1);

    await waitCaughtUp(healthy, await head(gw, coll), 60000);
    await recordFinal(checker, gw, [coll]);
    const counts = checker.check();
    for (const x of healthy) {
      assert.deepEqual(x.closes, [], `${x.label}: healthy socket stayed open`);
      assert.equal(x.changes, checker.writes.length, `${x.label}: every change`);
    }
    const rss1 = await rssKiB(gw.proc.pid);
    const growth = Math.round((rssMax - rss0) / 1024);
    const mib = (k) => (k / 1024).toFixed(1);
    assert.ok(growth < 128, `gateway RSS grew ${growth} MiB (bounded: < 128 MiB)`);
    assert.deepEqual([...seen], [[4008, PAUSED]], 'every paused socket reads close 4008');
    report(`F08 ${PAUSED} paused subscribers (SIGSTOPped child) + ${HEALTHY} healthy, 4 KiB writes, queue ${QUEUE} B: `
      + `200 writes/s, all paused closed 4008 ${closedAfter} ms in (after ${writtenAtClose} writes), gateway RSS ${mib(rss0)} MiB before, ${mib(rssMax)} at peak, ${mib(rss1)} after (+${growth} MiB)`, counts);
    for (const x of healthy) await x.stop();
    await s.stop(gw);
  } finally {
    if (child && child.exitCode === null) { child.kill('SIGCONT'); child.kill('SIGKILL'); }
    await s.cleanup();
  }
});
