// The command line as an operator meets it: --version, --help naming
// exactly the flags that are accepted (each option's flag is its
// environment variable's name), unknown flags and bad files refused with
// exit 2 and a clear message, and --print-config read back with --config
// giving the same configuration byte for byte, secrets shown only as "***"
// (and "***" alone, with nothing in the environment behind it, refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis, Gateway, BIN, ROOT, SECRET, assertCleanExit } from './lib/harness.mjs';

let dir;
before(() => { dir = mkdtempSync(path.join(tmpdir(), 'sg-cli-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

const base = () => ({
  PATH: process.env.PATH,
  ASAN_OPTIONS: 'detect_leaks=1:exitcode=23',
  LSAN_OPTIONS: `suppressions=${path.resolve(BIN, '../../tests/lsan.supp')}:print_suppressions=0`,
});
const run = (args, env = {}) => {
  const p = spawnSync(BIN, args, { env: { ...base(), ...env }, timeout: 20000 });
  return { code: p.status, signal: p.signal, out: `${p.stdout}`, err: `${p.stderr}` };
};
const file = (name, text) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

// "--flag VALUE   SYNCGATE_X  (file: key)" lines, and the action flags
function helpFlags(help) {
  const options = new Map();
  const actions = new Set();
  for (const line of help.split('\n')) {
    let m = /^ {2}(--[a-z0-9-]+)(?: \S+)? +(SYNCGATE_[A-Z0-9_]+) +\(file: ([a-z0-9_.]+)\)$/.exec(line);
    if (m) {
      options.set(m[1], { env: m[2], key: m[3] });
      continue;
    }
    m = /^ {2}(-h, )?(--[a-z-]+)/.exec(line);
    if (m) {
      if (m[1]) actions.add('-h');
      actions.add(m[2]);
    }
  }
  return { options, actions };
}

test('--version prints the version /v1/info and --help give, exit 0', async () => {
  const v = run(['--version']);
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /^syncgate \d+\.\d+\.\d+\n$/);
  const version = v.out.trim().split(' ')[1];
  assert.equal(v.err, '');
  assert.match(run(['--help']).out, new RegExp(`^syncgate ${version.replace(/\./g, '\\.')} `));
  // it answers before anything else is looked at
  assert.equal(run(['--version'], { SYNCGATE_HTTP_PORT: 'nope' }).code, 0);
  const redis = await Redis.start();
  try {
    const gw = await Gateway.start({ redis, node: 'ver' });
    const i = await gw.req('GET', '/v1/info');
    assert.equal(i.json.version, version);
    assertCleanExit(assert, await gw.stop());
  } finally {
    await redis.stop();
  }
});

test('--help: every flag it names is accepted, and sets what its variable sets', () => {
  const h = run(['--help']);
  assert.equal(h.code, 0, h.err);
  const { options, actions } = helpFlags(h.out);
  assert.ok(options.size > 50, `${options.size} options in --help`);
  assert.deepEqual([...actions].sort(),
    ['--config', '--health', '--help', '--make-token', '--print-config', '--version', '-h']);
  const defaults = run(['--print-config']);
  assert.equal(defaults.code, 0, defaults.err);
  const def = JSON.parse(defaults.out);
  const special = {
    '--redis-url': 'redis://10.0.0.9:6400/2', '--trusted-proxies': '10.0.0.0/8',
    '--auth-mode': 'none', '--log-level': 'warn', '--lww-clock': 'server',
  };
  for (const [flag, { env, key }] of options) {
    // the flag's name is the variable's, in capitals after SYNCGATE_
    assert.equal(env, `SYNCGATE_${flag.slice(2).toUpperCase().replace(/-/g, '_')}`, flag);
    assert.ok(key in def, `${flag}: ${key} is not in --print-config`);
    let value;
    if (special[flag]) value = special[flag];
    else if (typeof def[key] === 'boolean') value = String(!def[key]);
    else if (typeof def[key] === 'number') value = String(def[key] <= 1 ? def[key] + 1 : def[key] - 1);
    else value = 'some-text';
    if (flag.endsWith('-port')) value = '4321';
    const byFlag = run([`${flag}=${value}`, '--print-config']);
    assert.equal(byFlag.code, 0, `${flag}=${value}: ${byFlag.err}`);
    const byEnv = run(['--print-config'], { [env]: value });
    assert.equal(byEnv.code, 0, `${env}=${value}: ${byEnv.err}`);
    assert.equal(byFlag.out, byEnv.out, `${flag} and ${env}`);
    assert.notDeepEqual(JSON.parse(byFlag.out)[key], def[key], `${flag}=${value} changed nothing`);
  }
  // and the other way: every option --print-config shows that is not a
  // list or object is in --help as a flag, but the environment-only secret
  const keys = new Set([...options.values()].map((o) => o.key));
  for (const [key, v] of Object.entries(def)) {
    if (typeof v === 'object' || key === 'auth.jwt_secret') continue;
    assert.ok(keys.has(key), `${key} has no flag in --help`);
  }
  assert.doesNotMatch(h.out, /--jwt-secret|--auth-jwt-secret/);
  assert.match(h.out, /SYNCGATE_JWT_SECRET/);
});

test('flags not in --help: exit 2 with a message that names them, nothing on stdout', () => {
  const rows = [
    [['--nope'], /unknown flag "--nope" \(see --help\)/],
    [['--limits-json-depth=8'], /unknown flag "--limits-json-depth"/],
    [['--http_port=1'], /unknown flag/],
    [['--jwt-secret', SECRET], /SYNCGATE_JWT_SECRET.*flags show up in ps/],
    [['-v'], /unexpected argument "-v"/],
    [['serve'], /unexpected argument "serve"/],
    [['--http-port'], /--http-port needs a value/],
    [['--http-port=0'], /http_port \(flag\): must be an integer in 1\.\.65535/],
    [['--auth-mode=basic'], /must be one of jwt\|none/],
    [['--config'], /--config needs a value/],
    [['--make-token'], /--make-token needs a value/],
    [['--print-config=1'], /--print-config takes no value/],
  ];
  for (const [args, says] of rows) {
    const r = run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.signal || ''} ${r.err}`);
    assert.match(r.err, /^syncgate: /);
    assert.match(r.err, says, args.join(' '));
    assert.equal(r.out, '', args.join(' '));
    assert.ok(!r.err.includes(SECRET));
  }
});

test('bad config files: exit 2 with the file and the reason', () => {
  const rows = [
    ['{', /config file .*bad\.json/],
    ['[]', /not a JSON object/],
    ['{"http_port": 1, "http_port": 2}', /duplicate|twice/i],
    ['{"htp_port": 1}', /unknown option "htp_port"/],
    ['{"http_port": "x"}', /http_port \(config file\)/],
    ['{"limits": {"json_depth": true}}', /limits\.json_depth" has the wrong type/],
  ];
  for (const [text, says] of rows) {
    const r = run(['--config', file('bad.json', text), '--print-config']);
    assert.equal(r.code, 2, `${text}: exit ${r.code} ${r.signal || ''}`);
    assert.match(r.err, says, text);
    assert.equal(r.out, '');
  }
  const r = run(['--config', path.join(dir, 'missing.json')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /cannot open config file .*missing\.json: No such file/);
});

const roundTrip = (args, env) => {
  const first = run([...args, '--print-config'], env);
  assert.equal(first.code, 0, first.err);
  const f = file('printed.json', first.out);
  const again = run(['--config', f, '--print-config'], env);
  assert.equal(again.code, 0, again.err);
  assert.equal(again.out, first.out, 'printed, read back and printed again');
  return first.out;
};

test('--print-config read back with --config: the same bytes (defaults; file, env and flags)', () => {
  roundTrip([], {});
  const cfg = file('site.json', JSON.stringify({
    node_id: 'gw-9', history: 77, cors_origins: 'https://a.example',
    auth: { issuer: 'https://idp', default_permissions: { read: ['pub.*'], write: ['${sub}.*'] } },
    ws: { allowed_origins: ['https://a.example'], public_url: 'wss://x/v1/ws' },
    redis: { lossless_restarts: true, key_prefix: 't:' },
    limits: { json_depth: 12, queue_bytes: 8192 },
    collections: [
      { match: 'carts', conflict: 'callback', resolver_url: 'http://r:9/x' },
      { match: 'l.*', conflict: 'reject', history: 5 },
    ],
  }));
  const env = {
    SYNCGATE_JWT_SECRET: SECRET,
    SYNCGATE_RESOLVER_SECRET: `${SECRET}-resolver`,
    SYNCGATE_REDIS_URL: 'redis://app:hunter2hunter2@cache:6380/3',
    SYNCGATE_API_KEYS: JSON.stringify([{ name: 'billing', sha256: 'ab'.repeat(32), read: ['orders*'] }]),
    SYNCGATE_LIMIT_BODY_BYTES: '4096',
    SYNCGATE_LOG_LEVEL: 'debug',
  };
  const out = roundTrip(['--config', cfg, '--ws-port', '9911', '--dev'], env);
  const c = JSON.parse(out);
  assert.equal(c.node_id, 'gw-9');
  assert.equal(c.history, 77);
  assert.equal(c['limits.json_depth'], 12);
  assert.equal(c['redis.lossless_restarts'], true);
  assert.equal(c['limits.body_bytes'], 4096);
  assert.equal(c.log_level, 'debug');
  assert.equal(c.ws_port, 9911);
  assert.equal(c.dev, true);
  assert.equal(c.collections[1].history, 5);
  assert.deepEqual(c['ws.allowed_origins'], ['https://a.example']);
  // secrets: placeholders only
  assert.equal(c['auth.jwt_secret'], '***');
  assert.equal(c.redis_url, 'redis://app:***@cache:6380/3');
  assert.equal(c['auth.api_keys'][0].sha256, '***');
  assert.equal(c.collections[0].resolver_secret_env, 'SYNCGATE_RESOLVER_SECRET');
  for (const s of [SECRET, 'hunter2', 'ab'.repeat(32)]) assert.ok(!out.includes(s), s);
});

test('the printed file without the environment behind its "***": exit 2, saying what to set', () => {
  const env = {
    SYNCGATE_JWT_SECRET: SECRET,
    SYNCGATE_REDIS_URL: 'redis://:hunter2hunter2@127.0.0.1:6380/1',
    SYNCGATE_API_KEYS: JSON.stringify([{ name: 'billing', sha256: 'cd'.repeat(32) }]),
  };
  const printed = run(['--print-config'], env);
  assert.equal(printed.code, 0, printed.err);
  const f = file('printed.json', printed.out);
  const rows = [
    [{ SYNCGATE_REDIS_URL: env.SYNCGATE_REDIS_URL, SYNCGATE_API_KEYS: env.SYNCGATE_API_KEYS },
      /auth\.jwt_secret" is "\*\*\*".*SYNCGATE_JWT_SECRET is not set/],
    [{ SYNCGATE_JWT_SECRET: SECRET, SYNCGATE_API_KEYS: env.SYNCGATE_API_KEYS },
      /redis_url: the password is "\*\*\*"/],
    [{ SYNCGATE_JWT_SECRET: SECRET, SYNCGATE_REDIS_URL: env.SYNCGATE_REDIS_URL },
      /auth\.api_keys has "\*\*\*".*SYNCGATE_API_KEYS/],
  ];
  for (const [e, says] of rows) {
    const r = run(['--config', f, '--print-config'], e);
    assert.equal(r.code, 2, `${Object.keys(e)}: ${r.err}`);
    assert.match(r.err, says);
  }
  // and a gateway started on it does not start either
  const r = run(['--config', f], {});
  assert.equal(r.code, 2);
});

test("the README's option table is --help's: the same keys, variables and flags", () => {
  const { options } = helpFlags(run(['--help']).out);
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const rows = new Map();
  for (const line of readme.split('\n')) {
    const m = /^\| `([a-z0-9_.]+)` \| `(SYNCGATE_[A-Z0-9_]+)` \| (?:`(--[a-z0-9-]+)`|—)/.exec(line);
    if (m) rows.set(m[1], { env: m[2], flag: m[3] });
  }
  for (const [flag, { env, key }] of options) {
    assert.deepEqual(rows.get(key), { env, flag }, `README row of ${key}`);
  }
  for (const [key, { flag }] of rows) {
    if (flag) assert.ok(options.has(flag), `README names ${flag} (${key}), --help does not`);
  }
  assert.deepEqual(rows.get('auth.jwt_secret'), { env: 'SYNCGATE_JWT_SECRET', flag: undefined });
});
