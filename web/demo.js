// syncgate demo page: a collaborative todo list on top of syncgate.js.
// Plain ES module, no build step. Codes against web/syncgate.d.ts.

const $ = (id) => document.getElementById(id);
const COLLECTION_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const TOKEN_KEY = 'syncgate-demo.token';
const WATCH_KEY = 'syncgate-demo.watch';
const MINUTE = 60000;
const BUCKETS = 12; // sparkline: 12 buckets of 5 s over the last minute
const MAX_CONFLICTS = 100;

const params = new URLSearchParams(location.search);
const requested = params.get('c');
const mainName = requested && COLLECTION_RE.test(requested) ? requested : 'todos';

const state = {
  sg: null,
  collection: null,
  userOffline: false,
  signInRefused: false,
  filter: 'all',
  docs: new Map(), // id -> Doc, last rendered
  items: new Map(), // id -> { li, toggle, label, meta }
  editing: null, // { id, input, done }
  lastNode: null,
  token: null, // the token in use (fragment or form source)
  tokenSource: null, // 'dev' | 'fragment' | 'form' | 'none'
  watched: new Map(), // name -> watcher
  conflictIds: new Set(),
  conflictCount: 0,
};

/* ---------------------------------------------------------------- helpers */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'title' || k === 'type' || k === 'tabindex' || k === 'datetime') node.setAttribute(k, v === true ? '' : String(v));
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  const random = [...bytes].map((b) => b.toString(36).padStart(2, '0')).join('').slice(0, 8);
  return `${Date.now().toString(36)}-${random}`;
}

function hue(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 360;
}

function clock(ms) {
  if (!Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "<epoch>:<seq>" -> [epoch, seq]; larger seq is later within an epoch. */
function parseOffset(o) {
  if (typeof o !== 'string') return null;
  const i = o.lastIndexOf(':');
  if (i < 0) return null;
  const seq = Number(o.slice(i + 1));
  return Number.isFinite(seq) ? [o.slice(0, i), seq] : null;
}

function laterOffset(a, b) {
  const pa = parseOffset(a);
  const pb = parseOffset(b);
  if (!pb) return a;
  if (!pa) return b;
  if (pa[0] !== pb[0]) return b; // another epoch: the newer report wins
  return pb[1] > pa[1] ? b : a;
}

/** A title for any document of the collection (todos have one; others get their JSON). */
function titleOf(data) {
  if (data && typeof data === 'object' && typeof data.title === 'string') return data.title;
  if (data === null || data === undefined) return '';
  const s = JSON.stringify(data);
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

/** Data as short readable lines, one per top-level key: [{key, text}]; null for none. */
function dataLines(data, deleted) {
  if (deleted || data === null || data === undefined) return null;
  const cut = (t) => (t && t.length > 160 ? `${t.slice(0, 159)}…` : t);
  if (typeof data !== 'object' || Array.isArray(data)) return [{ key: null, text: cut(JSON.stringify(data)) }];
  const lines = Object.entries(data).map(([k, v]) => {
    let t = JSON.stringify(v);
    if (k === 'created' && Number.isFinite(v)) t = clock(v);
    return { key: k, text: `${k}: ${cut(t)}` };
  });
  return lines.length ? lines : [{ key: null, text: '{}' }];
}

function formatData(data, deleted) {
  const lines = dataLines(data, deleted);
  return lines ? lines.map((l) => l.text).join('\n') : null;
}

/** The data as a <pre>; keys whose value differs from other's are marked. */
function dataBlock(data, deleted, other, emptyText) {
  const lines = dataLines(data, deleted);
  const pre = el('pre', { class: lines ? 'data' : 'data none' });
  if (!lines) { pre.textContent = emptyText; return pre; }
  const otherObj = other && typeof other === 'object' && !Array.isArray(other) ? other : null;
  lines.forEach((l, i) => {
    const differs = otherObj && l.key !== null
      && JSON.stringify(data[l.key]) !== JSON.stringify(otherObj[l.key]);
    pre.append(el('span', { class: differs ? 'diff' : undefined, title: differs ? 'differs from the other side' : undefined, text: l.text }));
    if (i < lines.length - 1) pre.append('\n');
  });
  return pre;
}

/* ---------------------------------------------------------------- toasts */

function plainWords(err) {
  const code = err && err.code;
  const coll = err && err.collection ? `"${err.collection}"` : 'this collection';
  const status = err && err.status;
  switch (code) {
    case 'unauthorized':
      return status === 4001
        ? 'Your token expired. Reconnecting with a fresh one…'
        : 'The gateway did not accept this window’s token (missing, expired, or signed with another secret).';
    case 'forbidden':
      return `Your token does not allow access to ${coll}.`;
    case 'network':
      return 'Cannot reach the gateway. Your edits are kept in this window and sent once it is back.';
    case 'closed':
      if (status === 1001) return 'The gateway is restarting. Reconnecting…';
      if (status === 4008) return 'This window fell behind the live updates. Reconnecting and catching up…';
      if (status === 1009) return 'A message was too large for the gateway.';
      return 'The connection to the gateway closed. Reconnecting…';
    case 'policy':
      return 'The gateway refused this connection’s sign-in. Check the token.';
    case 'conflict':
      return `Someone else changed this item at the same time, and ${coll} keeps the stored version. See the conflict log.`;
    case 'invalid_version':
      return 'An edit did not fit the stored version and was refused; the list was refreshed.';
    case 'rate_limited':
      return 'The gateway is busy. Your writes will be retried shortly.';
    case 'unavailable':
      return 'The gateway cannot reach its database right now. Retrying…';
    case 'payload_too_large':
      return 'That item is too large to store.';
    case 'not_found':
      return 'That item no longer exists.';
    case 'bad_request':
      return 'The gateway refused a request it could not understand.';
    case 'internal':
      return 'The gateway had an internal error. Try again in a moment.';
    case 'timeout':
      return 'The gateway took too long to answer.';
    case 'token':
      return 'Could not get a sign-in token. Retrying…';
    case 'merge':
      return 'Merging your edit with the stored version failed; the stored version was kept.';
    case 'no_websocket':
      return 'This browser has no WebSocket support, so live updates cannot work.';
    default:
      return 'Something went wrong talking to the gateway.';
  }
}

function toast(text, { kind = 'error', detail = '', ms = 9000 } = {}) {
  const box = $('toasts');
  for (const t of box.children) {
    if (t.dataset.text === text) {
      const n = Number(t.dataset.times || 1) + 1;
      t.dataset.times = String(n);
      t.querySelector('.times').textContent = `×${n}`;
      clearTimeout(t._timer);
      t._timer = setTimeout(() => t.remove(), ms);
      return t;
    }
  }
  const close = el('button', { type: 'button', 'aria-label': 'Dismiss', text: '×' });
  const t = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-text': text, title: detail || undefined },
    el('p', {}, text, el('span', { class: 'times' })), close);
  close.addEventListener('click', () => t.remove());
  t.addEventListener('keydown', (e) => { if (e.key === 'Escape') t.remove(); });
  t._timer = setTimeout(() => t.remove(), ms);
  box.append(t);
  while (box.children.length > 3) box.firstElementChild.remove();
  return t;
}

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

/* ---------------------------------------------------------------- status */

function statusText(s) {
  if (s === 'online') return 'Online';
  if (s === 'connecting') return 'Connecting…';
  if (state.userOffline) return 'Offline';
  return state.signInRefused ? 'Offline · sign-in refused' : 'Offline · retrying';
}

function refreshStatus(s, detail = {}) {
  const sg = state.sg;
  const status = s || (sg ? sg.status : 'connecting');
  if (status !== 'offline') state.signInRefused = false;
  $('status').dataset.status = status;
  $('status-text').textContent = statusText(status);
  const node = status === 'online' ? (sg && sg.node) || detail.node || state.lastNode : state.lastNode;
  if (status === 'online' && node) state.lastNode = node;
  $('node').textContent = node || '—';
  $('node').parentElement.classList.toggle('stale', status !== 'online' && !!node);
  $('ws-node').textContent = status === 'online' && node ? node : node ? `${node} (not connected)` : '—';
  refreshActor();
  refreshQueued();
}

function refreshActor() {
  const actor = state.sg && state.sg.actor;
  if (!actor) return;
  if ($('actor').textContent !== actor) {
    $('actor').textContent = actor;
    $('actor').title = actor;
    $('actor').style.setProperty('--actor-color', `hsl(${hue(actor)} 70% 50%)`);
    $('actor-full').textContent = actor;
  }
}

function refreshQueued() {
  const c = state.collection;
  const box = $('queued');
  if (!c || !state.sg) return;
  const n = c.pendingCount();
  const show = state.sg.status !== 'online' && n > 0;
  box.hidden = !show;
  if (show) box.textContent = `${plural(n, 'write', 'writes')} queued. ${n === 1 ? 'It is' : 'They are'} sent when this window is back online.`;
  box.dataset.count = String(n);
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

/* ---------------------------------------------------------------- conflicts */

function versionList(version, other) {
  const ul = el('ul', { class: 'vv', 'aria-label': 'version vector' });
  const entries = Object.entries(version || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!entries.length) ul.append(el('li', { text: '{}' }));
  for (const [actor, n] of entries) {
    const ahead = n > ((other || {})[actor] || 0);
    ul.append(el('li', {
      class: ahead ? 'ahead' : undefined,
      title: ahead ? 'an edit the other side does not have' : undefined,
      text: `${actor}: ${n}`,
    }));
  }
  return ul;
}

function sideBox(kind, heading, doc, other, extra) {
  const otherVersion = other && other.version;
  const data = dataBlock(doc && doc.data, !doc || doc.deleted, other && !other.deleted ? other.data : null,
    doc ? 'deleted' : 'nothing stored');
  const h3 = el('h3', {}, heading);
  if (extra) h3.append(extra);
  const box = el('div', { class: `side-box ${kind}` }, h3, data);
  if (doc) {
    box.append(el('div', { class: 'who' }, 'by ', el('span', { class: 'mono', text: doc.actor || '?' }),
      doc.timestamp ? ` · ${clock(doc.timestamp)}` : ''));
    box.append(versionList(doc.version, otherVersion));
  }
  return box;
}

function conflictSummary(ev) {
  const fb = ev.fallback ? `The resolver failed (${ev.reason || 'error'}), so the fallback policy "${ev.fallback}" decided: ` : '';
  if (ev.winner === 'resolver') return `${fb}the app’s resolver merged both versions.`;
  if (ev.policy === 'reject' || (ev.fallback === 'reject')) {
    return `${fb}the write was refused; the stored version stays and the writer must merge.`;
  }
  if (ev.winner === 'incoming') return `${fb}last writer wins: the incoming edit is later, so it replaced the stored one.`;
  return `${fb}last writer wins: the stored edit is later, so the incoming one was not applied.`;
}

function addConflict(ev) {
  if (!ev || !ev.id) return;
  const key = ev.trail_id ? `${ev.collection}/${ev.trail_id}` : null;
  if (key) {
    if (state.conflictIds.has(key)) return;
    state.conflictIds.add(key);
  }
  const titled = [ev.result, ev.incoming, ev.stored].find((d) => d && d.data && typeof d.data.title === 'string');
  const name = titled ? titled.data.title : null;
  const time = ev.time || (ev.incoming && ev.incoming.timestamp) || Date.now();

  const head = el('div', { class: 'c-head' },
    el('span', { class: 'c-doc', title: `document ${ev.id}` }, name || el('span', { class: 'mono', text: ev.id })),
    el('span', { class: 'pill', title: 'collection', text: ev.collection }),
    el('span', { class: 'pill policy', title: 'the collection’s conflict policy', text: ev.policy }),
    el('span', { class: 'visually-hidden', text: 'winner:' }),
    el('span', { class: 'pill winner', title: 'who won', text: ev.winner }),
    ev.mine ? el('span', { class: 'pill mine', title: 'the incoming write came from this window', text: 'your edit' }) : null,
    ev.fallback ? el('span', { class: 'pill fallback', title: 'the resolver failed; the fallback decided', text: `fallback ${ev.fallback}${ev.reason ? ` · ${ev.reason}` : ''}` }) : null,
    el('time', { datetime: new Date(time).toISOString(), text: clock(time) }));

  const incoming = ev.incoming || null;
  const stored = ev.stored || null;
  const storedBox = sideBox('stored', 'Stored', stored, incoming);
  const incomingBox = sideBox('incoming', ev.mine ? 'Incoming · yours' : 'Incoming', incoming, stored);
  const li = el('li', {
    class: `conflict fresh${ev.mine ? ' mine' : ''}`,
    'data-id': ev.id,
    'data-collection': ev.collection,
    'data-winner': ev.winner,
    'data-policy': ev.policy,
    'data-mine': ev.mine ? 'true' : 'false',
    'data-trail-id': ev.trail_id,
  }, head, el('div', { class: 'sides' }, storedBox, incomingBox));

  if (ev.resolver) {
    const r = ev.resolver;
    const answer = r.answer ? { data: r.answer.data, deleted: !!r.answer.deleted } : null;
    const box = el('div', { class: 'side-box answer' },
      el('h3', {}, `Resolver answered · HTTP ${r.status || '—'} · ${r.ms ?? '?'} ms`),
      answer ? dataBlock(answer.data, answer.deleted, null, 'deleted')
        : el('pre', { class: 'data none', text: `no usable answer${ev.reason ? ` (${ev.reason})` : ''}` }));
    li.append(el('div', { class: 'resolver' }, box));
    if (ev.winner === 'resolver') box.classList.add('won');
  }
  if (ev.winner === 'stored') storedBox.classList.add('won');
  else if (ev.winner === 'incoming') incomingBox.classList.add('won');

  const now = ev.result ? formatData(ev.result.data, ev.result.deleted) : undefined;
  li.append(el('p', { class: 'c-foot' }, conflictSummary(ev),
    ev.applied ? '' : ' Nothing changed.',
    now !== undefined ? el('span', { class: 'visually-hidden', text: ` Now: ${now ?? 'deleted'}` }) : null));

  const ol = $('conflicts');
  ol.prepend(li);
  while (ol.children.length > MAX_CONFLICTS) ol.lastElementChild.remove();
  setTimeout(() => li.classList.remove('fresh'), 1600);
  state.conflictCount += 1;
  refreshConflicts();
}

function refreshConflicts() {
  const n = $('conflicts').children.length;
  $('conflicts-empty').hidden = n > 0;
  $('clear-conflicts').hidden = n === 0;
  $('conflict-count').hidden = n === 0;
  $('conflict-count').textContent = String(n);
}

/* ---------------------------------------------------------------- collections */

function loadWatchList() {
  try {
    const v = JSON.parse(localStorage.getItem(WATCH_KEY) || '[]');
    return Array.isArray(v) ? v.filter((n) => typeof n === 'string' && COLLECTION_RE.test(n)) : [];
  } catch {
    return [];
  }
}

function saveWatchList() {
  const extra = [...state.watched.keys()].filter((n) => n !== mainName && n !== 'carts');
  try { localStorage.setItem(WATCH_KEY, JSON.stringify(extra)); } catch { /* private mode */ }
}

function sparkline(times, now) {
  const svgNS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${BUCKETS * 6} 24`);
  svg.setAttribute('aria-hidden', 'true');
  const counts = new Array(BUCKETS).fill(0);
  const span = MINUTE / BUCKETS;
  for (const t of times) {
    const b = BUCKETS - 1 - Math.floor((now - t) / span);
    if (b >= 0 && b < BUCKETS) counts[b] += 1;
  }
  const max = Math.max(1, ...counts);
  counts.forEach((c, i) => {
    const h = c ? Math.max(2, Math.round((c / max) * 22)) : 1;
    const r = document.createElementNS(svgNS, 'rect');
    r.setAttribute('x', String(i * 6 + 1));
    r.setAttribute('y', String(24 - h));
    r.setAttribute('width', '4');
    r.setAttribute('height', String(h));
    r.setAttribute('rx', '1');
    r.setAttribute('fill', 'currentColor');
    r.setAttribute('opacity', c ? '0.9' : '0.25');
    svg.append(r);
  });
  return svg;
}

function watch(name) {
  if (!state.sg || state.watched.has(name)) return state.watched.get(name);
  const coll = name === mainName ? state.collection : state.sg.collection(name);
  const rate = el('span', { class: 'rate' });
  const offset = el('span', { class: 'offset' });
  const nameEl = el('span', { class: 'name' }, name, name === mainName ? el('span', { class: 'pill', text: 'this list' }) : null);
  const li = el('li', { 'data-collection': name }, nameEl, rate, offset);
  const w = {
    name,
    coll,
    li,
    times: [],
    offset: null,
    error: null,
    off: null,
    spark: null,
    render() {
      const now = Date.now();
      this.times = this.times.filter((t) => now - t < MINUTE);
      const n = this.times.length;
      rate.replaceChildren(String(n), el('small', { text: ' /min' }));
      rate.dataset.value = String(n);
      rate.title = `${plural(n, 'remote change', 'remote changes')} in the last minute`;
      li.classList.toggle('errored', !!this.error);
      offset.textContent = this.error ? this.error : this.offset ? `offset ${this.offset}` : 'no changes seen yet';
      offset.dataset.value = this.offset || '';
      const s = sparkline(this.times, now);
      if (this.spark) this.spark.replaceWith(s); else rate.after(s);
      this.spark = s;
    },
    fail(text) {
      this.error = text;
      this.render();
    },
  };
  w.off = coll.on('change', (ev) => {
    if (ev.doc && ev.doc.offset) w.offset = laterOffset(w.offset, ev.doc.offset);
    if (ev.source !== 'remote') { w.render(); return; }
    w.error = null;
    w.times.push(Date.now());
    w.render();
  });
  if (name !== mainName) {
    const un = el('button', { type: 'button', class: 'unfollow', 'aria-label': `Stop following ${name}`, title: 'Stop following', text: '×' });
    un.addEventListener('click', () => {
      if (w.off) w.off();
      li.remove();
      state.watched.delete(name);
      saveWatchList();
      $('watch-name').focus();
    });
    li.append(un);
  }
  state.watched.set(name, w);
  $('collections').append(li);
  w.render();
  Promise.resolve(coll.ready()).then(() => {
    for (const d of coll.docs()) if (d.offset) w.offset = laterOffset(w.offset, d.offset);
    w.render();
  }).catch((err) => w.fail(plainWords(err)));
  return w;
}

function initCollections() {
  const initial = [mainName, 'carts', ...loadWatchList()];
  for (const n of initial) watch(n);
  $('watch-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('watch-name');
    const name = input.value.trim();
    if (!COLLECTION_RE.test(name)) {
      toast('A collection name is letters, digits, "_", "." or "-" (starting with a letter or digit).', { kind: 'info' });
      return;
    }
    const existing = state.watched.get(name);
    if (existing) {
      existing.li.classList.remove('flash');
      void existing.li.offsetWidth;
      existing.li.classList.add('flash');
    } else {
      watch(name);
      saveWatchList();
    }
    input.value = '';
  });
  setInterval(() => {
    for (const w of state.watched.values()) w.render();
    refreshQueued();
  }, 2000);
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
