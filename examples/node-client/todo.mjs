#!/usr/bin/env node
// todo.mjs - the syncgate client library in Node: follows a collection,
// prints every change, and takes commands on stdin.
//
//   npm install            (once: the library and the `ws` WebSocket)
//   SYNCGATE_URL=http://127.0.0.1:8080 SYNCGATE_TOKEN=$(cat ../../build/dev/token) node todo.mjs
//
// Commands: `add <title>`, `done <id>`, `rm <id>`, `ls`, `offline`, `online`,
// `quit`. Node 20 has no WebSocket of its own: the `ws` package's is passed
// in, and the local copy lives in memory (storage: 'memory').
import readline from 'node:readline';
import WebSocket from 'ws';
import { SyncGate } from 'syncgate';

const url = process.env.SYNCGATE_URL || 'http://127.0.0.1:8080';
const name = process.env.SYNCGATE_COLLECTION || 'todos';
const token = process.env.SYNCGATE_TOKEN || null;

const sg = new SyncGate({
  url,
  WebSocket,
  storage: 'memory',
  device: process.env.SYNCGATE_DEVICE || undefined,
  // a real app asks its own server for a fresh token here
  getToken: async () => token,
});
const todos = sg.collection(name);

const line = (doc) => `${doc.id}  [${doc.data && doc.data.done ? 'x' : ' '}] ${doc.data && doc.data.title}`;

sg.on('status', (s, d) => console.log(`status ${s}${d.node ? ` (node ${d.node})` : ''}`));
sg.on('error', (e) => console.log(`error ${e.code}: ${e.message}`));
todos.on('change', (ev) => {
  if (ev.source === 'load') return;
  console.log(ev.doc ? `change ${ev.source} ${line(ev.doc)}` : `change ${ev.source} ${ev.id} deleted`);
});
todos.on('conflict', (ev) => console.log(`conflict ${ev.id}: ${ev.policy}, winner ${ev.winner}${ev.mine ? ' (my edit)' : ''}`));
todos.on('reset', (ev) => console.log(`reset ${ev.reason}: reloaded`));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (text) => {
  const [cmd, ...rest] = text.trim().split(/\s+/);
  const arg = rest.join(' ');
  try {
    if (cmd === 'add' && arg) {
      const id = `${Date.now().toString(36)}-node`;
      const r = await todos.put(id, { title: arg, done: false, created: Date.now() });
      console.log(`put ${id} ${r.queued ? 'queued' : 'stored'}`);
    } else if (cmd === 'done' && todos.get(arg)) {
      await todos.put(arg, { ...todos.get(arg).data, done: true });
    } else if (cmd === 'rm' && arg) {
      await todos.delete(arg);
    } else if (cmd === 'ls') {
      for (const d of todos.docs()) console.log(line(d));
      console.log(`${todos.docs().length} documents, ${todos.pendingCount()} queued`);
    } else if (cmd === 'offline') {
      sg.goOffline();
    } else if (cmd === 'online') {
      sg.goOnline();
    } else if (cmd === 'quit') {
      await sg.flush(5000).catch(() => {});
      sg.close();
      rl.close();
    } else if (cmd) {
      console.log('commands: add <title> | done <id> | rm <id> | ls | offline | online | quit');
    }
  } catch (e) {
    console.log(`error ${e.code || ''}: ${e.message}`);
  }
});
rl.on('close', () => sg.close());
