// Unit tests of the client library's retry and token timing
// (web/syncgate/timing.js) and of its stores (web/syncgate/storage.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, tokenRefreshDelay, readClaims } from '../../web/syncgate/timing.js';
import { memoryStorage, stringStorage, openStorage } from '../../web/syncgate/storage.js';

test('backoff: full jitter under a cap that doubles up to maxMs', () => {
  const opts = { minMs: 500, maxMs: 15000 };
  assert.equal(backoffDelay(0, opts, () => 0), 0);
  assert.equal(backoffDelay(0, opts, () => 0.999999), 499);
  assert.equal(backoffDelay(3, opts, () => 0.5), 2000);
  assert.equal(backoffDelay(10, opts, () => 0.999999), 14999, 'capped');
  assert.equal(backoffDelay(1e6, opts, () => 0.999999), 14999, 'no overflow for huge attempts');
  let over = 0;
  for (let i = 0; i < 1000; i++) if (backoffDelay(4, opts) >= 8000) over++;
  assert.equal(over, 0);
});

test('token refresh: at 80 % of the life left, a minute early for long tokens, never sooner than 1 s', () => {
  const now = 1_000_000;
  assert.equal(tokenRefreshDelay(now + 10_000, now), 8000);
  assert.equal(tokenRefreshDelay(now + 3_600_000, now), 3_540_000);
  assert.equal(tokenRefreshDelay(now + 500, now), 1000);
  assert.equal(tokenRefreshDelay(now - 5000, now), 1000, 'already expired');
  assert.equal(tokenRefreshDelay(NaN, now), 1000);
});

test('readClaims reads a JWT payload (base64url, UTF-8) and refuses what is not one', () => {
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const tok = `${b64u({ alg: 'HS256' })}.${b64u({ sub: 'zoë', exp: 123 })}.sig`;
  assert.deepEqual(readClaims(tok), { sub: 'zoë', exp: 123 });
  assert.equal(readClaims('a.b'), null);
  assert.equal(readClaims('a.%%%.c'), null);
  assert.equal(readClaims(`x.${Buffer.from('[1').toString('base64url')}.y`), null);
  assert.equal(readClaims(null), null);
});

test('stores: memory and string stores keep JSON copies and list keys by prefix', async () => {
  const m = new Map();
  const str = stringStorage({
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, v); },
    removeItem: (k) => { m.delete(k); },
    getAllKeys: () => [...m.keys()],
  }, 'app/');
  for (const st of [memoryStorage(), str]) {
    const v = { a: [1] };
    await st.set('x:1', v);
    v.a.push(2);
    assert.deepEqual(await st.get('x:1'), { a: [1] }, 'a copy, not the object');
    await st.set('x:2', 2);
    await st.set('y:1', 3);
    assert.deepEqual(await st.keys('x:'), ['x:1', 'x:2']);
    await st.delete('x:1');
    assert.equal(await st.get('x:1'), undefined);
    assert.deepEqual(await st.keys('x:'), ['x:2']);
  }
  assert.ok(m.has('app/y:1'));
  assert.throws(() => openStorage({ get() {} }, 'n'), /no set\(\)/);
  assert.throws(() => openStorage('cloud', 'n'), /unknown kind/);
  assert.ok(openStorage(undefined, 'n'), 'no indexedDB in Node: memory');
});
