// Invitations in a real browser: with sign-up closed
// (LATCHKEY_REGISTRATION=invitation) the sign-up page says so; an operator
// invites someone through the admin API, and the invitee chooses a
// password on the page behind the emailed link, then logs in.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  PASSWORD, axeViolations, launchBrowser, newPage, screenshot, startApp, startMailSink, uniqueEmail,
} from './harness.mjs';
import { logIn } from './helpers.mjs';

const KEY = 'e2e-admin-key-0123456789-abcdefghijklmnop';
let sink;
let app;
let browser;

before(async () => {
  sink = await startMailSink();
  app = await startApp({
    smtpPort: sink.port,
    env: { LATCHKEY_REGISTRATION: 'invitation', LATCHKEY_ADMIN_API_KEY: KEY },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.stop();
  await sink?.close();
});

test('closed sign-up: the page says so, and an invitation is the way in', async () => {
  const page = await newPage(browser);
  await page.goto(app.url('/signup'));
  await page.getByRole('heading', { name: 'Sign-up is by invitation' }).waitFor();
  assert.equal(await page.locator('form[data-signup]').count(), 0, 'no sign-up form');
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'signup-closed');

  const email = uniqueEmail('invitee');
  const invited = await fetch(app.url('/admin/users'), {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email, name: 'Grace Hopper' }),
  });
  assert.equal(invited.status, 201);

  const text = await sink.text(email);
  const link = /https?:\/\/\S+\/password\/reset\?token=[\w-]+/.exec(text)?.[0];
  assert.ok(link?.startsWith(`${app.base}/password/reset?token=`), text);
  await page.goto(link);
  await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
  assert.deepEqual(await axeViolations(page), []);
  await screenshot(page, 'invitation-choose-password');
  await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('New password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await page.waitForURL(/\/login\?password=reset/);

  await logIn(page, app, email);
  await page.waitForURL(app.url('/dashboard'));
  const greeting = await page.locator('.signed-in').textContent();
  assert.equal(greeting.replace(/\s+/g, ' ').trim(), `You're signed in as Grace Hopper <${email}>`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
