// A reset: the gateway keeps 5 changes (history: 5; redis streams in nodes
// of 2 entries so MAXLEN ~ really trims), page A is offline while 20 writes
// happen, then comes back: its offset is older than the log, the library
// gets `reset`, reloads, and shows exactly the server's documents.
import test from 'node:test';
import assert from 'node:assert/strict';
import { world, todoData } from './lib/fixture.mjs';
import { uniqueCollection, waitFor } from './lib/stack.mjs';
import {
  openDemo, todos, setOfflineSwitch, waitStatus, recordEvents, events, waitConverged,
} from './lib/demo.mjs';

test('reset: offline past the retained log, A reloads and equals the server', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t, { config: { history: 5 }, redisArgs: ['--stream-node-max-entries', '2'] });
  const c = uniqueCollection('reset');
  const a = await browser.page('A');
  await openDemo(a, stack, c);
  await recordEvents(a);
  for (const id of ['k1', 'k2', 'k3']) await stack.put(c, id, todoData(`keep ${id}`));
  await waitFor(async () => (await todos(a)).length === 3, { what: 'A shows the 3 docs' });
  const seen = await stack.req('GET', `/v1/collections/${c}/docs?limit=1`);
  const offset = seen.json.offset;

  await setOfflineSwitch(a, true);
  await waitStatus(a, 'offline');
  for (let i = 0; i < 20; i++) {
    if (i === 5) {
      const r = await stack.req('DELETE', `/v1/collections/${c}/docs/k2`);
      assert.equal(r.status, 200, r.text);
    } else {
      await stack.put(c, `n${i % 8}`, todoData(`while away ${i}`, { done: i % 3 === 0 }));
    }
  }
  await stack.put(c, 'k1', todoData('keep k1, edited'));
  const gap = await stack.req('GET', `/v1/collections/${c}/changes?since=${encodeURIComponent(offset)}`);
  assert.equal(gap.json.reset, true, `precondition: the log no longer reaches back to A's offset: ${gap.text}`);
  assert.equal(gap.json.reason, 'history_trimmed');
  assert.equal((await todos(a)).length, 3, 'A, offline, still shows its 3 docs');

  await setOfflineSwitch(a, false);
  await waitStatus(a, 'online');
  await waitFor(async () => (await events(a)).resets.length > 0, { what: 'reset event in A' });
  const ev = await events(a);
  assert.equal(ev.resets[0].collection, c);
  assert.equal(ev.resets[0].reason, 'history_trimmed');
  const server = await waitConverged(a, stack, c);
  assert.equal(Object.keys(server).length, 10, JSON.stringify(Object.keys(server))); // k1 k3 n0..n7
  assert.ok(!('k2' in server));
  const shown = await waitFor(async () => {
    const list = await todos(a);
    return list.length === 10 ? list : null;
  }, { what: 'A shows the 10 docs' });
  const byId = Object.fromEntries(shown.map((x) => [x.id, x]));
  for (const [id, d] of Object.entries(server)) {
    assert.equal(byId[id]?.title, d.data.title, `${id} shown as the server has it`);
    assert.equal(byId[id]?.done, d.data.done, `${id} done`);
  }
  assert.equal(byId.k2, undefined, 'the doc deleted while A was away is gone from A');
  browser.assertNoPageErrors(assert);
});
