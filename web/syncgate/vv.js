// vv.js - version vectors and the apply-by-version rule of the syncgate
// client. Pure: no I/O, no clocks.

/**
 * Compares two version vectors entry-wise (missing entries are 0).
 * @param {Record<string, number>} a
 * @param {Record<string, number>} b
 * @returns {'equal'|'dominates'|'dominated'|'concurrent'} what a is to b
 */
export function compareVersions(a, b) {
  let greater = false;
  let less = false;
  const va = a || {};
  const vb = b || {};
  for (const k of Object.keys(va)) {
    const x = va[k] || 0;
    const y = vb[k] || 0;
    if (x > y) greater = true;
    else if (x < y) less = true;
  }
  for (const k of Object.keys(vb)) {
    if (!(k in va) && (vb[k] || 0) > 0) less = true;
  }
  if (greater && less) return 'concurrent';
  if (greater) return 'dominates';
  if (less) return 'dominated';
  return 'equal';
}

/**
 * The entry-wise maximum of two version vectors.
 * @param {Record<string, number>} a
 * @param {Record<string, number>} b
 * @returns {Record<string, number>}
 */
export function mergeVersions(a, b) {
  const out = { ...(a || {}) };
  for (const [k, v] of Object.entries(b || {})) {
    if (!(out[k] >= v)) out[k] = v;
  }
  return out;
}

/**
 * The version a new edit by actor carries: the base it was made on with the
 * actor's own entry one past the largest the actor is known to have used.
 * @param {Record<string, number>} base the version the edit was made on
 * @param {string} actor
 * @param {number} [usedOwn] the largest own count already used (queued writes)
 * @returns {Record<string, number>}
 */
export function nextVersion(base, actor, usedOwn = 0) {
  const out = { ...(base || {}) };
  out[actor] = Math.max(out[actor] || 0, usedOwn) + 1;
  return out;
}

/**
 * Whether a state the gateway sent replaces the one known (the apply rule):
 * a newer or concurrent state replaces it, an older one is ignored, the same
 * version replaces it only to pick up its offset.
 * @param {{version: Record<string, number>}|undefined|null} known
 * @param {{version: Record<string, number>}} incoming
 * @returns {boolean}
 */
export function replacesKnown(known, incoming) {
  if (!known) return true;
  return compareVersions(incoming.version, known.version) !== 'dominated';
}

/**
 * Whether the gateway's state already holds a queued local edit (so the
 * edit no longer shows as pending): its version is the edit's or newer.
 * @param {{version: Record<string, number>}|undefined|null} server
 * @param {Record<string, number>} editVersion
 * @returns {boolean}
 */
export function covers(server, editVersion) {
  if (!server) return false;
  const c = compareVersions(server.version, editVersion);
  return c === 'equal' || c === 'dominates';
}

/**
 * Deep equality of two JSON values (what "same data" means for documents).
 * @param {unknown} a
 * @param {unknown} b
 * @returns {boolean}
 */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
}
