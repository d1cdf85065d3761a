// Reconnects: (a) the gateway restarts under open pages, (b) the network
// cuts the WebSocket again and again while a REST writer writes, (c) the
// token expires under an open page and is refreshed. In every case the page
// ends with exactly the server's documents.
import test from 'node:test';
import assert from 'node:assert/strict';
import { world, todoData } from './lib/fixture.mjs';
import { blankPage } from './lib/browser.mjs';
import { uniqueCollection, sleep, waitFor, userToken, essence } from './lib/stack.mjs';
import {
  openDemo, addTodo, todoByTitle, recordEvents, events, waitConverged, sortKeys,
} from './lib/demo.mjs';

/** Writes over REST until stop() (pace ms apart); failed writes are counted, not fatal. */
function restWriter(stack, c, { pace = 40, docs = 10, prefix = 'w', max = Infinity } = {}) {
  const w = { ok: 0, failed: 0, running: true };
  w.done = (async () => {
    for (let i = 0; w.running && w.ok < max; i++) {
      try {
        await stack.put(c, `${prefix}${i % docs}`, todoData(`${prefix} write ${i}`, { extra: { n: i } }));
        w.ok += 1;
      } catch {
        w.failed += 1;
      }
      await sleep(pace);
    }
  })();
  w.stop = async () => { w.running = false; await w.done; };
  return w;
}

/** Offsets "<epoch>:<seq>" as [epoch, seq]. */
const seqOf = (o) => Number(String(o).split(':')[1]);

test('(a) gateway restart under open pages: offline, online again, equal to the server', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('restart');
  const a = await browser.page('A');
  const b = await browser.page('B');
  await openDemo(a, stack, c);
  await openDemo(b, stack, c);
  await recordEvents(a);
  await recordEvents(b);

  const w = restWriter(stack, c);
  await sleep(800);
  const exit = await stack.restartGateway({ downMs: 500 });
  assert.equal(exit.code, 0, `gateway exit ${JSON.stringify(exit)}`);
  await sleep(1500);
  await w.stop();
  assert.ok(w.ok > 20, `writer wrote (${w.ok} ok, ${w.failed} failed)`);

  for (const p of [a, b]) {
    await waitConverged(p, stack, c, { timeout: 20000 });
    const ev = await events(p);
    const seq = ev.statuses.map((s) => s.s);
    const down = seq.findIndex((s) => s !== 'online');
    assert.ok(down >= 0, `${p.label} noticed the restart: ${JSON.stringify(ev.statuses)}`);
    assert.ok(seq.slice(down).includes('online'), `${p.label} came back online: ${JSON.stringify(seq)}`);
    assert.equal(await p.evaluate(() => window.syncgateDemo.sg.status), 'online');
  }
  // and they still work: an edit in A shows in B
  await addTodo(a, 'after restart');
  await todoByTitle(b, 'after restart', { timeout: 5000 });
  console.log(`gateway restart: writer ${w.ok} ok, ${w.failed} refused while down`);
  browser.assertNoPageErrors(assert);
});

test('(b) 15 cuts of the WebSocket while 300 changes are written: no gap, still live', { timeout: 90000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('cuts');
  const a = await browser.page('A');
  const b = await browser.page('B');
  await openDemo(a, stack, c);
  await openDemo(b, stack, c);
  await recordEvents(a);
  const startHead = (await stack.req('GET', `/v1/collections/${c}/docs?limit=1`)).json.offset;

  const TOTAL = 300;
  const CUTS = 15;
  const w = restWriter(stack, c, { pace: 15, docs: 30, prefix: 's', max: TOTAL });
  let cuts = 0;
  for (let i = 0; i < CUTS; i++) {
    await sleep(100 + Math.floor(Math.random() * 600));
    // a cut needs a socket to cut: wait for the pages to be back (at most 5 s)
    await waitFor(() => stack.proxy.open > 0, { timeout: 5000, interval: 10, what: `a socket to cut (cut ${i + 1})` });
    if (stack.proxy.cutAll() > 0) cuts += 1;
  }
  await w.done;
  assert.equal(w.ok, TOTAL, `writer: ${w.ok} ok, ${w.failed} failed`);
  assert.equal(cuts, CUTS, 'every cut hit open sockets');

  const server = await waitConverged(a, stack, c, { timeout: 30000 });
  assert.equal(Object.keys(server).length, 30);
  const ev = await events(a);
  assert.equal(ev.resets.length, 0, `the log keeps every change, so no reset: ${JSON.stringify(ev.resets)}`);
  // what A heard as remote changes, in order, never twice and never backwards
  const remote = ev.changes.filter((ch) => ch.source === 'remote' && ch.offset);
  const seqs = remote.map((ch) => seqOf(ch.offset));
  const backwards = seqs.filter((s, i) => i > 0 && s <= seqs[i - 1]);
  assert.deepEqual(backwards, [], 'remote changes arrive in order, without duplicates');
  const missed = TOTAL - remote.filter((ch) => seqOf(ch.offset) > seqOf(startHead)).length;

  // still live: an edit in A after the storm appears in B
  await addTodo(a, 'after the storm');
  await todoByTitle(b, 'after the storm', { timeout: 5000 });
  await waitConverged(b, stack, c);
  console.log(`reconnect: ${ev.remote} changes, ${ev.resets.length} resets, ${cuts} cuts (${missed} of ${TOTAL} writes not heard one by one, ${stack.proxy.accepted} WebSocket connections)`);
  browser.assertNoPageErrors(assert);
});

test('(c) a token expiring every 4 s is refreshed without losing a change', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t, { config: { auth: { leeway_s: 0 } } });
  const c = uniqueCollection('exp');
  const page = await browser.page('lib');
  const minted = [];
  await page.exposeFunction('e2eMintToken', () => {
    minted.push(Date.now());
    return userToken({ expiresIn: 4 });
  });
  await blankPage(page, stack.url);
  await page.evaluate(async (c) => {
    const { SyncGate } = await import('/syncgate.js');
    const rec = { statuses: [], errors: [], remote: [], resets: [] };
    window.__e2e = rec;
    const sg = new SyncGate({ getToken: () => window.e2eMintToken(), storage: 'memory' });
    sg.on('status', (s, d) => rec.statuses.push({ s, code: d && d.code, reason: d && d.reason, t: Date.now() }));
    sg.on('error', (e) => rec.errors.push({ code: e.code, status: e.status, message: e.message }));
    sg.on('reset', (ev) => rec.resets.push(ev));
    const coll = sg.collection(c);
    // 'load' too: a write racing the first subscribe arrives with the first list
    coll.on('change', (ev) => { if (ev.source === 'remote' || ev.source === 'load') rec.remote.push(ev.doc && ev.doc.offset); });
    window.__sg = sg;
    window.__coll = coll;
    await coll.ready();
  }, c);
  await page.waitForFunction(() => window.__sg.status === 'online', null, { timeout: 10000 });

  const w = restWriter(stack, c, { pace: 100, docs: 10, prefix: 't' });
  await sleep(15000);
  await w.stop();
  assert.equal(w.failed, 0, 'the writer has its own long-lived token');

  let mine;
  let server;
  await waitFor(async () => {
    mine = essence(await page.evaluate(() => window.__coll.docs()));
    server = essence(await stack.list(c));
    return JSON.stringify(sortKeys(mine)) === JSON.stringify(sortKeys(server));
  }, { timeout: 15000, what: 'page equal to the server' }).catch((e) => {
    e.message += `\npage ${JSON.stringify(sortKeys(mine))}\nserver ${JSON.stringify(sortKeys(server))}`;
    throw e;
  });
  const rec = await page.evaluate(() => window.__e2e);
  const log = await stack.changes(c);
  const heard = new Set(rec.remote);
  const lost = log.filter((ch) => !heard.has(ch.offset));
  assert.equal(rec.resets.length, 0, JSON.stringify(rec.resets));
  assert.deepEqual(lost.map((ch) => ch.offset), [], `every change of the log reached the page (${log.length} changes)`);
  assert.ok(minted.length >= 4, `getToken called again before each expiry (${minted.length} calls in ~16 s)`);
  const expired = rec.statuses.filter((s) => s.code === 4001);
  const lastExpired = rec.statuses.map((s) => s.code).lastIndexOf(4001);
  if (lastExpired >= 0) {
    assert.ok(rec.statuses.slice(lastExpired).some((s) => s.s === 'online'), `back online after the 4001 close: ${JSON.stringify(rec.statuses)}`);
  }
  assert.ok(expired.length <= 1, `the socket closed 4001 at most once (transiently): ${JSON.stringify(rec.statuses)}`);
  assert.equal(await page.evaluate(() => window.__sg.status), 'online');
  await page.evaluate(() => window.__sg.close());
  console.log(`token refresh: ${minted.length} tokens minted, ${expired.length} closes 4001, ${log.length} changes all heard`);
  browser.assertNoPageErrors(assert);
});
