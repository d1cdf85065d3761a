// rest-helpers.mjs - small helpers shared by the REST black-box suites
// (10-*, 11-*, 12-*, 13-*): whole-Redis snapshots to prove "nothing
// changed", change-log readers, error-shape checks and /metrics parsing.
import { seqOf, epochOf } from './harness.mjs';

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
    const r = await gw.req('GET', `/v1/collections/${coll}/changes?limit=1000${q}`, { token: tok });
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
