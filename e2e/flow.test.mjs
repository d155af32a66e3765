// The sign-up flow in a real browser (Debian's Chromium, driven by
// playwright-core) against the real binary and a real SMTP sink: the
// issue's cases 1 to 5. Run by scripts/e2e.sh.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { newPage, uniqueEmail } from './harness.mjs';
import {
  SHORT_TTL_MS, createAccount, errorOf, fillSignup, recordPosts, registerByApi, startWorld,
} from './helpers.mjs';

let world;
let sink;
let app;
let shortApp;
let browser;

before(async () => {
  world = await startWorld({ withShortApp: true });
  ({ sink, app, shortApp, browser } = world);
});

after(() => world?.stop());

test('1. sign up, the email arrives, its link verifies the account and opens the dashboard', async () => {
  const page = await newPage(browser);
  const email = uniqueEmail('ada');
  await page.goto(app.url('/signup'));
  await fillSignup(page, { email });
  await page.locator('#password[data-verdict="ok"]').waitFor();
  assert.match(await page.locator('#password-strength').textContent(), /Strength: (Good|Strong)/);
  await createAccount(page);
  await page.waitForURL(/\/check-inbox\?email=/);
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();
  assert.match(await page.locator('main').textContent(), new RegExp(email.replace(/[.]/g, '\\.')));

  const link = await sink.link(email);
  assert.ok(link.startsWith(`${app.base}/verify?token=`), link);
  await page.goto(link);
  await page.getByRole('heading', { name: 'Account verified' }).waitFor();
  await page.waitForURL(app.url('/dashboard'));
  const greeting = await page.locator('.signed-in').textContent();
  assert.equal(greeting.replace(/\s+/g, ' ').trim(), `You're signed in as Ada Lovelace <${email}>`);

  const [session] = (await page.context().cookies()).filter((c) => c.name === 'latchkey_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('2. a weak password shows an inline error and sends no request', async () => {
  const page = await newPage(browser);
  const posts = recordPosts(page);
  const email = uniqueEmail('weak');
  await page.goto(app.url('/signup'));

  // Nothing filled in: every field says what it needs; nothing is sent.
  await createAccount(page);
  assert.equal(await errorOf(page, 'name'), 'Enter your name.');
  assert.equal(await errorOf(page, 'email'), 'Enter your email address.');
  assert.equal(await errorOf(page, 'password'), 'Enter a password.');
  assert.equal(await page.locator('#name').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'name');

  await fillSignup(page, { email: 'not-an-address', password: 'short' });
  await createAccount(page);
  assert.equal(await errorOf(page, 'email'), 'Enter an email address like name@example.com.');
  assert.equal(await errorOf(page, 'password'), 'Use at least 8 characters.');
  const password = page.locator('#password');
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.match(await password.getAttribute('aria-describedby'), /\bpassword-error\b/);
  assert.deepEqual(posts, [], 'a short password is refused before any request');

  // Long enough but among the most common: the server's own verdict,
  // asked of /password/check while typing; /register is never called.
  await page.getByLabel('Email').fill(email);
  await password.fill('password');
  await page.locator('#password[data-verdict="bad"]').waitFor();
  // Shown while typing, before any submit.
  assert.match(await errorOf(page, 'password'), /one of the most common passwords/);
  assert.match(await page.locator('#password-strength').textContent(), /Strength: Very weak/);
  await createAccount(page);
  assert.match(await errorOf(page, 'password'), /one of the most common passwords/);
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  assert.ok(posts.length > 0 && posts.every((path) => path === '/password/check'), posts.join());
  assert.equal(await page.locator('.meter').getAttribute('data-score'), '0');

  // Show/hide.
  await page.getByRole('button', { name: 'Show password' }).click();
  assert.equal(await password.getAttribute('type'), 'text');
  await page.getByRole('button', { name: 'Hide password' }).click();
  assert.equal(await password.getAttribute('type'), 'password');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('3. an already registered email shows the 409 message inline', async () => {
  const email = uniqueEmail('taken');
  assert.equal((await registerByApi(app, email)).status, 201);
  // Verified: the address of an account still pending is free to sign up
  // with again (the new sign-up replaces it).
  assert.equal((await fetch(await sink.link(email))).status, 200);
  const page = await newPage(browser);
  const posts = recordPosts(page);
  await page.goto(app.url('/signup'));
  await fillSignup(page, { email: email.toUpperCase() });
  const answer = page.waitForResponse((r) => r.url().endsWith('/register'));
  await createAccount(page);
  assert.equal((await answer).status(), 409);
  await page.locator('#email-error a').first().waitFor();
  assert.equal(
    await errorOf(page, 'email'),
    'This email is already registered. Log in or reset your password.',
  );
  assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByRole('link', { name: 'Log in' }).first().getAttribute('href'), '/login');
  const forgot = await page.getByRole('link', { name: 'reset your password' }).getAttribute('href');
  assert.equal(forgot, `/password/forgot?email=${encodeURIComponent(email.toUpperCase())}`);
  assert.equal(posts.filter((p) => p === '/register').length, 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('4. an expired link shows "Link expired"; Resend sends a new email whose link works', async () => {
  const page = await newPage(browser);
  const email = uniqueEmail('late');
  await page.goto(shortApp.url('/signup'));
  await fillSignup(page, { email });
  await createAccount(page);
  await page.waitForURL(/\/check-inbox/);
  const registered = Date.now();
  const first = await sink.link(email);
  // The one sleep: the link's lifetime is real time in a real binary.
  await sleep(Math.max(0, registered + SHORT_TTL_MS + 300 - Date.now()));

  await page.goto(first);
  await page.getByRole('heading', { name: 'Link expired' }).waitFor();
  assert.equal(await page.getByLabel('Email').inputValue(), email, 'the address is pre-filled');
  await page.getByRole('button', { name: 'Resend the link' }).click();
  await page.waitForURL(/\/check-inbox\?.*resent=1/);
  await page.getByRole('status').filter({ hasText: 'a new link is on its way' }).waitFor();

  const second = await sink.link(email, 2);
  assert.notEqual(second, first);
  await page.goto(second);
  await page.getByRole('heading', { name: 'Account verified' }).waitFor();
  await page.waitForURL(shortApp.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), new RegExp(email.replace(/[.]/g, '\\.')));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('5. the whole flow works with JavaScript disabled', async () => {
  const page = await newPage(browser, { javaScriptEnabled: false });
  const email = uniqueEmail('nojs');
  await page.goto(app.url('/signup'));
  assert.equal(await page.locator('[data-toggle-password]').isVisible(), false);

  // The server validates and renders the errors beside their fields.
  await fillSignup(page, { email: 'nobody', password: 'password' });
  await createAccount(page);
  await page.waitForURL(app.url('/register'));
  assert.equal(await errorOf(page, 'email'), 'Enter an email address like name@example.com.');
  assert.match(await errorOf(page, 'password'), /one of the most common passwords/);
  assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Name').inputValue(), 'Ada Lovelace');

  await fillSignup(page, { email });
  await createAccount(page);
  await page.waitForURL(/\/check-inbox\?email=/);
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor();

  // Resend from the check-your-inbox page.
  await page.getByRole('button', { name: 'Resend the link' }).click();
  await page.waitForURL(/resent=1/);
  const link = await sink.link(email, 2);

  await page.goto(link);
  await page.getByRole('heading', { name: 'Account verified' }).waitFor();
  assert.equal(await page.getByText('Taking you to your dashboard').isVisible(), false);
  await page.getByRole('link', { name: 'Continue to your dashboard' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), /You're signed in as Ada Lovelace/);

  // 409 without JavaScript, in a second tab of the same browser.
  const again = await page.context().newPage();
  await again.goto(app.url('/signup'));
  await fillSignup(again, { email });
  await createAccount(again);
  assert.match(await errorOf(again, 'email'), /This email is already registered/);
  await again.close();

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(app.url('/signup'));
  await page.goto(app.url('/dashboard'));
  await page.getByRole('heading', { name: "You're not signed in" }).waitFor();
  await page.context().close();
});
