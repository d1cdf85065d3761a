// Offline conflict: page A switches offline, A and B edit the same item
// differently, A comes back. On an lww collection the larger (timestamp,
// actor) wins: the later edit, whichever page made it. On a callback
// collection the app's resolver decides. Both pages converge, and both
// conflict logs show the settlement (the page promises "in both windows").
import test from 'node:test';
import assert from 'node:assert/strict';
import { startResolver } from '../integration/lib/resolver.mjs';
import { world } from './lib/fixture.mjs';
import { uniqueCollection, sleep, waitFor } from './lib/stack.mjs';
import {
  openDemo, addTodo, editTodo, todoByTitle, todos, setOfflineSwitch, waitStatus, waitConverged, item,
} from './lib/demo.mjs';

const RESOLVER_SECRET = 'e2e-resolver-secret-0123456789abcdefghij';

async function titleIn(page, id) {
  const t = (await todos(page)).find((x) => x.id === id);
  return t && t.title;
}

async function waitTitle(page, id, title, what) {
  await waitFor(async () => (await titleIn(page, id)) === title,
    { timeout: 10000, what: `${what}: ${page.label} shows "${title}" (shows "${await titleIn(page, id)}")` });
}

/** The text of the conflict log entry for id in page (waits for it). */
async function conflictEntry(page, id) {
  const sel = `#conflicts li.conflict[data-id="${id}"]`;
  await page.waitForSelector(sel, { timeout: 10000 });
  return page.$eval(sel, (li) => {
    const txt = (s) => { const e = li.querySelector(s); return e ? e.textContent.trim() : null; };
    return { stored: txt('.stored'), incoming: txt('.incoming'), winner: txt('.winner'), policy: txt('.policy'), resolver: txt('.resolver'), all: li.textContent };
  });
}

async function twoPages(browser, stack, c) {
  const a = await browser.page('A');
  const b = await browser.page('B');
  await openDemo(a, stack, c);
  await openDemo(b, stack, c);
  return { a, b };
}

async function addShared(a, b, title) {
  await addTodo(a, title);
  const { id } = await todoByTitle(a, title);
  await todoByTitle(b, title);
  // A's add is acknowledged before A goes offline
  await waitFor(async () => !(await todos(a)).find((x) => x.id === id).pending, { what: `${title} acknowledged` });
  return id;
}

test('offline conflict, lww: the later edit wins in both pages, both log the conflict', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('lww');
  const { a, b } = await twoPages(browser, stack, c);
  const first = await addShared(a, b, 'milk');
  const second = await addShared(a, b, 'bread');

  await setOfflineSwitch(a, true);
  await waitStatus(a, 'offline');
  // first: B edits, then A (offline) later -> A's edit has the larger timestamp and wins
  await editTodo(b, first, 'soy milk (B)');
  await waitTitle(a, first, 'milk', 'A is offline');
  await sleep(30);
  await editTodo(a, first, 'oat milk (A)');
  // second: A (offline) edits, then B later -> B's edit wins
  await editTodo(a, second, 'rye bread (A)');
  await sleep(30);
  await editTodo(b, second, 'white bread (B)');
  await waitFor(async () => {
    const s = await stack.list(c);
    return s.get(first).data.title === 'soy milk (B)' && s.get(second).data.title === 'white bread (B)';
  }, { what: "B's edits stored" });
  assert.equal(await titleIn(a, first), 'oat milk (A)', 'A shows its own offline edit');
  assert.equal(await titleIn(b, second), 'white bread (B)');

  await setOfflineSwitch(a, false);
  await waitStatus(a, 'online');
  for (const p of [a, b]) {
    await waitTitle(p, first, 'oat milk (A)', 'later edit (A, offline) wins');
    await waitTitle(p, second, 'white bread (B)', 'later edit (B) wins');
  }
  const server = await waitConverged(a, stack, c);
  await waitConverged(b, stack, c);
  assert.equal(server[first].data.title, 'oat milk (A)');
  assert.equal(server[second].data.title, 'white bread (B)');

  const e1 = await conflictEntry(a, first);
  assert.match(e1.policy, /lww/i, JSON.stringify(e1));
  assert.match(e1.winner, /incoming|oat milk \(A\)/i, `A's write (incoming) won: ${JSON.stringify(e1)}`);
  assert.match(e1.all, /soy milk \(B\)/, 'the entry shows the stored side');
  const e2 = await conflictEntry(a, second);
  assert.match(e2.winner, /stored|white bread \(B\)/i, `the stored state (B's) won: ${JSON.stringify(e2)}`);
  assert.match(e2.all, /rye bread \(A\)/, 'the entry shows the incoming side');
  // the page promises the entry "in both windows": B hears it from the trail
  const b1 = await conflictEntry(b, first);
  assert.equal(b1.winner, e1.winner, `B logs the same settlement: ${JSON.stringify(b1)}`);
  browser.assertNoPageErrors(assert);
});

test('offline conflict, callback: both pages converge to the resolver\'s answer, both log it', { timeout: 60000 }, async (t) => {
  const resolver = await startResolver({
    secret: RESOLVER_SECRET,
    strict: true,
    merge: (stored, incoming) => ({ ...stored.data, title: `${stored.data.title} + ${incoming.data.title}` }),
  });
  t.after(() => resolver.close());
  const { stack, browser } = await world(t, {
    config: { collections: [{ match: 'cb-*', conflict: 'callback', resolver_url: resolver.url, resolver_timeout_ms: 2000, fallback: 'lww' }] },
    env: { SYNCGATE_RESOLVER_SECRET: RESOLVER_SECRET },
  });
  const c = uniqueCollection('cb');
  const { a, b } = await twoPages(browser, stack, c);
  const id = await addShared(a, b, 'eggs');

  await setOfflineSwitch(a, true);
  await waitStatus(a, 'offline');
  await editTodo(a, id, 'brown eggs');
  await editTodo(b, id, 'six eggs');
  await waitFor(async () => (await stack.list(c)).get(id).data.title === 'six eggs', { what: "B's edit stored" });
  assert.equal(resolver.calls.length, 0, 'no conflict yet');

  await setOfflineSwitch(a, false);
  const want = 'six eggs + brown eggs'; // stored (B's) + incoming (A's)
  for (const p of [a, b]) await waitTitle(p, id, want, 'resolver answer');
  const server = await waitConverged(a, stack, c);
  await waitConverged(b, stack, c);
  assert.equal(server[id].data.title, want);
  assert.equal(resolver.calls.length, 1, 'one resolver call for one conflict');
  assert.ok(resolver.calls[0].verified, 'signed with the secret');

  const e = await conflictEntry(a, id);
  assert.match(e.policy, /callback/i, JSON.stringify(e));
  assert.ok(e.resolver, `the entry has a .resolver part: ${JSON.stringify(e)}`);
  assert.match(e.winner, /resolver|six eggs \+ brown eggs/i, JSON.stringify(e));
  const eb = await conflictEntry(b, id);
  assert.ok(eb.resolver, `B's entry has the resolver's answer too: ${JSON.stringify(eb)}`);
  assert.equal(await a.locator(`${item(id)}`).count(), 1);
  browser.assertNoPageErrors(assert);
});
