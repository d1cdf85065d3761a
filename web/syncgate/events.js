// events.js - the syncgate client's error type, its event emitter and the
// random ids it makes.

/** An error from the gateway (its code) or from the client (network, policy, closed). */
export class SyncGateError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{status?: number, collection?: string, id?: string}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'SyncGateError';
    /** @type {string} */
    this.code = code;
    Object.assign(this, extra);
  }
}

export class Emitter {
  constructor() {
    this.fns = new Map();
  }

  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('on: the listener must be a function');
    if (!this.fns.has(name)) this.fns.set(name, new Set());
    const set = this.fns.get(name);
    const entry = (...a) => fn(...a);
    set.add(entry);
    return () => set.delete(entry);
  }

  emit(name, ...args) {
    const set = this.fns.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (e) {
        // a listener's bug must not stop delivery to the others
        setTimeout(() => { throw e; }, 0);
      }
    }
  }
}

export const randomId = (n = 10) => {
  const bytes = new Uint8Array(n);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
};

