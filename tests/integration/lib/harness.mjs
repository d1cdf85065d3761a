// harness.mjs - real parts for black-box tests: a redis-server on a free
// port in a temp dir, real syncgate processes, HTTP and WebSocket clients.
// Every process started here is stopped by PID by the test that started it.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import jwt from 'jsonwebtoken';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const BIN = process.env.SYNCGATE_BIN
  ? path.resolve(process.env.SYNCGATE_BIN)
  : path.join(ROOT, 'build/syncgate');
export const SECRET = 'test-secret-0123456789-abcdefghijklmnop';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits until fn() returns a truthy value (or throws after timeout ms);
 *  `what` names it in the error (a function: called then, to show state). */
export async function waitFor(fn, { timeout = 10000, interval = 25, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      const name = typeof what === 'function' ? what() : what;
      throw new Error(`timed out waiting for ${name}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(interval);
  }
}

function exited(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      resolve({ code: proc.exitCode, signal: proc.signalCode });
    } else {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
    }
  });
}

// ---------------------------------------------------------------- Redis

export class Redis {
  constructor({ port, dir, args }) {
    this.port = port;
    this.dir = dir;
    this.args = args;
    this.proc = null;
  }

  /** Starts redis-server (AOF everysec, noeviction unless args override). */
  static async start({ args = [], appendonly = 'yes' } = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-redis-'));
    const port = await freePort();
    const r = new Redis({
      port,
      dir,
      args: [
        '--bind', '127.0.0.1', '--port', String(port), '--dir', dir,
        '--appendonly', appendonly, '--appendfsync', 'everysec', '--save', '',
        '--maxmemory-policy', 'noeviction', '--daemonize', 'no',
        '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'),
        ...args,
      ],
    });
    await r.spawn();
    return r;
  }

  async spawn() {
    this.proc = spawn('redis-server', this.args, { stdio: 'ignore' });
    this.exit = exited(this.proc);
    await waitFor(async () => (await this.cli('PING')) === 'PONG', { what: 'redis PING' });
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Runs one command through redis-cli; resolves with its raw stdout (trimmed). */
  cli(...args) {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-p', String(this.port), '--no-raw', ...args.map(String)],
        { timeout: 5000, maxBuffer: 64 << 20 }, (err, stdout) => {
          if (err) reject(err);
          else resolve(stdout.replace(/\n$/, '').replace(/^"(.*)"$/s, '$1'));
        });
    });
  }

  /** Like cli but raw output (values not quoted), one line per element. */
  raw(...args) {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-p', String(this.port), '--raw', ...args.map(String)],
        { timeout: 5000, maxBuffer: 64 << 20 }, (err, stdout) => {
          if (err) reject(err);
          else resolve(stdout.replace(/\n$/, ''));
        });
    });
  }

  signal(sig) {
    if (this.proc && this.proc.exitCode === null) this.proc.kill(sig);
  }

  /** SIGKILL and wait. */
  async kill() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill('SIGKILL');
    await this.exit;
  }

  /** Restarts on the same port and dir (after kill or shutdown). */
  async restart() {
    await this.kill();
    await this.spawn();
  }

  async stop({ keepDir = false } = {}) {
    await this.kill();
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

// -------------------------------------------------------------- Gateway

export class Gateway {
  /**
   * Starts build/syncgate (or $SYNCGATE_BIN) against redis with the given
   * environment and optional config object (written to a temp file).
   * auth defaults to jwt with SECRET. Waits for /v1/ready (readyTimeout ms)
   * unless ready:false. bin replaces BIN for this gateway (e.g. the normal
   * build under valgrind while SYNCGATE_BIN names a sanitizer build).
   */
  static async start({
    redis, env = {}, config, node = 'gw', ready = true, args = [], wrap = [], bin = BIN,
    readyTimeout,
  } = {}) {
    const g = new Gateway();
    g.wrap = wrap; // e.g. ['prlimit', '--nofile=200:200', '--'] (it execs: same pid)
    g.bin = bin;
    // ports the test chose (a restart on the same ports) are kept
    g.httpPort = env.SYNCGATE_HTTP_PORT ? Number(env.SYNCGATE_HTTP_PORT) : await freePort();
    g.wsPort = env.SYNCGATE_WS_PORT ? Number(env.SYNCGATE_WS_PORT) : await freePort();
    g.dir = mkdtempSync(path.join(tmpdir(), 'sg-gw-'));
    g.logs = '';
    g.stderr = '';
    const cfgArgs = [];
    if (config) {
      const f = path.join(g.dir, 'config.json');
      writeFileSync(f, JSON.stringify(config));
      cfgArgs.push('--config', f);
    }
    g.env = {
      PATH: process.env.PATH,
      SYNCGATE_NODE_ID: node,
      SYNCGATE_BIND: '127.0.0.1',
      SYNCGATE_HTTP_PORT: String(g.httpPort),
      SYNCGATE_WS_PORT: String(g.wsPort),
      SYNCGATE_REDIS_URL: redis ? redis.url : 'redis://127.0.0.1:1',
      SYNCGATE_AUTH_MODE: 'jwt',
      SYNCGATE_JWT_SECRET: SECRET,
      SYNCGATE_WEB_ROOT: path.join(ROOT, 'web'),
      SYNCGATE_LOG_LEVEL: 'info',
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23',
      LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'tests/lsan.supp')}:print_suppressions=0`,
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
      ...env,
    };
    g.args = [...cfgArgs, ...args];
    // freePort() can hand the same port to two tests running at once: a
    // gateway that lost that race exits with "cannot listen"; try again on
    // other ports (unless the test chose the ports itself)
    for (let attempt = 0; ; attempt++) {
      g.spawn();
      try {
        if (ready) await g.waitReady(readyTimeout);
        else await g.waitHealth(readyTimeout);
        return g;
      } catch (e) {
        const clash = g.proc.exitCode === 1 && /cannot listen/.test(g.logs);
        if (!clash || attempt >= 2 || env.SYNCGATE_HTTP_PORT || env.SYNCGATE_WS_PORT) throw e;
        g.httpPort = await freePort();
        g.wsPort = await freePort();
        g.env.SYNCGATE_HTTP_PORT = String(g.httpPort);
        g.env.SYNCGATE_WS_PORT = String(g.wsPort);
        g.logs = '';
        g.stderr = '';
      }
    }
  }

  spawn() {
    const [cmd, ...pre] = this.wrap && this.wrap.length ? [...this.wrap, this.bin] : [this.bin];
    this.proc = spawn(cmd, [...pre, ...this.args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.logs += d; });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exit = exited(this.proc);
  }

  get url() {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.wsPort}/v1/ws`;
  }

  /** Waits until path answers 200; fails at once when the process exited. */
  async waitPath(p, timeout, what) {
    const r = await waitFor(async () => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return 'exited';
      return (await fetch(`${this.url}${p}`)).status === 200;
    }, { timeout, what });
    if (r === 'exited') {
      throw new Error(`gateway exited (code ${this.proc.exitCode}, signal ${this.proc.signalCode}) `
        + `before ${what}: ${this.logs.slice(-1000)}${this.stderr.slice(-1000)}`);
    }
  }

  async waitHealth(timeout = 10000) {
    await this.waitPath('/v1/health', timeout, 'gateway health');
  }

  async waitReady(timeout = 15000) {
    await this.waitPath('/v1/ready', timeout, 'gateway ready');
  }

  /** Parsed JSON log lines. */
  logLines() {
    return this.logs.split('\n').filter(Boolean).map((l) => {
      try { return JSON.parse(l); } catch { return { unparsed: l }; }
    });
  }

  signal(sig) {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(sig);
  }

  /**
   * SIGTERM and wait (at most timeout ms, then SIGKILL). Returns {code,
   * signal, stderr}. Under sanitizers a leak or UB report makes the exit
   * code non-zero, so tests assert code === 0 through assertCleanExit.
   */
  async stop({ timeout = 15000 } = {}) {
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), timeout);
    const r = await this.exit;
    clearTimeout(t);
    rmSync(this.dir, { recursive: true, force: true });
    return { ...r, stderr: this.stderr };
  }

  async kill() {
    this.signal('SIGKILL');
    const r = await this.exit;
    rmSync(this.dir, { recursive: true, force: true });
    return r;
  }

  /** HTTP request; opts as requestInit (body objects are sent as JSON). */
  async req(method, p, opts = {}) {
    const { headers, body } = requestInit(opts);
    const res = await fetch(`${this.url}${p}`, { method, headers, body });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: tryJson(text) };
  }

  /** Opens a WebSocket client (see WsClient). */
  ws(opts = {}) {
    return WsClient.connect(this.wsUrl, opts);
  }
}

// ---------------------------------------------------------------- HTTP

/**
 * Headers and body of a request: token goes as Bearer authorization, raw is
 * sent as is, else a body object is sent as JSON (with its content-type).
 */
export function requestInit({ body, token, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let b;
  if (raw !== undefined) b = raw;
  else if (body !== undefined) {
    b = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  return { headers: h, body: b };
}

/** text parsed as JSON, or undefined when it is not JSON. */
export function tryJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** Asserts a gateway exited 0 with no sanitizer report. */
export function assertCleanExit(assert, r) {
  assert.equal(r.signal, null, `gateway died by signal ${r.signal}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Sanitizer|runtime error/, r.stderr);
  assert.equal(r.code, 0, `gateway exit code ${r.code}\n${r.stderr}`);
}

// ----------------------------------------------------------- WebSocket

export class WsClient {
  /**
   * Connects; resolves once open. opts: token (sent as ?token=), headers,
   * origin, path. Rejects with an Error carrying .status when the handshake
   * is refused.
   */
  static connect(url, { token, headers = {}, origin, query = '', localAddress } = {}) {
    const u = token ? `${url}?token=${encodeURIComponent(token)}${query}` : `${url}${query ? `?${query.replace(/^&/, '')}` : ''}`;
    const c = new WsClient();
    c.messages = [];
    c.waiters = [];
    const o = { headers, perMessageDeflate: false };
    if (origin) o.origin = origin;
    if (localAddress) o.localAddress = localAddress; // another loopback source, e.g. 127.0.0.2
    c.sock = new WebSocket(u, o);
    c.closed = new Promise((resolve) => {
      c.sock.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    c.sock.on('message', (data, isBinary) => {
      const text = data.toString();
      let m;
      try { m = JSON.parse(text); } catch { m = { unparsable: text }; }
      m.__raw = text;
      m.__binary = isBinary;
      c.messages.push(m);
      c.pump();
    });
    return new Promise((resolve, reject) => {
      c.sock.once('open', () => resolve(c));
      c.sock.once('unexpected-response', (req, res) => {
        const e = new Error(`handshake refused: ${res.statusCode}`);
        e.status = res.statusCode;
        reject(e);
        req.destroy();
      });
      c.sock.once('error', (e) => reject(e));
    });
  }

  pump() {
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i];
      const idx = this.messages.findIndex((m, k) => k >= w.from && w.pred(m));
      if (idx >= 0) {
        this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(this.messages[idx]);
      } else i++;
    }
  }

  send(obj) {
    this.sock.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /**
   * Resolves with the first message (received so far or later) matching
   * pred, looking from index `from` (default 0).
   */
  wait(pred, { timeout = 5000, from = 0 } = {}) {
    if (typeof pred === 'string') {
      const type = pred;
      pred = (m) => m.type === type;
    }
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, from };
      w.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.messages.map((m) => m.type))}`));
      }, timeout);
      this.waiters.push(w);
      this.pump();
    });
  }

  /** Messages of one type (optionally for one collection). */
  of(type, collection) {
    return this.messages.filter((m) => m.type === type && (!collection || m.collection === collection));
  }

  close(code = 1000) {
    try { this.sock.close(code); } catch { /* already closed */ }
    return this.closed;
  }

  terminate() {
    this.sock.terminate();
    return this.closed;
  }
}

// ---------------------------------------------------------------- tokens

/** An HS256 token like an app server would make (jsonwebtoken). */
export function token(sub, { sync, expiresIn = 3600, secret = SECRET, ...claims } = {}) {
  const payload = { sub, ...claims };
  if (sync) payload.sync = sync;
  return jwt.sign(payload, secret, { algorithm: 'HS256', expiresIn });
}

/** A token that may read and write everything. */
export const adminToken = (sub = 'admin') => token(sub, { sync: { read: ['*'], write: ['*'] } });

/** A token that may read everything and write nothing. */
export const readerToken = (sub) => token(sub, { sync: { read: ['*'], write: [] } });

let uniqueN = 0;
/** A collection name no other call (or test process) gets: prefix-pid-n. */
export const uniqueColl = (prefix) => `${prefix}-${process.pid}-${++uniqueN}`;

/** Offset helpers. */
export function seqOf(offset) {
  return Number(offset.slice(offset.lastIndexOf(':') + 1));
}
export function epochOf(offset) {
  return offset.slice(0, offset.lastIndexOf(':'));
}

export { existsSync, copyFileSync, writeFileSync };
