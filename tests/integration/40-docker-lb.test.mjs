// docker/: the compose file validates, and the HAProxy config it mounts
// works for real (Debian's haproxy) in front of two local gateways: REST and
// WebSocket through one origin, and failover when a gateway stops.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import {
  Redis, Gateway, ROOT, freePort, waitFor, adminToken, assertCleanExit, sleep,
} from './lib/harness.mjs';

let redis;
let a;
let b;
let lb;
let lbPort;
const tok = adminToken('lb');

before(async () => {
  redis = await Redis.start();
  a = await Gateway.start({ redis, node: 'gw-a' });
  b = await Gateway.start({ redis, node: 'gw-b' });
  lbPort = await freePort();
  lb = spawn('haproxy', ['-db', '-f', path.join(ROOT, 'docker/haproxy.cfg')], {
    env: {
      PATH: process.env.PATH,
      LB_BIND: `127.0.0.1:${lbPort}`,
      GW_A_HOST: '127.0.0.1',
      GW_A_HTTP_PORT: String(a.httpPort),
      GW_A_WS_PORT: String(a.wsPort),
      GW_B_HOST: '127.0.0.1',
      GW_B_HTTP_PORT: String(b.httpPort),
      GW_B_WS_PORT: String(b.wsPort),
    },
    stdio: 'ignore',
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${lbPort}/v1/ready`)).status === 200,
    { what: 'haproxy in front of the gateways' });
});

after(async () => {
  lb.kill('SIGTERM');
  await new Promise((r) => (lb.exitCode !== null ? r() : lb.once('exit', r)));
  if (a) await a.stop();
  if (b) await b.stop();
  await redis.stop();
});

test('docker-compose validates the compose file', () => {
  const out = execFileSync('docker-compose', ['-f', path.join(ROOT, 'docker/compose.yml'), 'config'], {
    env: { PATH: process.env.PATH, SYNCGATE_JWT_SECRET: 'x'.repeat(40) },
  }).toString();
  for (const s of ['redis:', 'gw-a:', 'gw-b:', 'lb:', 'maxmemory-policy', 'noeviction', 'appendonly']) {
    assert.match(out, new RegExp(s));
  }
});

test('REST and WebSocket through one origin reach both gateways', async () => {
  const nodes = new Set();
  for (let i = 0; i < 6; i++) {
    const r = await fetch(`http://127.0.0.1:${lbPort}/v1/info`);
    nodes.add((await r.json()).node);
  }
  assert.deepEqual([...nodes].sort(), ['gw-a', 'gw-b']);

  const ws = new WebSocket(`ws://127.0.0.1:${lbPort}/v1/ws?token=${tok}`);
  const msgs = [];
  ws.on('message', (m) => msgs.push(JSON.parse(m.toString())));
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(JSON.stringify({ type: 'subscribe', collection: 'lbtest' }));
  await waitFor(() => msgs.find((m) => m.type === 'subscribed'), { what: 'subscribed' });
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`http://127.0.0.1:${lbPort}/v1/collections/lbtest/docs/d${i}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tok}` },
      body: JSON.stringify({ data: { i } }),
    });
    assert.equal(r.status, 201);
  }
  await waitFor(() => msgs.filter((m) => m.type === 'change').length === 4, { what: '4 changes' });
  assert.deepEqual(msgs.filter((m) => m.type === 'change').map((m) => m.id), ['d0', 'd1', 'd2', 'd3']);
  ws.close();
});

test('a stopped gateway drops out; the other serves everything', async () => {
  assertCleanExit(assert, await a.stop());
  a = null;
  // haproxy notices within fall x inter (3 s); requests meanwhile may fail
  await waitFor(async () => {
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${lbPort}/v1/info`);
      if (r.status !== 200 || (await r.json()).node !== 'gw-b') return false;
    }
    return true;
  }, { timeout: 15000, what: 'all traffic on gw-b' });
  const r = await fetch(`http://127.0.0.1:${lbPort}/v1/collections/lbtest/docs/after`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${tok}` },
    body: JSON.stringify({ data: 1 }),
  });
  assert.equal(r.status, 201);
  await sleep(10);
  assertCleanExit(assert, await b.stop());
  b = null;
});
