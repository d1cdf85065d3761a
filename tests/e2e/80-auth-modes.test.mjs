// How the demo gets its token, as a person meets it: in dev mode (`make run`
// starts the gateway with --dev) from the gateway's dev endpoint, with a
// banner that says so; on a gateway without it, from a form that asks for
// one (the link's #token= fragment is the third way, used by the other
// tests); with auth off, without any.
import test from 'node:test';
import assert from 'node:assert/strict';
import { world } from './lib/fixture.mjs';
import { uniqueCollection, userToken, waitFor } from './lib/stack.mjs';
import { waitDemo, addTodo, todoByTitle } from './lib/demo.mjs';

test('dev mode: the page gets its token from the dev endpoint and says so', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t, { args: ['--dev'] });
  const c = uniqueCollection('dev');
  const page = await browser.page('dev');
  const minted = [];
  page.on('request', (r) => { if (r.url().endsWith('/v1/dev/token')) minted.push(r.method()); });
  await page.goto(`${stack.url}/?c=${c}`);
  await waitDemo(page);
  assert.equal(await page.isVisible('#dev-banner'), true, 'the dev banner shows');
  assert.equal(await page.isVisible('#token-form'), false, 'no token form in dev mode');
  assert.ok(minted.length >= 1 && minted.every((m) => m === 'POST'), `tokens were asked for with POST: ${minted}`);
  await addTodo(page, 'from dev mode');
  const it = await todoByTitle(page, 'from dev mode');
  await waitFor(async () => (await stack.list(c)).get(it.id), { what: 'the write reached the server' });
  const doc = (await stack.list(c)).get(it.id);
  assert.match(doc.actor, /^dev:[a-z0-9]+\.0$/, `written as the dev subject's tab actor: ${doc.actor}`);
  browser.assertNoPageErrors(assert);
});

test('no dev mode, no token in the link: the page asks for one, then works', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('form');
  const page = await browser.page('form');
  const devCalls = [];
  page.on('request', (r) => { if (r.url().includes('/v1/dev/')) devCalls.push(r.url()); });
  await page.goto(`${stack.url}/?c=${c}`);
  await page.waitForSelector('#token-form', { state: 'visible' });
  assert.equal(await page.isVisible('#dev-banner'), false);
  assert.deepEqual(devCalls, [], 'a gateway without dev mode is never asked for a dev token');
  await page.fill('#token-input', userToken());
  await page.press('#token-input', 'Enter');
  await waitDemo(page);
  await page.waitForSelector('#token-form', { state: 'hidden' });
  await addTodo(page, 'with a pasted token');
  const it = await todoByTitle(page, 'with a pasted token');
  await waitFor(async () => (await stack.list(c)).get(it.id), { what: 'the write reached the server' });
  browser.assertNoPageErrors(assert);
});

test('auth off: the page works without a token', { timeout: 60000 }, async (t) => {
  const { stack, browser } = await world(t, { env: { SYNCGATE_AUTH_MODE: 'none' } });
  const c = uniqueCollection('open');
  const page = await browser.page('open');
  await page.goto(`${stack.url}/?c=${c}`);
  await waitDemo(page);
  assert.equal(await page.isVisible('#token-form'), false);
  await addTodo(page, 'nobody signed in');
  const it = await todoByTitle(page, 'nobody signed in');
  await waitFor(async () => (await stack.list(c)).get(it.id), { what: 'the write reached the server' });
  browser.assertNoPageErrors(assert);
});
