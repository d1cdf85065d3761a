// outbox.js - the queue of local writes the gateway has not answered yet,
// in the order they were made, kept in storage so a reload keeps them.
// The queue logic is pure; the storage is handed in.

import { jsonEqual } from './vv.js';

/**
 * One queued write.
 * @typedef {{seq: number, collection: string, id: string, deleted: boolean,
 *   data: unknown, version: Record<string, number>, actor: string,
 *   timestamp: number, key: string, rebases?: number}} Entry
 */

const pad = (n) => String(n).padStart(12, '0');

export class Outbox {
  /**
   * @param {import('../syncgate.d.ts').Storage} store
   * @param {string} prefix storage key prefix of this queue ("<ns>:out:<slot>:")
   */
  constructor(store, prefix) {
    this.store = store;
    this.prefix = prefix;
    /** @type {Entry[]} */
    this.entries = [];
    this.next = 1;
  }

  /** Reads the queue from storage (once, before use). */
  async load() {
    const keys = await this.store.keys(this.prefix);
    const got = await Promise.all(keys.map((k) => this.store.get(k)));
    this.entries = got.filter(Boolean).sort((a, b) => a.seq - b.seq);
    this.next = this.entries.length ? this.entries[this.entries.length - 1].seq + 1 : 1;
  }

  /**
   * Takes the entries of another queue (a tab slot nobody holds any more)
   * in front of nothing of ours: they were made earlier, so they go first,
   * in their order. Removes them from the other queue.
   * @param {string} prefix the other queue's prefix
   * @returns {Promise<number>} how many were taken
   */
  async adopt(prefix) {
    const keys = await this.store.keys(prefix);
    if (!keys.length) return 0;
    const got = (await Promise.all(keys.map((k) => this.store.get(k)))).filter(Boolean)
      .sort((a, b) => a.seq - b.seq);
    const renumbered = [];
    for (const e of got) renumbered.push({ ...e });
    // ours are renumbered after theirs so the order survives a reload
    const all = [...renumbered, ...this.entries];
    const old = this.entries.map((e) => e.seq);
    all.forEach((e, i) => { e.seq = i + 1; });
    await Promise.all(old.map((s) => this.store.delete(this.prefix + pad(s))));
    await Promise.all(all.map((e) => this.store.set(this.prefix + pad(e.seq), e)));
    await Promise.all(keys.map((k) => this.store.delete(k)));
    this.entries = all;
    this.next = all.length + 1;
    return got.length;
  }

  /**
   * Appends a write and stores it.
   * @param {Omit<Entry, 'seq'>} e
   * @returns {Entry}
   */
  add(e) {
    const entry = { ...e, seq: this.next++ };
    this.entries.push(entry);
    this.saved = this.store.set(this.prefix + pad(entry.seq), entry);
    return entry;
  }

  /** Stores an entry again after it changed (a rebase). */
  update(entry) {
    return this.store.set(this.prefix + pad(entry.seq), entry);
  }

  /** Removes an answered entry. */
  remove(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    return this.store.delete(this.prefix + pad(entry.seq));
  }

  /** The first entry (the next to send), or undefined. */
  head() {
    return this.entries[0];
  }

  /** The latest queued write of one document, or undefined. */
  latest(collection, id) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.collection === collection && e.id === id) return e;
    }
    return undefined;
  }

  /** The largest count actor used in queued writes of one document. */
  usedOwn(collection, id, actor) {
    let n = 0;
    for (const e of this.entries) {
      if (e.collection === collection && e.id === id) n = Math.max(n, e.version[actor] || 0);
    }
    return n;
  }

  /** How many writes of a collection wait (all collections without one). */
  count(collection) {
    if (collection === undefined) return this.entries.length;
    return this.entries.filter((e) => e.collection === collection).length;
  }
}

/**
 * What to do with the gateway's answer to a queued write.
 *   done     - answered: drop the entry, apply the answer
 *   stale    - the gateway holds a newer own count than the entry (it says
 *              "already applied" but has other data): write again on top
 *   conflict - 409 conflict on a reject collection (body.stored)
 *   auth     - 401: get a new token, then send again
 *   retry    - 429, 5xx, 408: send again later (the same Idempotency-Key)
 *   refused  - any other error: drop the entry, roll back, report
 * @param {number} status
 * @param {any} body the answer's JSON (or null)
 * @param {Entry} entry
 * @returns {'done'|'stale'|'conflict'|'auth'|'retry'|'refused'}
 */
export function classifyAnswer(status, body, entry) {
  if (status === 200 || status === 201) {
    if (body && body.applied === false && !body.conflict) {
      const same = Boolean(body.deleted) === entry.deleted
        && (entry.deleted || jsonEqual(body.data, entry.data));
      if (!same && (body.version?.[entry.actor] || 0) >= (entry.version[entry.actor] || 0)) return 'stale';
    }
    return 'done';
  }
  if (status === 409 && body?.error?.code === 'conflict' && body.stored) return 'conflict';
  if (status === 401) return 'auth';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'refused';
}
