// Unit tests of the client library's version-vector logic and apply rule
// (web/syncgate/vv.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareVersions, mergeVersions, nextVersion, replacesKnown, covers, jsonEqual,
} from '../../web/syncgate/vv.js';

test('compareVersions: equal, dominates, dominated, concurrent; missing entries are 0', () => {
  assert.equal(compareVersions({}, {}), 'equal');
  assert.equal(compareVersions({ a: 1 }, { a: 1 }), 'equal');
  assert.equal(compareVersions({ a: 1, b: 0 }, { a: 1 }), 'equal');
  assert.equal(compareVersions({ a: 2 }, { a: 1 }), 'dominates');
  assert.equal(compareVersions({ a: 1, b: 1 }, { a: 1 }), 'dominates');
  assert.equal(compareVersions({ a: 1 }, {}), 'dominates');
  assert.equal(compareVersions({}, { a: 1 }), 'dominated');
  assert.equal(compareVersions({ a: 1 }, { a: 1, b: 3 }), 'dominated');
  assert.equal(compareVersions({ a: 2 }, { b: 1 }), 'concurrent');
  assert.equal(compareVersions({ a: 2, b: 1 }, { a: 1, b: 2 }), 'concurrent');
  assert.equal(compareVersions(undefined, null), 'equal');
});

test('compareVersions is antisymmetric over random vectors', () => {
  const flip = { equal: 'equal', dominates: 'dominated', dominated: 'dominates', concurrent: 'concurrent' };
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const vec = () => {
    const v = {};
    for (const k of ['a', 'b', 'c']) if (rnd() < 0.6) v[k] = Math.floor(rnd() * 3) + 1;
    return v;
  };
  for (let i = 0; i < 500; i++) {
    const a = vec();
    const b = vec();
    assert.equal(compareVersions(b, a), flip[compareVersions(a, b)], JSON.stringify([a, b]));
    const m = mergeVersions(a, b);
    assert.ok(['equal', 'dominates'].includes(compareVersions(m, a)));
    assert.ok(['equal', 'dominates'].includes(compareVersions(m, b)));
  }
});

test('mergeVersions is the entry-wise max and changes neither input', () => {
  const a = { x: 1, y: 5 };
  const b = { y: 2, z: 3 };
  assert.deepEqual(mergeVersions(a, b), { x: 1, y: 5, z: 3 });
  assert.deepEqual(a, { x: 1, y: 5 });
  assert.deepEqual(b, { y: 2, z: 3 });
  assert.deepEqual(mergeVersions(undefined, b), b);
});

test('nextVersion adds one to the own entry, past any count already used', () => {
  assert.deepEqual(nextVersion(undefined, 'me'), { me: 1 });
  assert.deepEqual(nextVersion({ other: 2 }, 'me'), { other: 2, me: 1 });
  assert.deepEqual(nextVersion({ me: 3, other: 1 }, 'me'), { me: 4, other: 1 });
  assert.deepEqual(nextVersion({ me: 3 }, 'me', 7), { me: 8 }, 'queued writes used up to 7');
  assert.deepEqual(nextVersion({ me: 9 }, 'me', 7), { me: 10 });
  // the result dominates the base: the gateway applies it (rule 2)
  const base = { me: 2, other: 4 };
  assert.equal(compareVersions(nextVersion(base, 'me'), base), 'dominates');
});

test('replacesKnown: newer and concurrent states replace, older ones are ignored', () => {
  assert.equal(replacesKnown(undefined, { version: { a: 1 } }), true);
  assert.equal(replacesKnown({ version: { a: 1 } }, { version: { a: 2 } }), true);
  assert.equal(replacesKnown({ version: { a: 2 } }, { version: { a: 1 } }), false);
  assert.equal(replacesKnown({ version: { a: 1 } }, { version: { a: 1 } }), true, 'same version: picks up its offset');
  assert.equal(replacesKnown({ version: { a: 1 } }, { version: { b: 1 } }), true, 'concurrent: the gateway is the truth');
});

test('covers: the gateway holds a queued edit when its version is the edit\'s or newer', () => {
  assert.equal(covers(undefined, { me: 1 }), false);
  assert.equal(covers({ version: { me: 1 } }, { me: 1 }), true);
  assert.equal(covers({ version: { me: 1, o: 1 } }, { me: 1 }), true);
  assert.equal(covers({ version: { o: 1 } }, { me: 1 }), false);
  assert.equal(covers({ version: { me: 1 } }, { me: 2 }), false);
});

test('jsonEqual compares JSON values deeply, key order aside', () => {
  assert.equal(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }), true);
  assert.equal(jsonEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, b: undefined }), false);
  assert.equal(jsonEqual([1, 2], [2, 1]), false);
  assert.equal(jsonEqual([], {}), false);
  assert.equal(jsonEqual(null, {}), false);
  assert.equal(jsonEqual('1', 1), false);
});
