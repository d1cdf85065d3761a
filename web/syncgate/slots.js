// slots.js - one actor per open tab. Each tab of a browser profile holds a
// numbered slot (a Web Lock named "<ns>:slot:<n>") for as long as it lives
// and writes as "<sub>:<device>.<n>". The lowest free slot is taken, so a
// reloaded tab gets its old slot (and its queue) back, and a version vector
// grows by at most one entry per tab open at the same time. Without Web
// Locks (Node, React Native) there is one instance: slot 0.

const MAX_SLOTS = 64;

/**
 * Holds the lowest free slot.
 * @param {string} ns
 * @returns {Promise<{n: number, release: () => void}>}
 */
export async function takeSlot(ns) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return { n: 0, release: () => {} };
  for (let n = 0; n < MAX_SLOTS; n++) {
    const held = await tryHold(locks, `${ns}:slot:${n}`);
    if (held) return { n, release: held };
  }
  // more than MAX_SLOTS tabs: a slot of its own, never reused
  return { n: MAX_SLOTS + Math.floor(Math.random() * 1e9), release: () => {} };
}

/**
 * Holds lock name if nobody does; resolves with its release function, or
 * null when it is taken.
 * @param {LockManager} locks
 * @param {string} name
 * @returns {Promise<(() => void)|null>}
 */
export function tryHold(locks, name) {
  return new Promise((resolve) => {
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(null);
        return undefined;
      }
      return new Promise((release) => resolve(() => release()));
    }).catch(() => resolve(null));
  });
}

/**
 * The slots of other tabs that are free now (nobody holds their lock), out
 * of the candidates given; each is held until its release is called.
 * @param {string} ns
 * @param {number[]} candidates
 * @returns {Promise<{n: number, release: () => void}[]>}
 */
export async function freeSlots(ns, candidates) {
  const locks = globalThis.navigator?.locks;
  if (!locks) return [];
  const out = [];
  for (const n of candidates) {
    const held = await tryHold(locks, `${ns}:slot:${n}`);
    if (held) out.push({ n, release: held });
  }
  return out;
}
