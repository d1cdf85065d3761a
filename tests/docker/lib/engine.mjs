// The real Docker engine for tests/docker: what is missing is installed
// (Debian's docker.io, docker-compose, debootstrap), a dockerd is started
// when none answers (and stopped again by stopEngine, by its PID), the base
// images are made (docker/base-images.sh) and the gateway image is built.
// Nothing here is mocked: a test that cannot get an engine fails, saying
// why; only SYNCGATE_SKIP_DOCKER=1 turns the suite off.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const SKIP = process.env.SYNCGATE_SKIP_DOCKER === '1';
// Debian's client matches Debian's daemon; another one on PATH may be newer
// than the daemon's API
export const DOCKER = process.env.DOCKER || (existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker');
export const COMPOSE = process.env.DOCKER_COMPOSE || 'docker-compose';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs cmd args; resolves { code, out, err, ms }. Killed (SIGKILL) after
 * timeout ms, then code is null. Never rejects for a non-zero exit.
 */
export function run(cmd, args, { timeout = 120000, env, input, cwd } = {}) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let p;
    try {
      p = spawn(cmd, args, { env: env || process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      resolve({ code: -1, out: '', err: e.message, ms: 0 });
      return;
    }
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
    p.on('error', (e) => { err += e.message; });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - t0 });
    });
    if (input) p.stdin.end(input); else p.stdin.end();
  });
}

/** Like run, but throws with the output when the exit code is not 0. */
export async function must(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}\n${r.out.slice(-2000)}\n${r.err.slice(-2000)}`);
  }
  return r;
}

const has = (bin) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** apt-get installs the Debian packages of pkgs whose binary is missing. */
async function installMissing(log) {
  const want = [];
  if (!existsSync('/usr/sbin/dockerd') && !has('dockerd')) want.push('docker.io');
  if (!has('docker') && !existsSync('/usr/bin/docker')) want.push('docker.io');
  if (!has(COMPOSE)) want.push('docker-compose');
  if (!has('debootstrap')) want.push('debootstrap');
  if (!has('openssl')) want.push('openssl');
  const pkgs = [...new Set(want)];
  if (!pkgs.length) return;
  const sudo = process.getuid && process.getuid() === 0 ? [] : ['sudo', '-n'];
  log(`installing ${pkgs.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const [c, ...pre] = sudo.length ? sudo : ['apt-get'];
  const a = sudo.length ? [...pre, 'apt-get'] : [];
  await must(c, [...a, 'update', '-qq'], { env, timeout: 300000 });
  await must(c, [...a, 'install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env, timeout: 600000 });
}

const engineUp = async () => (await run(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { timeout: 15000 })).code === 0;

/**
 * Makes sure an engine answers. Returns { started: pid | null, version }.
 * Throws, saying why, when none can be had.
 */
export async function ensureEngine(log = () => {}) {
  await installMissing(log);
  if (await engineUp()) {
    return { started: null, version: (await run(DOCKER, ['info', '--format', '{{.ServerVersion}}'])).out.trim() };
  }
  const dockerd = existsSync('/usr/sbin/dockerd') ? '/usr/sbin/dockerd' : 'dockerd';
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('no Docker engine answers and starting dockerd needs root '
      + '(start one, or set SYNCGATE_SKIP_DOCKER=1 to skip the docker tests)');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-dockerd-'));
  const logFile = path.join(dir, 'dockerd.log');
  log(`no engine answers: starting ${dockerd} (log ${logFile})`);
  const fd = openSync(logFile, 'a');
  // its own session, so that it outlives nothing of ours by accident
  const p = spawn(dockerd, ['--host', 'unix:///var/run/docker.sock'], {
    detached: true, stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  p.unref();
  const end = Date.now() + 60000;
  while (Date.now() < end) {
    if (p.exitCode !== null) break;
    if (await engineUp()) {
      return { started: p.pid, version: (await run(DOCKER, ['info', '--format', '{{.ServerVersion}}'])).out.trim(), proc: p };
    }
    await sleep(500);
  }
  try { process.kill(p.pid, 'SIGTERM'); } catch { /* gone */ }
  throw new Error(`dockerd did not come up within 60 s (exit ${p.exitCode}); see ${logFile}`);
}

/** Stops the dockerd ensureEngine started (by its PID), waiting up to 20 s. */
export async function stopEngine(eng, log = () => {}) {
  if (!eng || !eng.started) return;
  log(`stopping the dockerd we started (pid ${eng.started})`);
  try { process.kill(eng.started, 'SIGTERM'); } catch { return; }
  const end = Date.now() + 20000;
  while (Date.now() < end) {
    try { process.kill(eng.started, 0); } catch { return; }
    await sleep(200);
  }
  try { process.kill(eng.started, 'SIGKILL'); } catch { /* gone */ }
}

/** docker/base-images.sh (makes only what is missing); its output. */
export async function baseImages() {
  return must('sh', [path.join(ROOT, 'docker/base-images.sh')], {
    env: { ...process.env, DOCKER }, timeout: 900000,
  });
}

/** Builds docker/Dockerfile as tag; { ms }. */
export async function buildImage(tag) {
  return must(DOCKER, ['build', '-q', '-f', 'docker/Dockerfile', '-t', tag, '.'], {
    cwd: ROOT, timeout: 900000, env: { ...process.env, DOCKER_BUILDKIT: '0' },
  });
}

/** A /24 prefix (a.b.c) no Docker network of this engine uses. */
export async function freeSubnetPrefix() {
  const ids = (await must(DOCKER, ['network', 'ls', '-q'])).out.trim().split(/\s+/).filter(Boolean);
  const used = new Set();
  if (ids.length) {
    const r = await run(DOCKER, ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids]);
    for (const s of r.out.split(/\s+/)) if (s) used.add(s.split('.').slice(0, 3).join('.'));
  }
  for (let i = 0; i < 200; i++) {
    const p = `172.29.${100 + ((process.pid + i) % 150)}`;
    if (!used.has(p)) return p;
  }
  throw new Error('no free 172.29.x.0/24 subnet');
}
