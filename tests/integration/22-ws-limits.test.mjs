// WebSocket limits (DESIGN 3, 7): a subscriber that stops reading is closed
// with 4008 once its outbound queue passes limits.queue_bytes, while healthy
// subscribers of the same collection get every change in order; the
// connection and subscription gauges follow sockets that come and go.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  Redis, Gateway, assertCleanExit, adminToken, waitFor, readerToken as reader, uniqueColl as coll,
} from './lib/harness.mjs';

const QUEUE = 65536;
const PAD = 'x'.repeat(12000); // each change ~12 KB: several fit in the queue
const MAX_WRITES = 2000; // ~24 MB: far past any socket buffer
let redis;
let gw;
let stopped = false;
const admin = adminToken();

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'gw-limits', config: { limits: { queue_bytes: QUEUE } } });
});

// whatever a test leaves open (after a failed assertion) is dropped, so
// one failure does not spill into the next test's gauge checks
const opened = new Set();
afterEach(async () => {
  for (const x of opened) {
    if (x.terminate) await x.terminate();
    else x.destroy();
  }
  opened.clear();
});

after(async () => {
  if (gw && !stopped) await gw.kill();
  if (redis) await redis.stop();
});

/** All un-labelled metric samples as numbers. */
async function metrics() {
  const r = await gw.req('GET', '/metrics');
  assert.equal(r.status, 200);
  const out = {};
  for (const line of r.text.split('\n')) {
    const m = line.match(/^(syncgate_[a-z_]+) (-?[0-9.e+]+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
const metric = async (name) => {
  const v = (await metrics())[name];
  assert.equal(typeof v, 'number', `metric ${name} missing`);
  return v;
};

async function gaugeIs(name, want, timeout = 20000) {
  let last;
  try {
    await waitFor(async () => { last = await metric(name); return last === want; }, { timeout, interval: 100 });
  } catch {
    assert.equal(last, want, `${name} stayed at ${last}`);
  }
}

async function put(c, id, data) {
  const r = await gw.req('PUT', `/v1/collections/${c}/docs/${id}`, { body: { data }, token: admin });
  assert.ok(r.status === 200 || r.status === 201, `PUT ${c}/${id}: ${r.status} ${r.text}`);
  return r.json;
}

async function subscriber(name, sub = 'reader') {
  const c = await gw.ws({ token: reader(sub) });
  opened.add(c);
  await c.wait('welcome');
  c.send({ type: 'subscribe', collection: name });
  await c.wait('subscribed');
  return c;
}

/**
 * Writes big changes until the slow-consumer counter passes `base`
 * (checked every 10 writes). Returns the offsets written.
 */
async function flood(name, base) {
  const offsets = [];
  for (let i = 1; i <= MAX_WRITES; i++) {
    offsets.push((await put(name, `d${i % 20}`, { i, pad: PAD })).offset);
    if (i % 10 === 0 && (await metric('syncgate_slow_consumer_closes_total')) > base) break;
  }
  return offsets;
}

/** The healthy subscriber got every change, in order, with no gap or duplicate. */
async function assertAll(c, name, offsets) {
  await c.wait((m) => m.type === 'change' && m.offset === offsets.at(-1), { timeout: 30000 });
  const got = c.of('change', name);
  assert.deepEqual(got.map((m) => m.offset), offsets);
  assert.deepEqual(got.map((m) => m.data.i), offsets.map((_, k) => k + 1));
  assert.ok(got.every((m) => m.data.pad === PAD));
}

/** A WebSocket client frame (masked), text or close. */
function frame(payload, opcode = 1) {
  const p = Buffer.from(payload);
  const mask = randomBytes(4);
  let head;
  if (p.length < 126) head = Buffer.from([0x80 | opcode, 0x80 | p.length]);
  else {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(p.length, 2);
  }
  const body = Buffer.from(p.map((b, k) => b ^ mask[k % 4]));
  return Buffer.concat([head, mask, body]);
}

/**
 * A hand-made WebSocket client on a raw TCP socket: upgrades, subscribes,
 * waits for "subscribed", then never reads again.
 */
function rawSubscriber(name) {
  return new Promise((resolve, reject) => {
    const s = net.connect(gw.wsPort, '127.0.0.1');
    opened.add(s);
    let buf = '';
    let upgraded = false;
    const t = setTimeout(() => { s.destroy(); reject(new Error(`raw subscriber: ${buf.slice(0, 200)}`)); }, 10000);
    s.on('error', reject);
    s.on('connect', () => {
      s.write(`GET /v1/ws?token=${reader('raw')} HTTP/1.1\r\nHost: 127.0.0.1:${gw.wsPort}\r\n`
        + 'Upgrade: websocket\r\nConnection: Upgrade\r\n'
        + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const onData = (d) => {
      buf += d.toString('latin1');
      if (!upgraded && buf.includes('\r\n\r\n')) {
        if (!buf.startsWith('HTTP/1.1 101')) { clearTimeout(t); reject(new Error(buf)); return; }
        upgraded = true;
        s.write(frame(JSON.stringify({ type: 'subscribe', collection: name })));
      }
      if (upgraded && buf.includes('"subscribed"')) {
        clearTimeout(t);
        s.off('data', onData);
        s.pause();
        resolve(s);
      }
    };
    s.on('data', onData);
  });
}

test('a reader that stops reading is closed with 4008; a healthy one gets everything', async () => {
  const name = coll('slow');
  await gaugeIs('syncgate_websocket_connections', 0);
  const base = await metric('syncgate_slow_consumer_closes_total');
  const healthy = await subscriber(name, 'healthy');
  const slow = await subscriber(name, 'slow');
  const other = await subscriber(coll('quiet'), 'other');
  assert.equal(await metric('syncgate_websocket_connections'), 3);
  assert.equal(await metric('syncgate_subscriptions'), 3);
  slow.sock._socket.pause();
  const offsets = await flood(name, base);
  // reading again (soon: the gateway may drop a choked peer after a few
  // seconds) shows how it ended
  slow.sock._socket.resume();
  assert.ok(offsets.length < MAX_WRITES, `no slow-consumer close after ${offsets.length} changes`);
  await assertAll(healthy, name, offsets);
  assert.equal(await metric('syncgate_slow_consumer_closes_total'), base + 1);
  let t;
  const cl = await Promise.race([slow.closed, new Promise((r) => { t = setTimeout(() => r({ code: 'open' }), 15000); })]);
  clearTimeout(t);
  // what the slow reader got before the close is an in-order prefix
  const got = slow.of('change', name).map((m) => m.offset);
  assert.deepEqual(got, offsets.slice(0, got.length));
  assert.ok(got.length < offsets.length);
  await gaugeIs('syncgate_websocket_connections', 2);
  await gaugeIs('syncgate_subscriptions', 2);
  // the others are untouched
  const w = await put(name, 'after', { i: 0 });
  await healthy.wait((m) => m.type === 'change' && m.offset === w.offset);
  other.send({ type: 'ping', ref: 'o' });
  await other.wait('pong');
  assert.equal(cl.code, 4008, 'the slow reader sees close 4008 "slow consumer"');
  await healthy.close();
  await other.close();
  await gaugeIs('syncgate_websocket_connections', 0);
});

test('a raw socket that never reads is dropped; the healthy subscriber is unaffected', async () => {
  const name = coll('raw');
  await gaugeIs('syncgate_websocket_connections', 0);
  const base = await metric('syncgate_slow_consumer_closes_total');
  const healthy = await subscriber(name, 'healthy2');
  const raw = await rawSubscriber(name);
  const ended = new Promise((r) => raw.once('close', r));
  assert.equal(await metric('syncgate_websocket_connections'), 2);
  const offsets = await flood(name, base);
  assert.ok(offsets.length < MAX_WRITES, `no slow-consumer close after ${offsets.length} changes`);
  await assertAll(healthy, name, offsets);
  assert.equal(await metric('syncgate_slow_consumer_closes_total'), base + 1);
  // the gateway lets go of the session even though the peer never reads
  await gaugeIs('syncgate_websocket_connections', 1, 30000);
  await gaugeIs('syncgate_subscriptions', 1);
  // and of the TCP connection: reading now reaches its end
  raw.on('data', () => {});
  raw.resume();
  let t;
  const r = await Promise.race([ended.then(() => 'closed'), new Promise((res) => { t = setTimeout(() => res('open'), 15000); })]);
  clearTimeout(t);
  raw.destroy();
  assert.equal(r, 'closed');
  const w = await put(name, 'after', { i: 0 });
  await healthy.wait((m) => m.type === 'change' && m.offset === w.offset);
  await healthy.close();
  await gaugeIs('syncgate_websocket_connections', 0);
});

test('a replay larger than limits.queue_bytes reaches a healthy subscriber in full', async () => {
  const name = coll('replay');
  const base = await metric('syncgate_slow_consumer_closes_total');
  const offsets = [];
  for (let i = 1; i <= 100; i++) offsets.push((await put(name, `d${i % 20}`, { i, pad: PAD })).offset);
  // ~1.2 MB of history, about 20 times the queue
  const c = await gw.ws({ token: reader('replayer') });
  opened.add(c);
  await c.wait('welcome');
  c.send({ type: 'subscribe', collection: name, since: offsets[0].replace(/:\d+$/, ':0') });
  await c.wait('subscribed');
  // live writes go on during the replay
  for (let i = 101; i <= 130; i++) offsets.push((await put(name, `d${i % 20}`, { i, pad: PAD })).offset);
  let closed = null;
  c.closed.then((x) => { closed = x; });
  await waitFor(() => closed || c.of('change', name).at(-1)?.offset === offsets.at(-1),
    { timeout: 30000, what: 'the replay and the live changes' });
  assert.equal(closed, null, `closed ${closed?.code} after ${c.of('change').length} of ${offsets.length} changes`);
  await assertAll(c, name, offsets);
  assert.equal(await metric('syncgate_slow_consumer_closes_total'), base);
  await c.close();
});

test('many sockets opening and closing leave the gauges at 0', async () => {
  await gaugeIs('syncgate_websocket_connections', 0);
  await gaugeIs('syncgate_subscriptions', 0);
  const names = [coll('many'), coll('many')];
  for (let round = 0; round < 3; round++) {
    const open = [];
    const opening = [];
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 2) {
        // unauthenticated: authenticates with a message
        opening.push(gw.ws().then(async (c) => {
          opened.add(c);
          c.send({ type: 'auth', token: reader(`m${i}`) });
          await c.wait('welcome');
          return c;
        }));
      } else {
        opening.push(gw.ws({ token: reader(`m${i}`) }).then(async (c) => {
          opened.add(c);
          await c.wait('welcome');
          return c;
        }));
      }
    }
    open.push(...(await Promise.all(opening)));
    // some subscribe to one or two collections
    let subs = 0;
    for (const [k, c] of open.entries()) {
      for (const name of names.slice(0, k % 3)) {
        c.send({ type: 'subscribe', collection: name });
        await c.wait((m) => m.type === 'subscribed' && m.collection === name);
        subs++;
      }
    }
    // handshakes that fail or never finish do not count
    await assert.rejects(gw.ws({ token: 'garbage' }));
    const half = net.connect(gw.wsPort, '127.0.0.1');
    opened.add(half);
    await new Promise((r) => half.once('connect', r));
    half.write('GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
    await gaugeIs('syncgate_websocket_connections', 30);
    assert.equal(await metric('syncgate_subscriptions'), subs);
    // a change reaches the subscribers while they are all open
    const w = await put(names[1], `r${round}`, { round });
    await Promise.all(open.filter((_, k) => k % 3 === 2)
      .map((c) => c.wait((m) => m.type === 'change' && m.offset === w.offset)));
    // close them in every way: normal, abrupt, by the gateway (1003, 1008, 1009)
    const closing = open.map((c, k) => {
      switch (k % 5) {
        case 0: return c.close(1000);
        case 1: return c.terminate();
        case 2: c.sock.send(Buffer.from('x'), { binary: true }); return c.closed;
        case 3: c.send({ type: 'auth', token: reader('someone-else') }); return c.closed;
        default: c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70000) })); return c.closed;
      }
    });
    const codes = await Promise.all(closing);
    assert.deepEqual(codes.filter((_, k) => k % 5 === 2).map((x) => x.code), Array(6).fill(1003));
    assert.deepEqual(codes.filter((_, k) => k % 5 === 3).map((x) => x.code), Array(6).fill(1008));
    assert.deepEqual(codes.filter((_, k) => k % 5 === 4).map((x) => x.code), Array(6).fill(1009));
    half.destroy();
    await gaugeIs('syncgate_websocket_connections', 0);
    await gaugeIs('syncgate_subscriptions', 0);
  }
  // and the gateway still serves
  const c = await subscriber(names[0], 'last');
  assert.equal(await metric('syncgate_websocket_connections'), 1);
  assert.equal(await metric('syncgate_subscriptions'), 1);
  await c.close();
  await gaugeIs('syncgate_websocket_connections', 0);
});

test('100 stalled handshakes do not keep a real one waiting', async () => {
  // each holds one of libwebsockets' header tables until it times out
  const stalled = [];
  for (let i = 0; i < 100; i++) {
    const sock = net.connect(gw.wsPort, '127.0.0.1');
    sock.on('error', () => {});
    sock.on('connect', () => sock.write(`GET /v1/ws HTTP/1.1\r\nHost: x\r\nX-Stall-${i}: a`));
    stalled.push(sock);
  }
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const c = await gw.ws({ token: adminToken('stall') });
  await c.wait('welcome');
  const ms = Date.now() - t0;
  assert.ok(ms < 2000, `a handshake next to 100 stalled ones took ${ms} ms`);
  await c.close();
  for (const s of stalled) s.destroy();
});

test('gateway exits cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
  stopped = true;
});
