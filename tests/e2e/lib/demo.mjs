// demo.mjs - driving web/index.html (the demo page) the way a user does,
// and reading it back: the DOM for what a user sees, window.syncgateDemo
// ({sg, collection}) for what the library holds.
import { waitFor, essence } from './stack.mjs';

const esc = (s) => String(s).replace(/["\\]/g, '\\$&');
export const item = (id) => `li.todo[data-id="${esc(id)}"]`;

/** Opens the demo on collection c in page and waits until it is online. */
export async function openDemo(page, stack, c, { token, query, online = true } = {}) {
  await page.goto(stack.demoUrl(c, { token, query }));
  await waitDemo(page, { online });
  return page;
}

/** Waits for the page's hooks (and for status online unless online:false). */
export async function waitDemo(page, { online = true, timeout = 10000 } = {}) {
  await page.waitForFunction(() => window.syncgateDemo && window.syncgateDemo.sg && window.syncgateDemo.collection,
    null, { timeout });
  await page.evaluate(() => window.syncgateDemo.collection.ready());
  if (online) await waitStatus(page, 'online', { timeout });
}

export async function status(page) {
  return page.getAttribute('#status', 'data-status');
}

export async function waitStatus(page, want, { timeout = 10000 } = {}) {
  await page.waitForSelector(`#status[data-status="${want}"]`, { timeout, state: 'attached' });
}

/** The todos as the page shows them, in order. */
export async function todos(page) {
  return page.$$eval('li.todo', (lis) => lis.map((li) => ({
    id: li.dataset.id,
    title: (li.querySelector('label.title') || {}).textContent,
    done: li.classList.contains('done'),
    pending: li.classList.contains('pending'),
  })));
}

export async function todoByTitle(page, title, { timeout = 5000 } = {}) {
  return waitFor(async () => (await todos(page)).find((t) => t.title === title),
    { timeout, what: `todo "${title}" in ${page.label || 'page'}` });
}

/** Types title into #new-title and presses Enter. */
export async function addTodo(page, title) {
  await page.fill('#new-title', title);
  await page.press('#new-title', 'Enter');
}

/** Double-clicks the item's label, replaces the text, presses Enter. */
export async function editTodo(page, id, title) {
  await page.dblclick(`${item(id)} label.title`);
  const input = `${item(id)} input.edit`;
  await page.waitForSelector(input);
  await page.fill(input, title);
  await page.press(input, 'Enter');
}

export async function toggleTodo(page, id) {
  await page.click(`${item(id)} input.toggle`);
}

export async function destroyTodo(page, id) {
  await page.hover(item(id));
  await page.click(`${item(id)} button.destroy`);
}

/** Flips #offline-switch to the wanted state (checked = offline), as a click. */
export async function setOfflineSwitch(page, offline) {
  const sw = page.locator('#offline-switch');
  if ((await sw.isChecked()) !== offline) await sw.click({ force: true });
  if ((await sw.isChecked()) !== offline) throw new Error(`offline switch did not turn ${offline ? 'on' : 'off'}`);
}

/** id -> {data, version} of what the page's collection holds. */
export async function pageDocs(page) {
  const docs = await page.evaluate(() => window.syncgateDemo.collection.docs()
    .map((d) => ({ id: d.id, data: d.data, version: d.version, deleted: d.deleted, pending: !!d.pending })));
  return essence(docs);
}

/** Waits until the page's collection equals the server's list (data and version of every doc). */
export async function waitConverged(page, stack, c, { timeout = 15000 } = {}) {
  let last;
  try {
    await waitFor(async () => {
      const [mine, server] = await Promise.all([pageDocs(page), stack.list(c)]);
      last = { mine, server: essence(server) };
      return JSON.stringify(sortKeys(last.mine)) === JSON.stringify(sortKeys(last.server));
    }, { timeout, interval: 100, what: `${page.label || 'page'} equal to the server` });
  } catch (e) {
    e.message += `\npage:   ${JSON.stringify(sortKeys(last && last.mine))}\nserver: ${JSON.stringify(sortKeys(last && last.server))}`;
    throw e;
  }
  return last.server;
}

/** A copy with object keys sorted at every level (stable JSON for comparing). */
export function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

/**
 * Records events of the page's library in window.__e2e: errors, resets,
 * status changes (with their close codes), conflicts, remote changes.
 */
export async function recordEvents(page) {
  await page.evaluate(() => {
    const { sg, collection } = window.syncgateDemo;
    const rec = { errors: [], resets: [], statuses: [], conflicts: [], remote: 0, changes: [] };
    window.__e2e = rec;
    sg.on('error', (e) => rec.errors.push({ code: e && e.code, status: e && e.status, message: String(e && e.message), id: e && e.id }));
    sg.on('reset', (ev) => rec.resets.push(ev));
    sg.on('status', (s, d) => rec.statuses.push({ s, code: d && d.code, reason: d && d.reason, t: Date.now() }));
    sg.on('conflict', (ev) => rec.conflicts.push({ id: ev.id, winner: ev.winner, policy: ev.policy, mine: ev.mine }));
    collection.on('change', (ev) => {
      if (ev.source === 'remote') rec.remote += 1;
      rec.changes.push({ id: ev.id, source: ev.source, offset: ev.doc && ev.doc.offset });
    });
  });
}

export async function events(page) {
  return page.evaluate(() => window.__e2e);
}
