// paused-clients.mjs - a child process for F08: opens N subscribers of one
// collection, prints "ready" once all are subscribed, then just holds them
// (the parent SIGSTOPs this process so nothing is read). Prints
// "close <i> <code>" for every socket that closes, "changes <n>" on SIGUSR2.
// usage: node paused-clients.mjs <wsUrl> <token> <collection> <n>
import WebSocket from 'ws';

const [url, token, coll, nStr] = process.argv.slice(2);
const n = Number(nStr);
let subscribed = 0;
let changes = 0;
for (let i = 0; i < n; i++) {
  const sock = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
  sock.on('open', () => sock.send(JSON.stringify({ type: 'subscribe', collection: coll, ref: i })));
  sock.on('message', (d) => {
    const s = d.toString();
    if (s.startsWith('{"type":"subscribed"')) {
      subscribed += 1;
      if (subscribed === n) console.log('ready');
    } else changes += 1;
  });
  sock.on('error', () => {});
  sock.on('close', (code) => console.log(`close ${i} ${code}`));
}
process.on('SIGUSR2', () => console.log(`changes ${changes}`));
setInterval(() => {}, 1000);
