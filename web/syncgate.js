// syncgate.js - the syncgate client library: a local copy of collections
// that stays in sync with the gateway, keeps working offline, survives
// reloads and reports how conflicts were settled. Plain ES module, no build
// step, no dependencies; runs in browsers, Node (pass `WebSocket`) and React
// Native (pass `storage`). docs/client.md is its manual.
//
//   import { SyncGate } from './syncgate.js';
//   const sg = new SyncGate({ url: 'https://sync.example.com', getToken });
//   const todos = sg.collection('todos');
//   todos.subscribe((docs) => render(docs));
//   await todos.put('a1', { title: 'milk' });
//
// How it works, in short: every write goes into a queue kept in storage and
// shows in the local copy at once; the queue is sent in order, each write
// with its version vector and an Idempotency-Key, so a write whose answer
// was lost is sent again safely. The gateway's states (list, live changes,
// answers) replace the local ones by version vector. The socket resumes from
// the last offset after a disconnect and reloads the collection on `reset`.

import { compareVersions, mergeVersions, nextVersion } from './syncgate/vv.js';
import { SyncGateError, Emitter, randomId } from './syncgate/events.js';
import { Collection, docFields } from './syncgate/collection.js';
import { backoffDelay, tokenRefreshDelay, readClaims } from './syncgate/timing.js';
import { memoryStorage, indexedDBStorage, stringStorage, openStorage } from './syncgate/storage.js';
import { Outbox, classifyAnswer } from './syncgate/outbox.js';
import { takeSlot, freeSlots } from './syncgate/slots.js';

export { compareVersions, mergeVersions, memoryStorage, indexedDBStorage, stringStorage, SyncGateError, Collection };

/** The library's version. */
export const VERSION = '0.2.0';

const REBASE_MAX = 5;
const REPORTED_MAX = 1000;

/**
 * A connection to a syncgate gateway: collections, the socket, the queue of
 * writes and the token.
 */
export class SyncGate {
  /** @param {import('./syncgate.d.ts').SyncGateOptions} [options] */
  constructor(options = {}) {
    const o = options;
    const origin = globalThis.location && globalThis.location.origin !== 'null' ? globalThis.location.origin : '';
    this._base = String(o.url ?? origin).replace(/\/+$/, '');
    if (!this._base && !globalThis.location) throw new TypeError('SyncGate: the url option is needed outside browsers');
    this._getToken = o.getToken || (() => null);
    this._WS = o.WebSocket || globalThis.WebSocket;
    this._fetch = o.fetch || globalThis.fetch?.bind(globalThis);
    if (!this._fetch) throw new TypeError('SyncGate: no fetch here; pass the fetch option');
    this._ns = o.name || 'syncgate';
    this._store = openStorage(o.storage, this._ns);
    this._backoff = { minMs: o.backoff?.minMs ?? 500, maxMs: o.backoff?.maxMs ?? 15000 };
    this._heartbeatMs = o.heartbeatMs ?? 15000;
    this._requestTimeoutMs = o.requestTimeoutMs ?? 30000;
    this._em = new Emitter();
    this._colls = new Map();
    this._waiters = new Map(); // queue entry -> {resolve, reject}
    this._flushWaiters = [];
    this._reported = new Set(); // conflicts already told (id + incoming version)
    this._status = o.offline ? 'offline' : 'connecting';
    this._wantOnline = !o.offline;
    this._closed = false;
    this._ws = null;
    this._welcomed = false;
    this._attempt = 0;
    this._pumpAttempt = 0;
    this._timers = {};
    this._token = null;
    this._tokenExp = 0;
    this._sub = null;
    this._node = null;
    this._device = o.device || null;
    this._slot = null;
    this._outbox = new Outbox(this._store, `${this._ns}:out:?:`);
    this._init = this._start();
    this._init.catch((e) => this._error(e));
    this._listenNetwork();
    if (this._wantOnline) this._connect();
  }

  /** The connection state now: 'connecting', 'online' or 'offline'. */
  get status() {
    return this._status;
  }

  /** This client's actor id ("<sub>:<device>.<tab>"), once known. */
  get actor() {
    if (this._slot === null || !this._device) return null;
    return `${this._sub || 'anonymous'}:${this._device}.${this._slot.n}`;
  }

  /** The node id of the gateway the socket is connected to. */
  get node() {
    return this._node;
  }

  /**
   * The collection (made on first use; options count on first use only).
   * @param {string} name
   * @param {import('./syncgate.d.ts').CollectionOptions} [options]
   * @returns {Collection}
   */
  collection(name, options = {}) {
    if (typeof name !== 'string' || !name) throw new TypeError('collection: the name must be a non-empty string');
    let c = this._colls.get(name);
    if (!c) {
      c = new Collection(this, name, options);
      this._colls.set(name, c);
      if (this._welcomed) this._startCollection(c, this._ws);
    }
    return c;
  }

  /** Listens to events of every collection; returns the remover. */
  on(name, fn) {
    return this._em.on(name, fn);
  }

  /** Cuts the socket and stops talking to the gateway; writes queue until goOnline(). */
  goOffline() {
    this._wantOnline = false;
    clearTimeout(this._timers.reconnect);
    clearTimeout(this._timers.pump);
    if (this._inflight) this._inflight.abort();
    this._dropSocket(1000, 'offline by request');
    this._setStatus('offline', { reason: 'goOffline' });
  }

  /** Connects again after goOffline() (or after a close 1008). */
  goOnline() {
    if (this._closed) return;
    this._wantOnline = true;
    this._attempt = 0;
    clearTimeout(this._timers.reconnect);
    this._connect();
  }

  /**
   * Resolves when every queued write was answered.
   * @param {number} [timeoutMs] rejects after this long (default: never)
   */
  flush(timeoutMs) {
    if (!this._outbox.count()) return this._init.then(() => undefined);
    return new Promise((resolve, reject) => {
      const w = { resolve };
      this._flushWaiters.push(w);
      if (timeoutMs) {
        setTimeout(() => {
          this._flushWaiters = this._flushWaiters.filter((x) => x !== w);
          reject(new SyncGateError('timeout', `flush: ${this._outbox.count()} writes still queued`));
        }, timeoutMs);
      }
    });
  }

  /** Closes the socket and stops every timer; the queue stays in storage. */
  close() {
    this._closed = true;
    this._wantOnline = false;
    for (const t of Object.values(this._timers)) {
      clearTimeout(t);
      clearInterval(t);
    }
    if (this._inflight) this._inflight.abort();
    this._dropSocket(1000, 'client closed');
    if (this._unlisten) this._unlisten();
    this._init.then(() => this._slot && this._slot.release(), () => {});
    this._setStatus('offline', { reason: 'closed' });
  }

  // ---- start: device, tab slot, queue ---------------------------------------

  async _start() {
    const st = this._store;
    if (!this._device) this._device = await this._deviceId();
    this._sub = (await st.get(`${this._ns}:sub`)) || null;
    this._slot = await takeSlot(this._ns);
    if (this._closed) this._slot.release();
    this._outbox = new Outbox(st, `${this._ns}:out:${this._slot.n}:`);
    await this._outbox.load();
    await this._adoptOrphans();
    // a reloaded tab may start before the old one let its slot go
    this._timers.adopt = setTimeout(() => {
      this._adoptOrphans().then((n) => {
        if (!n) return;
        for (const c of this._colls.values()) for (const id of c._ids()) c._touch(id, 'load');
        this._pump();
      }, (e) => this._error(e));
    }, 3000);
    if (!this._sub) {
      // the actor needs the subject: ask for a token now (offline, later)
      try {
        await this._refreshToken();
      } catch {
        /* offline on the first start: the actor says "anonymous" until a token comes */
      }
    }
    this._started = true;
  }

  /**
   * The device id kept in storage, made on first use. Tabs that start at
   * the same moment on a fresh profile make it under one Web Lock, so they
   * all get the same.
   */
  async _deviceId() {
    const key = `${this._ns}:device`;
    const readOrMake = async () => {
      let id = await this._store.get(key);
      if (!id) {
        id = randomId(10);
        await this._store.set(key, id);
      }
      return id;
    };
    const locks = globalThis.navigator?.locks;
    if (!locks) return readOrMake();
    return locks.request(`${this._ns}:device`, readOrMake);
  }

  /** Takes the queues of tab slots nobody holds (tabs closed with writes queued). */
  async _adoptOrphans() {
    const prefix = `${this._ns}:out:`;
    const slots = new Set();
    for (const k of await this._store.keys(prefix)) {
      const n = Number(k.slice(prefix.length).split(':')[0]);
      if (Number.isInteger(n) && n !== this._slot.n) slots.add(n);
    }
    let taken = 0;
    for (const s of await freeSlots(this._ns, [...slots])) {
      try {
        taken += await this._outbox.adopt(`${prefix}${s.n}:`);
      } finally {
        s.release();
      }
    }
    return taken;
  }

  // ---- events ---------------------------------------------------------------

  _emit(name, payload, coll) {
    this._em.emit(name, payload);
    if (coll) coll._em.emit(name, payload);
  }

  _error(err, coll) {
    const e = err instanceof SyncGateError ? err : new SyncGateError('client', String(err && err.message ? err.message : err));
    this._emit('error', e, coll);
  }

  _setStatus(status, detail = {}) {
    if (this._status === status && status !== 'online') return;
    this._status = status;
    const d = { ...detail, node: this._node || undefined };
    this._em.emit('status', status, d);
    for (const c of this._colls.values()) c._em.emit('status', status, d);
  }

  _listenNetwork() {
    const w = globalThis.window;
    if (!w || typeof w.addEventListener !== 'function') return;
    const off = () => this._dropSocket(4000, 'network offline', true);
    const on = () => {
      if (!this._wantOnline || this._ws) return;
      this._attempt = 0;
      clearTimeout(this._timers.reconnect);
      this._connect();
    };
    w.addEventListener('offline', off);
    w.addEventListener('online', on);
    this._unlisten = () => {
      w.removeEventListener('offline', off);
      w.removeEventListener('online', on);
    };
  }

  // ---- tokens ---------------------------------------------------------------

  _refreshToken() {
    if (!this._tokenPromise) {
      const p = Promise.resolve()
        .then(() => this._getToken())
        .then((t) => {
          this._setToken(t);
          return t;
        })
        .finally(() => {
          if (this._tokenPromise === p) this._tokenPromise = null;
        });
      this._tokenPromise = p;
    }
    return this._tokenPromise;
  }

  _setToken(t) {
    this._token = typeof t === 'string' && t ? t : null;
    clearTimeout(this._timers.token);
    const claims = this._token ? readClaims(this._token) : null;
    this._tokenExp = claims && typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
    if (claims && typeof claims.sub === 'string' && claims.sub !== this._sub) {
      this._sub = claims.sub;
      this._store.set(`${this._ns}:sub`, this._sub);
    }
    if (this._tokenExp && !this._closed) {
      this._timers.token = setTimeout(() => this._renewToken(), tokenRefreshDelay(this._tokenExp, Date.now()));
    }
  }

  /** Gets a new token before the old one expires and hands it to the socket. */
  async _renewToken() {
    try {
      await this._refreshToken();
      if (this._ws && this._welcomed && this._token) this._send({ type: 'auth', token: this._token });
    } catch (e) {
      this._error(new SyncGateError('token', `getToken failed: ${e && e.message ? e.message : e}`));
      this._timers.token = setTimeout(() => this._renewToken(), 5000);
    }
  }

  // ---- REST -----------------------------------------------------------------

  /**
   * One HTTP request; throws on no answer. A request that takes longer
   * than requestTimeoutMs is abandoned (a network that swallows packets
   * would otherwise hold the queue forever); signal aborts it early.
   */
  async _rest(method, path, body, headers = {}, signal) {
    const h = { ...headers };
    if (body !== undefined) h['content-type'] = 'application/json';
    if (this._token) h.authorization = `Bearer ${this._token}`;
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    const onAbort = () => ctrl.abort();
    if (ctrl && signal) signal.addEventListener('abort', onAbort);
    const timer = ctrl ? setTimeout(onAbort, this._requestTimeoutMs) : null;
    try {
      const res = await this._fetch(this._base + path, {
        method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: ctrl ? ctrl.signal : signal,
      });
      let json = null;
      try {
        json = await res.json();
      } catch {
        json = null;
      }
      return { status: res.status, body: json, headers: res.headers };
    } finally {
      clearTimeout(timer);
      if (ctrl && signal) signal.removeEventListener('abort', onAbort);
    }
  }

  /** A GET that gets a new token once on 401; throws SyncGateError otherwise. */
  async _get(path) {
    let r = await this._rest('GET', path);
    if (r.status === 401) {
      await this._refreshToken();
      r = await this._rest('GET', path);
    }
    if (r.status !== 200) {
      const err = r.body && r.body.error ? r.body.error : { code: 'http', message: `HTTP ${r.status}` };
      throw new SyncGateError(err.code, err.message, { status: r.status });
    }
    return r.body;
  }

  async _list(name) {
    const docs = [];
    let cursor = null;
    let offset = null;
    do {
      const q = `limit=500&include_deleted=true${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this._get(`/v1/collections/${encodeURIComponent(name)}/docs?${q}`);
      offset = offset || page.offset;
      docs.push(...page.docs);
      cursor = page.cursor;
    } while (cursor);
    return { docs, offset };
  }

  // ---- the socket -----------------------------------------------------------

  async _connect() {
    if (this._closed || !this._wantOnline || this._ws || this._connecting) return;
    this._connecting = true;
    this._setStatus('connecting');
    try {
      await this._init;
      if (!this._token || (this._tokenExp && this._tokenExp <= Date.now())) await this._refreshToken();
      const info = await this._get('/v1/info');
      if (this._closed || !this._wantOnline) return;
      if (!this._WS) throw new SyncGateError('no_websocket', 'no WebSocket here; pass the WebSocket option');
      const ws = new this._WS(info.ws_url);
      this._ws = ws;
      this._welcomed = false;
      this._lastRx = Date.now();
      ws.onopen = () => {
        if (this._ws === ws && this._token) ws.send(JSON.stringify({ type: 'auth', token: this._token }));
      };
      ws.onmessage = (ev) => {
        if (this._ws !== ws) return;
        this._lastRx = Date.now();
        let m;
        try {
          m = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data));
        } catch {
          return;
        }
        this._onMessage(m, ws);
      };
      ws.onclose = (ev) => {
        if (this._ws === ws) this._onClose(ev.code, ev.reason || '');
      };
      ws.onerror = () => {};
      this._startHeartbeat(ws);
    } catch (e) {
      if (e instanceof SyncGateError && e.status && e.status !== 503 && e.status < 500) this._error(e);
      this._setStatus('offline', { reason: e && e.message });
      this._scheduleReconnect();
    } finally {
      this._connecting = false;
    }
  }

  _scheduleReconnect(delay) {
    if (this._closed || !this._wantOnline) return;
    clearTimeout(this._timers.reconnect);
    const d = delay ?? backoffDelay(this._attempt++, this._backoff);
    this._timers.reconnect = setTimeout(() => this._connect(), d);
  }

  _startHeartbeat(ws) {
    clearInterval(this._timers.heartbeat);
    this._timers.heartbeat = setInterval(() => {
      if (this._ws !== ws) return;
      if (Date.now() - this._lastRx > this._heartbeatMs * 1.5) {
        this._dropSocket(4000, 'no answer to ping', true);
        return;
      }
      if (ws.readyState === 1) this._send({ type: 'ping' });
    }, this._heartbeatMs);
  }

  _send(m) {
    if (this._ws && this._ws.readyState === 1) this._ws.send(JSON.stringify(m));
  }

  /** Lets the socket go (its close event is ignored); reconnects when asked. */
  _dropSocket(code, reason, reconnect = false) {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    try {
      ws.close(code === 1000 ? 1000 : 4000, reason);
    } catch {
      /* already closing */
    }
    this._onClose(code, reason, reconnect);
  }

  _onClose(code, reason, reconnect = true) {
    this._ws = null;
    this._welcomed = false;
    clearInterval(this._timers.heartbeat);
    if (this._closed || !this._wantOnline) {
      this._setStatus('offline', { code, reason });
      return;
    }
    this._setStatus('offline', { code, reason });
    if (code === 1008) {
      // the gateway refused us for a reason that retrying does not fix
      this._wantOnline = false;
      this._error(new SyncGateError('policy', `the gateway refused the connection (1008): ${reason || 'policy'}`, { status: 1008 }));
      return;
    }
    if (!reconnect) return;
    if (code === 4001) {
      // the token expired: get a new one and come back at once
      this._token = null;
      this._attempt = 0;
      this._scheduleReconnect(0);
      return;
    }
    this._scheduleReconnect();
  }

  _onMessage(m, ws) {
    const c = m.collection !== undefined ? this._colls.get(m.collection) : undefined;
    switch (m.type) {
      case 'welcome':
        this._node = m.node || null;
        if (!this._welcomed) {
          this._welcomed = true;
          this._attempt = 0;
          this._setStatus('online', { node: this._node });
          for (const coll of this._colls.values()) this._startCollection(coll, ws);
          this._pump();
        }
        break;
      case 'change':
        if (!c) return;
        if (m.offset) c._offset = m.offset;
        c._applyServer(m, 'remote');
        this._releaseConflict(c, m.offset);
        break;
      case 'conflict':
        if (c) this._onConflict(c, m);
        break;
      case 'reset':
        if (!c) return;
        c._offset = m.offset;
        c._waitingConflicts.clear();
        this._emit('reset', { collection: c.name, reason: m.reason, offset: m.offset }, c);
        c._load().catch((e) => {
          this._error(e, c);
          this._dropSocket(4000, 'reload failed', true);
        });
        break;
      case 'error':
        this._error(new SyncGateError(m.code || 'error', m.message || 'error from the gateway', { collection: m.collection }), c);
        break;
      default:
        break; // subscribed, unsubscribed, pong
    }
  }

  /** Loads a collection (first time this session), then subscribes from its offset. */
  async _startCollection(c, ws) {
    try {
      await c._ready;
      if (!c._loaded) await c._load();
      if (this._ws !== ws || !this._welcomed) return;
      this._send({ type: 'subscribe', collection: c.name, since: c._offset, conflicts: true });
    } catch (e) {
      if (this._ws !== ws) return;
      this._error(e, c);
      this._dropSocket(4000, 'load failed', true);
    }
  }

  // ---- conflicts ------------------------------------------------------------

  _mine(actor) {
    return typeof actor === 'string' && this._device && actor.startsWith(`${this._sub}:${this._device}.`);
  }

  _reportOnce(id, version) {
    const key = `${id}\n${JSON.stringify(Object.entries(version || {}).sort())}`;
    if (this._reported.has(key)) return false;
    this._reported.add(key);
    if (this._reported.size > REPORTED_MAX) this._reported.delete(this._reported.values().next().value);
    return true;
  }

  _onConflict(c, m) {
    const { type, ...entry } = m;
    // an own write refused (reject) is told from its 409 answer, which
    // also knows whether the app's merge took it
    if (!m.applied && this._mine(m.incoming && m.incoming.actor)) return;
    if (!this._reportOnce(m.id, m.incoming && m.incoming.version)) return;
    const ev = { ...entry, mine: this._mine(m.incoming && m.incoming.actor), result: null };
    if (m.applied && m.offset) {
      c._waitingConflicts.set(m.offset, ev); // told when its change is applied
      return;
    }
    ev.result = c._view.get(m.id) || null;
    this._emit('conflict', ev, c);
  }

  _releaseConflict(c, offset) {
    const ev = offset && c._waitingConflicts.get(offset);
    if (!ev) return;
    c._waitingConflicts.delete(offset);
    ev.result = c._view.get(ev.id) || null;
    this._emit('conflict', ev, c);
  }

  // ---- writes ---------------------------------------------------------------

  _write(c, id, data, deleted) {
    if (typeof id !== 'string' || !id) return Promise.reject(new TypeError('the document id must be a non-empty string'));
    if (this._closed) return Promise.reject(new SyncGateError('closed', 'this SyncGate is closed'));
    try {
      if (!deleted) JSON.stringify(data); // throws for what JSON cannot carry
    } catch (e) {
      return Promise.reject(e);
    }
    // the local copy changes at once once storage was read (before that, right after)
    if (this._started && c._restored) return this._enqueue(c, id, data, deleted);
    return Promise.all([this._init, c._ready]).then(() => this._enqueue(c, id, data, deleted));
  }

  _enqueue(c, id, data, deleted) {
    const actor = this.actor;
    const base = c._view.get(id);
    const version = nextVersion(base && base.version, actor, this._outbox.usedOwn(c.name, id, actor));
    const e = this._outbox.add({
      collection: c.name, id, deleted, data: deleted ? null : data, version, actor,
      timestamp: Date.now(), key: `${actor}.${randomId(16)}`,
    });
    const p = new Promise((resolve, reject) => this._waiters.set(e, { resolve, reject }));
    // the request leaves before the listeners render the local change
    const online = this._status === 'online';
    if (online) this._pump();
    c._touch(id, 'local');
    if (!online) this._settle(e, { queued: true, applied: false, doc: c._view.get(id) || null });
    return p;
  }

  _settle(e, result, err) {
    const w = this._waiters.get(e);
    if (!w) return;
    this._waiters.delete(e);
    if (err) w.reject(err);
    else w.resolve(result);
  }

  /** Sends the queue in order, one write at a time, while online. */
  async _pump() {
    if (this._pumping) return;
    this._pumping = true;
    try {
      while (this._status === 'online' && !this._closed) {
        const e = this._outbox.head();
        if (!e) break;
        if (await this._push(e) === 'stop') break;
      }
    } catch (err) {
      this._error(err);
    } finally {
      this._pumping = false;
    }
    this._maybeFlushed();
  }

  _pumpLater(ms) {
    clearTimeout(this._timers.pump);
    this._timers.pump = setTimeout(() => this._pump(), ms ?? backoffDelay(this._pumpAttempt++, this._backoff));
  }

  /** Sends one queued write and acts on the answer; 'stop' ends the pump for now. */
  async _push(e) {
    const c = this.collection(e.collection);
    this._claim(e);
    const path = `/v1/collections/${encodeURIComponent(e.collection)}/docs/${encodeURIComponent(e.id)}`;
    const body = { version: e.version, actor: e.actor, timestamp: e.timestamp };
    if (!e.deleted) body.data = e.data;
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    this._inflight = ctrl;
    let r;
    try {
      r = await this._rest(e.deleted ? 'DELETE' : 'PUT', path, body, { 'idempotency-key': e.key }, ctrl && ctrl.signal);
    } catch {
      // no answer: the same write (same key) goes again later
      this._settle(e, { queued: true, applied: false, doc: c._view.get(e.id) || null });
      if (this._wantOnline) this._pumpLater();
      return 'stop';
    } finally {
      this._inflight = null;
    }
    if (this._outbox.head() !== e) return 'next'; // (cannot happen: one pump)
    const kind = classifyAnswer(r.status, r.body, e);
    if (kind !== 'retry') this._pumpAttempt = 0;
    switch (kind) {
      case 'done':
        return this._done(c, e, r.body);
      case 'stale':
        return this._rebase(c, e, r.body);
      case 'conflict':
        return this._refusedConflict(c, e, r.body.stored);
      case 'auth':
        if (!e.authRetried) {
          e.authRetried = true;
          await this._refreshToken().catch(() => {});
          return 'next';
        }
        e.authRetried = false;
        this._error(new SyncGateError('unauthorized', r.body?.error?.message || 'the gateway refused the token', { status: 401, collection: e.collection, id: e.id }), c);
        this._settle(e, { queued: true, applied: false, doc: c._view.get(e.id) || null });
        this._pumpLater();
        return 'stop';
      case 'retry': {
        this._settle(e, { queued: true, applied: false, doc: c._view.get(e.id) || null });
        const after = Number(r.headers && r.headers.get && r.headers.get('retry-after'));
        this._pumpLater(after > 0 ? after * 1000 : undefined);
        return 'stop';
      }
      default:
        return this._refused(c, e, r);
    }
  }

  /**
   * An edit made before any token was seen carries the actor "anonymous:...";
   * once the subject is known it becomes this tab's actor (same count).
   */
  _claim(e) {
    if (!this._sub || !e.actor.startsWith('anonymous:')) return;
    const actor = `${this._sub}${e.actor.slice('anonymous'.length)}`;
    const { [e.actor]: own, ...rest } = e.version;
    e.version = { ...rest, [actor]: Math.max(own || 0, rest[actor] || 0) };
    e.actor = actor;
    e.key = `${actor}.${randomId(16)}`;
    this._outbox.update(e);
  }

  async _done(c, e, answer) {
    await this._outbox.remove(e);
    if (answer && answer.version) c._applyServer({ ...answer, collection: e.collection, id: e.id }, 'remote');
    else c._touch(e.id, 'remote');
    const doc = answer && answer.version ? docFields({ ...answer, collection: e.collection, id: e.id }) : null;
    this._settle(e, { queued: false, applied: Boolean(answer && answer.applied), doc, ...(answer && answer.conflict ? { conflict: answer.conflict } : {}) });
    this._maybeFlushed();
    return 'next';
  }

  /**
   * The gateway holds a larger own count than the entry carries (it took
   * the write for one it has, with other data): the same edit again with
   * the own entry past the gateway's. The entry keeps its place.
   */
  async _rebase(c, e, stored) {
    if ((e.rebases || 0) >= REBASE_MAX) {
      return this._refused(c, e, { status: 409, body: { error: { code: 'conflict', message: 'the document kept changing' } } });
    }
    if (stored && stored.version) c._applyServer({ ...stored, collection: e.collection, id: e.id }, 'remote');
    e.version = nextVersion(e.version, e.actor, stored && stored.version ? stored.version[e.actor] || 0 : 0);
    e.key = `${e.actor}.${randomId(16)}`;
    e.rebases = (e.rebases || 0) + 1;
    await this._outbox.update(e);
    c._touch(e.id, 'local');
    return 'next';
  }

  /** 409 conflict on a reject collection: the app's merge, or a report. */
  async _refusedConflict(c, e, stored) {
    const storedDoc = docFields({ ...stored, collection: e.collection, id: e.id });
    const incoming = { data: e.data, deleted: e.deleted, version: e.version, actor: e.actor, timestamp: e.timestamp };
    c._applyServer(storedDoc, 'remote');
    let merged;
    if (c._merge) {
      try {
        merged = await c._merge({ data: e.data, deleted: e.deleted }, storedDoc);
      } catch (err) {
        this._error(new SyncGateError('merge', `merge threw: ${err && err.message ? err.message : err}`, { collection: e.collection, id: e.id }), c);
        merged = undefined;
      }
    }
    if (this._reportOnce(e.id, e.version)) {
      const { data, deleted, version, actor, timestamp } = storedDoc;
      this._emit('conflict', {
        collection: e.collection, id: e.id, policy: 'reject', winner: 'stored', applied: false,
        stored: { data, deleted, version, actor, timestamp }, incoming, mine: true,
        merged: merged !== undefined, result: merged !== undefined ? null : c._view.get(e.id) || null,
      }, c);
    }
    if (merged !== undefined && (e.rebases || 0) < REBASE_MAX) {
      e.version = nextVersion(mergeVersions(e.version, storedDoc.version), e.actor);
      e.data = merged;
      e.deleted = false;
      e.key = `${e.actor}.${randomId(16)}`;
      e.rebases = (e.rebases || 0) + 1;
      await this._outbox.update(e);
      c._touch(e.id, 'local');
      return 'next';
    }
    await this._outbox.remove(e);
    c._touch(e.id, 'rollback');
    this._settle(e, { queued: false, applied: false, doc: storedDoc, conflict: { policy: 'reject', winner: 'stored' } });
    this._maybeFlushed();
    return 'next';
  }

  /** The gateway refused the write for good: roll the local copy back and tell. */
  async _refused(c, e, r) {
    await this._outbox.remove(e);
    c._touch(e.id, 'rollback');
    const er = r.body && r.body.error ? r.body.error : { code: 'http', message: `HTTP ${r.status}` };
    const err = new SyncGateError(er.code, er.message, { status: r.status, collection: e.collection, id: e.id });
    this._error(err, c);
    const w = this._waiters.get(e);
    if (w) this._settle(e, null, err);
    if (er.code === 'invalid_version') {
      // our idea of the document is off: read it again
      this._get(`/v1/collections/${encodeURIComponent(e.collection)}/docs/${encodeURIComponent(e.id)}?include_deleted=true`)
        .then((d) => c._applyServer(d, 'load'), () => {});
    }
    this._maybeFlushed();
    return 'next';
  }

  _maybeFlushed() {
    if (this._outbox.count()) return;
    const ws = this._flushWaiters;
    this._flushWaiters = [];
    for (const w of ws) w.resolve();
  }
}
