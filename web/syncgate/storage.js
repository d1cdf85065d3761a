// storage.js - where the syncgate client keeps its local copy, its queue of
// writes and its device id: an async key-value store of JSON values. Three
// kinds: in memory, IndexedDB (browsers), and any string store with
// getItem/setItem/removeItem/getAllKeys (React Native's AsyncStorage).

/**
 * A store that lives as long as the process.
 * @returns {import('../syncgate.d.ts').Storage}
 */
export function memoryStorage() {
  const m = new Map();
  return {
    get: (k) => (m.has(k) ? structuredCopy(m.get(k)) : undefined),
    set: (k, v) => { m.set(k, structuredCopy(v)); },
    delete: (k) => { m.delete(k); },
    keys: (prefix) => [...m.keys()].filter((k) => k.startsWith(prefix)).sort(),
  };
}

function structuredCopy(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}

/**
 * A store in IndexedDB (one database, one object store "kv"). Writes made
 * in the same tick go in one transaction; reads see writes not yet committed.
 * @param {string} [dbName]
 * @returns {import('../syncgate.d.ts').Storage}
 */
export function indexedDBStorage(dbName = 'syncgate') {
  const idb = globalThis.indexedDB;
  if (!idb) throw new Error('indexedDBStorage: this environment has no indexedDB');
  let dbp = null;
  const pending = new Map(); // key -> value, or undefined for a delete
  let flushing = null;

  const open = () => {
    if (!dbp) {
      dbp = new Promise((resolve, reject) => {
        const rq = idb.open(dbName, 1);
        rq.onupgradeneeded = () => rq.result.createObjectStore('kv');
        rq.onsuccess = () => resolve(rq.result);
        rq.onerror = () => reject(rq.error);
      });
    }
    return dbp;
  };
  const request = (rq) => new Promise((resolve, reject) => {
    rq.onsuccess = () => resolve(rq.result);
    rq.onerror = () => reject(rq.error);
  });
  const flush = async () => {
    await Promise.resolve();
    const ops = [...pending];
    pending.clear();
    flushing = null;
    if (!ops.length) return;
    const db = await open();
    await new Promise((resolve, reject) => {
      const tx = db.transaction('kv', 'readwrite');
      const st = tx.objectStore('kv');
      for (const [k, v] of ops) {
        if (v === undefined) st.delete(k);
        else st.put(v, k);
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  const schedule = () => {
    if (!flushing) flushing = flush();
    return flushing;
  };

  return {
    async get(k) {
      if (pending.has(k)) return structuredCopy(pending.get(k));
      const db = await open();
      return request(db.transaction('kv').objectStore('kv').get(k));
    },
    set(k, v) {
      pending.set(k, structuredCopy(v));
      return schedule();
    },
    delete(k) {
      pending.set(k, undefined);
      return schedule();
    },
    async keys(prefix) {
      const db = await open();
      const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
      const stored = await request(db.transaction('kv').objectStore('kv').getAllKeys(range));
      const set = new Set(stored.map(String));
      for (const [k, v] of pending) {
        if (!k.startsWith(prefix)) continue;
        if (v === undefined) set.delete(k);
        else set.add(k);
      }
      return [...set].sort();
    },
  };
}

/**
 * A store over a string key-value store (AsyncStorage, localStorage-like):
 * values are JSON text under prefix + key.
 * @param {import('../syncgate.d.ts').StringStore} store
 * @param {string} [prefix]
 * @returns {import('../syncgate.d.ts').Storage}
 */
export function stringStorage(store, prefix = '') {
  return {
    async get(k) {
      const s = await store.getItem(prefix + k);
      return s == null ? undefined : JSON.parse(s);
    },
    set: (k, v) => store.setItem(prefix + k, JSON.stringify(v)),
    delete: (k) => store.removeItem(prefix + k),
    async keys(p) {
      const all = await store.getAllKeys();
      const full = prefix + p;
      return all.filter((k) => k.startsWith(full)).map((k) => k.slice(prefix.length)).sort();
    },
  };
}

/**
 * The store the `storage` option names: 'indexeddb' (the default where
 * indexedDB exists, else memory), 'memory', or the app's own object.
 * @param {string|object|undefined} option
 * @param {string} name the database name for IndexedDB
 * @returns {import('../syncgate.d.ts').Storage}
 */
export function openStorage(option, name) {
  if (option && typeof option === 'object') {
    for (const m of ['get', 'set', 'delete', 'keys']) {
      if (typeof option[m] !== 'function') throw new TypeError(`storage: the object has no ${m}() method`);
    }
    return option;
  }
  if (option === 'memory') return memoryStorage();
  if (option === undefined || option === 'indexeddb') {
    if (globalThis.indexedDB) return indexedDBStorage(name);
    if (option === 'indexeddb') throw new Error('storage: indexeddb is not available here');
    return memoryStorage();
  }
  throw new TypeError(`storage: unknown kind ${String(option)}`);
}
