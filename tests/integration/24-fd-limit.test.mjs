// File-descriptor exhaustion: under a small fd limit the gateway refuses
// WebSockets (closes them at accept) before the process runs out, keeps
// serving REST and the sockets it has, does not spin or flood its log (one
// line says why), and accepts again once sockets close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Redis, Gateway, adminToken, assertCleanExit, sleep, waitFor } from './lib/harness.mjs';

test('a small fd limit: excess WebSockets refused, REST and existing sockets work, no log flood', async () => {
  const redis = await Redis.start();
  const gw = await Gateway.start({
    redis,
    wrap: ['prlimit', '--nofile=256:256', '--'],
    config: { limits: { http_connections: 64 } },
  });
  const tok = adminToken();
  const socks = [];
  const opened = [];
  for (let i = 0; i < 300; i++) {
    const w = new WebSocket(`${gw.wsUrl}?token=${tok}`);
    socks.push(w);
    opened.push(new Promise((r) => {
      w.once('open', () => r(true));
      w.once('error', () => r(false));
      w.once('close', () => r(false));
      setTimeout(() => r(false), 4000);
    }));
  }
  const results = await Promise.all(opened);
  const n = results.filter(Boolean).length;
  // 256 fds less 64 for REST and 64 in reserve: lws takes about 128
  assert.ok(n >= 64 && n < 256, `${n} WebSockets opened under a 256-fd limit`);
  const h = await gw.req('GET', '/v1/health');
  assert.equal(h.status, 200, 'REST still answers while WebSockets are at their limit');
  const w = await gw.req('PUT', '/v1/collections/fd/docs/a', { token: tok, body: { data: 1 } });
  assert.equal(w.status, 201);
  // an open socket still works
  const first = socks[results.indexOf(true)];
  const pong = new Promise((r) => first.once('message', (m) => r(JSON.parse(m.toString()))));
  first.send(JSON.stringify({ type: 'ping', ref: 'fd' }));
  assert.deepEqual(await pong, { type: 'pong', ref: 'fd' });
  // the log is not flooded with accept errors (lws messages are rate limited)
  assert.ok(gw.logs.split('\n').length < 400, `log has ${gw.logs.split('\n').length} lines`);
  assert.match(gw.logs, /websocket connections refused: \d+ at the fd limit/, 'the log says why');
  for (const s of socks) s.terminate();
  await waitFor(async () => {
    const m = (await gw.req('GET', '/metrics')).text;
    return Number(/^syncgate_websocket_connections (\d+)/m.exec(m)[1]) === 0;
  }, { what: 'all sockets gone' });
  // accepting again
  const again = new WebSocket(`${gw.wsUrl}?token=${tok}`);
  const ok = await new Promise((r) => { again.once('open', () => r(true)); again.once('error', () => r(false)); });
  assert.ok(ok, 'a new WebSocket opens once the others closed');
  again.terminate();
  await sleep(100);
  assertCleanExit(assert, await gw.stop());
  await redis.stop();
});
