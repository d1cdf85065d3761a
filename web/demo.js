// syncgate demo page: a collaborative todo list on top of syncgate.js.
// Plain ES module, no build step. Codes against web/syncgate.d.ts.

import { TOKEN_KEY, requested, mainName, state } from './demo/state.js';
import { $, el, plural, newId, clock, titleOf, plainWords, toast } from './demo/ui.js';
import { refreshStatus, refreshActor, refreshQueued } from './demo/status.js';
import { addConflict, refreshConflicts } from './demo/conflicts.js';
import { initCollections } from './demo/collections.js';

function showError(err) {
  if (!err) return;
  // The user pulled the plug: the library's network complaints are expected.
  if (state.userOffline && (err.code === 'network' || err.code === 'closed')) return;
  // A collection only followed in the side panel reports there, not in a toast.
  const w = err.collection && err.collection !== mainName ? state.watched.get(err.collection) : null;
  if (w && (err.code === 'forbidden' || err.code === 'not_found' || err.code === 'bad_request')) {
    w.fail(plainWords(err));
    return;
  }
  if (err.code === 'policy') {
    // the library stops reconnecting after a refused sign-in (close 1008)
    state.signInRefused = true;
    refreshStatus();
  }
  if ((err.code === 'unauthorized' || err.code === 'policy') && status401Handler) status401Handler(err);
  const detail = [err.code, err.message].filter(Boolean).join(': ');
  toast(plainWords(err), { detail });
}

/* ---------------------------------------------------------------- auth */

let status401Handler = null;

const DEV_KEY = 'syncgate-demo:dev';
const OFFLINE_KEY = 'syncgate-demo:offline';

/**
 * Whether the gateway runs in dev mode (its /v1/info says "dev":true), so
 * tokens come from POST /v1/dev/token. Without an answer (a reload while
 * the gateway is out of reach) what this tab saw last time counts.
 */
function devMode(info) {
  if (!info) return sessionStorage.getItem(DEV_KEY) === '1';
  if (info.dev === true) sessionStorage.setItem(DEV_KEY, '1');
  else sessionStorage.removeItem(DEV_KEY);
  return info.dev === true;
}

async function getInfo() {
  try {
    const r = await fetch('/v1/info');
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

function looksLikeJwt(t) {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(t);
}

function jwtClaims(t) {
  try {
    const p = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(p + '='.repeat((4 - (p.length % 4)) % 4)));
  } catch {
    return null;
  }
}

/** The token form: resolves waiters with the token a person pastes. */
const tokenForm = {
  waiters: [],
  show(problem) {
    const form = $('token-form');
    $('token-problem').textContent = problem || '';
    $('token-problem').hidden = !problem;
    form.hidden = false;
    $('app').hidden = true;
    $('token-input').focus();
  },
  hide() {
    $('token-form').hidden = true;
    $('app').hidden = false;
  },
  wait(problem) {
    this.show(problem);
    return new Promise((resolve) => this.waiters.push(resolve));
  },
  init() {
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
      if (!looksLikeJwt(t)) {
        this.show('That does not look like a token: a JWT is three parts separated by dots.');
        return;
      }
      const claims = jwtClaims(t);
      if (claims && Number.isFinite(claims.exp) && claims.exp * 1000 < Date.now()) {
        this.show(`That token expired at ${new Date(claims.exp * 1000).toLocaleString()}.`);
        return;
      }
      $('token-input').value = '';
      sessionStorage.setItem(TOKEN_KEY, t);
      state.token = t;
      state.tokenSource = 'form';
      const waiters = this.waiters.splice(0);
      if (!waiters.length && state.sg) {
        // The library holds the refused token and is not asking for one:
        // start this window again with the new one (a link's token goes).
        if (location.hash) history.replaceState(null, '', `${location.pathname}${location.search}`);
        location.reload();
        return;
      }
      this.hide();
      for (const w of waiters) w(t);
      // After a refused sign-in (close 1008) the library waits for goOnline().
      if (state.sg && state.sg.status === 'offline' && !state.userOffline) state.sg.goOnline();
    });
  },
};

/** Picks how this window gets its token; fills the "Auth" line. */
async function chooseAuth(info) {
  if (devMode(info)) {
    $('dev-banner').hidden = false;
    state.tokenSource = 'dev';
    $('auth-mode').textContent = 'dev token endpoint';
    return async () => (await (await fetch('/v1/dev/token', { method: 'POST' })).json()).token;
  }
  const fragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fragment) {
    state.token = fragment;
    state.tokenSource = 'fragment';
  } else if (info && info.auth === 'none') {
    state.tokenSource = 'none';
    $('auth-mode').textContent = 'off (dev gateway: anyone may read and write)';
    return undefined;
  } else {
    state.token = sessionStorage.getItem(TOKEN_KEY);
    state.tokenSource = 'form';
  }
  const describe = () => {
    const c = state.token && jwtClaims(state.token);
    const who = c && c.sub ? ` for "${c.sub}"` : '';
    const until = c && Number.isFinite(c.exp) ? `, valid until ${new Date(c.exp * 1000).toLocaleString()}` : '';
    $('auth-mode').textContent = `JWT${who}${until} (from ${state.tokenSource === 'fragment' ? 'the link' : 'the form'})`;
  };
  status401Handler = () => {
    // The token was refused: forget it and ask a person for another.
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    state.tokenSource = 'form';
    if (!tokenForm.waiters.length) tokenForm.show('The gateway refused that token. Paste a valid one.');
  };
  return async () => {
    if (!state.token) {
      await tokenForm.wait($('token-problem').textContent || '');
    }
    describe();
    return state.token;
  };
}

/* ---------------------------------------------------------------- writes */

function settle(promise) {
  // The write is queued by now or in a moment: count it either way.
  queueMicrotask(refreshQueued);
  setTimeout(refreshQueued, 0);
  return Promise.resolve(promise)
    // A refusal from the gateway also comes as an error event (shown there);
    // anything else (a TypeError, storage failing) is shown here.
    .catch((err) => { if (!(err && typeof err.code === 'string')) showError(err); })
    .finally(() => { refreshQueued(); renderFromCollection(); });
}

function putTodo(id, data) {
  return settle(state.collection.put(id, data));
}

function deleteTodo(id) {
  return settle(state.collection.delete(id));
}

/* ---------------------------------------------------------------- todos */

function renderFromCollection() {
  if (!state.collection) return;
  render(new Map(state.collection.docs().map((d) => [d.id, d])), null);
}

function sortedTodos(docs) {
  const num = (v) => (Number.isFinite(v) ? v : Number.MAX_SAFE_INTEGER);
  return [...docs.values()]
    .filter((d) => d && !d.deleted && d.data !== null && d.data !== undefined)
    .sort((a, b) => {
      const ca = num(a.data && a.data.created);
      const cb = num(b.data && b.data.created);
      if (ca !== cb) return ca - cb;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
}

function isDone(doc) {
  return !!(doc.data && typeof doc.data === 'object' && doc.data.done);
}

function visible(doc) {
  if (state.filter === 'active') return !isDone(doc);
  if (state.filter === 'done') return isDone(doc);
  return true;
}

function makeItem(id) {
  const toggle = el('input', { type: 'checkbox', class: 'toggle', 'aria-label': 'Done' });
  const label = el('label', { class: 'title' });
  const sync = el('span', { class: 'sync', 'aria-hidden': 'true' });
  const meta = el('span', { class: 'meta' });
  const destroy = el('button', { type: 'button', class: 'destroy', 'aria-label': 'Delete', title: 'Delete (Delete key)', text: '×' });
  const li = el('li', { class: 'todo', 'data-id': id, tabindex: '0' }, toggle, label, sync, meta, destroy);
  return { li, toggle, label, meta };
}

function updateItem(item, doc) {
  const { li, toggle, label } = item;
  const done = isDone(doc);
  li.classList.toggle('done', done);
  li.classList.toggle('pending', !!doc.pending);
  toggle.checked = done;
  const title = titleOf(doc.data);
  if (label.textContent !== title) label.textContent = title;
  toggle.setAttribute('aria-label', `Done: ${title}`);
  li.setAttribute('aria-label', `${title}${done ? ', done' : ''}${doc.pending ? ', not synced yet' : ''}`);
  li.title = `last edit by ${doc.actor || '?'}${doc.timestamp ? ` at ${clock(doc.timestamp)}` : ''}`;
}

function render(docs, change) {
  state.docs = docs;
  const list = $('todo-list');
  const todos = sortedTodos(docs);
  const keep = new Set(todos.map((d) => d.id));

  for (const [id, item] of state.items) {
    if (keep.has(id)) continue;
    if (state.editing && state.editing.id === id) state.editing.gone = true;
    if (item.li.contains(document.activeElement)) {
      const next = item.li.nextElementSibling || item.li.previousElementSibling;
      if (next) next.focus();
    }
    item.li.remove();
    state.items.delete(id);
  }

  todos.forEach((doc, i) => {
    let item = state.items.get(doc.id);
    if (!item) {
      item = makeItem(doc.id);
      state.items.set(doc.id, item);
    }
    updateItem(item, doc);
    item.li.hidden = !visible(doc);
    const at = list.children[i];
    if (at !== item.li) list.insertBefore(item.li, at || null);
  });

  if (change && change.source === 'remote' && change.id) {
    const item = state.items.get(change.id);
    if (item) {
      item.li.classList.remove('flash');
      void item.li.offsetWidth; // restart the animation
      item.li.classList.add('flash');
    }
  }

  const left = todos.filter((d) => !isDone(d)).length;
  const doneCount = todos.length - left;
  $('count').textContent = plural(left, 'item left', 'items left');
  $('clear-completed').hidden = doneCount === 0;
  $('clear-completed').textContent = `Clear completed (${doneCount})`;
  const shown = todos.filter(visible).length;
  const empty = $('list-empty');
  empty.hidden = shown > 0;
  if (shown === 0) {
    empty.textContent = todos.length === 0
      ? 'Nothing to do yet. Add something above.'
      : state.filter === 'active' ? 'All done. Nice.' : 'Nothing ticked off yet.';
  }
  refreshQueued();
  refreshActor();
}

function itemOf(node) {
  const li = node && node.closest && node.closest('li.todo');
  return li ? { li, id: li.dataset.id } : null;
}

function toggleTodo(id, done) {
  const doc = state.collection.get(id);
  if (!doc) return;
  const data = doc.data && typeof doc.data === 'object' ? doc.data : { title: titleOf(doc.data) };
  putTodo(id, { ...data, done: done === undefined ? !data.done : done });
}

function removeTodo(li, id) {
  const next = li.nextElementSibling && !li.nextElementSibling.hidden ? li.nextElementSibling
    : li.previousElementSibling && !li.previousElementSibling.hidden ? li.previousElementSibling : null;
  if (li.contains(document.activeElement)) (next || $('new-title')).focus();
  deleteTodo(id);
}

function startEdit(id) {
  const item = state.items.get(id);
  if (!item || (state.editing && state.editing.id === id)) return;
  if (state.editing) finishEdit(true);
  const doc = state.collection.get(id);
  const original = doc ? titleOf(doc.data) : item.label.textContent;
  const input = el('input', { type: 'text', class: 'edit', 'aria-label': 'Edit title', maxLength: 500 });
  input.value = original;
  const edit = { id, input, original, done: false, gone: false };
  state.editing = edit;
  item.li.classList.add('editing');
  item.label.after(input);
  input.focus();
  input.select();
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); finishEdit(true, true); }
    else if (e.key === 'Escape') { e.preventDefault(); finishEdit(false, true); }
    e.stopPropagation();
  });
  input.addEventListener('blur', () => finishEdit(true, false));
}

function finishEdit(save, refocus) {
  const edit = state.editing;
  if (!edit || edit.done) return;
  edit.done = true;
  state.editing = null;
  const item = state.items.get(edit.id);
  const title = edit.input.value.trim();
  edit.input.remove();
  if (item) item.li.classList.remove('editing');
  if (refocus && item) item.li.focus();
  if (!save || title === edit.original) return;
  const doc = state.collection.get(edit.id);
  if (!doc || edit.gone) {
    toast('That item was deleted in another window while you were editing it.', { kind: 'info' });
    return;
  }
  if (!title) { if (item) removeTodo(item.li, edit.id); return; }
  const data = doc.data && typeof doc.data === 'object' ? doc.data : {};
  putTodo(edit.id, { ...data, title });
}

function moveFocus(li, dir) {
  let n = li;
  do n = dir > 0 ? n.nextElementSibling : n.previousElementSibling; while (n && n.hidden);
  if (n) n.focus();
}

function initTodos() {
  const list = $('todo-list');

  $('add-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('new-title');
    const title = input.value.trim();
    if (!title || !state.collection) return;
    if (state.filter === 'done') setFilter('all');
    putTodo(newId(), { title, done: false, created: Date.now() });
    input.value = '';
  });

  list.addEventListener('change', (e) => {
    if (!e.target.classList.contains('toggle')) return;
    const it = itemOf(e.target);
    if (it) toggleTodo(it.id, e.target.checked);
  });

  list.addEventListener('click', (e) => {
    const btn = e.target.closest('button.destroy');
    if (!btn) return;
    const it = itemOf(btn);
    if (it) removeTodo(it.li, it.id);
  });

  list.addEventListener('dblclick', (e) => {
    if (!e.target.classList.contains('title')) return;
    const it = itemOf(e.target);
    if (it) startEdit(it.id);
  });

  // Clicking a label would tick the box of a <label for>; ours has none, so
  // a single click only focuses the row.
  list.addEventListener('keydown', (e) => {
    const it = itemOf(e.target);
    if (!it || e.target.classList.contains('edit')) return;
    const onRow = e.target === it.li;
    if (e.key === 'F2' || (e.key === 'Enter' && onRow)) {
      e.preventDefault();
      startEdit(it.id);
    } else if (e.key === ' ' && onRow) {
      e.preventDefault();
      toggleTodo(it.id);
    } else if (e.key === 'Delete' || (e.key === 'Backspace' && onRow)) {
      e.preventDefault();
      removeTodo(it.li, it.id);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      moveFocus(it.li, e.key === 'ArrowDown' ? 1 : -1);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const rows = [...list.children].filter((n) => !n.hidden);
      const target = e.key === 'Home' ? rows[0] : rows[rows.length - 1];
      if (target) target.focus();
    }
  });

  $('new-title').addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      const first = [...list.children].find((n) => !n.hidden);
      if (first) { e.preventDefault(); first.focus(); }
    } else if (e.key === 'Escape') {
      e.target.value = '';
    }
  });

  for (const b of document.querySelectorAll('.filters button')) {
    b.addEventListener('click', () => setFilter(b.dataset.filter));
  }

  $('clear-completed').addEventListener('click', () => {
    for (const doc of sortedTodos(state.docs)) if (isDone(doc)) deleteTodo(doc.id);
    $('new-title').focus();
  });
}

function setFilter(f) {
  state.filter = f;
  for (const b of document.querySelectorAll('.filters button')) {
    b.setAttribute('aria-pressed', String(b.dataset.filter === f));
  }
  render(state.docs, null);
}

/* ---------------------------------------------------------------- start */

function openSecondWindow() {
  let url = `${location.origin}${location.pathname}${location.search}`;
  if ((state.tokenSource === 'fragment' || state.tokenSource === 'form') && state.token) {
    url += `#token=${encodeURIComponent(state.token)}`;
  }
  window.open(url, '_blank', 'noopener');
}

async function start() {
  document.title = `${mainName} · syncgate`;
  $('collection-name').textContent = mainName;
  if (requested && requested !== mainName) {
    toast(`"${requested}" is not a valid collection name; showing "todos".`, { kind: 'info' });
  }
  tokenForm.init();
  initTodos();
  $('second-window').addEventListener('click', openSecondWindow);
  $('clear-conflicts').addEventListener('click', () => { $('conflicts').replaceChildren(); refreshConflicts(); });
  // the switch outlives a reload of this tab: offline stays offline
  $('offline-switch').checked = sessionStorage.getItem(OFFLINE_KEY) === '1';
  $('offline-switch').addEventListener('change', (e) => {
    state.userOffline = e.target.checked;
    if (state.userOffline) sessionStorage.setItem(OFFLINE_KEY, '1');
    else sessionStorage.removeItem(OFFLINE_KEY);
    e.target.setAttribute('aria-checked', String(state.userOffline));
    if (!state.sg) return;
    if (state.userOffline) state.sg.goOffline(); else state.sg.goOnline();
    refreshStatus();
  });

  let lib;
  try {
    lib = await import('./syncgate.js');
  } catch (err) {
    lib = null;
    console.error(err);
  }
  if (!lib || typeof lib.SyncGate !== 'function') {
    $('status').dataset.status = 'offline';
    $('status-text').textContent = 'Client library missing';
    toast('The page could not load its client library (syncgate.js). Is the gateway serving the whole web/ folder?');
    return;
  }

  const info = await getInfo();
  if (info) {
    $('served-by').textContent = info.node || '—';
    $('gw-version').textContent = `${info.name || 'syncgate'} ${info.version || ''}`.trim();
  }
  const getToken = await chooseAuth(info);

  const startOffline = $('offline-switch').checked;
  $('offline-switch').setAttribute('aria-checked', String(startOffline));
  const sg = new lib.SyncGate({ ...(getToken ? { getToken } : {}), offline: startOffline });
  const collection = sg.collection(mainName);
  state.sg = sg;
  state.collection = collection;
  window.syncgateDemo = { sg, collection };

  sg.on('status', (s, detail) => refreshStatus(s, detail || {}));
  sg.on('conflict', addConflict);
  sg.on('error', showError);
  sg.on('reset', (ev) => {
    if (ev && ev.collection === mainName) {
      toast('The gateway’s history was reset, so this list was reloaded from the stored state.', { kind: 'info' });
    }
  });

  collection.subscribe((docs, change) => render(docs, change));
  initCollections();
  refreshStatus();
  state.userOffline = startOffline;

  Promise.resolve(collection.ready()).then(() => { refreshActor(); refreshStatus(); }).catch(showError);
  // Ready to type on a desktop; on a phone a focused input would pop the keyboard up.
  const finePointer = window.matchMedia && window.matchMedia('(hover: hover) and (pointer: fine)').matches;
  if (finePointer && !state.editing && $('token-form').hidden) $('new-title').focus({ preventScroll: true });
}

start().catch((err) => {
  console.error(err);
  toast('The demo could not start. See the browser console for details.');
});
