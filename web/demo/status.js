// status.js - the demo's connection indicator, actor and queued-writes line.
import { state } from './state.js';
import { $, plural, hue } from './ui.js';

/* ---------------------------------------------------------------- status */

export function statusText(s) {
  if (s === 'online') return 'Online';
  if (s === 'connecting') return 'Connecting…';
  if (state.userOffline) return 'Offline';
  return state.signInRefused ? 'Offline · sign-in refused' : 'Offline · retrying';
}

export function refreshStatus(s, detail = {}) {
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

export function refreshActor() {
  const actor = state.sg && state.sg.actor;
  if (!actor) return;
  if ($('actor').textContent !== actor) {
    $('actor').textContent = actor;
    $('actor').title = actor;
    $('actor').style.setProperty('--actor-color', `hsl(${hue(actor)} 70% 50%)`);
    $('actor-full').textContent = actor;
  }
}

export function refreshQueued() {
  const c = state.collection;
  const box = $('queued');
  if (!c || !state.sg) return;
  const n = c.pendingCount();
  const show = state.sg.status !== 'online' && n > 0;
  box.hidden = !show;
  if (show) box.textContent = `${plural(n, 'write', 'writes')} queued. ${n === 1 ? 'It is' : 'They are'} sent when this window is back online.`;
  box.dataset.count = String(n);
}
