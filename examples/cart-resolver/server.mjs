// server.mjs - an example resolver for syncgate's `callback` conflict
// policy: merges two concurrent versions of a shopping cart (merge.mjs).
// Dependency-free (Node 18.2+). Copy this folder into your application.
//
//   SYNCGATE_RESOLVER_SECRET=<at least 32 bytes> PORT=9000 node server.mjs
//
// Environment:
//   SYNCGATE_RESOLVER_SECRET  the secret shared with the gateway (required, >= 32 bytes)
//   PORT                      port to listen on (default 9000; 0 picks a free one)
//   HOST                      address to listen on (default 127.0.0.1)
//
// Prints "listening on <port>" on stdout once it accepts calls, then one
// JSON line per call. SIGTERM or SIGINT: stops accepting, lets calls in
// progress finish (at most 5 s), exits 0.
//
// Every call is checked before it is merged, in this order:
//   POST /resolve only                            else 404 (405 for another method)
//   body at most 2 MiB                            else 413
//   X-Syncgate-Timestamp within 300 s of now      else 401
//   X-Syncgate-Signature = v1=HMAC-SHA256(secret, "<timestamp>.<raw body>"),
//     compared in constant time                   else 401
//   body is JSON, request_id matches the header   else 400
//   request id not seen in the last 300 s         else 409 (a replay)
//   both sides are carts                          else 422
// Any answer but 200 makes the gateway apply the collection's fallback.
import http from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mergeCarts, CartError } from './merge.mjs';

const WINDOW_S = 300;
const MAX_BODY = 2 << 20;
const MAX_REMEMBERED = 1000000;

const secret = process.env.SYNCGATE_RESOLVER_SECRET || '';
if (Buffer.byteLength(secret) < 32) {
  process.stderr.write('cart-resolver: SYNCGATE_RESOLVER_SECRET must be set to at least 32 bytes\n');
  process.exit(2);
}
const port = Number(process.env.PORT ?? 9000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`cart-resolver: PORT must be 0..65535, not ${process.env.PORT}\n`);
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';

// Request ids already answered, with the time (ms) after which the
// timestamp check alone refuses them: each is remembered until then.
const seen = new Map();
let lastPrune = 0;

function prune(now) {
  if (now - lastPrune < 1000 && seen.size < MAX_REMEMBERED) return;
  lastPrune = now;
  for (const [id, until] of seen) if (until < now) seen.delete(id);
}

/** 'ok' or why the signature or timestamp is refused. */
function verify(headers, raw, now) {
  const ts = headers['x-syncgate-timestamp'];
  if (typeof ts !== 'string' || !/^[0-9]{1,12}$/.test(ts)) return 'bad_timestamp';
  if (Math.abs(now / 1000 - Number(ts)) > WINDOW_S) return 'stale_timestamp';
  const m = /^v1=([0-9a-f]{64})$/.exec(headers['x-syncgate-signature'] || '');
  if (!m) return 'bad_signature';
  const want = createHmac('sha256', secret).update(`${ts}.`).update(raw).digest();
  if (!timingSafeEqual(want, Buffer.from(m[1], 'hex'))) return 'bad_signature';
  return 'ok';
}

function log(fields) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

function reply(res, status, body, extra = {}) {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length, ...extra });
  res.end(buf);
}

function handle(req, res, raw, t0) {
  const now = Date.now();
  const id = req.headers['x-syncgate-request-id'];
  const done = (status, outcome, body, more = {}) => {
    reply(res, status, body);
    log({ status, outcome, request_id: typeof id === 'string' ? id.slice(0, 64) : null, ...more, ms: Date.now() - t0 });
  };
  const refuse = (status, code, message, more) => done(status, code, { error: { code, message } }, more);

  const v = verify(req.headers, raw, now);
  if (v !== 'ok') return refuse(401, v, 'signature or timestamp refused');
  let body;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return refuse(400, 'invalid_json', 'body is not JSON');
  }
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id) || body?.request_id !== id) {
    return refuse(400, 'bad_request_id', 'X-Syncgate-Request-Id must be 32 hex chars and equal body.request_id');
  }
  const where = { collection: body.collection, id: body.id };
  prune(now);
  const until = seen.get(id);
  if (until !== undefined && until >= now) return refuse(409, 'replayed', 'request id already answered', where);
  if (seen.size >= MAX_REMEMBERED) return refuse(503, 'busy', 'too many request ids to remember', where);
  seen.set(id, Number(req.headers['x-syncgate-timestamp']) * 1000 + WINDOW_S * 1000);

  let answer;
  try {
    answer = mergeCarts(body.stored, body.incoming);
  } catch (e) {
    if (e instanceof CartError) return refuse(422, 'not_a_cart', e.message, where);
    throw e;
  }
  const items = answer.deleted ? 0 : Object.keys(answer.data.items).length;
  return done(200, answer.deleted ? 'deleted' : 'merged', answer, { ...where, items });
}

const server = http.createServer((req, res) => {
  const t0 = Date.now();
  const path = (req.url || '').split('?')[0];
  if (path !== '/resolve') {
    req.resume();
    reply(res, 404, { error: { code: 'not_found', message: 'POST /resolve' } });
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    reply(res, 405, { error: { code: 'method_not_allowed', message: 'POST /resolve' } }, { allow: 'POST' });
    return;
  }
  const chunks = [];
  let size = 0;
  let over = false;
  req.on('data', (d) => {
    size += d.length;
    if (size > MAX_BODY) over = true;
    else chunks.push(d);
  });
  req.on('error', () => {});
  req.on('end', () => {
    if (over) {
      reply(res, 413, { error: { code: 'payload_too_large', message: `body over ${MAX_BODY} bytes` } }, { connection: 'close' });
      log({ status: 413, outcome: 'payload_too_large', ms: Date.now() - t0 });
      return;
    }
    try {
      handle(req, res, Buffer.concat(chunks), t0);
    } catch (e) {
      reply(res, 500, { error: { code: 'internal', message: 'resolver error' } });
      log({ status: 500, outcome: 'internal', error: String(e && e.message), ms: Date.now() - t0 });
    }
  });
});
// Slow or idle clients do not hold sockets forever; kept-alive connections
// (the gateway reuses them) stay open 30 s between calls.
server.headersTimeout = 10000;
server.requestTimeout = 15000;
server.keepAliveTimeout = 30000;

server.on('error', (e) => {
  process.stderr.write(`cart-resolver: ${e.message}\n`);
  process.exit(1);
});

server.listen(port, host, () => {
  process.stdout.write(`listening on ${server.address().port}\n`);
});

function stop(sig) {
  log({ outcome: 'stopping', signal: sig });
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
