// hot.mjs - the hot-document benchmark: W writers doing read-modify-write
// cycles (GET the document, then PUT it with the version it returned plus 1
// in the writer's own actor entry, data changed), on ONE document for
// W = 1, 10, 50, and 50 writers on 50 distinct documents; each case through
// one gateway and through two gateways (writers split evenly) on one Redis.
// Reports throughput, PUT and cycle latency percentiles and every status
// answered, as one JSON line on stdout. Under contention the gateway must
// never answer 503: a 503 count is printed on stderr too, loudly.
//
// Environment:
//   HOT_SECONDS      seconds per case (default 5; 8 cases, about 45 s in all)
//   HOT_CYCLES       cycles per writer instead of a duration (0: use HOT_SECONDS)
//   HOT_MAX_SECONDS  hard limit of one case (default max(30, 4 * HOT_SECONDS))
//   HOT_CASES        cases to run, "writers x docs x gateways" comma-separated
//                    (default "1x1x1,1x1x2,10x1x1,10x1x2,50x1x1,50x1x2,50x50x1,50x50x2")
//   HOT_TIMEOUT_MS   timeout of one HTTP request (default 10000)
import { Redis, Gateway, adminToken, sleep } from '../tests/integration/lib/harness.mjs';

const SECONDS = Number(process.env.HOT_SECONDS || 5);
const CYCLES = Number(process.env.HOT_CYCLES || 0);
const MAX_SECONDS = Number(process.env.HOT_MAX_SECONDS || Math.max(30, 4 * SECONDS));
const TIMEOUT_MS = Number(process.env.HOT_TIMEOUT_MS || 10000);
const CASES = (process.env.HOT_CASES || '1x1x1,1x1x2,10x1x1,10x1x2,50x1x1,50x1x2,50x50x1,50x50x2')
  .split(',').map((s) => {
    const [writers, docs, gateways] = s.trim().split('x').map(Number);
    if (!(writers >= 1 && docs >= 1 && docs <= writers && (gateways === 1 || gateways === 2))) {
      throw new Error(`HOT_CASES: bad case ${s} (writers x docs x gateways, docs <= writers, 1 or 2 gateways)`);
    }
    return { writers, docs, gateways };
  });

const COLL = 'hot';
const SUBJECT = 'bench'; // each writer's actor is bench:w<k>
const tok = adminToken(SUBJECT);
const PAD = 'x'.repeat(100);
const pct = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))] : null);
const ms2 = (v) => (v === null ? null : +v.toFixed(2));
const inc = (o, k) => { o[k] = (o[k] || 0) + 1; };

/** One request with a timeout; never throws: errors come back as status strings. */
async function http(gw, method, p, body) {
  try {
    const res = await fetch(`${gw.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: String(res.status), json };
  } catch (e) {
    return { status: e.name === 'TimeoutError' ? 'timeout' : `error:${e.cause?.code || e.name}` };
  }
}

/** Counts of one case. */
function newStats() {
  return {
    puts: 0,
    statuses: {},   // PUT answers by HTTP status (or timeout / error:<code>)
    outcomes: {},   // applied, not_applied, conflict:<policy>:<winner>, <status>:<error code>
    gets: {},       // GET answers by status
    messages503: {}, // the message of each 503
    putLat: [],
    cycleLat: [],
  };
}

async function writer(k, gw, docId, until, hardStop, st) {
  const actor = `${SUBJECT}:w${k}`;
  const p = `/v1/collections/${COLL}/docs/${docId}`;
  for (let c = 0; ; c++) {
    const now = performance.now();
    if (now >= hardStop || (CYCLES ? c >= CYCLES : now >= until)) return;
    const t0 = performance.now();
    const g = await http(gw, 'GET', p);
    inc(st.gets, g.status);
    if (g.status !== '200' || !g.json) {
      await sleep(5); // a GET that failed: try the cycle again, without spinning
      continue;
    }
    const v = g.json.version || {};
    const version = { ...v, [actor]: (v[actor] || 0) + 1 };
    const data = { n: ((g.json.data && g.json.data.n) || 0) + 1, by: actor, cycle: c, pad: PAD };
    const t1 = performance.now();
    const r = await http(gw, 'PUT', p, { data, version, actor });
    const t2 = performance.now();
    st.puts += 1;
    st.putLat.push(t2 - t1);
    st.cycleLat.push(t2 - t0);
    inc(st.statuses, r.status);
    const j = r.json;
    if (r.status === '200' || r.status === '201') {
      inc(st.outcomes, j && j.applied === false ? 'not_applied' : 'applied');
      if (j && j.conflict) inc(st.outcomes, `conflict:${j.conflict.policy}:${j.conflict.winner}`);
    } else {
      inc(st.outcomes, `${r.status}:${(j && j.error && j.error.code) || 'no_json'}`);
      if (r.status === '503') inc(st.messages503, (j && j.error && j.error.message) || '(no message)');
    }
  }
}

async function runCase(idx, { writers, docs, gateways }, gws) {
  const ids = Array.from({ length: docs }, (_, d) => `c${idx}-d${d}`);
  for (const id of ids) {
    const r = await http(gws[0], 'PUT', `/v1/collections/${COLL}/docs/${id}`, { data: { n: 0, pad: PAD } });
    if (r.status !== '201') throw new Error(`seeding ${id}: ${r.status}`);
  }
  const st = newStats();
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  const hardStop = t0 + MAX_SECONDS * 1000;
  await Promise.all(Array.from({ length: writers }, (_, k) => writer(k, gws[k % gateways], ids[k % docs], until, hardStop, st)));
  const elapsed = (performance.now() - t0) / 1000;
  st.putLat.sort((a, b) => a - b);
  st.cycleLat.sort((a, b) => a - b);
  const applied = st.outcomes.applied || 0;
  return {
    writers,
    docs,
    gateways,
    cycles: st.puts,
    seconds: +elapsed.toFixed(2),
    writes_per_s: Math.round(st.puts / elapsed),
    applied_per_s: Math.round(applied / elapsed),
    p50_ms: ms2(pct(st.putLat, 50)),
    p99_ms: ms2(pct(st.putLat, 99)),
    cycle_p50_ms: ms2(pct(st.cycleLat, 50)),
    cycle_p99_ms: ms2(pct(st.cycleLat, 99)),
    statuses: st.statuses,
    n503: st.statuses['503'] || 0,
    outcomes: st.outcomes,
    get_statuses: st.gets,
    ...(Object.keys(st.messages503).length ? { messages_503: st.messages503 } : {}),
  };
}

const redis = await Redis.start();
const gws = [];
let out;
try {
  const need = Math.max(...CASES.map((c) => c.gateways));
  for (let i = 0; i < need; i++) {
    // 50 writers share subject "bench", as devices bench:w<k>
    gws.push(await Gateway.start({ redis, node: `hot${i + 1}`, env: { SYNCGATE_LOG_LEVEL: 'warn', SYNCGATE_LIMIT_ACTORS_PER_SUBJECT: '100' } }));
  }
  const cases = [];
  for (const [i, c] of CASES.entries()) cases.push(await runCase(i, c, gws));
  const total503 = cases.reduce((s, c) => s + c.n503, 0);
  out = {
    bench: 'hot',
    ...(CYCLES ? { cycles_per_writer: CYCLES } : { seconds_per_case: SECONDS }),
    total_503: total503,
    cases,
  };
  for (const c of cases) {
    if (c.n503) {
      process.stderr.write(`hot: !!! ${c.n503} of ${c.cycles} writes answered 503 (${c.writers} writers, ${c.docs} docs, ${c.gateways} gateways): ${JSON.stringify(c.messages_503)}\n`);
    }
  }
  process.stderr.write(total503 ? `hot: !!! ${total503} writes answered 503 in all (the goal is 0)\n` : 'hot: no 503 answers\n');
} finally {
  for (const g of gws) await g.stop();
  await redis.stop();
}
console.log(JSON.stringify(out));
