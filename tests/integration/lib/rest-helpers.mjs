// rest-helpers.mjs - small helpers shared by the REST black-box suites
// (10-*, 11-*, 12-*, 13-*): whole-Redis snapshots to prove "nothing
// changed", change-log readers, error-shape checks and /metrics parsing.
import net from 'node:net';
import { seqOf, epochOf, requestInit, tryJson } from './harness.mjs';

export { seqOf, epochOf };

// One Lua call: every key with its type and full content (streams by length
// and last entry), sorted by name, as JSON. Used before/after bad input.
const DUMP = `
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k).ok
  local v
  if t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'stream' then
    v = {redis.call('XLEN', k), redis.call('XREVRANGE', k, '+', '-', 'COUNT', 1)}
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  elseif t == 'string' then v = redis.call('GET', k)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  else v = t end
  out[#out + 1] = {k, t, v}
end
table.sort(out, function(a, b) return a[1] < b[1] end)
return cjson.encode(out)`;

/** Everything Redis holds, as a comparable JSON string. */
export async function redisSnapshot(redis) {
  return redis.raw('EVAL', DUMP, 0);
}

/**
 * Like Gateway.req, but a request that gets no answer within `timeout` ms
 * fails with a clear message instead of hanging the suite (undici's own
 * limit is 300 s).
 */
export async function request(gw, method, p, { timeout = 5000, ...opts } = {}) {
  const { headers: h, body: b } = requestInit(opts);
  const t0 = Date.now();
  let res;
  let text;
  try {
    res = await fetch(`${gw.url}${p}`, { method, headers: h, body: b, signal: AbortSignal.timeout(timeout), duplex: 'half' });
    text = await res.text();
  } catch (e) {
    const what = `${method} ${p.slice(0, 100)} ${typeof b === 'string' ? b.slice(0, 100) : ''}`;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      throw new Error(`no answer within ${timeout} ms: ${what}`);
    }
    throw new Error(`${e.message} (${e.cause?.code || e.cause?.message || ''}) after ${Date.now() - t0} ms: ${what}`);
  }
  return { status: res.status, headers: res.headers, text, json: tryJson(text), ms: Date.now() - t0 };
}

function parseAnswer(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) return { status: 0, headers: { get: () => null }, text: buf.toString('latin1'), json: undefined, complete: true };
  const map = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) map[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = buf.subarray(end + 4);
  const len = map['content-length'] === undefined ? undefined : Number(map['content-length']);
  const text = body.subarray(0, len).toString('utf8');
  return {
    status: Number(m[1]), headers: { get: (k) => map[k.toLowerCase()] ?? null }, text, json: tryJson(text),
    complete: len !== undefined && body.length >= len,
  };
}

/**
 * One HTTP/1.1 request over a plain socket, exactly as given: the path is
 * not normalized, the body may go chunked. Bytes go out in pieces and
 * sending stops as soon as an answer starts (a server refusing early closes
 * the connection; writing on would lose the answer to a reset).
 * waitBeforeBody: ms to wait for an early answer between head and body.
 * Resolves with the answer as request() does; rejects when none came.
 */
export function rawHttp(port, {
  method = 'GET', path = '/', headers = {}, body, chunked = false, chunk = 65536, timeout = 10000, waitBeforeBody = 0,
} = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    const bufs = [];
    let done = false;
    let gone = false;
    const what = `${method} ${path.slice(0, 80)}`;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const a = parseAnswer(Buffer.concat(bufs));
      if (a) resolve({ ...a, ms: Date.now() - t0 });
      else reject(err || new Error(`connection closed without an answer: ${what}`));
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeout} ms: ${what}`)), timeout);
    sock.on('data', (d) => {
      bufs.push(d);
      if (parseAnswer(Buffer.concat(bufs))?.complete) finish();
    });
    sock.on('end', () => finish());
    sock.on('close', () => { gone = true; finish(); });
    sock.on('error', (e) => { gone = true; finish(e); });
    const stop = () => done || gone || bufs.length > 0;
    const pause = (ms) => new Promise((r) => setTimeout(r, ms));
    async function send(buf, piece = 16384) {
      for (let i = 0; i < buf.length; i += piece) {
        if (stop()) return false;
        if (!sock.write(buf.subarray(i, i + piece))) {
          await new Promise((r) => { sock.once('drain', r); sock.once('close', r); });
        }
        await pause(1);
      }
      return !stop();
    }
    sock.on('connect', async () => {
      const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      let h = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
      for (const [k, v] of Object.entries(lower)) h += `${k}: ${v}\r\n`;
      if (b && !chunked && lower['content-length'] === undefined) h += `content-length: ${b.length}\r\n`;
      if (chunked) h += 'transfer-encoding: chunked\r\n';
      if (!await send(Buffer.from(`${h}\r\n`, 'latin1')) || !b) return;
      for (let waited = 0; waited < waitBeforeBody && !stop(); waited += 10) await pause(10);
      if (!chunked) { await send(b, chunk); return; }
      for (let i = 0; i < b.length; i += chunk) {
        const part = b.subarray(i, i + chunk);
        const framed = Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]);
        if (!await send(framed, framed.length)) return;
      }
      await send(Buffer.from('0\r\n\r\n'));
    });
  });
}

/** Sorted key names. */
export async function redisKeys(redis) {
  const out = await redis.raw('KEYS', '*');
  return out.split('\n').filter(Boolean).sort();
}

/** Asserts r is a JSON error {"error":{"code","message"}} with this status. */
export function assertError(assert, r, status, code, what = '') {
  const ctx = `${what} -> ${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, ctx);
  assert.ok(r.json && typeof r.json === 'object', `JSON body expected: ${ctx}`);
  assert.ok(r.json.error && typeof r.json.error === 'object', `error object: ${ctx}`);
  assert.equal(r.json.error.code, code, ctx);
  assert.equal(typeof r.json.error.message, 'string', ctx);
  assert.ok(r.json.error.message.length > 0, `non-empty message: ${ctx}`);
  const ct = r.headers.get('content-type') || '';
  assert.match(ct, /^application\/json/, `content-type of ${ctx}`);
}

/** The whole retained log of a collection (follows pages). */
export async function readLog(gw, tok, coll, since) {
  const all = [];
  let cur = since;
  let head;
  for (let i = 0; i < 1000; i++) {
    const q = cur === undefined ? '' : `&since=${encodeURIComponent(cur)}`;
    const r = await request(gw, 'GET', `/v1/collections/${coll}/changes?limit=1000${q}`, { token: tok });
    if (r.status !== 200) throw new Error(`changes of ${coll}: ${r.status} ${r.text}`);
    if (r.json.reset) throw new Error(`changes of ${coll}: unexpected reset ${r.text}`);
    all.push(...r.json.changes);
    head = r.json.offset;
    if (r.json.changes.length === 0) break;
    cur = r.json.offset;
  }
  return { changes: all, offset: head };
}

/** The current head offset of a collection's log. */
export async function headOf(gw, tok, coll) {
  return (await readLog(gw, tok, coll)).offset;
}

/** Parses Prometheus text into {name{labels}: value} plus the TYPE lines. */
export function parseMetrics(text) {
  const values = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = line.match(/^# TYPE (\S+) (\S+)$/);
    if (t) { types.set(t[1], t[2]); continue; }
    if (line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    values.set(m[1], Number(m[2]));
  }
  return { values, types };
}

/** The document fields of a change message or answer, for comparison. */
export function docFields(d) {
  return {
    collection: d.collection, id: d.id, deleted: d.deleted, version: d.version,
    actor: d.actor, timestamp: d.timestamp, data: d.data, offset: d.offset,
  };
}
