// One compose project of docker/compose.yml under a unique name, on its own
// subnet and loopback ports, with HTTPS/WSS clients that trust the dev
// certificate it was given. down() removes everything the project made.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { ROOT, DOCKER, COMPOSE, run, must, sleep } from './engine.mjs';

export class Stack {
  /**
   * project: compose project name; prefix: a.b.c of the /24; ports:
   * { https, stats }; certDir (holding dev.pem, dev-ca.crt); configFile;
   * image; secret (JWT); redisPassword.
   */
  constructor(o) {
    Object.assign(this, o);
    this.ca = readFileSync(path.join(this.certDir, 'dev-ca.crt'));
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: this.ca, servername: 'localhost' });
    this.file = path.join(ROOT, 'docker/compose.yml');
  }

  get env() {
    return {
      ...process.env,
      SYNCGATE_JWT_SECRET: this.secret,
      SYNCGATE_REDIS_PASSWORD: this.redisPassword,
      SYNCGATE_HTTPS_PORT: String(this.ports.https),
      SYNCGATE_LB_STATS_PORT: String(this.ports.stats),
      SYNCGATE_WS_PUBLIC_URL: `wss://localhost:${this.ports.https}/v1/ws`,
      SYNCGATE_CONFIG_FILE: this.configFile,
      SYNCGATE_CERT_DIR: this.certDir,
      SYNCGATE_NET_PREFIX: this.prefix,
      SYNCGATE_IMAGE: this.image,
      DOCKER_HOST: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock',
    };
  }

  compose(args, opts = {}) {
    return run(COMPOSE, ['-p', this.project, '-f', this.file, ...args], { env: this.env, timeout: 180000, ...opts });
  }

  async composeMust(args, opts) {
    const r = await this.compose(args, opts);
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')}: exit ${r.code}\n${r.out}\n${r.err}`);
    return r;
  }

  /** Names of the project's containers of service (all states). */
  async containers(service) {
    const f = ['ps', '-a', '--format', '{{.Names}}', '--filter', `label=com.docker.compose.project=${this.project}`];
    if (service) f.push('--filter', `label=com.docker.compose.service=${service}`);
    return (await must(DOCKER, f)).out.split('\n').filter(Boolean).sort();
  }

  async inspect(name) {
    return JSON.parse((await must(DOCKER, ['inspect', name])).out)[0];
  }

  /** Container name -> { host (its hostname = the gateway's node), ip }. */
  async gateways() {
    const out = new Map();
    for (const n of await this.containers('gateway')) {
      const i = await this.inspect(n);
      if (!i.State.Running) continue;
      const net = Object.values(i.NetworkSettings.Networks)[0];
      out.set(n, { host: i.Config.Hostname, ip: net && net.IPAddress });
    }
    return out;
  }

  /** HAProxy's stats: rows { backend, server, status, addr }. */
  async lbServers() {
    const r = await fetch(`http://127.0.0.1:${this.ports.stats}/stats;csv`);
    const lines = (await r.text()).trim().split('\n');
    const head = lines[0].replace(/^# /, '').split(',');
    const col = (n) => head.indexOf(n);
    return lines.slice(1).map((l) => l.split(',')).filter((f) => f[1] !== 'FRONTEND' && f[1] !== 'BACKEND')
      .map((f) => ({ backend: f[col('pxname')], server: f[col('svname')], status: f[col('status')], addr: f[col('addr')] }));
  }

  /** How many servers of each pool HAProxy has UP: { rest, ws }. */
  async upCount() {
    const rows = await this.lbServers();
    const n = (b) => rows.filter((x) => x.backend === b && x.status.startsWith('UP')).length;
    return { rest: n('rest'), ws: n('ws') };
  }

  /**
   * One HTTPS request through the load balancer; resolves { status,
   * headers, text, json }, rejects on a transport error. opts: body (an
   * object: JSON), headers, token, timeout, and host/localAddress to reach
   * the LB some other way than the published port.
   */
  request(method, p, { body, headers = {}, token, timeout = 10000, host, port, localAddress, agent } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let data;
    if (body !== undefined) {
      data = Buffer.from(JSON.stringify(body));
      h['content-type'] = 'application/json';
      h['content-length'] = data.length;
    }
    return new Promise((resolve, reject) => {
      const q = https.request({
        host: host || '127.0.0.1',
        port: port || this.ports.https,
        servername: 'localhost',
        path: p,
        method,
        headers: h,
        agent: agent === undefined ? this.agent : agent,
        ca: this.ca,
        localAddress,
        timeout,
        // another address than the certificate's (the LB's container
        // address): the chain is still checked against the dev CA
        ...(host ? { checkServerIdentity: () => undefined } : {}),
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          let json;
          try { json = JSON.parse(text); } catch { json = undefined; }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      q.on('timeout', () => q.destroy(new Error(`no answer within ${timeout} ms`)));
      q.on('error', reject);
      q.end(data);
    });
  }

  /**
   * A wss:// socket through the load balancer, open; rejects on refusal.
   * onMessage(parsed) sees every message from the first (welcome comes
   * right behind the handshake).
   */
  ws(token, { timeout = 10000, onMessage } = {}) {
    const sock = new WebSocket(`wss://127.0.0.1:${this.ports.https}/v1/ws?token=${encodeURIComponent(token)}`, {
      ca: this.ca, perMessageDeflate: false, handshakeTimeout: timeout,
    });
    if (onMessage) sock.on('message', (d) => onMessage(JSON.parse(d.toString())));
    return new Promise((resolve, reject) => {
      sock.once('open', () => resolve(sock));
      sock.once('unexpected-response', (req, res) => {
        reject(Object.assign(new Error(`handshake refused: ${res.statusCode}`), { status: res.statusCode }));
        req.destroy();
      });
      sock.once('error', reject);
    });
  }

  /** down -v; then what the project still has: { containers, networks, volumes }. */
  async down() {
    const r = await this.compose(['down', '-v', '--remove-orphans', '-t', '5'], { timeout: 120000 });
    const f = `label=com.docker.compose.project=${this.project}`;
    const ids = async (args) => (await run(DOCKER, [...args, '-q', '--filter', f])).out.split('\n').filter(Boolean);
    const left = {
      containers: await ids(['ps', '-a']),
      networks: await ids(['network', 'ls']),
      volumes: await ids(['volume', 'ls']),
    };
    this.agent.destroy();
    return { ...left, code: r.code, out: r.out + r.err };
  }
}

/**
 * A WebSocket subscriber that follows one collection through the load
 * balancer and, when its socket drops, reconnects at once and resumes with
 * since = the last offset it got. Records every change's seq, every reset,
 * which gateway (node) served each connection and how long each reconnect
 * took (socket lost -> subscribed again).
 */
export class Follower {
  constructor(stack, token, coll, since) {
    Object.assign(this, { stack, token, coll, since });
    this.seqs = [];
    this.epochs = new Set();
    this.resets = [];
    this.errors = [];
    this.nodes = [];
    this.reconnects = [];
    this.closes = [];
    this.stopped = false;
    this.last = since;
  }

  async start() {
    await this.connect();
    return this;
  }

  async connect() {
    let onSubscribed = () => {};
    const sock = await this.stack.ws(this.token, {
      onMessage: (m) => {
        if (m.type === 'welcome') this.node = m.node;
        else if (m.type === 'subscribed') onSubscribed(m);
        else if (m.type === 'change' && m.collection === this.coll) {
          const i = m.offset.lastIndexOf(':');
          this.epochs.add(m.offset.slice(0, i));
          this.seqs.push(Number(m.offset.slice(i + 1)));
          this.last = m.offset;
        } else if (m.type === 'reset') {
          this.resets.push(m);
          this.last = m.offset;
        } else if (m.type === 'error') this.errors.push(m);
      },
    });
    this.sock = sock;
    const subscribed = new Promise((resolve, reject) => {
      const t = setTimeout(() => { sock.terminate(); reject(new Error('no subscribed within 10 s')); }, 10000);
      onSubscribed = (m) => { clearTimeout(t); resolve(m); };
      sock.once('close', () => { clearTimeout(t); reject(new Error('closed before subscribed')); });
    });
    sock.send(JSON.stringify({ type: 'subscribe', collection: this.coll, ...(this.last ? { since: this.last } : {}) }));
    await subscribed;
    this.nodes.push(this.node);
    sock.once('close', (code) => this.onClose(code));
  }

  async onClose(code) {
    if (this.stopped) return;
    const t0 = Date.now();
    this.closes.push({ code, node: this.node, at: t0 });
    const end = t0 + 30000;
    while (!this.stopped && Date.now() < end) {
      try {
        await this.connect();
        this.reconnects.push(Date.now() - t0);
        return;
      } catch (e) {
        this.errors.push({ reconnect: e.message });
        await sleep(100);
      }
    }
    if (!this.stopped) this.errors.push({ reconnect: 'gave up after 30 s' });
  }

  stop() {
    this.stopped = true;
    try { this.sock.terminate(); } catch { /* gone */ }
  }
}

/** p-th percentile (0..100) of numbers, nearest rank. */
export function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export { sleep };
