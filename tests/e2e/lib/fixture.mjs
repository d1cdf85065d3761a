// fixture.mjs - one test's world: its own redis-server, gateway, proxy and
// chromium, all stopped when the test ends (t.after), whatever happened.
import { Stack } from './stack.mjs';
import { Browser } from './browser.mjs';

/**
 * Starts a Stack (opts as Stack.start) and a Browser for test context t.
 * before(stack) runs first when given (e.g. to start a resolver the config
 * names) and may return stack options.
 */
export async function world(t, opts = {}) {
  const stack = await Stack.start(opts);
  let browser;
  t.after(async () => {
    if (browser) await browser.close();
    await stack.stop();
  });
  browser = await Browser.launch();
  return { stack, browser };
}

/** A todo's data as the demo writes it (web/demo.js: title, done, created). */
export function todoData(title, { done = false, created = Date.now(), extra = {} } = {}) {
  return { title, done, created, ...extra };
}
