// checker.mjs - a history checker for the fault suite (RELIABILITY.md R6).
//
// It records what the clients saw: every acknowledged write (the answer's
// document, version vector, offset, applied flag, the data sent), every
// change and reset each subscription received, every (re)subscribe with the
// `since` it used, every reload (list) after a reset, and the final state of
// each collection. check() then verifies:
//   (a) per subscription, changes continue the run in seq order with no gap
//       and no duplicate; a reset starts a new run at its offset, a `since`
//       resubscribe continues the run (since must be where the run is), a
//       reload after a reset starts a new run at the list's offset;
//   (b) no offset ever carries two contents (per collection, across every
//       client, gateway, reconnect and write answer);
//   (c) every acknowledged write with applied:true is covered by the final
//       state (the final version dominates or equals the acked one) or by a
//       reset of its collection delivered to a recording client after the ack;
// and returns counts, or throws an Error whose message names the rule and
// the exact events. stateEquals() is rule (d): a client's replica equals the
// server's list, document by document.

/** Offset "<epoch>:<seq>" → { epoch, seq }. */
export function parseOffset(o) {
  if (typeof o !== 'string') throw new Error(`not an offset: ${JSON.stringify(o)}`);
  const i = o.lastIndexOf(':');
  const seq = Number(o.slice(i + 1));
  if (i <= 0 || !Number.isInteger(seq) || seq < 0) throw new Error(`not an offset: ${JSON.stringify(o)}`);
  return { epoch: o.slice(0, i), seq };
}

/** a dominates or equals b (version vectors, missing entries 0). */
export function geq(a, b) {
  return Object.keys(b || {}).every((k) => ((a || {})[k] || 0) >= b[k]);
}

/** JSON with sorted object keys, so equal documents give equal strings. */
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v === undefined ? null : v);
}

/** The content an offset names: the document fields a change carries. */
export function content(doc) {
  return canonical({
    collection: doc.collection,
    id: doc.id,
    deleted: !!doc.deleted,
    version: doc.version || {},
    actor: doc.actor,
    timestamp: doc.timestamp,
    data: doc.deleted ? null : doc.data,
  });
}

const short = (s, n = 300) => (s.length > n ? `${s.slice(0, n)}...` : s);

/** A client-side replica: documents applied by version (protocol.md, list + subscribe). */
export class Replica {
  constructor() { this.docs = new Map(); }

  /** Replaces the state with a list's documents (after a reset: reload). */
  load(docs) {
    this.docs = new Map();
    for (const d of docs) this.apply(d);
  }

  /** Applies one document or change unless the state already has a version >= it. */
  apply(d) {
    const cur = this.docs.get(d.id);
    if (cur && geq(cur.version, d.version)) return;
    this.docs.set(d.id, { id: d.id, data: d.deleted ? null : d.data, deleted: !!d.deleted, version: d.version });
  }
}

export class Checker {
  constructor() {
    this.clock = 0;
    this.writes = [];
    this.subs = new Map(); // id -> { coll, label, events: [] }
    this.resets = []; // { coll, sub, at, offset, reason }
    this.finals = new Map(); // coll -> Map(id -> doc)
    this.nextSub = 0;
    this.changes = 0;
    this.reconnects = 0;
    this.reloads = 0;
  }

  /** A new subscription (one client's subscription to one collection); returns its id. */
  subscription(coll, label = '') {
    const id = ++this.nextSub;
    this.subs.set(id, { coll, label: label || `sub${id}`, events: [] });
    return id;
  }

  #ev(sub, e) {
    const s = this.subs.get(sub);
    if (!s) throw new Error(`checker: unknown subscription ${sub}`);
    e.at = ++this.clock;
    s.events.push(e);
    return e;
  }

  /**
   * The `subscribed` answer. Without since: a new run from its head offset.
   * With since: a resubscribe (a reconnect) that continues the run from since.
   */
  subscribed(sub, { offset, since, gw } = {}) {
    if (since) this.reconnects += 1;
    this.#ev(sub, { type: since ? 'resume' : 'start', offset: since || offset, head: offset, gw });
  }

  /** A change (the whole message or document) delivered to sub. */
  change(sub, doc) {
    this.changes += 1;
    this.#ev(sub, { type: 'change', offset: doc.offset, doc });
  }

  /** A reset delivered to sub: a new run from offset. */
  reset(sub, { offset, reason }) {
    const e = this.#ev(sub, { type: 'reset', offset, reason });
    this.resets.push({ coll: this.subs.get(sub).coll, sub, at: e.at, offset, reason });
  }

  /** After a reset: the client listed the collection (offset of the list) and resubscribes from it. */
  reload(sub, { offset }) {
    this.reloads += 1;
    this.#ev(sub, { type: 'reload', offset });
  }

  /**
   * An acknowledged write: answer is the answer body (stored document plus
   * applied); sent is the request body.
   */
  ack(coll, id, answer, sent = {}) {
    this.writes.push({
      at: ++this.clock, coll, id, version: answer.version, offset: answer.offset,
      applied: answer.applied, data: sent.data, answer,
    });
  }

  /** The final state of a collection (all documents, tombstones included). */
  final(coll, docs) {
    this.finals.set(coll, new Map(docs.map((d) => [d.id, d])));
  }

  /** Verifies rules (a)-(c); returns counts or throws. */
  check() {
    // (b) one content per offset
    const seen = new Map(); // coll|offset -> { content, where }
    const note = (coll, doc, where) => {
      if (!doc || doc.offset === undefined) return;
      const key = `${coll}|${doc.offset}`;
      const c = content({ ...doc, collection: coll });
      const prev = seen.get(key);
      if (!prev) seen.set(key, { c, where });
      else if (prev.c !== c) {
        throw new Error(`rule (b): offset ${doc.offset} of ${coll} carries two contents:\n` +
          `  ${prev.where}: ${short(prev.c)}\n  ${where}: ${short(c)}`);
      }
    };
    for (const w of this.writes) note(w.coll, w.answer, `write answer ${w.coll}/${w.id} (event ${w.at})`);

    // (a) runs per subscription
    for (const [id, s] of this.subs) {
      let cursor = null; // { epoch, seq, offset }
      let afterReset = false;
      for (const e of s.events) {
        const where = `${s.label} (${s.coll}) event ${e.at}`;
        if (e.type === 'start' || e.type === 'reset' || e.type === 'reload') {
          if (e.type === 'reload' && !afterReset) {
            throw new Error(`rule (a): ${where}: reload from ${e.offset} without a reset before it`);
          }
          cursor = { ...parseOffset(e.offset), offset: e.offset };
          afterReset = e.type === 'reset';
        } else if (e.type === 'resume') {
          if (!cursor) throw new Error(`rule (a): ${where}: resubscribe with since ${e.offset} before any run`);
          if (e.offset !== cursor.offset) {
            throw new Error(`rule (a): ${where}: resubscribe with since ${e.offset} but the run is at ${cursor.offset}`);
          }
        } else if (e.type === 'change') {
          note(s.coll, e.doc, where);
          if (!cursor) throw new Error(`rule (a): ${where}: change ${e.offset} before subscribed`);
          const o = parseOffset(e.offset);
          if (o.epoch !== cursor.epoch || o.seq !== cursor.seq + 1) {
            const kind = o.epoch !== cursor.epoch ? 'epoch change without reset'
              : o.seq <= cursor.seq ? 'duplicate or out of order' : `gap of ${o.seq - cursor.seq - 1}`;
            throw new Error(`rule (a): ${where}: change ${e.offset} after ${cursor.offset}: ${kind}`);
          }
          cursor = { ...o, offset: e.offset };
        }
      }
      void id;
    }

    // (c) acked applied writes survive (or a later reset announced the loss)
    for (const w of this.writes) {
      if (w.applied !== true) continue;
      const fin = this.finals.get(w.coll);
      if (!fin) throw new Error(`rule (c): no final state recorded for collection ${w.coll}`);
      const d = fin.get(w.id);
      if (d && geq(d.version, w.version)) continue;
      const reset = this.resets.find((r) => r.coll === w.coll && r.at > w.at);
      if (reset) continue;
      throw new Error(`rule (c): acknowledged write ${w.coll}/${w.id} at ${w.offset} version ` +
        `${canonical(w.version)} (event ${w.at}) is lost: final version ` +
        `${d ? canonical(d.version) : '(no document)'} and no reset of ${w.coll} after it`);
    }

    return {
      writesAcked: this.writes.length,
      changesDelivered: this.changes,
      resets: this.resets.length,
      reconnects: this.reconnects,
      subscriptions: this.subs.size,
    };
  }

  /**
   * Rule (d): a client's replica (Replica or Map id -> doc) equals the
   * server's documents (a list, tombstones left out on both sides unless the
   * list has them). Throws naming the first differing document.
   */
  static stateEquals(label, replica, serverDocs) {
    const mine = replica instanceof Replica ? replica.docs : replica;
    const view = (d) => canonical({ deleted: !!d.deleted, data: d.deleted ? null : d.data, version: d.version });
    const server = new Map(serverDocs.filter((d) => !d.deleted).map((d) => [d.id, d]));
    const live = new Map([...mine].filter(([, d]) => !d.deleted));
    for (const [id, d] of server) {
      const m = live.get(id);
      if (!m) throw new Error(`rule (d): ${label}: document ${id} on the server (${short(view(d))}) missing in the client`);
      if (view(m) !== view(d)) {
        throw new Error(`rule (d): ${label}: document ${id} differs: client ${short(view(m))}, server ${short(view(d))}`);
      }
    }
    for (const [id, m] of live) {
      if (!server.has(id)) throw new Error(`rule (d): ${label}: client has ${id} (${short(view(m))}), the server not`);
    }
    return server.size;
  }
}
