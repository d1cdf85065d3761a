// docker/ without an engine: the compose file validates and refuses to start
// without its secrets, and the HAProxy config it mounts passes Debian's
// haproxy's own check. The stack itself runs on a real engine in
// tests/docker/ (make test's last step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/harness.mjs';

// --env-file (an empty file): a docker/.env of the checkout must not fill in the secrets
const emptyEnv = path.join(mkdtempSync(path.join(tmpdir(), 'sg-env-')), 'empty.env');
writeFileSync(emptyEnv, '');
const compose = (env) => spawnSync('docker-compose', ['--env-file', emptyEnv, '-f', path.join(ROOT, 'docker/compose.yml'), 'config'], {
  env: { PATH: process.env.PATH, ...env }, encoding: 'utf8',
});

test('docker-compose validates the compose file: redis with AOF and noeviction, one scalable gateway service, the LB on loopback', () => {
  const r = compose({ SYNCGATE_JWT_SECRET: 'x'.repeat(40), SYNCGATE_REDIS_PASSWORD: 'p'.repeat(32) });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  for (const s of ['redis:', 'gateway:', 'lb:', 'maxmemory-policy', 'noeviction', 'appendonly', 'read_only: true',
    '127.0.0.1:8443:8443', 'SYNCGATE_TRUSTED_PROXIES: 172.28.0.10', 'ipv4_address: 172.28.0.10',
    '/etc/syncgate/syncgate.json:ro', 'SYNCGATE_CONFIG: /etc/syncgate/syncgate.json']) {
    assert.ok(out.includes(s), `compose config has ${s}`);
  }
  assert.doesNotMatch(out, /container_name|gw-a|gw-b/, 'no per-gateway service or name (scaling)');
});

test('docker-compose refuses to run without the secrets, naming them', () => {
  for (const [env, missing] of [
    [{ SYNCGATE_REDIS_PASSWORD: 'p'.repeat(32) }, 'SYNCGATE_JWT_SECRET'],
    [{ SYNCGATE_JWT_SECRET: 'x'.repeat(40) }, 'SYNCGATE_REDIS_PASSWORD'],
  ]) {
    const r = compose(env);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`set ${missing}`));
  }
});

test('haproxy -c accepts docker/haproxy.cfg (TLS bind, DNS resolvers, server-template, redispatch)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-cert-'));
  const made = spawnSync('sh', [path.join(ROOT, 'docker/dev-cert.sh')], {
    env: { PATH: process.env.PATH, SYNCGATE_CERT_DIR: dir }, encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stdout + made.stderr);
  const r = spawnSync('haproxy', ['-c', '-f', path.join(ROOT, 'docker/haproxy.cfg')], {
    env: {
      PATH: process.env.PATH, LB_BIND: '127.0.0.1:8443', LB_STATS_BIND: '127.0.0.1:8404', GW_HOST: 'gateway',
      LB_CERT: path.join(dir, 'dev.pem'),
    },
    encoding: 'utf8',
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const cfg = readFileSync(path.join(ROOT, 'docker/haproxy.cfg'), 'utf8');
  for (const s of ['option redispatch', 'option forwardfor', 'server-template', 'resolvers docker',
    'nameserver dns 127.0.0.11:53', 'option httpchk GET /v1/ready', 'use_backend ws if is_ws', 'ssl crt']) {
    assert.ok(cfg.includes(s), `haproxy.cfg has ${s}`);
  }
});
