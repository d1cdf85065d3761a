// burst.mjs - one subscriber, a burst of N writes (default 10,000) through
// C concurrent HTTP clients; reports the time from the first write sent to
// the last change delivered, write throughput and latency percentiles, and
// checks that every change arrived once and in order.
import { readFileSync } from 'node:fs';
import { Redis, Gateway, adminToken, seqOf } from '../tests/integration/lib/harness.mjs';

/** CPU seconds (user + system) a process has used. */
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const N = Number(process.env.N || 10000);
const C = Number(process.env.C || 32);
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

const redis = await Redis.start();
const gw = await Gateway.start({ redis, env: { SYNCGATE_LOG_LEVEL: 'warn' } });
const tok = adminToken('bench');
const sub = await gw.ws({ token: tok });
sub.send({ type: 'subscribe', collection: 'burst' });
await sub.wait('subscribed');

let next = 0;
const lat = [];
let lastDelivered = 0;
const done = new Promise((resolve) => {
  sub.sock.on('message', () => {
    if (sub.of('change').length === N) {
      lastDelivered = performance.now();
      resolve();
    }
  });
});
const gwCpu0 = cpu(gw.proc.pid);
const redisCpu0 = cpu(redis.proc.pid);
const t0 = performance.now();
async function writer() {
  for (;;) {
    const i = next++;
    if (i >= N) return;
    const s = performance.now();
    const r = await fetch(`${gw.url}/v1/collections/burst/docs/d${i % 1000}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { i, payload: 'x'.repeat(100) } }),
    });
    await r.arrayBuffer();
    if (r.status !== 200 && r.status !== 201) throw new Error(`write ${i}: HTTP ${r.status}`);
    lat.push(performance.now() - s);
  }
}
await Promise.all(Array.from({ length: C }, writer));
const tWrites = performance.now();
await done;
const gwCpu = cpu(gw.proc.pid) - gwCpu0;
const redisCpu = cpu(redis.proc.pid) - redisCpu0;
const changes = sub.of('change');
for (let k = 0; k < changes.length; k++) {
  if (seqOf(changes[k].offset) !== k + 1) throw new Error(`change ${k}: seq ${seqOf(changes[k].offset)}`);
}
lat.sort((a, b) => a - b);
const total = lastDelivered - t0;
console.log(JSON.stringify({
  bench: 'burst',
  writes: N,
  concurrency: C,
  first_write_to_last_delivery_ms: Math.round(total),
  writes_done_ms: Math.round(tWrites - t0),
  writes_per_s: Math.round((N * 1000) / (tWrites - t0)),
  put_latency_ms: { p50: +pct(lat, 50).toFixed(2), p99: +pct(lat, 99).toFixed(2), max: +lat[lat.length - 1].toFixed(2) },
  gateway_cpu_us_per_write: Math.round((gwCpu * 1e6) / N),
  redis_cpu_us_per_write: Math.round((redisCpu * 1e6) / N),
  delivered: changes.length,
  in_order_no_gap: true,
}));
sub.close();
await gw.stop();
await redis.stop();
