// collection.js - one collection's local copy in the syncgate client: the
// gateway's states as known, with the queued local edits on top, and the
// listeners that are told when a document's local state changes.

import { compareVersions, replacesKnown, covers, jsonEqual } from './vv.js';
import { Emitter } from './events.js';

export const docFields = (d) => ({
  collection: d.collection,
  id: d.id,
  data: d.deleted ? null : d.data,
  deleted: Boolean(d.deleted),
  version: d.version || {},
  actor: d.actor,
  timestamp: d.timestamp,
  ...(d.offset ? { offset: d.offset } : {}),
});

const sameState = (a, b) => {
  if (!a || !b) return a === b;
  return Boolean(a.pending) === Boolean(b.pending) && a.deleted === b.deleted
    && compareVersions(a.version, b.version) === 'equal' && jsonEqual(a.data, b.data);
};

/**
 * One collection's local copy. Made by SyncGate#collection.
 * @template T
 */
export class Collection {
  /** @param {SyncGate} sg @param {string} name @param {object} opts */
  constructor(sg, name, opts) {
    /** The collection's name. */
    this.name = name;
    this._sg = sg;
    this._merge = opts.merge;
    this._server = new Map(); // id -> the gateway's state as known
    this._view = new Map(); // id -> the local state (queued edits on top), tombstones too
    this._visible = new Map(); // id -> the local state, no tombstones
    this._offset = null; // where this session's subscription resumes
    this._loaded = false; // listed from the gateway in this session
    this._buffer = null; // changes that arrive during a reload
    this._waitingConflicts = new Map(); // offset -> conflict event waiting for its change
    this._subs = new Set();
    this._em = new Emitter();
    this._ready = this._restore();
  }

  /** Resolves once the local copy is read from storage. */
  ready() {
    return this._ready;
  }

  /**
   * Calls cb with the documents now (a Map id -> doc, tombstones left out;
   * the same live Map every time), then after every change.
   * @param {(docs: Map<string, object>, change: object|null) => void} cb
   * @returns {() => void} stops the calls
   */
  subscribe(cb) {
    if (typeof cb !== 'function') throw new TypeError('subscribe: the callback must be a function');
    let on = true;
    this._ready.then(() => {
      if (!on) return;
      this._subs.add(cb);
      cb(this._visible, null);
    });
    return () => {
      on = false;
      this._subs.delete(cb);
    };
  }

  /** The local state of one document, undefined when absent or deleted. */
  get(id) {
    return this._visible.get(id);
  }

  /** The local documents, tombstones left out. */
  docs() {
    return [...this._visible.values()];
  }

  /** Writes data; the local copy changes at once. */
  put(id, data) {
    if (data === undefined) return Promise.reject(new TypeError('put: data is undefined (use delete)'));
    return this._sg._write(this, id, data, false);
  }

  /** Deletes a document; the local copy changes at once. */
  delete(id) {
    return this._sg._write(this, id, null, true);
  }

  /** Writes of this collection that wait for the gateway. */
  pendingCount() {
    return this._sg._outbox ? this._sg._outbox.count(this.name) : 0;
  }

  /** Listens to events of this collection only; returns the remover. */
  on(name, fn) {
    return this._em.on(name, fn);
  }

  // ---- internals ------------------------------------------------------------

  _key(id) {
    return `${this._sg._ns}:doc:${this.name}:${id}`;
  }

  async _restore() {
    await this._sg._init;
    const prefix = `${this._sg._ns}:doc:${this.name}:`;
    const keys = await this._sg._store.keys(prefix);
    const docs = await Promise.all(keys.map((k) => this._sg._store.get(k)));
    for (const d of docs) {
      if (d && d.id && !this._server.has(d.id)) this._server.set(d.id, d);
    }
    for (const id of this._ids()) this._touch(id, 'load');
    this._restored = true;
  }

  _ids() {
    const ids = new Set(this._server.keys());
    for (const e of this._sg._outbox.entries) if (e.collection === this.name) ids.add(e.id);
    for (const id of this._view.keys()) ids.add(id);
    return ids;
  }

  _setServer(doc) {
    this._server.set(doc.id, doc);
    this._sg._store.set(this._key(doc.id), doc);
  }

  _dropServer(id) {
    this._server.delete(id);
    this._sg._store.delete(this._key(id));
  }

  /** A state from the gateway: it replaces the known one unless older. */
  _applyServer(doc, source) {
    const d = docFields(doc);
    if (this._buffer) this._buffer.push(d);
    if (replacesKnown(this._server.get(d.id), d)) this._setServer(d);
    this._touch(d.id, source);
  }

  /** Recomputes one document's local state; tells listeners when it changed. */
  _touch(id, source) {
    const srv = this._server.get(id);
    const e = this._sg._outbox.latest(this.name, id);
    let v = srv || null;
    if (e && !covers(srv, e.version)) {
      v = {
        collection: this.name, id, data: e.deleted ? null : e.data, deleted: e.deleted,
        version: e.version, actor: e.actor, timestamp: e.timestamp, pending: true,
      };
    }
    const prev = this._view.get(id) || null;
    if (sameState(prev, v)) {
      if (v) this._view.set(id, v);
      return;
    }
    if (v) this._view.set(id, v);
    else this._view.delete(id);
    if (v && !v.deleted) this._visible.set(id, v);
    else this._visible.delete(id);
    const ev = { collection: this.name, id, doc: v && !v.deleted ? v : null, source };
    this._sg._emit('change', ev, this);
    for (const cb of [...this._subs]) {
      try {
        cb(this._visible, ev);
      } catch (err) {
        setTimeout(() => { throw err; }, 0);
      }
    }
  }

  /**
   * Loads every page of the collection from the gateway and makes it the
   * known state (changes that arrive meanwhile are applied on top, by
   * version). Sets the resume offset unless a subscription already has one.
   */
  async _load() {
    const buffer = [];
    this._buffer = buffer;
    try {
      const { docs, offset } = await this._sg._list(this.name);
      const fresh = new Map(docs.map((d) => [d.id, docFields(d)]));
      for (const d of buffer) if (replacesKnown(fresh.get(d.id), d)) fresh.set(d.id, d);
      const ids = this._ids();
      for (const id of this._server.keys()) if (!fresh.has(id)) this._dropServer(id);
      for (const [id, d] of fresh) {
        const cur = this._server.get(id);
        if (!cur || !jsonEqual(cur, d)) this._setServer(d);
        ids.add(id);
      }
      if (!this._loaded) this._offset = offset;
      this._loaded = true;
      for (const id of ids) this._touch(id, 'load');
    } finally {
      if (this._buffer === buffer) this._buffer = null;
    }
  }
}

