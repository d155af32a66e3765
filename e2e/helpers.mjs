// Helpers shared by the test files: one "world" per file (SMTP sink, the
// binary twice, Chromium), the few page actions every test repeats, and
// accounts with a second factor (a tiny RFC 6238 TOTP, as an authenticator
// app computes it).

import { createHmac } from 'node:crypto';

import {
  PASSWORD, launchBrowser, startApp, startMailSink, uniqueEmail,
} from './harness.mjs';

/// Verification links of `world.shortApp` expire after this long.
export const SHORT_TTL_MS = 3000;

/// The sink, an instance with default settings (`app`), one whose links
/// expire after 3 s (`shortApp`, only when asked for), and Chromium.
/// With `withStrictApp`, also `strictApp`: an instance under
/// `LATCHKEY_MFA=required`, where a login must set up a second factor.
export async function startWorld({ withShortApp = false, withStrictApp = false } = {}) {
  const sink = await startMailSink();
  const [app, shortApp, strictApp] = await Promise.all([
    startApp({ smtpPort: sink.port }),
    withShortApp
      ? startApp({ smtpPort: sink.port, env: { LATCHKEY_VERIFY_TTL: `${SHORT_TTL_MS / 1000}s` } })
      : null,
    withStrictApp ? startApp({ smtpPort: sink.port, env: { LATCHKEY_MFA: 'required' } }) : null,
  ]);
  const browser = await launchBrowser();
  return {
    sink,
    app,
    shortApp,
    strictApp,
    browser,
    async stop() {
      await browser.close();
      await Promise.all([app.stop(), shortApp?.stop(), strictApp?.stop()]);
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

// --- accounts, logins and second factors -------------------------------

/// RFC 4648 base32 (what authenticator apps take) to bytes; spaces ignored.
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const out = [];
  let value = 0;
  let bits = 0;
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/// The RFC 6238 time step (30 s) of `ms`.
export const totpStep = (ms = Date.now()) => Math.floor(ms / 30000);

/// The 6-digit TOTP code (RFC 6238: HMAC-SHA1, RFC 4226 truncation) of a
/// base32 secret for time step `step`: what an authenticator app shows.
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/// A code the server takes for a login after `spent` was used: TOTP codes
/// work once, and the server allows one step of clock skew, so the next
/// step's code is good at once.
export const nextCode = (secret, spent) => {
  const step = Math.max(totpStep(), spent + 1);
  return { code: totp(secret, step), step };
};

const sessionOf = (response) => response.headers.getSetCookie()
  .map((cookie) => cookie.split(';')[0])
  .find((pair) => pair.startsWith('latchkey_session='));

/// An active account made through the API (register, then the emailed
/// link); returns its email, id and the session cookie (`name=value`).
export async function verifiedAccount(world, prefix, target = world.app) {
  const email = uniqueEmail(prefix);
  const { status, body } = await registerByApi(target, email);
  if (status !== 201) throw new Error(`register: ${status}`);
  const link = await world.sink.link(email);
  const verified = await fetch(link, { headers: { accept: 'application/json' } });
  if (verified.status !== 200) throw new Error(`verify: ${verified.status}`);
  return { email, id: body.user.id, cookie: sessionOf(verified) };
}

async function postJson(target, path, body, cookie) {
  const response = await fetch(target.url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null), response };
}
export { postJson };

/// Sets up an authenticator app for the signed-in `cookie` through the
/// API; returns the secret, the recovery codes and the step spent.
export async function enrolTotpByApi(target, cookie) {
  const { body: enrolment } = await postJson(target, '/mfa/totp/enroll', {}, cookie);
  const step = totpStep();
  const confirmed = await postJson(target, '/mfa/totp/confirm', { code: totp(enrolment.secret, step) }, cookie);
  if (confirmed.status !== 200) throw new Error(`confirm: ${JSON.stringify(confirmed.body)}`);
  return { secret: enrolment.secret, recoveryCodes: confirmed.body.recovery_codes, step };
}

/// Gives the browser context of `page` the session `cookie` (`name=value`).
export async function useSession(page, target, cookie) {
  const [name, value] = cookie.split('=');
  await page.context().addCookies([{ name, value, url: target.base }]);
}

/// Logs in through the page (email and password), without waiting.
export async function logIn(page, target, email, password = PASSWORD) {
  await page.goto(target.url('/login'));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/// Adds email codes as a factor for the signed-in `cookie` through the API
/// (the code read out of the email). `codesBefore`: codes the address got
/// so far.
export async function enrolEmailByApi(world, email, cookie, codesBefore = 0) {
  const started = await postJson(world.app, '/mfa/email/enroll', {}, cookie);
  if (started.status !== 202) throw new Error(`email enroll: ${started.status}`);
  const code = await world.sink.code(email, codesBefore + 1);
  const confirmed = await postJson(world.app, '/mfa/email/confirm', { code }, cookie);
  if (confirmed.status !== 200) throw new Error(`email confirm: ${JSON.stringify(confirmed.body)}`);
}
