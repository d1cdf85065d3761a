// examples/node-client/todo.mjs as a user runs it: a real Node process with
// the client library (through its package name) and the `ws` WebSocket,
// against a real gateway: it prints the changes others make, writes what it
// is told on stdin, and stops on `quit`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis, Gateway, ROOT, adminToken, uniqueColl, waitFor } from './lib/harness.mjs';

let redis;
let gw;

before(async () => {
  redis = await Redis.start();
  gw = await Gateway.start({ redis });
});

after(async () => {
  await gw.stop();
  await redis.stop();
});

test('the Node example follows a collection, writes from stdin and quits cleanly', async () => {
  const coll = uniqueColl('node-example');
  const dir = path.join(ROOT, 'examples/node-client');
  const child = spawn(process.execPath, ['todo.mjs'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      SYNCGATE_URL: gw.url,
      SYNCGATE_TOKEN: adminToken('example'),
      SYNCGATE_COLLECTION: coll,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => /status online \(node gw\)/.test(out), { what: () => `online: ${out}${err}` });
    const r = await gw.req('PUT', `/v1/collections/${coll}/docs/from-rest`, { token: adminToken(), body: { data: { title: 'bread', done: false } } });
    assert.equal(r.status, 201);
    // "online" comes before the first listing: a write that lands before
    // the listing is printed from it ("load"), one after it live ("remote")
    await waitFor(() => /change (remote|load) from-rest +\[ \] bread/.test(out), { what: () => `the change printed: ${out}` });
    child.stdin.write('add milk\n');
    await waitFor(() => /put \S+ stored/.test(out), { what: () => `the write stored: ${out}` });
    const id = out.match(/put (\S+) stored/)[1];
    const doc = await gw.req('GET', `/v1/collections/${coll}/docs/${id}`, { token: adminToken() });
    assert.equal(doc.status, 200);
    assert.equal(doc.json.data.title, 'milk');
    assert.match(doc.json.actor, /^example:[a-z0-9]+\.0$/, 'the example writes as <sub>:<device>.<slot>');
    child.stdin.write('ls\n');
    await waitFor(() => /2 documents, 0 queued/.test(out), { what: () => `ls: ${out}` });
    child.stdin.write('quit\n');
    assert.equal(await exited, 0, err);
  } finally {
    child.kill('SIGKILL');
  }
});
