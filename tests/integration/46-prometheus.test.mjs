// Monitoring as shipped: a gateway's /metrics after real traffic (REST
// writes, a conflict, a refused write, a WebSocket subscriber) passes
// Debian's `promtool check metrics` with nothing to say; docker/prometheus.yml
// passes `promtool check config`; every metric docker/grafana-dashboard.json
// queries is one the gateway serves, and a real Prometheus (Debian's)
// scraping the gateway answers every one of the dashboard's queries.
// promtool and prometheus come from Debian's `prometheus` package, installed
// here with apt-get when missing (scripts/deps.sh test installs it too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Redis, Gateway, ROOT, adminToken, assertCleanExit, freePort, sleep, uniqueColl, waitFor,
} from './lib/harness.mjs';

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function ensurePrometheus() {
  if (have('promtool') && have('prometheus')) return;
  const apt = (...args) => {
    const cmd = process.getuid() === 0 ? ['apt-get', ...args] : ['sudo', 'apt-get', ...args];
    return spawnSync(cmd[0], cmd.slice(1), { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, encoding: 'utf8' });
  };
  const install = ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'];
  let r = apt(...install);
  if (r.status !== 0) { // the package lists may be stale
    apt('update', '-qq');
    r = apt(...install);
  }
  assert.ok(have('promtool') && have('prometheus'), `apt-get install prometheus: ${r.stdout}${r.stderr}`);
}

let redis;
let gw;
let dir;
let metricsText;

before(async () => {
  ensurePrometheus();
  dir = mkdtempSync(path.join(tmpdir(), 'sg-prom-'));
  redis = await Redis.start();
  gw = await Gateway.start({ redis, node: 'prom' });
  const tok = adminToken();
  const coll = uniqueColl('prom');
  const ws = await gw.ws({ token: tok });
  await ws.wait((m) => m.type === 'welcome');
  ws.send({ type: 'subscribe', collection: coll });
  await ws.wait((m) => m.type === 'subscribed');
  for (let i = 0; i < 5; i++) {
    const r = await gw.req('PUT', `/v1/collections/${coll}/docs/d${i}`, { token: tok, body: { data: { i } } });
    assert.equal(r.status, 201, r.text);
  }
  // a conflict (two devices edited version {admin:1}) and a refused write
  await gw.req('PUT', `/v1/collections/${coll}/docs/d0`, { token: tok, body: { data: 'a', version: { admin: 1, 'admin:x': 1 }, actor: 'admin:x' } });
  await gw.req('PUT', `/v1/collections/${coll}/docs/d0`, { token: tok, body: { data: 'b', version: { admin: 1, 'admin:y': 1 }, actor: 'admin:y' } });
  const bad = await gw.req('PUT', `/v1/collections/${coll}/docs/d1`, { token: tok, body: { data: 1, version: { other: 9 } } });
  assert.equal(bad.status, 409, bad.text);
  await waitFor(() => ws.messages.filter((m) => m.type === 'change').length >= 7, { what: '7 changes' });
  const m = await fetch(`${gw.url}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  metricsText = await m.text();
  // the WebSocket stays open: the scrapes below see a connection
  gw.keepWs = ws;
});

after(async () => {
  if (gw) {
    gw.keepWs?.close();
    assertCleanExit(assert, await gw.stop());
  }
  if (redis) await redis.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const value = (name) => {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
};

test('/metrics after traffic passes promtool check metrics, and counts that traffic', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool has remarks');
  // not an empty page: the traffic is there
  assert.ok(value('syncgate_websocket_connections') >= 1);
  assert.ok(value('syncgate_changes_delivered_total') >= 7);
  assert.ok(value('syncgate_write_duration_seconds_count') >= 8);
  assert.ok(value('syncgate_writes_total{result="applied"}') >= 6);
  assert.ok(value('syncgate_writes_total{result="rejected"}') >= 1);
  assert.equal(value('syncgate_redis_up{connection="command"}'), 1);
  // promtool would fail a broken page: it is not a rubber stamp
  const broken = spawnSync('promtool', ['check', 'metrics'], {
    input: `${metricsText}# TYPE syncgate_websocket_connections counter\n`, encoding: 'utf8',
  });
  assert.notEqual(broken.status, 0);
});

test('docker/prometheus.yml passes promtool check config and scrapes the gateway service', () => {
  const f = path.join(ROOT, 'docker/prometheus.yml');
  const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SUCCESS/);
  const y = readFileSync(f, 'utf8');
  assert.match(y, /metrics_path: \/metrics/);
  assert.match(y, /names: \[gateway\]/);
  assert.match(y, /port: 8080/);
});

const dashboard = () => JSON.parse(readFileSync(path.join(ROOT, 'docker/grafana-dashboard.json'), 'utf8'));
const exprs = (d) => d.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

test('the Grafana dashboard: valid JSON, the panels, and only metrics the gateway serves', () => {
  const d = dashboard();
  assert.equal(typeof d.title, 'string');
  const titles = d.panels.map((p) => p.title.toLowerCase());
  for (const want of [/connections/, /deliveries/, /write results/, /latency/, /slow-consumer/, /redis/]) {
    assert.ok(titles.some((t) => want.test(t)), `no panel for ${want}: ${titles}`);
  }
  assert.ok(exprs(d).some((e) => /histogram_quantile\(0\.99, .*syncgate_write_duration_seconds_bucket/.test(e.expr)));
  const served = new Set(metricsText.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
  let n = 0;
  for (const { panel, expr } of exprs(d)) {
    const names = expr.match(/\bsyncgate_[a-z0-9_]+/g) || [];
    assert.ok(names.length > 0, `${panel}: ${expr}`);
    for (const name of names) {
      assert.ok(served.has(name), `${panel}: ${name} is not in /metrics`);
      n++;
    }
  }
  assert.ok(n >= 8);
});

test('a real Prometheus scraping the gateway answers every dashboard query', async () => {
  const port = await freePort();
  const cfg = path.join(dir, 'prometheus.yml');
  writeFileSync(cfg, [
    'global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: syncgate',
    '    metrics_path: /metrics', '    static_configs:', `      - targets: ["127.0.0.1:${gw.httpPort}"]`, '',
  ].join('\n'));
  const prom = spawn('prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (b) => { log += b; });
  const query = async (q) => {
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    return r.json();
  };
  try {
    await waitFor(async () => {
      const j = await query('up{job="syncgate"}');
      return j.status === 'success' && j.data.result.length === 1 && j.data.result[0].value[1] === '1';
    }, { timeout: 30000, what: `prometheus scraping the gateway (${log})` });
    // rates need two samples in the window; write some more meanwhile
    const tok = adminToken();
    for (let i = 0; i < 3; i++) {
      await gw.req('PUT', `/v1/collections/${uniqueColl('prom2')}/docs/x`, { token: tok, body: { data: i } });
      await sleep(1000);
    }
    for (const { panel, expr } of exprs(dashboard())) {
      const q = expr.replace(/\$job/g, '.+').replace(/\$__rate_interval/g, '1m');
      const j = await query(q);
      assert.equal(j.status, 'success', `${panel}: ${q}: ${JSON.stringify(j)}`);
      assert.ok(j.data.result.length > 0, `${panel}: ${q} has no series`);
    }
  } finally {
    prom.kill('SIGTERM');
    await new Promise((r) => (prom.exitCode !== null ? r() : prom.once('exit', r)));
  }
});
