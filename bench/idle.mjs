// idle.mjs - RSS of one gateway holding N idle WebSocket connections
// (default 1,000), each authenticated and subscribed to one of 10
// collections. Reads VmRSS from /proc before and after.
import { readFileSync } from 'node:fs';
import { Redis, Gateway, adminToken, sleep } from '../tests/integration/lib/harness.mjs';

const N = Number(process.env.N || 1000);
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const redis = await Redis.start();
const gw = await Gateway.start({ redis, env: { SYNCGATE_LOG_LEVEL: 'warn' } });
const tok = adminToken('bench');
// warm up: one connection, one write, so lazily allocated pools exist
const warm = await gw.ws({ token: tok });
warm.send({ type: 'subscribe', collection: 'idle0' });
await warm.wait('subscribed');
await gw.req('PUT', '/v1/collections/idle0/docs/w', { token: tok, body: { data: 1 } });
await sleep(500);
const before = rss(gw.proc.pid);
const socks = [];
for (let i = 0; i < N; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => gw.ws({ token: tok })));
  for (const [k, s] of batch.entries()) s.send({ type: 'subscribe', collection: `idle${(i + k) % 10}` });
  await Promise.all(batch.map((s) => s.wait('subscribed')));
  socks.push(...batch);
}
await sleep(2000);
const after = rss(gw.proc.pid);
const metrics = (await gw.req('GET', '/metrics')).text;
const conns = Number(/^syncgate_websocket_connections (\d+)/m.exec(metrics)[1]);
console.log(JSON.stringify({
  bench: 'idle',
  connections: conns,
  rss_before_kib: before,
  rss_after_kib: after,
  rss_per_connection_kib: +((after - before) / N).toFixed(2),
}));
await Promise.all(socks.map((s) => s.close()));
warm.close();
await gw.stop();
await redis.stop();
