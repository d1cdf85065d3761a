// clients.mjs - subscribers and writers for the fault suite, feeding a Checker.
//
// Subscriber: one WebSocket, one subscription; tracks its last offset; when
// the socket drops (or on reconnect()) it resubscribes with `since` on the
// next gateway of its list; on `reset` it lists the collection (reload) and
// resubscribes from the list's offset. Optionally keeps a Replica.
// Writer: read-modify-write with version vectors as one actor; records every
// acknowledged write in the checker.
import WebSocket from 'ws';
import { sleep } from '../../integration/lib/harness.mjs';
import { ADMIN, docPath } from '../../integration/lib/feed.mjs';
import { Replica } from './checker.mjs';

/** HTTP with a hard time limit; resolves { status, headers, json, text, ms } or { status: 0, error, ms }. */
export async function http(gw, method, p, { body, token = ADMIN, timeout = 15000, headers = {} } = {}) {
  const t0 = Date.now();
  const h = { authorization: `Bearer ${token}`, ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  try {
    const res = await fetch(`${gw.url}${p}`, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json, ms: Date.now() - t0 };
  } catch (e) {
    return { status: 0, error: e.name === 'TimeoutError' ? `no answer within ${timeout} ms` : `${e.message} ${e.cause?.code || ''}`, ms: Date.now() - t0 };
  }
}

/** Every document of a collection (all pages, tombstones included); { docs, offset }. */
export async function listAll(gw, coll, { token = ADMIN, timeout = 15000 } = {}) {
  const docs = [];
  let cursor = null;
  let offset = null;
  for (let page = 0; page < 10000; page++) {
    const q = `?limit=1000&include_deleted=true${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await http(gw, 'GET', `/v1/collections/${coll}/docs${q}`, { token, timeout });
    if (r.status !== 200) throw new Error(`list ${coll}: ${r.status} ${r.error || r.text}`);
    if (offset === null) offset = r.json.offset;
    docs.push(...r.json.docs);
    cursor = r.json.cursor;
    if (!cursor) return { docs, offset };
  }
  throw new Error(`list ${coll} did not end`);
}

/** Records the final state of every collection in the checker (listed through gw). */
export async function recordFinal(checker, gw, colls) {
  for (const c of colls) checker.final(c, (await listAll(gw, c)).docs);
}

// No fault here keeps every gateway away this long; a test that failed
// (and so never stopped its subscribers) ends instead of hanging the suite.
const RECONNECT_GIVE_UP_MS = 90000;

export class Subscriber {
  /**
   * opts: checker, gateways (list, the first is used first), coll, label,
   * token, replica (keep a Replica), reload (on reset: list + resubscribe;
   * default true), reconnect (after an unexpected close: default true).
   */
  constructor({ checker, gateways, coll, label, token = ADMIN, replica = false, reload = true, reconnect = true, gwIndex = 0 }) {
    Object.assign(this, { checker, gateways, coll, token, reload, autoReconnect: reconnect });
    this.label = label || `sub-${coll}`;
    this.sub = checker.subscription(coll, this.label);
    this.gwIndex = gwIndex;
    this.last = null; // last offset of the run
    this.replica = replica ? new Replica() : null;
    this.closes = []; // close codes seen
    this.errors = [];
    this.stopped = false;
    this.sock = null;
    this.changes = 0;
    this.resets = [];
    this.subscribedOnce = false;
  }

  get gw() { return this.gateways[this.gwIndex % this.gateways.length]; }

  /** Opens the socket and subscribes; resolves once `subscribed` came. */
  start() {
    return this.#open(this.last);
  }

  #open(since) {
    const gw = this.gw;
    return new Promise((resolve, reject) => {
      const sock = new WebSocket(`${gw.wsUrl}?token=${encodeURIComponent(this.token)}`, { perMessageDeflate: false });
      this.sock = sock;
      let done = false;
      const ref = `r${Math.random().toString(36).slice(2)}`;
      const timer = setTimeout(() => { if (!done) { done = true; sock.terminate(); reject(new Error(`${this.label}: no subscribed within 15 s`)); } }, 15000);
      sock.on('open', () => {
        sock.send(JSON.stringify({ type: 'subscribe', collection: this.coll, ref, ...(since ? { since } : {}) }));
      });
      sock.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.type === 'subscribed' && m.ref === ref) {
          this.checker.subscribed(this.sub, { offset: m.offset, since, gw: gw.node });
          if (!since) this.last = m.offset;
          this.subscribedOnce = true;
          done = true;
          clearTimeout(timer);
          resolve(m);
        } else if (m.type === 'change' && m.collection === this.coll) {
          this.checker.change(this.sub, m);
          this.last = m.offset;
          this.changes += 1;
          if (this.replica) this.replica.apply(m);
        } else if (m.type === 'reset' && m.collection === this.coll) {
          this.checker.reset(this.sub, m);
          this.resets.push(m);
          this.last = m.offset;
          if (this.reload) this.#reload(sock).catch((e) => this.errors.push(`reload: ${e.message}`));
        } else if (m.type === 'error') {
          this.errors.push(m.__raw || JSON.stringify(m));
          if (m.ref === ref && !done) { done = true; clearTimeout(timer); sock.terminate(); reject(new Error(`${this.label}: ${JSON.stringify(m)}`)); }
        }
      });
      sock.on('error', (e) => {
        if (!done) { done = true; clearTimeout(timer); reject(e); }
      });
      sock.on('close', (code) => {
        this.closes.push(code);
        if (!done) { done = true; clearTimeout(timer); reject(new Error(`${this.label}: closed ${code} before subscribed`)); }
        if (this.sock === sock && !this.stopped && this.autoReconnect && !sock.__planned) this.#reconnectLoop();
      });
    });
  }

  /** After a reset: drop this socket, list the collection, resubscribe from the list's offset. */
  async #reload(sock) {
    sock.__planned = true;
    sock.terminate();
    const { docs, offset } = await listAll(this.gw, this.coll, { token: this.token });
    if (this.replica) this.replica.load(docs);
    this.checker.reload(this.sub, { offset });
    this.last = offset;
    if (!this.stopped) await this.#reconnectLoop({ next: false });
    this.reloaded = (this.reloaded || 0) + 1;
  }

  async #reconnectLoop({ next = true } = {}) {
    if (this.reconnecting) return;
    this.reconnecting = true;
    const giveUpAt = Date.now() + RECONNECT_GIVE_UP_MS;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        if (Date.now() > giveUpAt) {
          // a test that failed before stopping its clients must still end
          this.errors.push(`gave up reconnecting after ${RECONNECT_GIVE_UP_MS} ms`);
          this.stopped = true;
          return;
        }
        if (next) this.gwIndex += 1;
        next = true;
        try {
          await this.#open(this.last);
          return;
        } catch (e) {
          this.errors.push(`reconnect ${attempt}: ${e.message}`);
          await sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  /** Planned reconnect: close the socket (after what arrived), resubscribe with since on the next gateway. */
  async reconnect({ terminate = false } = {}) {
    const sock = this.sock;
    sock.__planned = true;
    const closed = new Promise((r) => { if (sock.readyState === WebSocket.CLOSED) r(); else sock.once('close', r); });
    if (terminate) sock.terminate(); else sock.close(1000);
    await closed;
    if (this.stopped) return;
    await this.#reconnectLoop();
  }

  /** Planned disconnect: close the socket and stay offline until resume(). */
  async disconnect() {
    const sock = this.sock;
    sock.__planned = true;
    const closed = new Promise((r) => { if (sock.readyState === WebSocket.CLOSED) r(); else sock.once('close', r); });
    sock.close(1000);
    await closed;
  }

  /** Back online after disconnect(): resubscribe with since on the next gateway. */
  resume() {
    return this.#reconnectLoop();
  }

  /** Closes the socket for good. */
  async stop() {
    this.stopped = true;
    if (this.sock) {
      this.sock.__planned = true;
      const s = this.sock;
      const closed = new Promise((r) => { if (s.readyState === WebSocket.CLOSED) r(); else s.once('close', r); });
      try { s.close(1000); } catch { s.terminate(); }
      const t = setTimeout(() => s.terminate(), 3000);
      await closed;
      clearTimeout(t);
    }
  }
}

/** Opens n subscribers (k at a time), returns them. */
export async function openSubscribers(n, opts, { parallel = 20, label = 'sub' } = {}) {
  const subs = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + parallel); j++) {
      const s = new Subscriber({ ...opts, label: `${label}${j}`, gwIndex: j });
      subs.push(s);
      batch.push(s.start());
    }
    await Promise.all(batch);
  }
  return subs;
}

const seqOf = (o) => Number(o.slice(o.lastIndexOf(':') + 1));

/** Waits until every subscriber's run reached the offset seq (same epoch), within timeout. */
export async function waitCaughtUp(subs, headOffset, timeout = 60000) {
  const seq = seqOf(headOffset);
  const end = Date.now() + timeout;
  for (;;) {
    const behind = subs.filter((s) => !s.last || s.last.slice(0, s.last.lastIndexOf(':')) !== headOffset.slice(0, headOffset.lastIndexOf(':')) || seqOf(s.last) < seq);
    if (!behind.length) return;
    if (Date.now() > end) {
      throw new Error(`${behind.length} subscribers behind ${headOffset} after ${timeout} ms, e.g. ${behind.slice(0, 3).map((s) => `${s.label} at ${s.last} (errors: ${s.errors.slice(-2).join('; ')})`).join(', ')}`);
    }
    await sleep(50);
  }
}

/** The head offset of a collection (changes?since=<its own head>: offset). */
export async function head(gw, coll) {
  const r = await http(gw, 'GET', `/v1/collections/${coll}/docs?limit=1`);
  if (r.status !== 200) throw new Error(`head ${coll}: ${r.status} ${r.error || r.text}`);
  return r.json.offset;
}

export class Writer {
  /**
   * A read-modify-write writer: actor (must be ADMIN's subject 'admin' or
   * start with 'admin:'), gateways (it fails over to the next on a 5xx or
   * no answer), ids (documents it writes, round robin or random).
   */
  constructor({ checker, gateways, coll, actor, ids, token = ADMIN, timeout = 15000, pad = '' }) {
    Object.assign(this, { checker, gateways, coll, actor, ids, token, timeout, pad });
    this.gwIndex = 0;
    this.versions = new Map(); // id -> last seen version
    this.n = 0;
    this.acked = 0;
    this.conflicts = 0;
    this.failed = [];
    this.statuses = new Map();
    this.log = []; // every request: { method, id, start, ms, status, retryAfter, error }
  }

  #note(method, id, start, r) {
    this.log.push({ method, id, start, ms: r.ms, status: r.status, retryAfter: r.headers?.get('retry-after') ?? null, error: r.error, code: r.json?.error?.code });
  }

  get gw() { return this.gateways[this.gwIndex % this.gateways.length]; }

  /** One read-modify-write of id; resolves the answer ({status,...}). */
  async write(id, { failover = true } = {}) {
    let v = this.versions.get(id);
    if (!v) {
      const t0 = Date.now();
      const g = await http(this.gw, 'GET', `${docPath(this.coll, id)}?include_deleted=true`, { token: this.token, timeout: this.timeout });
      this.#note('GET', id, t0, g);
      if (g.status === 200) v = g.json.version;
      else if (g.status === 404) v = {};
      else { if (failover) this.gwIndex += 1; this.failed.push(`GET ${g.status} ${g.error || g.text}`); return g; }
    }
    const version = { ...v, [this.actor]: (v[this.actor] || 0) + 1 };
    const body = { data: { w: this.actor, n: ++this.n, ...(this.pad ? { pad: this.pad } : {}) }, version, actor: this.actor };
    const t0 = Date.now();
    const r = await http(this.gw, 'PUT', docPath(this.coll, id), { body, token: this.token, timeout: this.timeout });
    this.#note('PUT', id, t0, r);
    this.statuses.set(r.status, (this.statuses.get(r.status) || 0) + 1);
    if (r.status === 200 || r.status === 201) {
      this.checker.ack(this.coll, id, r.json, body);
      this.versions.set(id, r.json.version);
      this.acked += 1;
    } else if (r.status === 409 && r.json?.error?.code === 'conflict') {
      this.conflicts += 1;
      this.versions.set(id, r.json.stored?.version || r.json.error?.stored?.version);
      if (!this.versions.get(id)) this.versions.delete(id);
    } else {
      this.versions.delete(id); // re-read: the write may or may not have happened
      if (failover && (r.status === 0 || r.status >= 500)) this.gwIndex += 1;
      this.failed.push(`PUT ${r.status} ${r.error || r.text}`);
    }
    return r;
  }

  /** Writes until stop() (or count writes), pacing to rate writes/s if given. */
  run({ count = Infinity, rate = 0, random = true } = {}) {
    this.running = true;
    this.done = (async () => {
      const t0 = Date.now();
      for (let i = 0; i < count && this.running; i++) {
        const id = random ? this.ids[Math.floor(Math.random() * this.ids.length)] : this.ids[i % this.ids.length];
        await this.write(id);
        if (rate) {
          const due = t0 + ((i + 1) * 1000) / rate;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
        }
      }
    })();
    return this.done;
  }

  async stop() {
    this.running = false;
    await this.done;
  }
}

/** VmRSS of a process in KiB (from /proc/<pid>/status). */
export async function rssKiB(pid) {
  const { readFileSync } = await import('node:fs');
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) : 0;
}

/** The line every fault test prints. */
export function report(what, counts) {
  const line = `${what}: ${counts.writesAcked} writes acked, ${counts.changesDelivered} changes delivered, ` +
    `${counts.resets} resets, ${counts.reconnects} reconnects`;
  console.log(line);
  return line;
}
