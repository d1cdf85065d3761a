// merge.mjs - the shopping-cart merge of the example resolver, as a pure
// function: no I/O, no clock, no randomness. server.mjs calls it for every
// conflict the gateway sends; merge.test.mjs checks the rule.
//
// A cart document's data:
//   {"items": {"<sku>": {"qty": <integer >= 0>, ...more item fields}}, ...more cart fields}
//
// The rule ("add wins"), for two concurrent versions `stored` and `incoming`:
//   1. A tombstone (deleted:true) counts as an empty cart: no items, no fields.
//   2. Both tombstones: the answer is a tombstone ({"data":null,"deleted":true}).
//   3. Otherwise the answer is a live cart holding every sku of either side.
//      - qty is the larger of the two quantities (a sku on one side only keeps
//        its quantity);
//      - an item's other fields, and the cart's fields other than "items", are
//        the union of both sides; where both have a field, the newer version's
//        value is kept (newer: larger timestamp, then larger actor string, the
//        order last-writer-wins uses).
//   4. Data that is not a cart (not an object, "items" not an object, an item
//      not an object, qty not an integer in 0..2^53-1) throws a CartError; the
//      server answers 422 and the gateway applies the collection's fallback.
//
// Why "add wins": the gateway sends the two current versions, not the version
// they both started from, so "phone removed the mug" and "laptop added the
// mug" look the same. Keeping the item never loses something a user put in
// the cart; the price is that a removal made concurrently with another edit
// comes back, and the user removes it again (that write is not concurrent
// with anything, so it applies as is). The same holds for the whole cart: a
// deleted cart against a concurrent edit gives the edited cart, alive again.
// The larger quantity, not the sum, because two devices that both raised the
// mug from 1 to 2 mean 2, not 3.

/** Thrown for data that is not a cart; server.mjs answers it with 422. */
export class CartError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CartError';
  }
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isQty = (v) => Number.isSafeInteger(v) && v >= 0;

/** The cart of one side: {items, fields} (a tombstone is an empty cart). */
function cartOf(doc, side) {
  if (!isObj(doc)) throw new CartError(`${side}: not a document`);
  if (doc.deleted === true) return { items: {}, fields: {} };
  const data = doc.data;
  if (!isObj(data)) throw new CartError(`${side}: data is not an object`);
  const { items = {}, ...fields } = data;
  if (!isObj(items)) throw new CartError(`${side}: items is not an object`);
  for (const [sku, item] of Object.entries(items)) {
    if (!isObj(item)) throw new CartError(`${side}: item ${JSON.stringify(sku)} is not an object`);
    if (!isQty(item.qty)) throw new CartError(`${side}: item ${JSON.stringify(sku)}: qty must be an integer >= 0`);
  }
  return structuredClone({ items, fields }); // the answer shares nothing with the input
}

/**
 * true when document a is newer than b: larger timestamp, then larger actor
 * (the last-writer-wins order of the gateway).
 */
export function isNewer(a, b) {
  const ta = Number.isFinite(a.timestamp) ? a.timestamp : 0;
  const tb = Number.isFinite(b.timestamp) ? b.timestamp : 0;
  if (ta !== tb) return ta > tb;
  return String(a.actor ?? '') > String(b.actor ?? '');
}

/** Union of two objects' members, sorted by name; `newer` wins on a shared name. */
function union(older, newer) {
  const out = {};
  for (const k of [...new Set([...Object.keys(older), ...Object.keys(newer)])].sort()) {
    out[k] = Object.hasOwn(newer, k) ? newer[k] : older[k];
  }
  return out;
}

/**
 * Merges two concurrent versions of a cart document (see the rule at the
 * top of this file). Commutative: mergeCarts(a, b) equals mergeCarts(b, a)
 * whenever the two differ in (timestamp, actor), as concurrent versions do.
 *
 * @param {{data: any, deleted?: boolean, timestamp?: number, actor?: string}} stored
 * @param {{data: any, deleted?: boolean, timestamp?: number, actor?: string}} incoming
 * @returns {{data: object|null, deleted: boolean}} the resolver's answer
 * @throws {CartError} when either side's data is not a cart
 */
export function mergeCarts(stored, incoming) {
  const s = cartOf(stored, 'stored');
  const i = cartOf(incoming, 'incoming');
  if (stored.deleted === true && incoming.deleted === true) return { data: null, deleted: true };
  const [older, newer] = isNewer(stored, incoming) ? [i, s] : [s, i];
  const items = {};
  for (const sku of [...new Set([...Object.keys(s.items), ...Object.keys(i.items)])].sort()) {
    const a = older.items[sku];
    const b = newer.items[sku];
    if (a && b) items[sku] = { ...union(a, b), qty: Math.max(a.qty, b.qty) };
    else items[sku] = { ...(a || b) };
  }
  return { data: { ...union(older.fields, newer.fields), items }, deleted: false };
}
