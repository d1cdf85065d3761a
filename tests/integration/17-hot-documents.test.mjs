// Hot documents (DESIGN section 4): many writers doing read-modify-write
// cycles on one document never get 503 while Redis is healthy, through one
// gateway or two, and no acknowledged write is lost: every write answered
// applied:true is in the change log exactly once, every acknowledged
// version is covered by the final version, the log's versions only grow,
// and both gateways read the same final document (RELIABILITY D01's
// checker, on one hot document).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Gateway, assertCleanExit, token, uniqueColl } from './lib/harness.mjs';
import { readLog, request, parseMetrics } from './lib/rest-helpers.mjs';

const TOK = token('w', { sync: { read: ['*'], write: ['*'] } });

let redis;
let a;
let b;

before(async () => {
  redis = await Redis.start();
  // up to 50 writers share subject "w" here, as devices w:<i>
  const config = { collections: [{ match: 'rej-*', conflict: 'reject' }], limits: { actors_per_subject: 100 } };
  a = await Gateway.start({ redis, node: 'a', config });
  b = await Gateway.start({ redis, node: 'b', config });
});

after(async () => {
  for (const g of [a, b]) if (g && g.proc.exitCode === null && g.proc.signalCode === null) await g.kill();
  if (redis) await redis.stop();
});

const docPath = (c) => `/v1/collections/${c}/docs/hot`;

/** a >= b entry-wise (every entry of b is covered by a). */
function covers(a, b) {
  return Object.entries(b).every(([k, n]) => (a[k] || 0) >= n);
}

/** Entry-wise a >= b and a != b. */
function dominates(a, b) {
  return covers(a, b) && !covers(b, a);
}

async function metric(gw, name) {
  return parseMetrics((await request(gw, 'GET', '/metrics')).text).values.get(name) ?? 0;
}

/**
 * W writers x N cycles of GET then PUT(version + 1 in the writer's own
 * entry) on one document, writers spread over gws. Returns the history.
 */
async function hammer(gws, c, W, N) {
  const history = [];
  async function writer(w) {
    const actor = `w:${w}`;
    const gw = gws[w % gws.length];
    for (let i = 0; i < N; i++) {
      const g = await request(gw, 'GET', docPath(c), { token: TOK, timeout: 10000 });
      const base = g.status === 200 ? g.json.version : {};
      const v = { ...base, [actor]: (base[actor] || 0) + 1 };
      const body = { data: { by: actor, i, seen: g.status === 200 ? g.json.data : null }, version: v, actor };
      const r = await request(gw, 'PUT', docPath(c), { token: TOK, body, timeout: 10000 });
      history.push({ actor, W: v, status: r.status, json: r.json, text: r.text });
    }
  }
  await Promise.all(Array.from({ length: W }, (_, w) => writer(w)));
  return history;
}

async function check(gws, c, history, policy) {
  const bad = history.filter((h) => ![200, 201, 409].includes(h.status) || (h.status === 409 && policy !== 'reject'));
  assert.deepEqual(bad.map((h) => `${h.status} ${h.text.slice(0, 200)}`), [], 'only 200/201 (and 409 under reject): never 503');
  const log = (await readLog(gws[0], TOK, c)).changes;
  // the log: seq 1..N without holes, versions strictly growing
  log.forEach((d, k) => assert.equal(Number(d.offset.split(':').pop()), k + 1, 'seq without holes'));
  for (let k = 1; k < log.length; k++) {
    assert.ok(dominates(log[k].version, log[k - 1].version), `log version ${k} dominates ${k - 1}`);
  }
  // every applied write is in the log exactly once, with its answer
  const offsets = new Map(log.map((d) => [d.offset, d]));
  const applied = history.filter((h) => (h.status === 200 || h.status === 201) && h.json.applied === true);
  assert.ok(applied.length > 0);
  for (const h of applied) {
    const d = offsets.get(h.json.offset);
    assert.ok(d, `applied write at ${h.json.offset} is in the log`);
    assert.deepEqual(d.version, h.json.version);
    offsets.delete(h.json.offset);
  }
  // every acknowledged write (applied or settled) is covered at the end
  const finals = await Promise.all(gws.map((g) => request(g, 'GET', docPath(c), { token: TOK })));
  for (const f of finals) assert.equal(f.text, finals[0].text, 'both gateways read the same document');
  const final = finals[0].json;
  assert.deepEqual(final.version, log.at(-1).version);
  for (const h of history) {
    if (h.status === 200 || h.status === 201) {
      assert.ok(covers(final.version, h.W), `acknowledged ${JSON.stringify(h.W)} covered by ${JSON.stringify(final.version)}`);
    }
  }
  // under reject, no acknowledged write was overwritten without a
  // successor that knew it
  if (policy === 'reject') {
    for (let k = 1; k < log.length; k++) assert.ok(covers(log[k].version, log[k - 1].version));
  }
  return { log, applied };
}

for (const [name, n] of [['one gateway', 1], ['two gateways', 2]]) {
  test(`10 writers x 20 read-modify-write cycles on one document, ${name}: no 503, nothing lost`, async () => {
    const gws = n === 1 ? [a] : [a, b];
    const c = uniqueColl(`hot-${n}`);
    const rounds0 = await metric(a, 'syncgate_write_rounds_total');
    const waits0 = await metric(a, 'syncgate_write_waits_total');
    const history = await hammer(gws, c, 10, 20);
    const { log } = await check(gws, c, history, 'lww');
    assert.ok(log.length >= 20, `${log.length} changes`);
    if (n === 1) {
      // one gateway: writes of the document queue, they never race in Redis
      assert.equal(await metric(a, 'syncgate_write_rounds_total'), rounds0, 'no write decided twice');
      assert.ok(await metric(a, 'syncgate_write_waits_total') > waits0, 'writes waited for each other');
    }
  });
}

test('the same under the reject policy, two gateways: 409s, no 503, no lost update', async () => {
  const c = uniqueColl('rej-hot');
  const history = await hammer([a, b], c, 10, 20);
  await check([a, b], c, history, 'reject');
  assert.ok(history.some((h) => h.status === 409), 'concurrent cycles were refused');
});

test('50 unconditional writers at once on one document through one gateway: no 503, one change each', async () => {
  const c = uniqueColl('hot-uncond');
  // a burst sent at once: every write is one change, none is refused
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => request(a, 'PUT', docPath(c), {
    token: TOK, body: { data: { i }, actor: `w:${i}` }, timeout: 10000,
  })));
  assert.deepEqual(rs.filter((r) => r.status !== 200 && r.status !== 201).map((r) => r.text), []);
  const seqs = rs.map((r) => Number(r.json.offset.split(':').pop())).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i + 1), 'each write one change');
  const final = (await request(a, 'GET', docPath(c), { token: TOK })).json;
  assert.equal(Object.keys(final.version).length, 50, 'every writer counted in the final version');
});

test('unconditional writes racing to create one document through two gateways: one 201, every write one change, none counted as a lost round', async () => {
  // a write without a version goes to the script presuming no document;
  // all but the first find one and are decided again against it
  const c = uniqueColl('hot-create');
  const rounds = async () => {
    let n = 0;
    for (const g of [a, b]) {
      const m = parseMetrics((await request(g, 'GET', '/metrics')).text);
      n += m.values.get('syncgate_write_rounds_total') || 0;
    }
    return n;
  };
  const before = await rounds();
  const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => request(i % 2 ? b : a, 'PUT', docPath(c), {
    token: TOK, body: { data: { i }, actor: `w:${i}` }, timeout: 10000,
  })));
  assert.deepEqual(rs.filter((r) => r.status !== 200 && r.status !== 201).map((r) => r.text), []);
  assert.equal(rs.filter((r) => r.status === 201).length, 1, 'exactly one write created the document');
  assert.ok(rs.every((r) => r.json.applied), 'every write applied');
  const seqs = rs.map((r) => Number(r.json.offset.split(':').pop())).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i + 1), 'each write one change');
  const final = (await request(a, 'GET', docPath(c), { token: TOK })).json;
  assert.deepEqual(final.version, Object.fromEntries(rs.map((_, i) => [`w:${i}`, 1])), 'every writer counted once');
  // only writes that lost to another gateway's write count as rounds, not
  // those whose presumption of a new document was wrong on this gateway
  assert.ok(await rounds() - before <= 40, 'rounds bounded by the writes');
  // a second burst on the existing document: no presumption pays off, and
  // the answers stay exactly as before
  const more = await Promise.all(Array.from({ length: 10 }, (_, i) => request(i % 2 ? b : a, 'PUT', docPath(c), {
    token: TOK, body: { data: { j: i }, actor: `w:${i}` }, timeout: 10000,
  })));
  assert.ok(more.every((r) => r.status === 200 && r.json.applied), more.map((r) => r.text).join('\n'));
  const last = (await request(b, 'GET', docPath(c), { token: TOK })).json;
  for (let i = 0; i < 10; i++) assert.equal(last.version[`w:${i}`], 2);
});

/**
 * RELIABILITY D01 (PR size): 8 writers, 4 per gateway, each an actor
 * doing read-modify-write on 20 documents from its last read, 200 writes
 * each; the R6 checks on every document.
 */
async function d01(policy) {
  const c = uniqueColl(policy === 'reject' ? 'rej-d01' : 'd01');
  const docs = Array.from({ length: 20 }, (_, i) => `doc${i}`);
  const history = [];
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    const actor = `w:d${w}`;
    const gw = w % 2 ? b : a;
    for (let i = 0; i < 200; i++) {
      const id = docs[Math.floor(Math.random() * docs.length)];
      const p = `/v1/collections/${c}/docs/${id}`;
      const g = await request(gw, 'GET', p, { token: TOK, timeout: 10000 });
      const base = g.status === 200 ? g.json.version : {};
      const v = { ...base, [actor]: (base[actor] || 0) + 1 };
      const r = await request(gw, 'PUT', p, { token: TOK, body: { data: { actor, i }, version: v, actor }, timeout: 10000 });
      history.push({ id, W: v, status: r.status, json: r.json, text: r.text });
    }
  }));
  const bad = history.filter((h) => ![200, 201, 409].includes(h.status) || (h.status === 409 && policy !== 'reject'));
  assert.deepEqual(bad.map((h) => `${h.status} ${h.text.slice(0, 200)}`), [], 'no 503, no 5xx');
  const log = (await readLog(a, TOK, c)).changes;
  log.forEach((d, k) => assert.equal(Number(d.offset.split(':').pop()), k + 1, 'log seq 1..N without holes'));
  const offsets = new Set(log.map((d) => d.offset));
  for (const h of history.filter((x) => (x.status === 200 || x.status === 201) && x.json.applied)) {
    assert.ok(offsets.delete(h.json.offset), `applied write ${h.json.offset} once in the log`);
  }
  for (const id of docs) {
    const versions = log.filter((d) => d.id === id).map((d) => d.version);
    for (let k = 1; k < versions.length; k++) {
      assert.ok(dominates(versions[k], versions[k - 1]), `${id}: log versions strictly increase`);
    }
    const fa = await request(a, 'GET', docPath2(c, id), { token: TOK });
    const fb = await request(b, 'GET', docPath2(c, id), { token: TOK });
    assert.equal(fa.text, fb.text, `${id}: the same on both gateways`);
    for (const h of history.filter((x) => x.id === id && (x.status === 200 || x.status === 201))) {
      assert.ok(covers(fa.json.version, h.W), `${id}: acknowledged ${JSON.stringify(h.W)} covered`);
    }
  }
  if (policy === 'reject') assert.ok(history.some((h) => h.status === 409), 'concurrent cycles were refused');
}

const docPath2 = (c, id) => `/v1/collections/${c}/docs/${id}`;

test('D01, lww: 8 writers on 20 documents through two gateways', () => d01('lww'));
test('D01, reject: 8 writers on 20 documents through two gateways', () => d01('reject'));

test('the gateways stop cleanly', async () => {
  assertCleanExit(assert, await a.stop());
  assertCleanExit(assert, await b.stop());
  a = b = null;
});
