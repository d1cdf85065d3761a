// state.js - the demo page's settings and the state its parts share.

export const COLLECTION_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const TOKEN_KEY = 'syncgate-demo.token';
export const WATCH_KEY = 'syncgate-demo.watch';
export const MINUTE = 60000;
export const BUCKETS = 12; // sparkline: 12 buckets of 5 s over the last minute
export const MAX_CONFLICTS = 100;

export const params = new URLSearchParams(location.search);
export const requested = params.get('c');
export const mainName = requested && COLLECTION_RE.test(requested) ? requested : 'todos';

export const state = {
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
