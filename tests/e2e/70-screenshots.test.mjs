// Screenshots of the demo, in build/screenshots/: two windows side by side
// (composed from two 640x800 windows), one 1280x800 window, the conflict
// log after a conflict, and a phone-sized viewport (390x844) that must not
// scroll sideways.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { world } from './lib/fixture.mjs';
import { shotPath } from './lib/browser.mjs';
import { uniqueCollection, waitFor } from './lib/stack.mjs';
import {
  openDemo, addTodo, editTodo, toggleTodo, todoByTitle, todos, setOfflineSwitch, waitStatus, waitConverged,
} from './lib/demo.mjs';

/** Width and height from a PNG's IHDR. */
function pngSize(file) {
  const b = readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

test('screenshots: two windows, one window, the conflict log, a phone', { timeout: 90000 }, async (t) => {
  const { stack, browser } = await world(t);
  const c = uniqueCollection('shots');
  const a = await browser.page('A', { viewport: { width: 640, height: 800 } });
  const b = await browser.page('B', { viewport: { width: 640, height: 800 } });
  await openDemo(a, stack, c);
  await openDemo(b, stack, c);
  for (const title of ['Buy oat milk', 'Book dentist', 'Water the plants', 'Reply to Sam']) await addTodo(a, title);
  await todoByTitle(b, 'Reply to Sam');
  await toggleTodo(b, (await todoByTitle(b, 'Book dentist')).id);
  await waitFor(async () => (await todos(a)).find((x) => x.title === 'Book dentist').done, { what: 'tick in A' });
  await waitConverged(a, stack, c);
  await waitConverged(b, stack, c);

  // 01: both windows, composed side by side in a third page
  const [pa, pb] = [await a.screenshot(), await b.screenshot()];
  const sheet = await browser.page('sheet', { viewport: { width: 1296, height: 800 } });
  await sheet.setContent(`<body style="margin:0;background:#222;display:flex;gap:16px">
    <img src="data:image/png;base64,${pa.toString('base64')}" width="640" height="800">
    <img src="data:image/png;base64,${pb.toString('base64')}" width="640" height="800"></body>`);
  await sheet.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth === 640));
  await sheet.screenshot({ path: shotPath('01-two-windows.png') });
  assert.deepEqual(pngSize(shotPath('01-two-windows.png')), { width: 1296, height: 800 });

  // 04: one 1280x800 window
  const wide = await browser.page('wide', { viewport: { width: 1280, height: 800 } });
  await openDemo(wide, stack, c);
  await todoByTitle(wide, 'Reply to Sam');
  await wide.screenshot({ path: shotPath('04-window-1280.png') });
  assert.deepEqual(pngSize(shotPath('04-window-1280.png')), { width: 1280, height: 800 });

  // 02: a conflict, then A's conflict log
  const id = (await todoByTitle(a, 'Water the plants')).id;
  await setOfflineSwitch(a, true);
  await waitStatus(a, 'offline');
  await editTodo(b, id, 'Water the plants (balcony)');
  await editTodo(a, id, 'Water the plants (kitchen)');
  await waitFor(async () => (await stack.list(c)).get(id).data.title === 'Water the plants (balcony)', { what: "B's edit stored" });
  await setOfflineSwitch(a, false);
  await a.waitForSelector(`#conflicts li.conflict[data-id="${id}"]`, { timeout: 10000 });
  await waitConverged(a, stack, c);
  await a.setViewportSize({ width: 1280, height: 800 });
  await a.locator('#conflicts').scrollIntoViewIfNeeded();
  await a.screenshot({ path: shotPath('02-conflict-log.png') });
  assert.deepEqual(pngSize(shotPath('02-conflict-log.png')), { width: 1280, height: 800 });
  assert.ok(await a.locator('#conflicts li.conflict').first().isVisible(), 'the conflict entry is on screen');

  // 03: a phone
  const phone = await browser.page('phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await openDemo(phone, stack, c);
  await todoByTitle(phone, 'Reply to Sam');
  await phone.screenshot({ path: shotPath('03-phone.png') });
  assert.deepEqual(pngSize(shotPath('03-phone.png')), { width: 780, height: 1688 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the phone layout does not scroll sideways (${overflow} px too wide)`);
  const box = await phone.locator('#new-title').boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `the input fits the phone: ${JSON.stringify(box)}`);
  browser.assertNoPageErrors(assert);
});
