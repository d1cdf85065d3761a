// stack.mjs - what a browser test runs against: its own redis-server, a
// gateway whose /v1/info sends WebSocket clients through a cuttable proxy,
// tokens, REST helpers, and the demo page's URL.
import { Redis, Gateway, token, sleep, waitFor } from '../../integration/lib/harness.mjs';
import { startProxy } from './proxy.mjs';

export { sleep, waitFor };

export const SUB = 'e2e';
export const SYNC = { read: ['*'], write: ['*'] };

/** A token for the test user (every collection), valid expiresIn seconds. */
export function userToken({ expiresIn = 3600, sub = SUB } = {}) {
  return token(sub, { sync: SYNC, expiresIn });
}

/** A collection name no other test uses. */
export function uniqueCollection(prefix = 'e2e') {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export class Stack {
  /**
   * redis + proxy + gateway. config is the gateway's config object
   * (ws.public_url is set to the proxy's), env extra environment,
   * redisArgs extra redis-server arguments, args the gateway's (e.g. --dev).
   */
  static async start({ config = {}, env = {}, redisArgs = [], args = [] } = {}) {
    const s = new Stack();
    s.redis = await Redis.start({ args: redisArgs });
    s.proxy = await startProxy();
    s.config = { ...config, ws: { ...(config.ws || {}), public_url: s.proxy.wsUrl() } };
    s.env = env;
    try {
      s.gw = await Gateway.start({ redis: s.redis, env, config: s.config, args });
    } catch (e) {
      await s.proxy.close();
      await s.redis.stop();
      throw e;
    }
    s.proxy.setTarget(s.gw.wsPort);
    s.token = userToken();
    return s;
  }

  get url() { return this.gw.url; }

  /** The demo page for collection c, the token in the fragment. */
  demoUrl(c, { token = this.token, query = '' } = {}) {
    return `${this.gw.url}/?c=${encodeURIComponent(c)}${query}#token=${token}`;
  }

  /**
   * Stops the gateway (SIGTERM, waits) and starts the same process again:
   * same environment, so the same HTTP and WebSocket ports, same config.
   */
  async restartGateway({ downMs = 0 } = {}) {
    const g = this.gw;
    g.signal('SIGTERM');
    const t = setTimeout(() => g.signal('SIGKILL'), 15000);
    const r = await g.exit;
    clearTimeout(t);
    if (downMs) await sleep(downMs);
    g.logs = '';
    g.stderr = '';
    g.spawn();
    await g.waitReady();
    return r;
  }

  async req(method, p, { body, token = this.token, headers = {} } = {}) {
    return this.gw.req(method, p, { body, token, headers });
  }

  /** PUT without a version (unconditional), as actor e2e:rest; asserts 2xx. */
  async put(c, id, data, { actor = `${SUB}:rest` } = {}) {
    const r = await this.req('PUT', `/v1/collections/${encodeURIComponent(c)}/docs/${encodeURIComponent(id)}`, { body: { data, actor } });
    if (r.status !== 200 && r.status !== 201) throw new Error(`PUT ${c}/${id}: ${r.status} ${r.text}`);
    return r.json;
  }

  /** Every document of c (all pages), tombstones left out: Map id -> doc. */
  async list(c) {
    const out = new Map();
    let cursor = null;
    do {
      const q = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await this.req('GET', `/v1/collections/${encodeURIComponent(c)}/docs?${q}`);
      if (r.status !== 200) throw new Error(`list ${c}: ${r.status} ${r.text}`);
      for (const d of r.json.docs) out.set(d.id, d);
      cursor = r.json.cursor;
    } while (cursor);
    return out;
  }

  /** The whole change log of c from its start (all pages). */
  async changes(c) {
    const out = [];
    let since = '';
    for (;;) {
      const q = `limit=1000${since ? `&since=${encodeURIComponent(since)}` : ''}`;
      const r = await this.req('GET', `/v1/collections/${encodeURIComponent(c)}/changes?${q}`);
      if (r.status !== 200) throw new Error(`changes ${c}: ${r.status} ${r.text}`);
      if (r.json.reset) throw new Error(`changes ${c}: reset ${r.json.reason}`);
      out.push(...r.json.changes);
      if (r.json.changes.length === 0 || r.json.offset === since) return out;
      since = r.json.offset;
    }
  }

  async stop() {
    const r = this.gw ? await this.gw.stop() : null;
    if (this.proxy) await this.proxy.close();
    if (this.redis) await this.redis.stop();
    return r;
  }
}

/** id -> {data, version} of a Map of docs or a list of docs (for deepEqual). */
export function essence(docs) {
  const out = {};
  const list = docs instanceof Map ? [...docs.values()] : docs;
  for (const d of list) {
    if (d.deleted) continue;
    out[d.id] = { data: d.data, version: d.version };
  }
  return out;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}
