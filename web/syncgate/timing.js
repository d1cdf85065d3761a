// timing.js - when the syncgate client retries and refreshes. Pure: the
// clock and the random source are parameters.

/**
 * Reconnect delay with exponential backoff and full jitter: uniform in
 * [0, min(maxMs, minMs * 2^attempt)).
 * @param {number} attempt 0 for the first retry
 * @param {{minMs?: number, maxMs?: number}} [opts]
 * @param {() => number} [random] uniform in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, { minMs = 500, maxMs = 15000 } = {}, random = Math.random) {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * cap);
}

/**
 * How long to wait before asking for a new token: at 80 % of its remaining
 * life, but at least a minute before exp for long tokens, and never sooner
 * than one second (a token that is already expired is asked again after 1 s).
 * @param {number} expMs the token's exp in ms since the epoch
 * @param {number} nowMs
 * @returns {number} milliseconds
 */
export function tokenRefreshDelay(expMs, nowMs) {
  const life = expMs - nowMs;
  if (!(life > 0)) return 1000;
  return Math.max(1000, life - Math.min(60000, life * 0.2));
}

/**
 * The claims of a JWT, read without checking it (the gateway checks; the
 * client needs only sub and exp). Returns null for anything that is not a
 * readable JWT.
 * @param {string} token
 * @returns {{sub?: string, exp?: number}|null}
 */
export function readClaims(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const pad = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
    const text = typeof atob === 'function'
      ? decodeURIComponent(Array.from(atob(pad), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''))
      : Buffer.from(pad, 'base64').toString('utf8');
    const claims = JSON.parse(text);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}
