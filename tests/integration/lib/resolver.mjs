// resolver.mjs - a real HTTP resolver server for the `callback` conflict
// policy (DESIGN sections 4 and 11), for black-box tests: it listens on
// 127.0.0.1 on a free port, records every request it receives, checks the
// signature the way an application must, and answers according to a mode
// that a test switches at run time (merge, delay, hang, status, garbage,
// huge, redirect, extra, bigdata, answer, close, fn).
//
// The wire contract it is built against:
//   POST <resolver_url>
//   Content-Type: application/json
//   User-Agent: syncgate/<version>
//   X-Syncgate-Request-Id: <32 lowercase hex chars, unique per call>
//   X-Syncgate-Timestamp: <unix time in seconds, decimal>
//   X-Syncgate-Signature: v1=<64 lowercase hex of HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//   body {"request_id","collection","id","stored":{doc},"incoming":{doc}}
//   answer 2xx {"data":<json>,"deleted":<bool>?}
//
// Nothing here waits forever: close() destroys every socket (including
// those of 'hang' and 'delay' calls) and clears every timer.
import http from 'node:http';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Seconds a timestamp may be away from now (the contract's window). */
export const WINDOW_S = 300;

/** Largest request body the helper reads; past it the call is answered 413. */
const MAX_REQUEST_BYTES = 8 << 20;

const MODES = new Set(['merge', 'delay', 'hang', 'status', 'garbage', 'huge', 'redirect',
  'extra', 'bigdata', 'answer', 'close', 'fn']);

/** A header of a plain object (any case) or a fetch Headers instance. */
function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === want) return Array.isArray(v) ? v.join(', ') : v;
  }
  return undefined;
}

/** hex HMAC-SHA256(secret, "<timestamp>.<raw>") over the exact bytes. */
export function computeSignature(secret, timestamp, raw) {
  const h = createHmac('sha256', secret);
  h.update(`${timestamp}.`);
  h.update(typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw);
  return h.digest('hex');
}

/**
 * Checks a resolver request as an application must: the X-Syncgate-Timestamp
 * is a decimal unix time within `windowS` seconds of now, and
 * X-Syncgate-Signature is "v1=" + the HMAC-SHA256 hex of
 * "<timestamp>.<raw body>", compared in constant time.
 *
 * @param {string|Buffer} secret
 * @param {object|Headers} headers  request headers (plain object in any case, or fetch Headers)
 * @param {string|Buffer} raw       the raw body bytes, exactly as received
 * @param {{now?: number, windowS?: number}} [opts] now in ms (default Date.now())
 * @returns {{ok: boolean, reason: string}} reason is 'ok', 'no_timestamp',
 *   'bad_timestamp', 'stale_timestamp', 'no_signature', 'bad_signature_format'
 *   or 'bad_signature'
 */
export function checkSignature(secret, headers, raw, { now = Date.now(), windowS = WINDOW_S } = {}) {
  const ts = header(headers, 'x-syncgate-timestamp');
  if (ts === undefined) return { ok: false, reason: 'no_timestamp' };
  if (!/^[0-9]{1,12}$/.test(ts)) return { ok: false, reason: 'bad_timestamp' };
  if (Math.abs(now / 1000 - Number(ts)) > windowS) return { ok: false, reason: 'stale_timestamp' };
  const sig = header(headers, 'x-syncgate-signature');
  if (sig === undefined) return { ok: false, reason: 'no_signature' };
  const m = /^v1=([0-9a-f]{64})$/.exec(sig);
  if (!m) return { ok: false, reason: 'bad_signature_format' };
  const want = Buffer.from(computeSignature(secret, ts, raw), 'hex');
  const got = Buffer.from(m[1], 'hex');
  if (!timingSafeEqual(want, got)) return { ok: false, reason: 'bad_signature' };
  return { ok: true, reason: 'ok' };
}

/**
 * true when the request's signature and timestamp are valid (see
 * checkSignature for the rule and the reasons of a refusal).
 *
 * @param {string|Buffer} secret
 * @param {object|Headers} headers
 * @param {string|Buffer} raw
 * @param {{now?: number, windowS?: number}} [opts]
 * @returns {boolean}
 */
export function verifySignature(secret, headers, raw, opts) {
  return checkSignature(secret, headers, raw, opts).ok;
}

/** A fresh request id: 32 lowercase hex chars. */
export const newRequestId = () => randomBytes(16).toString('hex');

/**
 * The headers the gateway sends with a resolver call, signed with secret.
 *
 * @param {string|Buffer} secret
 * @param {string|Buffer} raw  the exact body that will be sent
 * @param {{timestamp?: number, requestId?: string, userAgent?: string}} [opts]
 *   timestamp in unix seconds (default now)
 * @returns {Record<string,string>}
 */
export function signHeaders(secret, raw, { timestamp = Math.floor(Date.now() / 1000), requestId = newRequestId(), userAgent = 'syncgate/test' } = {}) {
  return {
    'content-type': 'application/json',
    'user-agent': userAgent,
    'x-syncgate-request-id': requestId,
    'x-syncgate-timestamp': String(timestamp),
    'x-syncgate-signature': `v1=${computeSignature(secret, String(timestamp), raw)}`,
  };
}

/**
 * A request body as the gateway builds it. stored and incoming are partial
 * documents completed with defaults ({data:null, version:{}, actor:'a',
 * timestamp:now, deleted:false}).
 *
 * @param {{requestId?: string, collection?: string, id?: string, stored?: object, incoming?: object}} [o]
 * @returns {object}
 */
export function resolverBody({ requestId = newRequestId(), collection = 'carts', id = 'c1', stored = {}, incoming = {} } = {}) {
  const doc = (d) => ({ data: null, version: {}, actor: 'a', timestamp: Date.now(), deleted: false, ...d });
  return { request_id: requestId, collection, id, stored: doc(stored), incoming: doc(incoming) };
}

/**
 * POSTs a signed resolver request the way the gateway does (for self-tests
 * and for probing a resolver). body is an object (sent as JSON) or the exact
 * bytes. The request id header is body.request_id when there is one.
 *
 * @param {string} url
 * @param {string|Buffer} secret
 * @param {object|string|Buffer} body
 * @param {{timestamp?: number, requestId?: string, headers?: object, timeout?: number, redirect?: string}} [opts]
 *   headers override the signed ones (e.g. to send a bad signature); timeout in ms (default 5000)
 * @returns {Promise<{status: number, headers: Headers, text: string, json: any, ms: number, requestId: string}>}
 */
export async function postSigned(url, secret, body, { timestamp, requestId, headers = {}, timeout = 5000, redirect = 'manual' } = {}) {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const fromBody = typeof body === 'object' && !Buffer.isBuffer(body) ? body.request_id : undefined;
  const id = requestId ?? fromBody ?? newRequestId();
  const h = { ...signHeaders(secret, raw, { timestamp, requestId: id }), ...headers };
  const t0 = Date.now();
  const res = await fetch(url, { method: 'POST', headers: h, body: raw, redirect, signal: AbortSignal.timeout(timeout) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - t0, requestId: id };
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The default merge of the helper: data of a tombstone counts as absent;
 * when both sides are arrays, their union (stored's items in order, then
 * incoming's items not already there, compared as JSON); when both are
 * objects, a shallow merge where incoming's members win; when one side is
 * absent (null or tombstone), the other; otherwise incoming's data.
 *
 * @param {{data: any, deleted: boolean}} stored
 * @param {{data: any, deleted: boolean}} incoming
 * @returns {any} the merged data
 */
export function defaultMerge(stored, incoming) {
  const a = stored && !stored.deleted ? stored.data : null;
  const b = incoming && !incoming.deleted ? incoming.data : null;
  if (Array.isArray(a) && Array.isArray(b)) {
    const seen = new Set(a.map((x) => JSON.stringify(x)));
    return [...a, ...b.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  if (isObj(a) && isObj(b)) return { ...a, ...b };
  if (a === null || a === undefined) return b ?? null;
  if (b === null || b === undefined) return a;
  return b;
}

/**
 * Starts a resolver server on 127.0.0.1, on a free port.
 *
 * @param {object} [opts]
 * @param {string|Buffer} [opts.secret]  secret for the signature check (calls are recorded
 *   with verified:false without one)
 * @param {(stored: object, incoming: object, body: object) => any} [opts.merge]  data of a
 *   'merge' answer (may be async); default defaultMerge
 * @param {boolean} [opts.strict]  refuse before the mode: 401 on a bad signature or
 *   timestamp, 409 on a replayed request id (default false: record and answer anyway)
 * @param {number} [opts.windowS]  timestamp window and replay memory, seconds (default 300)
 * @param {number} [opts.keepAliveTimeout]  ms an idle kept-alive connection stays open (default 5000)
 * @returns {Promise<Resolver>}
 *
 * @typedef {object} Call
 * @property {number} n          1-based index of the call
 * @property {string} method
 * @property {string} path
 * @property {object} headers    as node gives them (lower-case names)
 * @property {any} body          the parsed JSON body (undefined when it is not JSON)
 * @property {string} raw        the raw body as UTF-8 text
 * @property {Buffer} bytes      the raw body bytes
 * @property {string|undefined} requestId  the X-Syncgate-Request-Id header
 * @property {boolean} verified  signature and timestamp valid (checkSignature)
 * @property {string} verifyReason
 * @property {boolean} replayed  this request id was seen within the window before
 * @property {string[]} problems departures from the wire contract (empty when none)
 * @property {number} conn       1-based index of the TCP connection it came on
 * @property {string} mode       the mode it was answered with
 * @property {number} t          arrival, ms since the epoch (Date.now())
 * @property {number|null} ms    ms from arrival to the end of the answer; null while
 *   unanswered (hang), or when the socket closed first
 * @property {number|null} status  the status answered (null: none)
 * @property {boolean} aborted   the peer closed the connection before the answer ended
 *
 * @typedef {object} Resolver
 * @property {string} url     the POST URL (http://127.0.0.1:<port>/resolve)
 * @property {number} port
 * @property {Call[]} calls   every request received, in order of arrival
 * @property {number} connections  TCP connections accepted so far
 * @property {number} open    TCP connections open now
 * @property {boolean} strict
 * @property {(name: string, opts?: object) => void} mode  switch the mode (see below)
 * @property {(n: number, opts?: {timeout?: number}) => Promise<Call[]>} waitCalls
 *   resolves once at least n calls arrived (rejects after timeout ms, default 5000)
 * @property {() => void} reset  forgets recorded calls (not the replay memory)
 * @property {() => Promise<void>} close  stops listening, destroys every socket
 *
 * Modes (r.mode(name, opts)), chosen when a request arrives:
 *   'merge'    200 {"data": merge(stored, incoming, body), "deleted": false} (default)
 *   'delay'    the same after opts.ms (default 1000) ms
 *   'hang'     never answers (the socket is destroyed by close())
 *   'status'   opts.code (default 500) with a JSON body (opts.body, default an error object)
 *   'garbage'  200 with invalid JSON
 *   'huge'     200 with opts.bytes (default 10 MiB) of body, streamed in 64 KiB chunks;
 *              {"data":"xxx…","deleted":false}; Content-Length sent unless opts.chunked
 *   'redirect' 302 (or opts.code) with Location: opts.location (default <url>/redirected)
 *   'extra'    200 {"data": merged, "deleted": false, "x": 1}
 *   'bigdata'  200 {"data":{"blob":"xxx…"},"deleted":false}, data of opts.bytes
 *              (default 600 KiB: over the 512 KiB document limit, under the 1 MiB body cap)
 *   'answer'   200 (or opts.status) with exactly the bytes opts.body (string or Buffer)
 *   'close'    destroys the socket without answering
 *   'fn'       await opts.fn(call) -> {status=200, body, headers}; body objects go as
 *              JSON, strings and Buffers as they are; a throw answers 500
 */
export async function startResolver({ secret, merge = defaultMerge, strict = false, windowS = WINDOW_S, keepAliveTimeout = 5000 } = {}) {
  const sockets = new Set();
  const timers = new Set();
  const seen = new Map(); // request id -> ms it may be forgotten
  const waiters = new Set();
  let current = { name: 'merge', opts: {} };
  let connections = 0;
  let closing = false;

  const r = {
    url: '',
    port: 0,
    calls: [],
    strict,
    get connections() { return connections; },
    get open() { return sockets.size; },
  };

  const later = (ms, fn) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };

  const notify = () => {
    for (const w of waiters) {
      if (r.calls.length >= w.n) {
        waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(r.calls);
      }
    }
  };

  function remember(id, now) {
    if (seen.size > 10000) {
      for (const [k, until] of seen) if (until < now) seen.delete(k);
    }
    const was = seen.has(id) && seen.get(id) >= now;
    // a repeat is refused by the timestamp check once its timestamp is
    // older than the window, so twice the window covers every timestamp
    seen.set(id, now + 2 * windowS * 1000);
    return was;
  }

  function contractProblems(req, body, raw) {
    const p = [];
    if (req.method !== 'POST') p.push(`method ${req.method}`);
    if (!/^application\/json\b/i.test(req.headers['content-type'] || '')) p.push(`content-type ${req.headers['content-type']}`);
    if (!/^syncgate\/\S+$/.test(req.headers['user-agent'] || '')) p.push(`user-agent ${req.headers['user-agent']}`);
    const id = req.headers['x-syncgate-request-id'];
    if (!/^[0-9a-f]{32}$/.test(id || '')) p.push(`request id ${id}`);
    if (!/^[0-9]+$/.test(req.headers['x-syncgate-timestamp'] || '')) p.push(`timestamp ${req.headers['x-syncgate-timestamp']}`);
    if (!/^v1=[0-9a-f]{64}$/.test(req.headers['x-syncgate-signature'] || '')) p.push('signature header format');
    if (!isObj(body)) {
      p.push(`body is not a JSON object: ${raw.slice(0, 80)}`);
      return p;
    }
    const keys = Object.keys(body).sort().join(',');
    if (keys !== 'collection,id,incoming,request_id,stored') p.push(`body members ${keys}`);
    if (body.request_id !== id) p.push(`body request_id ${body.request_id} differs from the header`);
    for (const side of ['stored', 'incoming']) {
      const d = body[side];
      if (!isObj(d)) { p.push(`${side} is not an object`); continue; }
      const dk = Object.keys(d).sort().join(',');
      if (dk !== 'actor,data,deleted,timestamp,version') p.push(`${side} members ${dk}`);
      if (typeof d.deleted !== 'boolean') p.push(`${side}.deleted not boolean`);
      if (d.deleted === true && d.data !== null) p.push(`${side} is a tombstone with data`);
      if (!isObj(d.version)) p.push(`${side}.version not an object`);
      if (typeof d.actor !== 'string') p.push(`${side}.actor not a string`);
      if (!Number.isInteger(d.timestamp)) p.push(`${side}.timestamp not an integer`);
    }
    return p;
  }

  function send(call, res, status, body, headers = {}) {
    if (res.destroyed) return;
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    call.status = status;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...headers });
    res.end(buf);
  }

  async function mergedData(call) {
    const b = call.body || {};
    return merge(b.stored, b.incoming, b);
  }

  async function streamHuge(call, res, { bytes = 10 << 20, chunked = false } = {}) {
    const head = Buffer.from('{"data":"');
    const tail = Buffer.from('","deleted":false}');
    const fill = Math.max(0, bytes - head.length - tail.length);
    call.status = 200;
    const h = { 'content-type': 'application/json' };
    if (!chunked) h['content-length'] = head.length + fill + tail.length;
    res.writeHead(200, h);
    res.write(head);
    const piece = Buffer.alloc(65536, 'x');
    for (let left = fill; left > 0 && !res.destroyed;) {
      const n = Math.min(left, piece.length);
      left -= n;
      if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) {
        await new Promise((resolve) => {
          res.once('drain', resolve);
          res.once('close', resolve);
        });
      }
    }
    if (!res.destroyed) res.end(tail);
  }

  async function answer(call, req, res, { name, opts }) {
    switch (name) {
      case 'merge':
        send(call, res, 200, { data: await mergedData(call), deleted: false });
        return;
      case 'delay':
        later(opts.ms ?? 1000, () => {
          if (res.destroyed) return;
          answer(call, req, res, { name: 'merge', opts: {} }).catch((e) => fail(call, res, e));
        });
        return;
      case 'hang':
        return;
      case 'status':
        send(call, res, opts.code ?? 500, opts.body ?? { error: { code: 'resolver_status', message: `status mode ${opts.code ?? 500}` } });
        return;
      case 'garbage':
        send(call, res, 200, '{"data": {"items": [1, 2,');
        return;
      case 'huge':
        await streamHuge(call, res, opts);
        return;
      case 'redirect':
        send(call, res, opts.code ?? 302, { moved: true }, { location: opts.location ?? `${r.url}/redirected` });
        return;
      case 'extra':
        send(call, res, 200, { data: await mergedData(call), deleted: false, x: 1 });
        return;
      case 'bigdata':
        send(call, res, 200, { data: { blob: 'x'.repeat(opts.bytes ?? 600 * 1024) }, deleted: false });
        return;
      case 'answer':
        send(call, res, opts.status ?? 200, opts.body ?? '', opts.headers);
        return;
      case 'close':
        req.socket.destroy();
        return;
      case 'fn': {
        const out = (await opts.fn(call)) || {};
        send(call, res, out.status ?? 200, out.body ?? '', out.headers);
        return;
      }
      default:
        throw new Error(`unknown mode ${name}`);
    }
  }

  function fail(call, res, e) {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    send(call, res, 500, { error: { code: 'resolver_helper', message: String(e && e.message) } });
  }

  const server = http.createServer({ keepAliveTimeout }, (req, res) => {
    const t = Date.now();
    const chunks = [];
    let size = 0;
    let tooBig = false;
    const conn = req.socket.__resolverConn;
    req.on('data', (d) => {
      size += d.length;
      if (size > MAX_REQUEST_BYTES) tooBig = true;
      else chunks.push(d);
    });
    req.on('error', () => {});
    req.on('end', () => {
      const bytes = Buffer.concat(chunks);
      const raw = bytes.toString('utf8');
      let body;
      try { body = JSON.parse(raw); } catch { body = undefined; }
      const chk = secret === undefined ? { ok: false, reason: 'no_secret' } : checkSignature(secret, req.headers, bytes, { now: t, windowS });
      const requestId = req.headers['x-syncgate-request-id'];
      const call = {
        n: r.calls.length + 1,
        method: req.method,
        path: req.url,
        headers: req.headers,
        body,
        raw,
        bytes,
        requestId,
        verified: chk.ok,
        verifyReason: chk.reason,
        replayed: requestId !== undefined && chk.ok ? remember(requestId, t) : false,
        problems: contractProblems(req, body, raw),
        conn,
        mode: current.name,
        t,
        ms: null,
        status: null,
        aborted: false,
      };
      r.calls.push(call);
      res.on('finish', () => { call.ms = Date.now() - t; });
      res.on('close', () => { if (!res.writableFinished) call.aborted = true; });
      notify();
      if (tooBig) { send(call, res, 413, { error: { code: 'payload_too_large', message: 'resolver helper cap' } }); return; }
      if (r.strict && !chk.ok) { send(call, res, 401, { error: { code: 'unauthorized', message: chk.reason } }); return; }
      if (r.strict && call.replayed) { send(call, res, 409, { error: { code: 'replayed', message: 'request id seen before' } }); return; }
      answer(call, req, res, current).catch((e) => fail(call, res, e));
    });
  });
  server.headersTimeout = 10000;
  server.requestTimeout = 30000;
  server.on('connection', (sock) => {
    if (closing) { sock.destroy(); return; }
    connections += 1;
    sock.__resolverConn = connections;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
  });
  server.on('clientError', (err, sock) => { sock.destroy(); });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  r.port = server.address().port;
  r.url = `http://127.0.0.1:${r.port}/resolve`;

  r.mode = (name, opts = {}) => {
    if (!MODES.has(name)) throw new Error(`resolver mode ${name}: one of ${[...MODES].join(', ')}`);
    if (name === 'fn' && typeof opts.fn !== 'function') throw new Error("resolver mode 'fn' needs opts.fn");
    current = { name, opts };
  };

  r.waitCalls = (n, { timeout = 5000 } = {}) => new Promise((resolve, reject) => {
    if (r.calls.length >= n) { resolve(r.calls); return; }
    const w = { n, resolve };
    w.timer = setTimeout(() => {
      waiters.delete(w);
      reject(new Error(`resolver: timed out waiting for ${n} calls; got ${r.calls.length}`));
    }, timeout);
    waiters.add(w);
  });

  r.reset = () => { r.calls.length = 0; };

  r.close = async () => {
    closing = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(r.calls);
    }
    waiters.clear();
    const closed = new Promise((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  };

  return r;
}
