// docker/ on a real Docker engine: the image (non-root, read-only root,
// HEALTHCHECK healthy), the compose stack with three gateways behind HAProxy
// over TLS, a gateway killed under write load (WebSocket clients resume
// through the LB and miss nothing), Redis restarted (what docs/operations.md
// promises), X-Forwarded-For reaching the gateways, and down leaving nothing
// behind.
// Needs root or a running engine; SYNCGATE_SKIP_DOCKER=1 skips it (and says
// so). Every step has a timeout; the stack is removed even on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, networkInterfaces } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import {
  ROOT, SKIP, DOCKER, COMPOSE, run, must, ensureEngine, stopEngine, baseImages, buildImage, freeSubnetPrefix, sleep,
} from './lib/engine.mjs';
import { Stack, Follower, pct } from './lib/stack.mjs';
import { token, SECRET, freePort, waitFor } from '../integration/lib/harness.mjs';

const log = (s) => console.log(`docker: ${s}`);
const IMAGE = 'syncgate:test';
const TOK = token('docker', { sync: { read: ['*'], write: ['*'] }, expiresIn: 7200 });
const tmp = mkdtempSync(path.join(tmpdir(), 'sg-docker-'));
const seqOf = (o) => Number(o.slice(o.lastIndexOf(':') + 1));
const epochOf = (o) => o.slice(0, o.lastIndexOf(':'));

let eng;
let stack;
let wentDown = false;
const t0 = Date.now();

/** waitFor with this suite's pace: 30 s, every 200 ms. */
const until = (fn, { timeout = 30000, interval = 200, what }) => waitFor(fn, { timeout, interval, what });

const allHealthy = async () => {
  for (const n of await stack.containers('gateway')) {
    const i = await stack.inspect(n);
    if (i.State.Running && (!i.State.Health || i.State.Health.Status !== 'healthy')) return false;
  }
  return true;
};

before(async () => {
  if (SKIP) {
    log('SKIPPED: SYNCGATE_SKIP_DOCKER=1 (the Docker deployment was not tested)');
    return;
  }
  eng = await ensureEngine(log);
  log(`engine ${eng.version}${eng.started ? ` (started here, pid ${eng.started})` : ''}`);
  let t = Date.now();
  const b = await baseImages();
  log(`base images: ${b.out.trim().split('\n').join('; ')} (${Date.now() - t} ms)`);
  t = Date.now();
  await buildImage(IMAGE);
  log(`image ${IMAGE} built in ${Date.now() - t} ms`);

  const certDir = path.join(tmp, 'certs');
  await must('sh', [path.join(ROOT, 'docker/dev-cert.sh')], { env: { ...process.env, SYNCGATE_CERT_DIR: certDir } });
  // the deployment's own config file, with an auth-failure budget small
  // enough to see per-client-address limiting through the LB
  const cfg = JSON.parse(readFileSync(path.join(ROOT, 'docker/syncgate.json'), 'utf8'));
  cfg.limits = { ...cfg.limits, auth_failures_per_s: 1, auth_failures_burst: 3 };
  const configFile = path.join(tmp, 'syncgate.json');
  writeFileSync(configFile, JSON.stringify(cfg));

  stack = new Stack({
    project: `sgtest${process.pid}`,
    prefix: await freeSubnetPrefix(),
    ports: { https: await freePort(), stats: await freePort() },
    certDir,
    configFile,
    image: IMAGE,
    secret: SECRET,
    redisPassword: randomBytes(16).toString('hex'),
  });
  t = Date.now();
  await stack.composeMust(['up', '-d', '--no-build', '--scale', 'gateway=3']);
  await until(async () => (await stack.request('GET', '/v1/ready', { agent: false })).status === 200, { what: 'the LB answering /v1/ready' });
  await until(async () => { const u = await stack.upCount(); return u.rest === 3 && u.ws === 3; }, { what: '3 gateways UP in both pools' });
  log(`stack ${stack.project} up (subnet ${stack.prefix}.0/24, https 127.0.0.1:${stack.ports.https}) in ${Date.now() - t} ms`);
}, { timeout: 1500000 });

// interrupted (Ctrl-C, a CI timeout): the after hook does not run, so the
// stack goes down here, synchronously, before the process ends
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    if (stack && !wentDown) {
      log(`${sig}: removing ${stack.project}`);
      spawnSync(COMPOSE, ['-p', stack.project, '-f', stack.file, 'down', '-v', '--remove-orphans', '-t', '2'],
        { env: stack.env, stdio: 'ignore', timeout: 60000 });
    }
    if (eng && eng.started) { try { process.kill(eng.started, 'SIGTERM'); } catch { /* gone */ } }
    process.exit(130);
  });
}

after(async () => {
  if (stack && !wentDown) {
    const left = await stack.down();
    if (left.code !== 0) log(`down: ${left.out}`);
  }
  await stopEngine(eng, log);
  rmSync(tmp, { recursive: true, force: true });
  if (!SKIP) log(`docker suite took ${Math.round((Date.now() - t0) / 1000)} s`);
}, { timeout: 180000 });

const skip = SKIP ? 'SYNCGATE_SKIP_DOCKER=1' : false;

test('the image runs as non-root on a read-only root filesystem, and its HEALTHCHECK reaches healthy', { skip, timeout: 90000 }, async () => {
  const img = JSON.parse((await must(DOCKER, ['image', 'inspect', IMAGE])).out)[0];
  assert.equal(img.Config.User, '10001:10001');
  assert.deepEqual(img.Config.Healthcheck.Test, ['CMD', '/usr/local/bin/syncgate', '--health']);
  log(`image size ${(img.Size / 1e6).toFixed(1)} MB`);
  await until(allHealthy, { timeout: 60000, what: 'every gateway healthy' });
  const names = await stack.containers('gateway');
  assert.equal(names.length, 3);
  for (const n of names) {
    const i = await stack.inspect(n);
    assert.equal(i.State.Health.Status, 'healthy', n);
    assert.equal(i.HostConfig.ReadonlyRootfs, true, `${n}: read-only root`);
    assert.equal((await must(DOCKER, ['exec', n, 'id', '-u'])).out.trim(), '10001');
    const w = await run(DOCKER, ['exec', n, 'sh', '-c', 'echo x > /usr/local/bin/x']);
    assert.notEqual(w.code, 0, 'the root filesystem cannot be written');
    assert.match(w.err, /Read-only file system/);
    const h = await run(DOCKER, ['exec', n, 'syncgate', '--health']);
    assert.equal(h.code, 0, h.err);
  }
  // the same image alone, as `docker run --read-only`, no Redis at all:
  // liveness does not depend on Redis, so it is healthy too
  const name = `${stack.project}-solo`;
  await must(DOCKER, ['run', '-d', '--name', name, '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL',
    '-e', `SYNCGATE_JWT_SECRET=${SECRET}`, '-e', 'SYNCGATE_REDIS_URL=redis://127.0.0.1:1', IMAGE]);
  try {
    const s = await until(async () => {
      const st = (await stack.inspect(name)).State;
      return st.Health && st.Health.Status !== 'starting' ? st.Health.Status : (st.Running ? false : 'exited');
    }, { timeout: 40000, what: 'the solo container leaving "starting"' });
    assert.equal(s, 'healthy');
  } finally {
    await run(DOCKER, ['rm', '-f', name]);
  }
});

test('through the LB over TLS: REST writes and a wss subscriber receiving them, every gateway in use', { skip, timeout: 60000 }, async () => {
  const info = await stack.request('GET', '/v1/info');
  assert.equal(info.status, 200);
  assert.equal(info.json.ws_url, `wss://localhost:${stack.ports.https}/v1/ws`);
  const nodes = new Set();
  for (let i = 0; i < 9; i++) nodes.add((await stack.request('GET', '/v1/info')).json.node);
  assert.equal(nodes.size, 3, 'round robin over the three gateways');
  const gws = await stack.gateways();
  assert.deepEqual([...nodes].sort(), [...gws.values()].map((g) => g.host).sort());

  const coll = 'tls-todos';
  const f = await new Follower(stack, TOK, coll).start();
  try {
    const puts = [];
    for (let i = 0; i < 5; i++) {
      const r = await stack.request('PUT', `/v1/collections/${coll}/docs/t${i}`, { token: TOK, body: { data: { title: `item ${i}` } } });
      assert.equal(r.status, 201, r.text);
      puts.push(r.json);
    }
    await until(() => f.seqs.length === 5, { timeout: 10000, what: '5 changes over wss' });
    assert.deepEqual(f.seqs, puts.map((p) => seqOf(p.offset)));
    const g = await stack.request('GET', `/v1/collections/${coll}/docs/t3`, { token: TOK });
    assert.equal(g.status, 200);
    assert.deepEqual(g.json.data, { title: 'item 3' });
    assert.ok(g.headers.etag, 'ETag');
    // TLS is all there is: plain HTTP on the port gets no API answer
    const plain = await fetch(`http://127.0.0.1:${stack.ports.https}/v1/info`).then((r) => r.status, () => 0);
    assert.notEqual(plain, 200);
  } finally {
    f.stop();
  }
});

/** The host's IPv4 addresses other than loopback and the stack's bridge. */
function otherHostAddress() {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list || []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith(`${stack.prefix}.`)) return a.address;
    }
  }
  return null;
}

test('X-Forwarded-For reaches the gateways: the auth-failure budget is per client address, and a client cannot choose its own', { skip, timeout: 60000 }, async () => {
  // two real client addresses reach HAProxy's container address directly:
  // another address of the host (A) and the host's address on the stack's
  // bridge (B, also where the published port's traffic comes from). The
  // gateways see only HAProxy as peer; only the X-Forwarded-For it sets can
  // tell A from B. (A is the one limited: the other tests come as B.)
  const lb = `${stack.prefix}.10`;
  const A = otherHostAddress();
  const B = `${stack.prefix}.1`;
  assert.ok(A, 'the host has a second IPv4 address');
  const bad = (localAddress, headers = {}) => stack.request('GET', '/v1/collections/xff/docs/x', {
    host: lb, port: 8443, localAddress, agent: false, token: 'not-a-token', headers,
  });
  const first = await bad(A);
  assert.equal(first.status, 401, first.text);
  // burst 3 per gateway, 3 gateways round robin: 20 failures use up A's budget everywhere
  const statuses = [];
  for (let i = 0; i < 20; i++) statuses.push((await bad(A)).status);
  assert.ok(statuses.includes(429), `A rate limited: ${statuses.join(' ')}`);
  // the budget refills at 1 a second per gateway: on a slow machine one
  // of the next requests may find a token again, never most of them
  const limited = (xs) => xs.filter((x) => x === 429).length;
  const aAgain = [];
  for (let i = 0; i < 6; i++) aAgain.push((await bad(A)).status);
  assert.ok(limited(aAgain) >= 4, `A stays limited on every gateway: ${aAgain.join(' ')}`);
  // B is another client: its own budget
  const b = await bad(B);
  assert.equal(b.status, 401, `B (${B}) is not limited by A's (${A}) failures: ${b.text}`);
  // A claiming to be someone else: HAProxy drops the client's header
  // (believed, each fresh address would have its own budget: all 401)
  for (let i = 0; i < 6; i++) await bad(A);
  const spoofed = [];
  for (let i = 0; i < 6; i++) spoofed.push((await bad(A, { 'x-forwarded-for': `198.51.100.${i + 1}` })).status);
  assert.ok(limited(spoofed) >= 4, `a client-written X-Forwarded-For is not believed: ${spoofed.join(' ')}`);
});

test('docker kill of a gateway under write load: its WebSocket clients resume through the LB and miss nothing; the LB drops it within its check interval', { skip, timeout: 180000 }, async () => {
  const coll = 'kill-load';
  const WRITERS = 4;
  const FOLLOWERS = 24;
  const seed = await stack.request('PUT', `/v1/collections/${coll}/docs/seed`, { token: TOK, body: { data: 0 } });
  assert.equal(seed.status, 201);
  const start = seed.json.offset;
  const followers = [];
  for (let i = 0; i < FOLLOWERS; i++) followers.push(await new Follower(stack, TOK, coll, start).start());
  const gws = await stack.gateways();
  const byNode = new Map();
  for (const f of followers) byNode.set(f.node, (byNode.get(f.node) || 0) + 1);
  assert.equal(byNode.size, 3, `followers spread over the gateways: ${JSON.stringify([...byNode])}`);
  const [victimNode] = [...byNode].sort((x, y) => y[1] - x[1])[0];
  const [victim, vinfo] = [...gws].find(([, g]) => g.host === victimNode);
  const onVictim = followers.filter((f) => f.node === victimNode);

  // steady load: WRITERS sequential writers, one write each 10 ms at most,
  // each with its own Idempotency-Key so that a retried write applies once
  let stop = false;
  const acked = [];
  const failed = [];
  let attempts = 0;
  const writer = async (w) => {
    for (let i = 0; !stop; i++) {
      attempts++;
      const t = Date.now();
      try {
        const r = await stack.request('PUT', `/v1/collections/${coll}/docs/w${w}-${i % 16}`, {
          token: TOK, body: { data: { w, i } }, headers: { 'idempotency-key': `k-${w}-${i}` },
        });
        if (r.status === 200 || r.status === 201) acked.push(r.json.offset);
        else failed.push({ at: t, status: r.status, body: r.text.slice(0, 200) });
      } catch (e) {
        failed.push({ at: t, error: e.message });
      }
      await sleep(Math.max(0, 10 - (Date.now() - t)));
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  await sleep(2000);

  const killedAt = Date.now();
  await must(DOCKER, ['kill', victim]);
  // the LB: every slot with the victim's address leaves UP
  const droppedAt = await until(async () => {
    const rows = (await stack.lbServers()).filter((r) => r.addr && r.addr.startsWith(`${vinfo.ip}:`));
    return rows.every((r) => !r.status.startsWith('UP')) ? Date.now() : false;
  }, { timeout: 15000, interval: 50, what: 'HAProxy marking the killed gateway out' });
  const dropMs = droppedAt - killedAt;
  await sleep(3000);
  stop = true;
  await Promise.all(writers);
  // nothing goes to the dead gateway any more
  for (let i = 0; i < 12; i++) {
    const r = await stack.request('GET', '/v1/info');
    assert.equal(r.status, 200);
    assert.notEqual(r.json.node, victimNode, 'no request routed to the killed gateway');
  }
  const marker = await stack.request('PUT', `/v1/collections/${coll}/docs/marker`, { token: TOK, body: { data: 'end' } });
  assert.equal(marker.status, 201);
  const head = seqOf(marker.json.offset);
  await until(() => followers.every((f) => f.seqs.length && f.seqs[f.seqs.length - 1] >= head),
    { timeout: 30000, what: 'every follower reaching the marker' });

  const want = [];
  for (let s = seqOf(start) + 1; s <= head; s++) want.push(s);
  for (const [k, f] of followers.entries()) {
    assert.deepEqual(f.resets, [], `follower ${k}: no reset`);
    assert.deepEqual([...f.epochs], [epochOf(start)], `follower ${k}: one epoch`);
    assert.equal(f.seqs.length, want.length, `follower ${k}: ${f.seqs.length} changes, want ${want.length}`);
    assert.deepEqual(f.seqs, want, `follower ${k}: every change exactly once, in order`);
  }
  for (const f of onVictim) {
    assert.equal(f.closes.length, 1, 'the killed gateway\'s clients lost their socket once');
    assert.equal(f.reconnects.length, 1, 'and reconnected');
    assert.notEqual(f.nodes[1], victimNode, 'to another gateway');
  }
  for (const f of followers.filter((x) => x.node !== victimNode && x.nodes.length === 1)) {
    assert.equal(f.closes.length, 0, 'clients of the other gateways kept their sockets');
  }
  const ackedSeqs = new Set(acked.map(seqOf));
  assert.equal(ackedSeqs.size, acked.length, 'no two acknowledged writes share an offset');
  for (const s of ackedSeqs) assert.ok(s <= head, 'every acknowledged write is in the log');
  // writes: an acknowledged one is one change; the changes beyond them are
  // at most the failed ones (applied, answer lost)
  const changes = want.length - 1; // minus the marker
  assert.ok(changes >= acked.length && changes <= acked.length + failed.length,
    `changes ${changes}, acknowledged ${acked.length}, failed ${failed.length}`);
  assert.ok(failed.length <= WRITERS, `at most the writes in flight on the killed gateway fail (${WRITERS} writers): ${JSON.stringify(failed)}`);
  const rc = onVictim.flatMap((f) => f.reconnects);
  log(`kill: ${attempts} writes (${acked.length} acknowledged, ${failed.length} failed${failed.length ? `: ${JSON.stringify(failed)}` : ''}), `
    + `${onVictim.length}/${FOLLOWERS} followers on the killed gateway, reconnect p50 ${pct(rc, 50)} ms p99 ${pct(rc, 99)} ms `
    + `max ${Math.max(...rc)} ms, LB dropped it after ${dropMs} ms, ${want.length} changes seen by each follower`);
  assert.ok(dropMs <= 3500, `the LB stopped routing to it within its check interval x fall (+ slack): ${dropMs} ms`);
  for (const f of followers) f.stop();

  // back to three, and one more: the LB finds new replicas through DNS
  await stack.composeMust(['up', '-d', '--no-build', '--no-recreate', '--scale', 'gateway=4']);
  await until(async () => { const u = await stack.upCount(); return u.rest === 4 && u.ws === 4; }, { timeout: 30000, what: '4 gateways UP after scaling' });
  const seen = new Set();
  for (let i = 0; i < 12; i++) seen.add((await stack.request('GET', '/v1/info')).json.node);
  assert.equal(seen.size, 4, 'requests reach all four gateways');
});

test('docker restart of Redis (AOF): documents survive, writes meanwhile get 503 unavailable, subscribers stay connected and get the epoch reset', { skip, timeout: 120000 }, async () => {
  const coll = 'redis-restart';
  const written = [];
  for (let i = 0; i < 5; i++) {
    const r = await stack.request('PUT', `/v1/collections/${coll}/docs/r${i}`, { token: TOK, body: { data: { i } } });
    assert.equal(r.status, 201, r.text);
    written.push(r.json);
  }
  const f = await new Follower(stack, TOK, coll, written[0].offset).start();
  await until(() => f.seqs.length === 4, { timeout: 10000, what: 'the replay' });
  await sleep(1200); // appendfsync everysec
  const [redis] = await stack.containers('redis');
  const epoch = epochOf(written[4].offset);

  // one check for any answer while Redis is away (503 unavailable, Retry-After)
  const outage = [];
  const check = (r, what) => {
    assert.equal(r.status, 503, `${what}: ${r.status} ${r.text}`);
    assert.equal(r.json && r.json.error && r.json.error.code, 'unavailable', `${what}: ${r.text}`);
    assert.ok(Number(r.headers['retry-after']) >= 1, `${what}: Retry-After`);
  };
  // 1. docker restart, writes going on throughout
  let stop = false;
  const during = [];
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        during.push(await stack.request('PUT', `/v1/collections/${coll}/docs/during${i % 4}`, {
          token: TOK, body: { data: { i } }, timeout: 10000,
        }));
      } catch (e) { during.push({ status: 0, text: e.message }); }
      await sleep(25);
    }
  })();
  await must(DOCKER, ['restart', '-t', '10', redis]);
  await until(async () => (await stack.request('GET', '/v1/ready', { agent: false })).status === 200, { timeout: 30000, what: 'ready again' });
  await sleep(500);
  stop = true;
  await load;
  for (const r of during) if (r.status !== 200 && r.status !== 201) check(r, 'a write during docker restart');
  const n503 = during.filter((r) => r.status === 503).length;

  // the documented reset: a new epoch for the live collection, no reconnect
  await until(() => f.resets.length > 0, { timeout: 15000, what: 'the reset after the restart' });
  assert.equal(f.resets[0].reason, 'epoch_changed');
  assert.notEqual(epochOf(f.resets[0].offset), epoch, 'a new epoch');
  assert.equal(f.closes.length, 0, 'the subscriber kept its socket');
  for (const w of written) {
    const g = await stack.request('GET', `/v1/collections/${coll}/docs/${w.id}`, { token: TOK });
    assert.equal(g.status, 200, `${w.id} survived the restart`);
    assert.deepEqual(g.json.data, w.data);
  }
  const after = await stack.request('PUT', `/v1/collections/${coll}/docs/after`, { token: TOK, body: { data: 1 } });
  assert.equal(after.status, 201);
  assert.equal(epochOf(after.json.offset), epochOf(f.resets[f.resets.length - 1].offset));
  await until(() => f.last === after.json.offset, { timeout: 10000, what: 'the write after the restart, live' });

  // 2. a longer outage (stop, 3 s, start): every write and read answers 503
  // unavailable within its timeout, from a gateway or from the LB once no
  // gateway is ready
  await must(DOCKER, ['stop', '-t', '10', redis]);
  const tEnd = Date.now() + 3000;
  while (Date.now() < tEnd) {
    const t = Date.now();
    const w = await stack.request('PUT', `/v1/collections/${coll}/docs/down`, { token: TOK, body: { data: 1 }, timeout: 8000 });
    check(w, 'a write while Redis is stopped');
    assert.ok(Date.now() - t < 5000, 'answered within 5 s');
    outage.push(w);
    check(await stack.request('GET', `/v1/collections/${coll}/docs/r0`, { token: TOK, timeout: 8000 }), 'a read while Redis is stopped');
    await sleep(200);
  }
  await must(DOCKER, ['start', redis]);
  await until(async () => (await stack.request('GET', '/v1/ready', { agent: false })).status === 200, { timeout: 30000, what: 'ready after start' });
  await until(() => f.resets.length > 1, { timeout: 15000, what: 'the second reset' });
  assert.equal(f.closes.length, 0, 'the subscriber kept its socket through both');
  const g = await stack.request('GET', `/v1/collections/${coll}/docs/r4`, { token: TOK });
  assert.equal(g.status, 200);
  log(`redis restart: ${during.length} writes during docker restart (${n503} got 503 unavailable, the rest applied), `
    + `${outage.length} writes during a 3 s stop all 503 unavailable with Retry-After, resets ${f.resets.map((r) => r.reason).join(',')}`);
  f.stop();
});

test('docker-compose down -v leaves no container, network or volume of the project', { skip, timeout: 120000 }, async () => {
  const before = await stack.containers();
  assert.ok(before.length >= 5, `containers before: ${before}`);
  const left = await stack.down();
  wentDown = true;
  assert.equal(left.code, 0, left.out);
  assert.deepEqual(left.containers, [], 'containers');
  assert.deepEqual(left.networks, [], 'networks');
  assert.deepEqual(left.volumes, [], 'volumes');
  const open = await new Promise((resolve) => {
    const s = net.connect(stack.ports.https, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  assert.equal(open, false, 'the published port is closed');
});
