// syncgate.js - a small browser client for syncgate (plain ES module, no
// build step). It loads a collection over REST, keeps it live over the
// WebSocket (resuming with `since` after a disconnect, reloading after a
// `reset`), and writes with version vectors so that concurrent edits are
// detected by the gateway, never silently lost.
//
//   const c = new SyncClient({ token, actor: 'alice:laptop' });
//   await c.open('todos', (docs, change) => render(docs));
//   await c.put('todos', 'a1', { title: 'milk' });

export class SyncClient {
  constructor({ base = '', token = '', actor = '', onStatus = () => {} } = {}) {
    this.base = base;
    this.token = token;
    this.actor = actor;
    this.onStatus = onStatus;
    this.colls = new Map(); // name -> { docs: Map, offset, listener }
    this.ws = null;
    this.retry = 0;
    this.closed = false;
  }

  headers() {
    const h = { 'content-type': 'application/json' };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  async rest(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: this.headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    return { status: res.status, json };
  }

  /** Loads every page of a collection; returns the offset of the first page. */
  async load(name) {
    const docs = new Map();
    let cursor = null;
    let offset = null;
    do {
      const q = `limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.rest('GET', `/v1/collections/${name}/docs?${q}`);
      if (r.status !== 200) throw new Error(r.json.error ? r.json.error.message : `HTTP ${r.status}`);
      offset = offset || r.json.offset;
      for (const d of r.json.docs) docs.set(d.id, d);
      cursor = r.json.cursor;
    } while (cursor);
    return { docs, offset };
  }

  /** Opens a collection: load, then follow live; listener(docs, change). */
  async open(name, listener) {
    const { docs, offset } = await this.load(name);
    this.colls.set(name, { docs, offset, listener });
    listener(docs, null);
    await this.connect();
    this.subscribe(name);
  }

  async connect() {
    if (this.ws) return;
    const info = await (await fetch(`${this.base}/v1/info`)).json();
    const ws = new WebSocket(info.ws_url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.token) ws.send(JSON.stringify({ type: 'auth', token: this.token }));
    };
    ws.onmessage = (ev) => this.handle(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      this.ws = null;
      this.onStatus(`disconnected (${ev.code})`);
      if (this.closed || ev.code === 1008 || ev.code === 4001) return;
      // full jitter backoff: 0.5 s base, 10 s cap
      const delay = Math.random() * Math.min(10000, 500 * 2 ** this.retry++);
      setTimeout(() => this.connect().catch(() => {}), delay);
    };
  }

  subscribe(name) {
    const c = this.colls.get(name);
    if (!this.ws || this.ws.readyState !== 1 || !c) return;
    this.ws.send(JSON.stringify({ type: 'subscribe', collection: name, since: c.offset }));
  }

  async handle(m) {
    const c = this.colls.get(m.collection);
    switch (m.type) {
      case 'welcome':
        this.retry = 0;
        this.onStatus(`live (node ${m.node})`);
        for (const name of this.colls.keys()) this.subscribe(name);
        break;
      case 'change':
        if (!c) return;
        c.offset = m.offset;
        if (!c.docs.has(m.id) || dominatesOrEqual(m.version, c.docs.get(m.id).version)) {
          delete m.type;
          c.docs.set(m.id, m);
        }
        c.listener(c.docs, m);
        break;
      case 'reset': {
        // the log cannot serve us: reload, then follow from the list's offset
        if (!c) return;
        const { docs, offset } = await this.load(m.collection);
        c.docs = docs;
        c.offset = offset;
        c.listener(docs, null);
        this.ws.send(JSON.stringify({ type: 'unsubscribe', collection: m.collection }));
        this.subscribe(m.collection);
        break;
      }
      case 'error':
        this.onStatus(`error: ${m.code}: ${m.message}`);
        break;
      default:
        break;
    }
  }

  /** Writes data (or deletes when data is undefined and del is true). */
  async write(name, id, data, del = false) {
    const c = this.colls.get(name);
    const stored = c && c.docs.get(id);
    const version = { ...(stored ? stored.version : {}) };
    version[this.actor] = (version[this.actor] || 0) + 1;
    const body = { version, actor: this.actor, timestamp: Date.now() };
    if (!del) body.data = data;
    const r = await this.rest(del ? 'DELETE' : 'PUT', `/v1/collections/${name}/docs/${encodeURIComponent(id)}`, body);
    if (r.status === 200 || r.status === 201) {
      if (c && (!c.docs.has(id) || dominatesOrEqual(r.json.version, c.docs.get(id).version))) {
        delete r.json.applied;
        delete r.json.conflict;
        c.docs.set(id, r.json);
        c.listener(c.docs, null);
      }
    }
    return r;
  }

  put(name, id, data) { return this.write(name, id, data); }
  remove(name, id) { return this.write(name, id, undefined, true); }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close(1000);
  }
}

/** a >= b entry-wise (a dominates or equals b). */
export function dominatesOrEqual(a, b) {
  for (const [k, v] of Object.entries(b || {})) if ((a[k] || 0) < v) return false;
  return true;
}
