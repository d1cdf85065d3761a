// The cart merge rule of merge.mjs: union of items, larger quantity, newer
// side's fields, tombstones as empty carts ("add wins"), refusal of data
// that is not a cart. Run: node --test examples/cart-resolver/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeCarts, isNewer, CartError } from './merge.mjs';

const doc = (data, { actor = 'alice:phone', timestamp = 1764150000123, deleted = false, version = {} } = {}) => ({
  data: deleted ? null : data, deleted, actor, timestamp, version,
});
const older = (data, o) => doc(data, { actor: 'alice:phone', timestamp: 1000, ...o });
const newer = (data, o) => doc(data, { actor: 'bob:web', timestamp: 2000, ...o });
const tomb = (o) => doc(null, { deleted: true, ...o });

test('items of both sides are kept; a sku on both sides gets the larger qty', () => {
  const a = older({ items: { mug: { qty: 1 }, tea: { qty: 3 } } });
  const b = newer({ items: { mug: { qty: 2 }, pen: { qty: 1 } } });
  assert.deepEqual(mergeCarts(a, b), {
    data: { items: { mug: { qty: 2 }, pen: { qty: 1 }, tea: { qty: 3 } } },
    deleted: false,
  });
});

test('the larger qty wins even when it is the older side (not the sum, not the newest)', () => {
  const a = older({ items: { mug: { qty: 5 } } });
  const b = newer({ items: { mug: { qty: 2 } } });
  assert.equal(mergeCarts(a, b).data.items.mug.qty, 5);
  assert.equal(mergeCarts(b, a).data.items.mug.qty, 5);
  const same = mergeCarts(older({ items: { mug: { qty: 2 } } }), newer({ items: { mug: { qty: 2 } } }));
  assert.equal(same.data.items.mug.qty, 2, 'both raised 1 -> 2: 2, not 4');
});

test("an item's other fields: union, the newer side's value where both have one", () => {
  const a = older({ items: { mug: { qty: 3, color: 'red', note: 'gift' } } });
  const b = newer({ items: { mug: { qty: 1, color: 'blue', size: 'L' } } });
  assert.deepEqual(mergeCarts(a, b).data.items.mug, { qty: 3, color: 'blue', note: 'gift', size: 'L' });
});

test('cart fields other than items: union, the newer side wins a shared field', () => {
  const a = older({ items: {}, coupon: 'OLD', currency: 'EUR' });
  const b = newer({ items: {}, coupon: 'NEW', note: 'ring twice' });
  assert.deepEqual(mergeCarts(a, b).data, { items: {}, coupon: 'NEW', currency: 'EUR', note: 'ring twice' });
});

test('newer means larger timestamp, then larger actor string (the lww order)', () => {
  assert.equal(isNewer({ timestamp: 2, actor: 'a' }, { timestamp: 1, actor: 'z' }), true);
  assert.equal(isNewer({ timestamp: 1, actor: 'z' }, { timestamp: 2, actor: 'a' }), false);
  assert.equal(isNewer({ timestamp: 1, actor: 'b' }, { timestamp: 1, actor: 'a' }), true);
  const a = doc({ items: {}, coupon: 'A' }, { actor: 'a', timestamp: 7 });
  const b = doc({ items: {}, coupon: 'B' }, { actor: 'b', timestamp: 7 });
  assert.equal(mergeCarts(a, b).data.coupon, 'B');
  assert.equal(mergeCarts(b, a).data.coupon, 'B');
});

test('an item removed on one side comes back (add wins: the resolver cannot tell a removal from an add)', () => {
  const phone = older({ items: { mug: { qty: 1 } } }); // removed "tea"
  const laptop = newer({ items: { mug: { qty: 1 }, tea: { qty: 1 }, pen: { qty: 2 } } }); // added "pen"
  assert.deepEqual(Object.keys(mergeCarts(phone, laptop).data.items), ['mug', 'pen', 'tea']);
});

test('a tombstone is an empty cart: against an edit, the edited cart lives on; two tombstones stay deleted', () => {
  const edit = newer({ items: { mug: { qty: 2 } }, coupon: 'X' });
  const want = { data: { items: { mug: { qty: 2 } }, coupon: 'X' }, deleted: false };
  assert.deepEqual(mergeCarts(tomb({ timestamp: 5000 }), edit), want, 'even a newer delete does not drop items');
  assert.deepEqual(mergeCarts(edit, tomb()), want);
  assert.deepEqual(mergeCarts(tomb(), tomb({ actor: 'bob:web' })), { data: null, deleted: true });
});

test('a live cart without items merges as an empty one', () => {
  assert.deepEqual(mergeCarts(older({}), newer({ items: { mug: { qty: 1 } } })).data, { items: { mug: { qty: 1 } } });
  assert.deepEqual(mergeCarts(older({ note: 'x' }), newer({})).data, { items: {}, note: 'x' });
});

test('qty 0 is a quantity like any other: a concurrent larger one wins', () => {
  const r = mergeCarts(older({ items: { mug: { qty: 0 } } }), newer({ items: { mug: { qty: 4 } } }));
  assert.equal(r.data.items.mug.qty, 4);
  assert.equal(mergeCarts(older({ items: { mug: { qty: 0 } } }), newer({ items: {} })).data.items.mug.qty, 0);
});

test('commutative, idempotent, and the inputs are not modified', () => {
  const a = older({ items: { mug: { qty: 1, color: 'red' }, tea: { qty: 3 } }, coupon: 'A' });
  const b = newer({ items: { mug: { qty: 2 }, pen: { qty: 1, color: 'black' } }, note: 'n' });
  const copyA = structuredClone(a);
  const copyB = structuredClone(b);
  const ab = mergeCarts(a, b);
  assert.deepEqual(ab, mergeCarts(b, a));
  assert.deepEqual(JSON.stringify(ab), JSON.stringify(mergeCarts(b, a)), 'same bytes, same member order');
  assert.deepEqual(mergeCarts(a, a), { data: a.data, deleted: false });
  assert.deepEqual(a, copyA);
  assert.deepEqual(b, copyB);
  ab.data.items.mug.qty = 99;
  assert.equal(a.data.items.mug.qty, 1, 'the answer shares no object with the inputs');
  assert.equal(b.data.items.mug.qty, 2);
});

test('data that is not a cart throws CartError (the server answers 422)', () => {
  const ok = newer({ items: {} });
  for (const [what, bad] of [
    ['data an array', older([1, 2])],
    ['data a string', older('cart')],
    ['data null on a live doc', { ...older({}), data: null }],
    ['items an array', older({ items: [] })],
    ['item not an object', older({ items: { mug: 3 } })],
    ['qty missing', older({ items: { mug: {} } })],
    ['qty negative', older({ items: { mug: { qty: -1 } } })],
    ['qty fractional', older({ items: { mug: { qty: 1.5 } } })],
    ['qty a string', older({ items: { mug: { qty: '2' } } })],
    ['qty too large', older({ items: { mug: { qty: 2 ** 53 } } })],
    ['not a document', null],
  ]) {
    assert.throws(() => mergeCarts(bad, ok), CartError, what);
    assert.throws(() => mergeCarts(ok, bad), CartError, what);
  }
});
