// collections.js - the demo's followed collections and their live change rate.
import { COLLECTION_RE, WATCH_KEY, MINUTE, BUCKETS, mainName, state } from './state.js';
import { $, el, plural, laterOffset, plainWords, toast } from './ui.js';
import { refreshQueued } from './status.js';

/* ---------------------------------------------------------------- collections */

export function loadWatchList() {
  try {
    const v = JSON.parse(localStorage.getItem(WATCH_KEY) || '[]');
    return Array.isArray(v) ? v.filter((n) => typeof n === 'string' && COLLECTION_RE.test(n)) : [];
  } catch {
    return [];
  }
}

export function saveWatchList() {
  const extra = [...state.watched.keys()].filter((n) => n !== mainName && n !== 'carts');
  try { localStorage.setItem(WATCH_KEY, JSON.stringify(extra)); } catch { /* private mode */ }
}

export function sparkline(times, now) {
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

export function watch(name) {
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

export function initCollections() {
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
