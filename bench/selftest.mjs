// selftest.mjs [LOADGEN] - checks bench/loadgen against a stand-in server
// (Node built-ins only) that speaks the gateway's protocol awkwardly:
// server frames with 7, 16 and 64-bit lengths, changes fragmented over
// three frames with a ping between them, pings and non-change frames before
// changes, a mixed-case Sec-WebSocket-Accept header, chunked HTTP answers,
// keep-alive connections closed by the server. It checks that every client
// frame is masked and every ping is answered by a masked pong carrying its
// payload; then that loadgen counts a duplicated, a dropped and a closed
// subscriber's changes as such. Usage: node bench/selftest.mjs build/loadgen
import net from 'node:net';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';

const LOADGEN = path.resolve(process.argv[2] || 'build/loadgen');
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };

function frame(op, payload, fin = true) {
  const len = payload.length;
  let h;
  if (len < 126) h = Buffer.from([(fin ? 0x80 : 0) | op, len]);
  else if (len < 65536) { h = Buffer.alloc(4); h[1] = 126; h.writeUInt16BE(len, 2); }
  else { h = Buffer.alloc(10); h[1] = 127; h.writeBigUInt64BE(BigInt(len), 2); }
  h[0] = (fin ? 0x80 : 0) | op;
  return Buffer.concat([h, payload]);
}

/** A stand-in gateway; `faults` makes it duplicate, drop and close. */
function startMock(faults) {
  const subs = new Map(); // collection -> [socket]
  const seqs = new Map();
  const st = { unmasked: 0, badText: 0, pings: 0, pongs: 0, badPongs: 0, frames: 0, puts: 0, httpConns: 0 };

  const ws = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let open = false;
    const pending = new Map(); // ping payload -> true
    s.ping = (p) => { pending.set(p, true); st.pings++; s.write(frame(9, Buffer.from(p))); };
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(buf.subarray(0, e).toString())[1];
        const acc = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-WEBSOCKET-accept:   ${acc}  \r\n\r\n`);
        s.write(frame(1, Buffer.from('{"type":"welcome","node":"mock","session":"s","protocol":1}')));
        buf = buf.subarray(e + 4);
        open = true;
      }
      for (;;) {
        if (buf.length < 2) return;
        const op = buf[0] & 15;
        const masked = buf[1] & 0x80;
        let len = buf[1] & 0x7f;
        let h = 2;
        if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); h = 4; }
        else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); h = 10; }
        if (masked) h += 4;
        if (buf.length < h + len) return;
        const p = Buffer.from(buf.subarray(h, h + len));
        if (masked) for (let i = 0; i < len; i++) p[i] ^= buf[h - 4 + (i & 3)];
        else st.unmasked++;
        buf = buf.subarray(h + len);
        st.frames++;
        if (op === 10) {
          st.pongs++;
          if (!pending.delete(p.toString())) st.badPongs++;
        } else if (op === 1) {
          let m = {};
          try { m = JSON.parse(p.toString()); } catch { st.badText++; }
          if (m.type === 'subscribe') {
            if (!subs.has(m.collection)) subs.set(m.collection, []);
            subs.get(m.collection).push(s);
            s.ping('hello');
            const t = Buffer.from(JSON.stringify({ type: 'subscribed', collection: m.collection, offset: `e1:${seqs.get(m.collection) || 0}` }));
            s.write(Buffer.concat([frame(1, t.subarray(0, 10), false), frame(0, t.subarray(10))]));
          }
        }
      }
    });
  });

  function publish(coll, id, data) {
    const seq = (seqs.get(coll) || 0) + 1;
    seqs.set(coll, seq);
    const doc = { type: 'change', collection: coll, id, deleted: false, version: { anon: 1 }, actor: 'anon', timestamp: 1, data, offset: `e1:${seq}` };
    if (seq % 4 === 2) doc.pad = 'p'.repeat(70000); // 64-bit length
    if (seq % 4 === 3) doc.pad = 'p'.repeat(300); // 16-bit length
    const b = Buffer.from(JSON.stringify(doc));
    (subs.get(coll) || []).forEach((s, k) => {
      if (s.destroyed) return;
      if (faults && seq === 5 && k === 1) return; // dropped: one lost, then a gap
      if (seq % 4 === 1) {
        // three fragments, a ping between the first two
        const a = Math.floor(b.length / 3);
        s.write(frame(1, b.subarray(0, a), false));
        s.ping(`p${seq}`);
        s.write(Buffer.concat([frame(0, b.subarray(a, 2 * a), false), frame(0, b.subarray(2 * a))]));
      } else if (seq % 4 === 0) {
        s.write(Buffer.concat([frame(1, Buffer.from('{"type":"pong","ref":1}')), frame(1, b)]));
      } else {
        s.write(frame(1, b));
      }
      if (faults && seq === 7 && k === 2) s.write(frame(1, b)); // duplicate
      if (faults && seq === 9 && k === 3) s.end(frame(8, Buffer.from([0x03, 0xe9]))); // close 1001
    });
  }

  const http = net.createServer((s) => {
    st.httpConns++;
    let buf = Buffer.alloc(0);
    let served = 0;
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const e = buf.indexOf('\r\n\r\n');
        if (e < 0) return;
        const head = buf.subarray(0, e).toString();
        const len = Number((/content-length:\s*(\d+)/i.exec(head) || [0, 0])[1]);
        if (buf.length < e + 4 + len) return;
        const body = buf.subarray(e + 4, e + 4 + len).toString();
        buf = buf.subarray(e + 4 + len);
        const [, coll, id] = /^PUT \/v1\/collections\/([^/]+)\/docs\/(\S+) HTTP/.exec(head);
        st.puts++;
        served++;
        publish(coll, id, JSON.parse(body).data);
        const ans = JSON.stringify({ collection: coll, id, applied: true });
        const close = served % 7 === 0;
        if (served % 2) {
          s.write(`HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n${close ? 'Connection: close\r\n' : ''}\r\n` +
            `${(5).toString(16)}\r\n${ans.slice(0, 5)}\r\n${(ans.length - 5).toString(16)}\r\n${ans.slice(5)}\r\n0\r\n\r\n`);
        } else {
          s.write(`HTTP/1.1 201 Created\r\nContent-Length: ${ans.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${ans}`);
        }
        if (close) { s.end(); return; }
      }
    });
  });
  return new Promise((resolve) => {
    ws.listen(0, '127.0.0.1', () => http.listen(0, '127.0.0.1', () => resolve({
      wsPort: ws.address().port, httpPort: http.address().port, st,
      close: () => { ws.close(); http.close(); for (const l of subs.values()) l.forEach((s) => s.destroy()); },
    })));
  });
}

function loadgen(args) {
  return new Promise((resolve, reject) => {
    execFile(LOADGEN, args, { timeout: 60000 }, (err, stdout, stderr) => {
      if (err && !stdout) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const ports = (m) => ['--ws-port', m.wsPort, '--http-port', m.httpPort, '--max-time', 30].map(String);

// 1. a clean run: everything delivered once, in order, despite the framing
{
  const m = await startMock(false);
  const r = await loadgen(['fanout', ...ports(m), '--subs', '40', '--collections', '4', '--rate', '200', '--duration', '1', '--pub-conns', '4']);
  const s = (r.steps || [{}])[0];
  check(r.subs_ready === 40, `clean: ${r.subs_ready} of 40 subscribers ready`);
  check(s.published === 200 && s.put_ok === 200, `clean: ${s.put_ok} of ${s.published} PUTs ok`);
  check(s.expected === 2000 && s.delivered === 2000, `clean: delivered ${s.delivered} of ${s.expected} (2000)`);
  check(s.lost === 0 && s.duplicates === 0 && s.out_of_order === 0 && s.misrouted === 0, `clean: lost ${s.lost} dup ${s.duplicates} order ${s.out_of_order}`);
  check(s.pass, `clean: step failed: ${s.fail}`);
  check(m.st.unmasked === 0 && m.st.badText === 0, `clean: ${m.st.unmasked} unmasked client frames, ${m.st.badText} unreadable`);
  check(m.st.pings > 0 && m.st.pongs === m.st.pings && m.st.badPongs === 0, `clean: ${m.st.pongs} pongs (${m.st.badPongs} wrong) for ${m.st.pings} pings`);
  check(m.st.httpConns > 4, `clean: the server's keep-alive closes were not followed by reconnects (${m.st.httpConns} connections)`);
  m.close();
}

// 2. faults: one change dropped, one duplicated, one subscriber closed
{
  const m = await startMock(true);
  const r = await loadgen(['fanout', ...ports(m), '--subs', '8', '--collections', '1', '--rate', '100', '--duration', '0.2', '--drain', '0.5', '--pub-conns', '2']);
  const s = (r.steps || [{}])[0];
  // 20 messages to 8 subscribers, one of which leaves after #9: expected
  // counts the subscribers ready when a message is sent, 9 x 8 + 11 x 7 (or
  // one more if #10 went out before the close came in, then lost with it);
  // subscriber 1 misses #5
  const extra = s.expected - 149;
  check(extra === 0 || extra === 1, `faults: expected ${s.expected} (149)`);
  check(s.lost === 1 + extra, `faults: lost ${s.lost} (${1 + extra})`);
  check(s.duplicates === 1, `faults: duplicates ${s.duplicates} (1)`);
  check(s.out_of_order === 2, `faults: out of order ${s.out_of_order} (2: the gap, the repeat)`);
  check(s.disconnects === 1 && r.server_closes === 1 && r.last_close_code === 1001, `faults: disconnects ${s.disconnects}, closes ${r.server_closes}, code ${r.last_close_code}`);
  check(!s.pass, 'faults: the step passed');
  m.close();
}

// 3. rest and idle against the same stand-in
{
  const m = await startMock(false);
  const r = await loadgen(['rest', ...ports(m), '--clients', '8', '--duration', '1']);
  check(r.created > 0 && r.created === r.requests && r.not_201 === 0 && r.errors === 0, `rest: ${r.created} of ${r.requests} created, ${r.errors} errors`);
  const i = await loadgen(['idle', ...ports(m), '--subs', '300', '--collections', '3', '--settle', '0.5', '--server-pid', String(process.pid)]);
  check(i.ready === 300 && i.failed === 0, `idle: ${i.ready} ready, ${i.failed} failed`);
  m.close();
}

if (problems.length) {
  console.error(`selftest: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('selftest: ok');
