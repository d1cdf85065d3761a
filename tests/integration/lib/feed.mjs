// feed.mjs - helpers shared by the delivery and fault suites (30-*, 31-*,
// 32-*): HTTP with a hard time limit, document writes, WebSocket
// subscriptions, change-feed checks (seq order, no gap), /metrics reads, and
// a per-test scope that stops every process a test started.
import assert from 'node:assert/strict';
import {
  Redis, Gateway, assertCleanExit, adminToken, seqOf, epochOf, requestInit, tryJson,
} from './harness.mjs';

/** The token the default helpers send: may read and write everything. */
export const ADMIN = adminToken();

/** Path of one document; the id is URL-encoded. */
export const docPath = (coll, id) => `/v1/collections/${coll}/docs/${encodeURIComponent(id)}`;

/**
 * Helpers bound to one token and one HTTP time limit.
 *   token    sent as Bearer on every request and as ?token= on sockets
 *   timeout  ms a request may take before it fails (a hung answer fails,
 *            never hangs the suite); 0 = no limit of its own, like Gateway.req
 * The module also exports the set for ADMIN with a 15 s limit.
 */
export function feedClient({ token = ADMIN, timeout = 15000 } = {}) {
  /**
   * HTTP request; body objects go as JSON. Options override the client's
   * token and time limit. Resolves { status, headers, text, json }.
   */
  async function req(gw, method, p, { body, token: tok = token, timeout: limit = timeout } = {}) {
    const init = requestInit({ body, token: tok });
    let res;
    let text;
    try {
      res = await fetch(`${gw.url}${p}`, {
        method, ...init, signal: limit ? AbortSignal.timeout(limit) : undefined,
      });
      text = await res.text();
    } catch (e) {
      throw new Error(`${method} ${p}: ${e.name === 'TimeoutError' ? `no answer within ${limit} ms` : e.message}`);
    }
    return { status: res.status, headers: res.headers, text, json: tryJson(text) };
  }

  /** PUT of a document; body is the whole request body ({ data, version, ... }). */
  function put(gw, coll, id, body) {
    return req(gw, 'PUT', docPath(coll, id), { body });
  }

  /**
   * PUT that must be applied (200 or 201, applied: true); returns the answer
   * body. extra: more request fields next to data (e.g. { version }).
   */
  async function putOk(gw, coll, id, data, extra = {}) {
    const r = await put(gw, coll, id, { data, ...extra });
    assert.ok(r.status === 200 || r.status === 201, `PUT ${coll}/${id}: ${r.status} ${r.text}`);
    assert.equal(r.json.applied, true, `PUT ${coll}/${id} not applied: ${r.text}`);
    return r.json;
  }

  /**
   * Opens a socket on gw, waits for welcome and subscribes to coll (from
   * `since` when given); returns { c, subscribed }.
   */
  async function subscribe(gw, coll, { since } = {}) {
    const c = await gw.ws({ token });
    await c.wait('welcome', { timeout: 10000 });
    const ref = `s-${coll}-${Math.random().toString(36).slice(2)}`;
    c.send({ type: 'subscribe', collection: coll, ref, ...(since ? { since } : {}) });
    const subscribed = await c.wait((m) => (m.type === 'subscribed' || m.type === 'error') && m.ref === ref,
      { timeout: 10000 });
    assert.equal(subscribed.type, 'subscribed', `subscribe ${coll}: ${subscribed.__raw}`);
    return { c, subscribed };
  }

  /** Value of one /metrics sample, name with labels as printed (e.g. x{result="y"}). */
  async function metric(gw, name) {
    const r = await req(gw, 'GET', '/metrics');
    const re = new RegExp(`^${name.replace(/[{}"=]/g, (ch) => `\\${ch}`)} (\\S+)$`, 'm');
    const m = r.text.match(re);
    assert.ok(m, `metric ${name} missing`);
    return Number(m[1]);
  }

  /** Sum of one /metrics sample over several gateways. */
  async function metricSum(gws, name) {
    let sum = 0;
    for (const gw of gws) sum += await metric(gw, name);
    return sum;
  }

  return { token, req, put, putOk, subscribe, metric, metricSum };
}

export const { req, put, putOk, subscribe, metric, metricSum } = feedClient();

/** Runs fn; resolves { r, ms }, r null if it took longer than limit ms. */
export async function timed(fn, limit = 8000) {
  const t0 = Date.now();
  let timer;
  const r = await Promise.race([
    fn(),
    new Promise((res) => { timer = setTimeout(() => res(null), limit); }),
  ]);
  clearTimeout(timer);
  return { r, ms: Date.now() - t0 };
}

/** Status of GET /v1/ready, or 0 when it did not answer within 2 s. */
export async function readyStatus(gw) {
  try {
    return (await fetch(`${gw.url}/v1/ready`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

/** Waits until client c holds a change of coll with seq >= seq. */
export function waitSeq(c, coll, seq, timeout = 30000) {
  return c.wait((m) => m.type === 'change' && m.collection === coll && seqOf(m.offset) >= seq,
    { timeout });
}

/**
 * Asserts msgs (change messages) continue afterOffset with consecutive seqs
 * of the same epoch (no gap, no duplicate); returns the last offset.
 */
export function assertConsecutive(msgs, afterOffset, label) {
  const ep = epochOf(afterOffset);
  let s = seqOf(afterOffset);
  msgs.forEach((m, i) => {
    if (epochOf(m.offset) !== ep || seqOf(m.offset) !== s + 1) {
      const prev = msgs.slice(Math.max(0, i - 3), i).map((x) => x.offset);
      assert.fail(`${label}: change #${i} has offset ${m.offset}, expected ${ep}:${s + 1} ` +
        `(previous: ${prev.join(', ') || afterOffset})`);
    }
    s += 1;
  });
  return `${ep}:${s}`;
}

/**
 * Everything one test starts, so a failing test still stops it all:
 *   const s = scope();
 *   try { const redis = await s.redis(); const gw = await s.gw({ redis }); ... }
 *   finally { await s.cleanup(); }
 */
export function scope() {
  const gws = new Set();
  const redises = [];
  return {
    /** Redis.start(opts), stopped by cleanup. */
    async redis(opts) {
      const r = await Redis.start(opts);
      redises.push(r);
      return r;
    },
    /** Gateway.start(opts), killed by cleanup unless stopped before. */
    async gw(opts) {
      const g = await Gateway.start(opts);
      gws.add(g);
      return g;
    },
    /** SIGTERM, wait, and assert a clean exit (sanitizers included). */
    async stop(g) {
      gws.delete(g);
      assertCleanExit(assert, await g.stop());
    },
    /** Kills the gateways left, then stops every Redis (resumed first if SIGSTOPped). */
    async cleanup() {
      for (const g of gws) await g.kill().catch(() => {});
      for (const r of redises) {
        r.signal('SIGCONT');
        await r.stop().catch(() => {});
      }
    },
  };
}
