// proxy.mjs - a TCP proxy between the browser and the gateway's WebSocket
// port, to cut every connection on demand (a network that drops). The
// gateway's ws.public_url names the proxy, so /v1/info sends the page here.
import net from 'node:net';

/**
 * Starts listening on a free 127.0.0.1 port. The target port can be set
 * later (setTarget), so the gateway's config can name the proxy first.
 */
export async function startProxy({ target = 0 } = {}) {
  const pairs = new Set(); // {client, upstream}
  let to = target;
  let down = false;
  const p = {
    port: 0,
    accepted: 0, // client connections accepted
    cuts: 0, // cutAll calls that cut at least one connection
    get open() { return pairs.size; },
    setTarget(port) { to = port; },
    /** While down, new connections are closed at once (the gateway is unreachable). */
    setDown(v) { down = v; },
    /**
     * Closes every connection open now, both ways; returns how many. (destroy,
     * not resetAndDestroy: with the latter node 20 spins at exit in
     * CleanupHandles, and the browser sees close 1006 either way.)
     */
    cutAll() {
      const n = pairs.size;
      for (const pair of pairs) kill(pair);
      if (n) p.cuts += 1;
      return n;
    },
    wsUrl(pathname = '/v1/ws') { return `ws://127.0.0.1:${p.port}${pathname}`; },
    async close() {
      for (const pair of pairs) kill(pair);
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };

  function kill(pair) {
    pairs.delete(pair);
    for (const s of [pair.client, pair.upstream]) if (!s.destroyed) s.destroy();
  }

  const server = net.createServer((client) => {
    p.accepted += 1;
    if (down || !to) {
      client.on('error', () => {});
      client.destroy();
      return;
    }
    const upstream = net.connect(to, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const end = () => kill(pair);
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  p.port = server.address().port;
  return p;
}
