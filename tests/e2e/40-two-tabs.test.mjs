// Two tabs of one browser profile (shared IndexedDB, one device) write the
// same document at the same moment, 20 times. Each tab must be its own
// actor (or coordinate), so no write is refused as 409 invalid_version,
// and both tabs end with the server's state.
import test from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { uniqueCollection, waitFor } from './lib/stack.mjs';
import { waitDemo, addTodo, todoByTitle, todos, recordEvents, events, waitConverged } from './lib/demo.mjs';

const ROUNDS = 20;

/** Schedules a put of the doc's title at the absolute time `at` (ms since the epoch) in page. */
function putAt(page, id, title, at) {
  return page.evaluate(({ id, title, at }) => new Promise((resolve) => {
    const { collection } = window.syncgateDemo;
    setTimeout(() => {
      const cur = collection.get(id);
      collection.put(id, { ...(cur ? cur.data : {}), title })
        .then((r) => resolve({ ok: true, applied: r.applied, queued: r.queued, conflict: r.conflict || null }))
        .catch((e) => resolve({ ok: false, code: e && e.code, status: e && e.status, message: String(e && e.message) }));
    }, Math.max(0, at - Date.now()));
  }), { id, title, at });
}

test('two tabs of one profile write one document at once: no invalid_version, both converge', { timeout: 90000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('tabs');
  const profile = await browser.profile();
  const [p1, p2] = [await profile.newPage(), await profile.newPage()];
  p1.label = 'tab1';
  p2.label = 'tab2';
  // both tabs start at the same moment on a fresh profile: they must agree
  // on the device id (made once, under a lock) and take different slots
  await Promise.all([p1.goto(stack.demoUrl(c)), p2.goto(stack.demoUrl(c))]);
  await waitDemo(p1);
  await waitDemo(p2);
  await recordEvents(p1);
  await recordEvents(p2);
  const actors = [await p1.evaluate(() => window.syncgateDemo.sg.actor), await p2.evaluate(() => window.syncgateDemo.sg.actor)];
  assert.notEqual(actors[0], actors[1], `two tabs, two actors: ${actors}`);
  const parts = actors.map((a) => a.match(/^[^:]+:([a-z0-9]+)\.(\d+)$/));
  assert.ok(parts[0] && parts[1], `actors are <sub>:<device>.<slot>: ${actors}`);
  assert.equal(parts[0][1], parts[1][1], `one profile, one device id: ${actors}`);
  assert.deepEqual([parts[0][2], parts[1][2]].sort(), ['0', '1'], `the two lowest slots: ${actors}`);

  await addTodo(p1, 'shared');
  const { id } = await todoByTitle(p1, 'shared');
  await todoByTitle(p2, 'shared');
  await waitConverged(p1, stack, c);

  const answers = [];
  for (let r = 0; r < ROUNDS; r++) {
    const at = Date.now() + 60;
    const pair = await Promise.all([putAt(p1, id, `round ${r} tab1`, at), putAt(p2, id, `round ${r} tab2`, at)]);
    answers.push(...pair.map((x, k) => ({ r, tab: k + 1, ...x })));
    // every other round, let the tabs hear each other before the next one
    if (r % 2) await waitConverged(p1, stack, c, { timeout: 10000 });
  }

  const failed = answers.filter((x) => !x.ok);
  assert.deepEqual(failed, [], 'every write answered without error');
  const e1 = await events(p1);
  const e2 = await events(p2);
  const bad = [...e1.errors, ...e2.errors].filter((e) => e.code === 'invalid_version' || e.status === 409);
  assert.deepEqual(bad, [], 'no 409 invalid_version reached either tab');
  const server = await waitConverged(p1, stack, c);
  await waitConverged(p2, stack, c);
  const title = server[id].data.title;
  assert.match(title, new RegExp(`^round ${ROUNDS - 1} tab[12]$`), `the last round's write won: ${title}`);
  for (const p of [p1, p2]) {
    await waitFor(async () => (await todos(p)).find((x) => x.id === id)?.title === title, { what: `${p.label} shows "${title}"` });
  }
  const conflicts = answers.filter((x) => x.conflict).length;
  console.log(`two tabs: ${ROUNDS} rounds, ${conflicts} writes settled as conflicts, actors ${actors.join(' ')}, errors ${e1.errors.length + e2.errors.length}`);
  browser.assertNoPageErrors(assert);
});
