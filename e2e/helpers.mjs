// Helpers shared by the test files: one "world" per file (SMTP sink, the
// binary twice, Chromium) and the few page actions every test repeats.

import { PASSWORD, launchBrowser, startApp, startMailSink } from './harness.mjs';

/// Verification links of `world.shortApp` expire after this long.
export const SHORT_TTL_MS = 3000;

/// The sink, an instance with default settings (`app`), one whose links
/// expire after 3 s (`shortApp`, only when asked for), and Chromium.
export async function startWorld({ withShortApp = false } = {}) {
  const sink = await startMailSink();
  const [app, shortApp] = await Promise.all([
    startApp({ smtpPort: sink.port }),
    withShortApp
      ? startApp({ smtpPort: sink.port, env: { LATCHKEY_VERIFY_TTL: `${SHORT_TTL_MS / 1000}s` } })
      : null,
  ]);
  const browser = await launchBrowser();
  return {
    sink,
    app,
    shortApp,
    browser,
    async stop() {
      await browser.close();
      await Promise.all([app.stop(), shortApp?.stop()]);
      await sink.close();
    },
  };
}

export async function fillSignup(page, { name = 'Ada Lovelace', email, password = PASSWORD }) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
}

export const createAccount = (page) => page.getByRole('button', { name: 'Create account' }).click();

/// Records the POSTs a page sends, by path.
export function recordPosts(page) {
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
  });
  return posts;
}

export async function errorOf(page, id) {
  return (await page.locator(`#${id}-error`).textContent()).trim();
}

export async function registerByApi(target, email, password = PASSWORD) {
  const response = await fetch(target.url('/register'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Ada Lovelace', email, password }),
  });
  return { status: response.status, body: await response.json() };
}
