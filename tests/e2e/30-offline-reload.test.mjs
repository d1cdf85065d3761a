// Offline, then a reload: a user switches A offline, makes three edits (add,
// tick, edit) and reloads the tab. The reloaded page loads, but the sync
// server stays out of reach (its API and WebSocket are cut for the page) so
// what it shows can only come from its local copy: the three edits. The
// switch stays on across the reload, so the network coming back sends
// nothing; then the switch goes off: the edits are pushed, exactly
// one change each in the server's log, and page B shows them.
import test from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { uniqueCollection, waitFor } from './lib/stack.mjs';
import {
  openDemo, waitDemo, addTodo, editTodo, toggleTodo, todos, todoByTitle, setOfflineSwitch, waitStatus,
  waitConverged, status,
} from './lib/demo.mjs';

test('offline edits survive a reload and are pushed once each', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('reload');
  const a = await browser.page('A');
  const b = await browser.page('B');
  await openDemo(a, stack, c);
  await openDemo(b, stack, c);

  await addTodo(a, 'call mum');
  await addTodo(a, 'pay rent');
  const x = await todoByTitle(a, 'call mum');
  const y = await todoByTitle(a, 'pay rent');
  await todoByTitle(b, 'pay rent');
  await waitConverged(a, stack, c);
  const before = await stack.changes(c);
  assert.equal(before.length, 2);

  await setOfflineSwitch(a, true);
  await waitStatus(a, 'offline');
  await addTodo(a, 'buy stamps');
  await toggleTodo(a, x.id);
  await editTodo(a, y.id, 'pay rent (done online)');
  const z = await todoByTitle(a, 'buy stamps');
  const expected = (list) => {
    const byId = new Map(list.map((i) => [i.id, i]));
    return byId.get(x.id)?.done === true && byId.get(y.id)?.title === 'pay rent (done online)'
      && byId.get(z.id)?.title === 'buy stamps';
  };
  await waitFor(async () => expected(await todos(a)), { what: 'the 3 edits in A' });
  assert.equal((await stack.changes(c)).length, 2, 'nothing reached the server while offline');
  assert.equal(await a.evaluate(() => window.syncgateDemo.collection.pendingCount()), 3, 'three writes queued');

  // the reload: the page comes from the gateway, but the sync API and the
  // WebSocket stay out of reach until the test lets them through
  let blocked = 0;
  await a.route('**/v1/**', (route) => { blocked += 1; return route.abort('internetdisconnected'); });
  stack.proxy.setDown(true);
  stack.proxy.cutAll();
  await a.reload();
  await waitDemo(a, { online: false });
  await waitFor(async () => expected(await todos(a)), { what: 'the 3 edits in A after the reload (from its local copy)' });
  const afterReload = await todos(a);
  assert.equal(afterReload.length, 3, JSON.stringify(afterReload));
  assert.notEqual(await status(a), 'online');
  assert.equal(await a.evaluate(() => window.syncgateDemo.collection.pendingCount()), 3, 'still three writes queued after the reload');
  assert.ok(afterReload.every((i) => i.pending), `the three unsent edits show as pending: ${JSON.stringify(afterReload)}`);
  assert.equal((await stack.changes(c)).length, 2, 'nothing reached the server during the reload');
  assert.equal(await a.locator('#offline-switch').isChecked(), true, 'the offline switch outlives the reload');

  // the network returns; the switch still says offline, so nothing goes out
  await a.unroute('**/v1/**');
  stack.proxy.setDown(false);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await status(a), 'offline');
  assert.equal((await stack.changes(c)).length, 2, 'the switch kept the page offline with the network back');
  // the user switches offline off
  await setOfflineSwitch(a, false);
  await waitStatus(a, 'online', { timeout: 20000 });
  await waitFor(async () => (await a.evaluate(() => window.syncgateDemo.collection.pendingCount())) === 0,
    { timeout: 10000, what: 'queue drained' });
  const server = await waitConverged(a, stack, c);
  assert.equal(server[x.id].data.done, true);
  assert.equal(server[y.id].data.title, 'pay rent (done online)');
  assert.equal(server[z.id].data.title, 'buy stamps');

  const log = await stack.changes(c);
  const per = {};
  for (const ch of log) per[ch.id] = (per[ch.id] || 0) + 1;
  assert.deepEqual(per, { [x.id]: 2, [y.id]: 2, [z.id]: 1 },
    `one change per edit (2 before, 3 offline): ${JSON.stringify(log.map((ch) => [ch.id, ch.offset, ch.actor, ch.data]))}`);

  await waitConverged(b, stack, c);
  await waitFor(async () => expected(await todos(b)), { what: 'B shows the 3 edits' });
  console.log(`offline reload: ${blocked} sync requests refused during the reload`);
  browser.assertNoPageErrors(assert);
});
