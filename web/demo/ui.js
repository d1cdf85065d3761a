// ui.js - the demo page's small DOM helpers, formatting and toasts.

export const $ = (id) => document.getElementById(id);

/* ---------------------------------------------------------------- helpers */

export function el(tag, attrs = {}, ...children) {
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

export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  const random = [...bytes].map((b) => b.toString(36).padStart(2, '0')).join('').slice(0, 8);
  return `${Date.now().toString(36)}-${random}`;
}

export function hue(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % 360;
}

export function clock(ms) {
  if (!Number.isFinite(ms)) return '';
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "<epoch>:<seq>" -> [epoch, seq]; larger seq is later within an epoch. */
export function parseOffset(o) {
  if (typeof o !== 'string') return null;
  const i = o.lastIndexOf(':');
  if (i < 0) return null;
  const seq = Number(o.slice(i + 1));
  return Number.isFinite(seq) ? [o.slice(0, i), seq] : null;
}

export function laterOffset(a, b) {
  const pa = parseOffset(a);
  const pb = parseOffset(b);
  if (!pb) return a;
  if (!pa) return b;
  if (pa[0] !== pb[0]) return b; // another epoch: the newer report wins
  return pb[1] > pa[1] ? b : a;
}

/** A title for any document of the collection (todos have one; others get their JSON). */
export function titleOf(data) {
  if (data && typeof data === 'object' && typeof data.title === 'string') return data.title;
  if (data === null || data === undefined) return '';
  const s = JSON.stringify(data);
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

/** Data as short readable lines, one per top-level key: [{key, text}]; null for none. */
export function dataLines(data, deleted) {
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

export function formatData(data, deleted) {
  const lines = dataLines(data, deleted);
  return lines ? lines.map((l) => l.text).join('\n') : null;
}

/** The data as a <pre>; keys whose value differs from other's are marked. */
export function dataBlock(data, deleted, other, emptyText) {
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

export function plainWords(err) {
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

export function toast(text, { kind = 'error', detail = '', ms = 9000 } = {}) {
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
