// conflicts.js - the demo's conflict log: both versions side by side, the
// policy, the winner and the resolver's answer.
import { MAX_CONFLICTS, state } from './state.js';
import { $, el, clock, formatData, dataBlock } from './ui.js';

/* ---------------------------------------------------------------- conflicts */

export function versionList(version, other) {
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

export function sideBox(kind, heading, doc, other, extra) {
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

export function conflictSummary(ev) {
  const fb = ev.fallback ? `The resolver failed (${ev.reason || 'error'}), so the fallback policy "${ev.fallback}" decided: ` : '';
  if (ev.winner === 'resolver') return `${fb}the app’s resolver merged both versions.`;
  if (ev.policy === 'reject' || (ev.fallback === 'reject')) {
    return `${fb}the write was refused; the stored version stays and the writer must merge.`;
  }
  if (ev.winner === 'incoming') return `${fb}last writer wins: the incoming edit is later, so it replaced the stored one.`;
  return `${fb}last writer wins: the stored edit is later, so the incoming one was not applied.`;
}

export function addConflict(ev) {
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

export function refreshConflicts() {
  const n = $('conflicts').children.length;
  $('conflicts-empty').hidden = n > 0;
  $('clear-conflicts').hidden = n === 0;
  $('conflict-count').hidden = n === 0;
  $('conflict-count').textContent = String(n);
}
