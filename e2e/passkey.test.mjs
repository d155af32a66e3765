// Passkeys in a real browser: Chromium's virtual authenticator (the
// DevTools protocol's WebAuthn domain), an internal one with user
// verification, stands in for a phone's or laptop's. A passkey is added
// from the dashboard, its recovery codes shown, and the next login's second
// step is answered with it; a second device's passkey is named beside the
// first, and one of them removed; and a passkey signs in alone, from the
// login page, with no email or password. The app's public URL is http://localhost:PORT:
// browsers offer passkeys to domain names only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  axeViolations, launchBrowser, newPage, screenshot, startApp, startMailSink, uniqueEmail,
} from './harness.mjs';
import { createAccount, fillSignup, logIn } from './helpers.mjs';

let sink;
let app;
let browser;

before(async () => {
  sink = await startMailSink();
  app = await startApp({ smtpPort: sink.port, host: 'localhost' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await sink?.close();
});

/// A platform authenticator that says yes (presence and verification) by
/// itself, on this page's browser context.
async function virtualAuthenticator(page) {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  const { authenticatorId } = await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await devtools.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    remove: () => devtools.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId }),
  };
}

/// A new account, verified and signed in on `page`, at its dashboard.
async function verifiedAccount(page, prefix) {
  const email = uniqueEmail(prefix);
  await page.goto(app.url('/signup'));
  await fillSignup(page, { email });
  await createAccount(page);
  await page.waitForURL(/\/check-inbox/);
  await page.goto(await sink.link(email));
  await page.waitForURL(app.url('/dashboard'));
  return email;
}

/// "Create a passkey" on the set-up page (named `name`, if given), up to
/// the recovery codes it shows.
async function createPasskey(page, name) {
  await page.goto(app.url('/mfa/setup?method=passkey'));
  if (name) await page.getByLabel('Name it (optional)').fill(name);
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.getByRole('heading', { name: 'Your passkey is set up' }).waitFor();
}

test('a passkey is added from the dashboard, then answers the second step of the next login', async () => {
  const page = await newPage(browser);
  const authenticator = await virtualAuthenticator(page);
  const email = await verifiedAccount(page, 'passkey');

  await page.getByRole('link', { name: 'Add a passkey' }).click();
  await page.waitForURL(app.url('/mfa/setup?method=passkey'));
  await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.getByRole('heading', { name: 'Your passkey is set up' }).waitFor();
  const recoveryCodes = await page.locator('#recovery-codes code').allTextContents();
  assert.equal(recoveryCodes.length, 10);
  for (const code of recoveryCodes) assert.match(code, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  assert.equal(await page.getByRole('button', { name: 'Download' }).isVisible(), true);
  await screenshot(page, 'passkey-added');
  const [made] = await authenticator.credentials();
  assert.equal(made.rpId, 'localhost');

  await page.getByRole('link', { name: /continue to your dashboard/ }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('[data-two-step]').textContent(), /On\./);
  assert.equal(await page.locator('[data-factor="passkey"]').count(), 1);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(app.url('/signup'));

  await logIn(page, app, email);
  await page.waitForURL(app.url('/mfa'));
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  assert.equal(await page.getByLabel('6-digit code').count(), 0, 'no code to type with a passkey alone');
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'passkey-second-step');
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), /You're signed in as Ada Lovelace/);
  const [used] = await authenticator.credentials();
  assert.ok(used.signCount > made.signCount, `the counter moved: ${made.signCount} -> ${used.signCount}`);
  const cookies = await page.context().cookies();
  assert.ok(!cookies.some((c) => c.name === 'latchkey_mfa'), 'the mfa cookie is cleared');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a device without the passkey is told so, and the login still has its recovery codes', async () => {
  // The first browser adds the passkey; a second one, whose authenticator
  // holds no passkey for this account, comes to the second step.
  const first = await newPage(browser);
  await virtualAuthenticator(first);
  const email = await verifiedAccount(first, 'nokey');
  await createPasskey(first);
  const [recoveryCode] = await first.locator('#recovery-codes code').allTextContents();
  await first.context().close();

  const page = await newPage(browser);
  await virtualAuthenticator(page);
  await logIn(page, app, email);
  await page.waitForURL(app.url('/mfa'));
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await page.getByText('The passkey did not answer. Try again, or use another method.').waitFor({ timeout: 30000 });
  await page.getByText('Use a recovery code').click();
  await page.getByLabel('Recovery code').fill(recoveryCode);
  await page.getByRole('button', { name: 'Use recovery code' }).click();
  await page.waitForURL(app.url('/dashboard'));
  await page.context().close();
});

test('a second device adds its own passkey; the first device is not asked twice; one is removed', async () => {
  const page = await newPage(browser);
  const laptop = await virtualAuthenticator(page);
  const email = await verifiedAccount(page, 'twokeys');
  await createPasskey(page, 'Laptop');
  await page.getByRole('link', { name: /continue to your dashboard/ }).click();
  await page.waitForURL(app.url('/dashboard'));

  // The same device again: the options exclude its passkey, so the browser
  // makes none, and the page says so.
  await page.getByRole('link', { name: 'Add another passkey' }).click();
  await page.waitForURL(app.url('/mfa/setup?method=passkey'));
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.getByText('No passkey was made. Try again, or choose another method.').waitFor({ timeout: 30000 });
  assert.equal((await laptop.credentials()).length, 1);

  // Another device (a security key, say) makes the second, unnamed.
  await laptop.remove();
  await virtualAuthenticator(page);
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.waitForURL(app.url('/dashboard?notice=factor-added'));
  const rows = page.locator('[data-factor="passkey"]');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), /Laptop\s+Passkey/);
  assert.match(await rows.nth(1).textContent(), /Passkey 2\s+Passkey/);
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'passkeys-two');

  await page.getByRole('button', { name: 'Remove the passkey Laptop' }).click();
  await page.waitForURL(/\/dashboard\?notice=factor-removed/);
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /Passkey 2/);

  // Renamed from its row.
  await page.getByText('Rename').click();
  await page.getByLabel('New name').fill('Blue key');
  await screenshot(page, 'passkey-rename');
  assert.deepEqual(await axeViolations(page), []);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/\/dashboard\?notice=passkey-renamed/);
  assert.match(await rows.first().textContent(), /Blue key\s+Passkey/);
  assert.equal(await page.getByRole('button', { name: 'Remove the passkey Blue key' }).count(), 1);

  // The one left signs in, and the dashboard shows when.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(app.url('/signup'));
  await logIn(page, app, email);
  await page.waitForURL(app.url('/mfa'));
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await rows.first().textContent(), /last used/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a passkey signs in alone from the login page: no email, no password, no second step', async () => {
  const page = await newPage(browser);
  await virtualAuthenticator(page);
  const email = await verifiedAccount(page, 'alone');
  await createPasskey(page);
  await page.getByRole('link', { name: /continue to your dashboard/ }).click();
  await page.waitForURL(app.url('/dashboard'));
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(app.url('/signup'));

  await page.goto(app.url('/login'));
  await page.getByRole('heading', { name: 'Or use a passkey' }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'passkey-login');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), new RegExp(email.replace(/[.+]/g, '\\$&')));
  assert.match(await page.locator('[data-factor="passkey"]').textContent(), /last used/);
  assert.match(await page.locator('tr.current').textContent(), /with a passkey/);
  assert.match(await page.locator('table.activity').first().textContent(), /Signed in with a passkey/);
  assert.deepEqual(await axeViolations(page), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();

  // A browser whose device holds no passkey for this site is told so, and
  // the password form is still there.
  const stranger = await newPage(browser);
  await virtualAuthenticator(stranger);
  await stranger.goto(app.url('/login'));
  await stranger.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await stranger.getByText('No passkey answered. Try again, or log in with your email and password.').waitFor({ timeout: 30000 });
  assert.equal(await stranger.getByLabel('Password', { exact: true }).isVisible(), true);
  await stranger.context().close();
});
