// The history checker itself: one clean history passes; each rule's
// violation, built by hand, is caught with a message naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Checker, Replica } from './lib/checker.mjs';

const E = 'ep1';
const doc = (id, seq, version, data, extra = {}) => ({
  collection: 'c', id, offset: `${E}:${seq}`, version, data, deleted: false, actor: 'u:a', timestamp: 1000 + seq, ...extra,
});

/** A clean history: 2 writes, 2 subscribers (one reconnects, one is reset and reloads). */
function clean() {
  const k = new Checker();
  const a = k.subscription('c', 'a');
  const b = k.subscription('c', 'b');
  k.subscribed(a, { offset: `${E}:0` });
  k.subscribed(b, { offset: `${E}:0` });
  const w1 = doc('x', 1, { 'u:a': 1 }, { n: 1 });
  k.ack('c', 'x', { ...w1, applied: true }, { data: { n: 1 } });
  k.change(a, w1);
  k.change(b, w1);
  const w2 = doc('y', 2, { 'u:a': 1 }, { n: 2 });
  k.ack('c', 'y', { ...w2, applied: true }, { data: { n: 2 } });
  k.change(b, w2);
  // a reconnects with since = its last offset and gets the next change
  k.subscribed(a, { offset: `${E}:2`, since: `${E}:1` });
  k.change(a, w2); // replayed after the since: continues the run at 1 -> 2
  return { k, a, b, w1, w2 };
}

test('a clean history passes with its counts', () => {
  const { k, b } = clean();
  k.reset(b, { offset: `${E}:5`, reason: 'history_trimmed' });
  k.reload(b, { offset: `${E}:6` });
  k.change(b, doc('x', 7, { 'u:a': 2 }, { n: 3 }));
  k.final('c', [doc('x', 7, { 'u:a': 2 }, { n: 3 }), doc('y', 2, { 'u:a': 1 }, { n: 2 })]);
  assert.deepEqual(k.check(), { writesAcked: 2, changesDelivered: 5, resets: 1, reconnects: 1, subscriptions: 2 });
});

test('rule (a): a gap is caught', () => {
  const { k, a } = clean();
  k.change(a, doc('x', 4, { 'u:a': 2 }, {}));
  k.final('c', []);
  assert.throws(() => k.check(), /rule \(a\).*change ep1:4 after ep1:2: gap of 1/);
});

test('rule (a): a duplicate is caught', () => {
  const { k, b, w1 } = clean();
  k.change(b, w1);
  assert.throws(() => k.check(), /rule \(a\).*b \(c\).*change ep1:1 after ep1:2: duplicate or out of order/);
});

test('rule (a): an epoch change without a reset is caught', () => {
  const { k, b } = clean();
  k.change(b, { ...doc('x', 3, { 'u:a': 2 }, {}), offset: 'ep2:3' });
  assert.throws(() => k.check(), /rule \(a\).*epoch change without reset/);
});

test('rule (a): a resubscribe from the wrong offset is caught', () => {
  const { k, b } = clean();
  k.subscribed(b, { offset: `${E}:9`, since: `${E}:1` });
  assert.throws(() => k.check(), /rule \(a\).*since ep1:1 but the run is at ep1:2/);
});

test('rule (a): a reload without a reset is caught', () => {
  const { k, b } = clean();
  k.reload(b, { offset: `${E}:9` });
  assert.throws(() => k.check(), /rule \(a\).*reload from ep1:9 without a reset/);
});

test('rule (a): a change before subscribed is caught', () => {
  const k = new Checker();
  const s = k.subscription('c', 's');
  k.change(s, doc('x', 1, { 'u:a': 1 }, {}));
  assert.throws(() => k.check(), /rule \(a\).*before subscribed/);
});

test('rule (b): one offset with two contents (two clients) is caught', () => {
  const k = new Checker();
  const a = k.subscription('c', 'a');
  const b = k.subscription('c', 'b');
  k.subscribed(a, { offset: `${E}:0` });
  k.subscribed(b, { offset: `${E}:0` });
  k.change(a, doc('x', 1, { 'u:a': 1 }, { n: 1 }));
  k.change(b, doc('x', 1, { 'u:a': 1 }, { n: 2 }));
  assert.throws(() => k.check(), /rule \(b\): offset ep1:1 of c carries two contents/);
});

test('rule (b): a change that differs from the write answer at its offset is caught', () => {
  const { k, a } = clean();
  k.change(a, doc('x', 3, { 'u:a': 2 }, { n: 9 }));
  k.ack('c', 'x', { ...doc('x', 3, { 'u:a': 2 }, { n: 8 }), applied: true }, { data: { n: 8 } });
  k.final('c', [doc('x', 3, { 'u:a': 2 }, { n: 8 })]);
  assert.throws(() => k.check(), /rule \(b\): offset ep1:3/);
});

test('rule (b): two write answers with one offset and different documents are caught', () => {
  const k = new Checker();
  k.ack('c', 'x', { ...doc('x', 1, { 'u:a': 1 }, { n: 1 }), applied: true });
  k.ack('c', 'y', { ...doc('y', 1, { 'u:a': 1 }, { n: 1 }), applied: true });
  assert.throws(() => k.check(), /rule \(b\)/);
});

test('rule (c): an acked write the final state does not cover is caught', () => {
  const { k } = clean();
  k.final('c', [doc('x', 1, { 'u:a': 1 }, { n: 1 })]); // y missing
  assert.throws(() => k.check(), /rule \(c\): acknowledged write c\/y at ep1:2 .* is lost: final version \(no document\)/);
});

test('rule (c): a final version that does not dominate is caught', () => {
  const { k } = clean();
  k.final('c', [doc('x', 1, { 'u:a': 1 }, { n: 1 }), doc('y', 9, { 'u:b': 4 }, { n: 2 })]);
  assert.throws(() => k.check(), /rule \(c\).*c\/y.*final version \{"u:b":4\}/);
});

test('rule (c): a reset before the ack does not cover it; one after does', () => {
  const k = new Checker();
  const a = k.subscription('c', 'a');
  k.subscribed(a, { offset: `${E}:0` });
  k.reset(a, { offset: `${E}:0`, reason: 'epoch_changed' });
  k.ack('c', 'x', { ...doc('x', 1, { 'u:a': 1 }, {}), applied: true });
  k.final('c', []);
  assert.throws(() => k.check(), /rule \(c\)/);
  k.reset(a, { offset: 'ep2:0', reason: 'epoch_changed' });
  assert.equal(k.check().resets, 2);
});

test('rule (c): a collection without a final state is caught; applied:false writes need none', () => {
  const k = new Checker();
  k.ack('c', 'x', { ...doc('x', 1, { 'u:a': 1 }, {}), applied: false });
  assert.equal(k.check().writesAcked, 1);
  k.ack('c', 'y', { ...doc('y', 2, { 'u:a': 1 }, {}), applied: true });
  assert.throws(() => k.check(), /rule \(c\): no final state recorded for collection c/);
});

test('rule (d): client state vs server state', () => {
  const r = new Replica();
  r.load([doc('x', 1, { 'u:a': 1 }, { n: 1 })]);
  r.apply(doc('x', 2, { 'u:a': 2 }, { n: 2 }));
  r.apply(doc('x', 1, { 'u:a': 1 }, { n: 1 })); // older: ignored
  r.apply(doc('z', 3, { 'u:a': 1 }, null, { deleted: true }));
  assert.equal(Checker.stateEquals('ok', r, [doc('x', 2, { 'u:a': 2 }, { n: 2 })]), 1);
  assert.throws(() => Checker.stateEquals('stale', r, [doc('x', 4, { 'u:a': 3 }, { n: 3 })]),
    /rule \(d\): stale: document x differs/);
  assert.throws(() => Checker.stateEquals('missing', r, [doc('x', 2, { 'u:a': 2 }, { n: 2 }), doc('q', 5, {}, 1)]),
    /rule \(d\): missing: document q on the server/);
  assert.throws(() => Checker.stateEquals('extra', r, []), /rule \(d\): extra: client has x/);
});
