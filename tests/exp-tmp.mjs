import { Redis, Gateway, token, adminToken, sleep } from './integration/lib/harness.mjs';
const redis = await Redis.start();
const gw = await Gateway.start({ redis, config:{limits:{queue_bytes:65536}} });
const admin = adminToken();
const metric = async (name) => { const r = await gw.req('GET','/metrics'); const m = r.text.match(new RegExp(`^${name} (\\d+)`, 'm')); return Number(m[1]); };
const slow = await gw.ws({ token: admin }); await slow.wait('welcome');
slow.send({type:'subscribe', collection:'big'}); await slow.wait('subscribed');
const good = await gw.ws({ token: admin }); await good.wait('welcome');
good.send({type:'subscribe', collection:'big'}); await good.wait('subscribed');
slow.sock._socket.pause();
const pad = 'x'.repeat(16000);
let i=0; const t0=Date.now();
for (; i<1000; i++) {
  const r = await gw.req('PUT', `/v1/collections/big/docs/d${i%10}`, {body:{data:{i,pad}}, token: admin});
  if (r.status>201) console.log(r.status, r.text);
  if (i%20===0 && await metric('syncgate_slow_consumer_closes_total') > 0) break;
}
console.log('writes', i, Date.now()-t0, 'ms', await metric('syncgate_slow_consumer_closes_total'), await metric('syncgate_websocket_connections'));
slow.sock._socket.resume();
console.log(await slow.closed, slow.of('change').length, good.of('change').length);
await sleep(1000);
console.log(good.of('change').length, await metric('syncgate_websocket_connections'));
await good.close();
console.log(await gw.stop().then(r=>r.code));
await redis.stop();
