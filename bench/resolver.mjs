// resolver.mjs - what the callback conflict policy costs: the latency a
// resolver that answers in RES_DELAY_MS (default 5 ms) adds to a
// conflicting write, against the same conflicts under lww; and the latency
// of ordinary (non-conflicting) writes with and without RES_HANG resolver
// calls (default 50) hanging in the same gateway. One JSON line on stdout.
//
// Environment:
//   RES_N          conflicting writes per case (default 2000)
//   RES_C          concurrent writers (default 8)
//   RES_DELAY_MS   resolver answer time (default 5)
//   RES_HANG       resolver calls hanging during the last case (default 50)
import { Redis, Gateway, adminToken } from '../tests/integration/lib/harness.mjs';
import { startResolver } from '../tests/integration/lib/resolver.mjs';

const N = Number(process.env.RES_N || 2000);
const C = Number(process.env.RES_C || 8);
const DELAY = Number(process.env.RES_DELAY_MS || 5);
const HANG = Number(process.env.RES_HANG || 50);
const SECRET = 'bench-resolver-secret-0123456789abcdef';
const tok = adminToken('bench');
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];
const r2 = (v) => +v.toFixed(2);

async function put(gw, coll, id, body) {
  const t = performance.now();
  const res = await fetch(`${gw.url}/v1/collections/${coll}/docs/${id}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const json = await res.json();
  return { status: res.status, json, ms: performance.now() - t };
}

/** Runs step(i) for i in 0..N-1 through C concurrent writers; returns the
 * sorted latencies step reports. */
async function drive(step) {
  let next = 0;
  const lat = [];
  async function writer() {
    for (let i = next++; i < N; i = next++) lat.push(await step(i));
  }
  await Promise.all(Array.from({ length: C }, writer));
  return lat.sort((a, b) => a - b);
}

/** N conflicting writes, each on its own document after its base write;
 * the latencies of the conflicting ones. */
function conflicts(gw, coll, want) {
  return drive(async (i) => {
    await put(gw, coll, `d${i}`, { data: { v: 's' }, version: { 'bench:a': 1 }, actor: 'bench:a' });
    const w = await put(gw, coll, `d${i}`, { data: { v: 'i' }, version: { 'bench:b': 1 }, actor: 'bench:b' });
    if (w.status !== 200 || !w.json.conflict || w.json.conflict.winner !== want) {
      throw new Error(`conflict ${i}: ${w.status} ${JSON.stringify(w.json)}`);
    }
    return w.ms;
  });
}

/** N plain writes spread over 100 documents. */
function plain(gw, coll) {
  return drive(async (i) => {
    const w = await put(gw, coll, `p${i % 100}`, { data: { i } });
    if (w.status !== 200 && w.status !== 201) throw new Error(`write ${i}: ${w.status}`);
    return w.ms;
  });
}

const summary = (lat) => ({ p50_ms: r2(pct(lat, 50)), p99_ms: r2(pct(lat, 99)), max_ms: r2(lat.at(-1)) });

const redis = await Redis.start();
const res = await startResolver({ secret: SECRET });
res.mode('delay', { ms: DELAY });
const gw = await Gateway.start({
  redis,
  env: { SYNCGATE_LOG_LEVEL: 'error', SYNCGATE_RESOLVER_SECRET: SECRET },
  config: {
    collections: [
      { match: 'cb', conflict: 'callback', resolver_url: res.url, resolver_timeout_ms: 2000 },
      { match: 'hang', conflict: 'callback', resolver_url: res.url, resolver_timeout_ms: 60000 },
    ],
  },
});
const lww = await conflicts(gw, 'lww', 'incoming');
const cb = await conflicts(gw, 'cb', 'resolver');
const calm = await plain(gw, 'plain1');
// HANG resolver calls that do not come back while the plain writes run
res.mode('hang');
for (let i = 0; i < HANG; i++) await put(gw, 'hang', `h${i}`, { data: 0, version: { 'bench:a': 1 }, actor: 'bench:a' });
const hanging = Array.from({ length: HANG }, (_, i) => put(gw, 'hang', `h${i}`, { data: 1, version: { 'bench:b': 1 }, actor: 'bench:b' }).catch(() => null));
for (let k = 0; k < 200; k++) {
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  if (new RegExp(`^syncgate_resolver_calls_in_flight ${HANG}$`, 'm').test(m)) break;
  await new Promise((r) => setTimeout(r, 25));
}
const busy = await plain(gw, 'plain2');
await res.close(); // the hanging calls end (connection gone): their fallback
await Promise.all(hanging);
await gw.stop();
await redis.stop();

console.log(JSON.stringify({
  bench: 'resolver',
  conflicting_writes: N,
  concurrency: C,
  resolver_answer_ms: DELAY,
  conflict_lww: summary(lww),
  conflict_callback: summary(cb),
  p99_added_by_resolver_ms: r2(pct(cb, 99) - pct(lww, 99)),
  p50_added_by_resolver_ms: r2(pct(cb, 50) - pct(lww, 50)),
  plain_writes: summary(calm),
  plain_writes_while_hanging: { hanging_calls: HANG, ...summary(busy) },
}));
