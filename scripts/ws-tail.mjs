#!/usr/bin/env node
// ws-tail.mjs [--follow] COLLECTION [SINCE] - subscribes to a collection over
// the syncgate WebSocket and prints every message as one JSON line. No npm
// packages needed: a minimal RFC 6455 client on Node's http/https modules.
// With --follow, a lost connection is opened again (every 0.5 s until it
// works) and the subscription resumes from the last offset seen (since), so
// nothing is missed across a gateway restart or a load balancer failover.
//   TOKEN        bearer token (sent as the first "auth" message; optional
//                when the gateway runs with auth.mode=none)
//   SYNCGATE_WS  default ws://127.0.0.1:8081/v1/ws; wss:// for TLS (a
//                private CA: NODE_EXTRA_CA_CERTS=ca.crt)
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';

const args = process.argv.slice(2);
const follow = args[0] === '--follow';
if (follow) args.shift();
const [collection, since] = args;
if (!collection) {
  console.error('usage: node scripts/ws-tail.mjs [--follow] COLLECTION [SINCE_OFFSET]');
  process.exit(2);
}
const url = new URL(process.env.SYNCGATE_WS || 'ws://127.0.0.1:8081/v1/ws');
const tls = url.protocol === 'wss:';
const token = process.env.TOKEN || '';
let last = since;

/** Ends the process (code), or with --follow opens the socket again. */
function lost(code, why) {
  if (!follow) process.exit(code);
  console.error(`${why}; reconnecting${last ? ` (since ${last})` : ''}`);
  setTimeout(connect, 500);
}

function frame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = 0x80 | len;
  else if (len < 65536) { head[1] = 0x80 | 126; head.writeUInt16BE(len, 2); }
  else { head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(len), 2); }
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Opens the socket and subscribes (resuming from last). */
function connect() {
  const key = crypto.randomBytes(16).toString('base64');
  const req = (tls ? https : http).request({
    host: url.hostname,
    port: url.port || (tls ? 443 : 80),
    path: url.pathname,
    headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': key },
  });
  req.on('response', (res) => {
    console.error(`handshake refused: HTTP ${res.statusCode}`);
    res.resume();
    // a gateway the load balancer has no healthy server for answers 503
    if (res.statusCode >= 500) lost(1, `HTTP ${res.statusCode}`); else process.exit(1);
  });
  req.on('error', (e) => {
    console.error(`cannot connect to ${url}: ${e.message}`);
    lost(1, 'no connection');
  });
  req.on('upgrade', (res, sock, head) => {
    const send = (obj) => sock.write(frame(1, JSON.stringify(obj)));
    let buf = head;
    let text = [];
    let closed = false;
    if (token) send({ type: 'auth', token });
    const sub = { type: 'subscribe', collection };
    if (last) sub.since = last;
    send(sub);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (buf.length < 2) return;
        const fin = buf[0] & 0x80, op = buf[0] & 0x0f;
        let len = buf[1] & 0x7f, off = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (op === 9) sock.write(frame(10, payload));
        else if (op === 8) {
          const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          console.error(`closed by the gateway: ${code} ${payload.subarray(2).toString()}`);
          closed = true;
          sock.destroy();
          // 1001: that gateway is shutting down, another one will do
          if (code === 1000 || !follow || (code !== 1001 && code !== 1006)) process.exit(code === 1000 ? 0 : 1);
          lost(1, `closed with ${code}`);
          return;
        } else if (op === 1 || op === 0) {
          text.push(payload);
          if (fin) {
            const line = Buffer.concat(text).toString();
            console.log(line);
            text = [];
            try {
              const m = JSON.parse(line);
              if (m.collection !== collection || !m.offset) { /* not ours */ }
            else if (m.type === 'change' || m.type === 'reset') last = m.offset;
            // subscribed live (no since): resume from the head it started at
            else if (m.type === 'subscribed' && !last) last = m.offset;
            } catch { /* printed as it came */ }
          }
        }
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => { if (!closed) { closed = true; lost(0, 'connection lost'); } });
    process.removeAllListeners('SIGINT');
    process.on('SIGINT', () => { sock.write(frame(8, Buffer.from([0x03, 0xe8]))); sock.end(); process.exit(0); });
  });
  req.end();
}
connect();
