// Connections per client address (DESIGN section 10): REST and WebSocket
// caps per address, and behind a load balancer the address is the one
// X-Forwarded-For names, believed only from trusted_proxies. The tests
// connect from several loopback sources: 127.0.0.1 and 127.0.0.3 (clients)
// and 127.0.0.2 (the "load balancer" the gateway trusts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Redis, Gateway, assertCleanExit, token } from './lib/harness.mjs';

const HTTP_CAP = 4;
const WS_CAP = 3;
const TOK = token('addr', { sync: { read: ['*'], write: ['*'] } });

let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({
    redis,
    node: 'gw-addr',
    config: {
      trusted_proxies: '127.0.0.2',
      limits: { http_connections_per_ip: HTTP_CAP, ws_connections_per_ip: WS_CAP, ws_messages_burst: 100 },
    },
  });
});

after(async () => {
  if (gw && gw.proc.exitCode === null && gw.proc.signalCode === null) await gw.kill();
  if (redis) await redis.stop();
});

/** A kept-alive connection that has had one answer; resolves { sock, ok }. */
function openHttp(localAddress) {
  return new Promise((resolve) => {
    const sock = net.connect({ port: gw.httpPort, host: '127.0.0.1', localAddress });
    let got = '';
    const done = (ok) => resolve({ sock, ok });
    sock.on('connect', () => sock.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'));
    sock.on('data', (d) => { got += d; if (/\r\n\r\n[\s\S]*\}/.test(got)) done(got.startsWith('HTTP/1.1 200')); });
    sock.on('close', () => done(false));
    sock.on('error', () => done(false));
  });
}

test('REST: an address gets limits.http_connections_per_ip connections; a trusted proxy is not capped', async () => {
  // from 127.0.0.3: the harness's own kept-alive connections come from .1
  const mine = [];
  for (let i = 0; i < HTTP_CAP; i++) mine.push(await openHttp('127.0.0.3'));
  assert.ok(mine.every((c) => c.ok), 'the first connections are served');
  const over = await openHttp('127.0.0.3');
  assert.equal(over.ok, false, 'one connection more from the same address is refused');
  // the load balancer carries many clients: more than the cap, all served
  const lb = [];
  for (let i = 0; i < HTTP_CAP * 3; i++) lb.push(await openHttp('127.0.0.2'));
  assert.ok(lb.every((c) => c.ok), 'connections from a trusted proxy are not capped');
  // a closed connection gives its place back
  mine[0].sock.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const again = await openHttp('127.0.0.3');
  assert.equal(again.ok, true);
  for (const c of [...mine, over, ...lb, again]) c.sock.destroy();
});

const wsFrom = (localAddress, xff) => gw.ws({ token: TOK, localAddress, headers: xff ? { 'x-forwarded-for': xff } : {} });

async function refusedWith(p, status, what) {
  await assert.rejects(p, (e) => { assert.equal(e.status, status, `${what}: ${e.message}`); return true; }, what);
}

test('WebSocket: limits.ws_connections_per_ip per client address, X-Forwarded-For believed only from a trusted proxy', async () => {
  await new Promise((r) => setTimeout(r, 300));
  const direct = [];
  for (let i = 0; i < WS_CAP; i++) direct.push(await wsFrom('127.0.0.1'));
  await refusedWith(wsFrom('127.0.0.1'), 429, 'one more from 127.0.0.1');
  // an untrusted peer cannot claim to be someone else
  await refusedWith(wsFrom('127.0.0.1', '198.51.100.9'), 429, 'X-Forwarded-For from an untrusted peer');
  // through the trusted proxy: each forwarded client has its own budget
  const a = [];
  for (let i = 0; i < WS_CAP; i++) a.push(await wsFrom('127.0.0.2', '198.51.100.1'));
  await refusedWith(wsFrom('127.0.0.2', '198.51.100.1'), 429, 'one more for 198.51.100.1');
  await refusedWith(wsFrom('127.0.0.2', '6.6.6.6, 198.51.100.1'), 429, 'a client-written entry on the left changes nothing');
  // a proxy that adds a line of its own (HAProxy) puts it after the client's
  await refusedWith(wsFrom('127.0.0.2', ['6.6.6.6', '198.51.100.1']), 429, 'a client-written line before the proxy\'s changes nothing');
  await refusedWith(wsFrom('127.0.0.2', `${'7.7.7.7, '.repeat(80)}198.51.100.1`), 429, 'a long X-Forwarded-For is read whole');
  const b = await wsFrom('127.0.0.2', '198.51.100.2');
  await b.wait('welcome');
  // a closed socket gives its place back
  await direct[0].close();
  await new Promise((r) => setTimeout(r, 200));
  const again = await wsFrom('127.0.0.1');
  await again.wait('welcome');
  for (const c of [...direct.slice(1), ...a, b, again]) await c.close();
});

/** GET /v1/collections from localAddress with a bad token and the given
 *  X-Forwarded-For lines; resolves with the status. */
function badAuthFrom(g, localAddress, xffLines) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: g.httpPort, host: '127.0.0.1', localAddress });
    let got = '';
    sock.on('connect', () => sock.write('GET /v1/collections/c/docs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer e30.e30.nope\r\n'
      + `${xffLines.map((l) => `X-Forwarded-For: ${l}\r\n`).join('')}Connection: close\r\n\r\n`));
    sock.on('data', (d) => { got += d; });
    sock.on('end', () => resolve(Number(got.slice(9, 12))));
    sock.on('error', reject);
  });
}

test('REST behind a proxy that adds its own X-Forwarded-For line: the last line names the client', async () => {
  const g = await Gateway.start({
    redis,
    node: 'gw-addr-lines',
    config: { trusted_proxies: '127.0.0.2', limits: { auth_failures_per_s: 1, auth_failures_burst: 3 } },
  });
  try {
    // the client writes a new address each time; the proxy's line is the same
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await badAuthFrom(g, '127.0.0.2', [`203.0.113.${i + 1}`, '198.51.100.7']));
    assert.deepEqual(seen, [401, 401, 401, 429, 429], 'one budget for the address the proxy saw');
    // another client behind the same proxy keeps its own budget
    assert.equal(await badAuthFrom(g, '127.0.0.2', ['198.51.100.8']), 401);
    // and a long header is read whole, its last entry counted
    assert.equal(await badAuthFrom(g, '127.0.0.2', [`${'7.7.7.7, '.repeat(300)}198.51.100.7`]), 429);
  } finally {
    assertCleanExit(assert, await g.stop());
  }
});

test('the gateway stops cleanly', async () => {
  assertCleanExit(assert, await gw.stop());
});
