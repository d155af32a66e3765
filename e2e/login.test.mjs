// Logging in, the second step and the dashboard in a real browser (Debian's
// Chromium via playwright-core) against the real binary: an authenticator
// app set up from nothing but the key shown on the page, a login that asks
// for its code, logout; the same without JavaScript (and a recovery code);
// and the access token checked by an independent JWT library (`jose`)
// against the JWKS endpoint; the dashboard's name and address forms.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

import { PASSWORD, newPage, uniqueEmail } from './harness.mjs';
import {
  createAccount, enrolTotpByApi, errorOf, fillSignup, logIn, nextCode, postJson, recordPosts,
  startWorld, totp, totpStep, verifiedAccount,
} from './helpers.mjs';

let world;
let app;
let sink;
let browser;

before(async () => {
  world = await startWorld();
  ({ app, sink, browser } = world);
});

after(() => world?.stop());

test('the TOTP arithmetic matches RFC 6238', () => {
  // Appendix B, SHA-1: the low six digits of 94287082 and 07081804.
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
  assert.equal(totp(secret, 1), '287082');
  assert.equal(totp(secret, Math.floor(1111111109 / 30)), '081804');
});

/// Signs up through the page, opens the emailed link and waits for the
/// dashboard (with JavaScript the verified page moves on by itself).
async function signUpToDashboard(page, email, { javaScript = true } = {}) {
  await page.goto(app.url('/signup'));
  await fillSignup(page, { email });
  await createAccount(page);
  await page.waitForURL(/\/check-inbox/);
  await page.goto(await sink.link(email));
  await page.getByRole('heading', { name: 'Account verified' }).waitFor();
  if (!javaScript) await page.getByRole('link', { name: 'Continue to your dashboard' }).click();
  await page.waitForURL(app.url('/dashboard'));
}

/// From the dashboard: sets up the authenticator app by reading the key
/// the page shows (the QR code is never scanned) and typing the code it
/// gives. Returns the key, the step whose code was spent, and the codes.
async function setUpAuthenticator(page) {
  const twoStep = page.locator('[data-two-step]');
  assert.match(await twoStep.textContent(), /Off\./);
  await page.getByRole('button', { name: 'Set up authenticator app' }).click();
  await page.waitForURL(app.url('/mfa/setup?method=totp'));
  await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
  const qr = page.getByRole('img', { name: /QR code/ });
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);

  const code = page.getByLabel('6-digit code');
  assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
  await code.fill('000000');
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  assert.equal((await page.locator('#code-error').textContent()).trim(), 'That code is not right. Check it and try again.');
  assert.equal(await code.getAttribute('aria-invalid'), 'true');
  assert.equal(
    (await page.locator('#totp-secret').textContent()).replace(/\s+/g, ''),
    secret,
    'the same key is shown again',
  );

  const step = totpStep();
  await code.fill(totp(secret, step));
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await page.getByRole('heading', { name: 'Your authenticator app is set up' }).waitFor();
  const recoveryCodes = await page.locator('#recovery-codes code').allTextContents();
  assert.equal(recoveryCodes.length, 10);
  for (const recoveryCode of recoveryCodes) assert.match(recoveryCode, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
  return { secret, step, recoveryCodes };
}

async function continueToDashboard(page) {
  await page.getByRole('link', { name: /continue to your dashboard/ }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('[data-two-step]').textContent(), /On\./);
  assert.equal(await page.locator('[data-factor="totp"]').count(), 1);
}

async function logOut(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(app.url('/signup'));
}

/// Logs in with the password and lands on the second step.
async function passwordStep(page, email) {
  await logIn(page, app, email);
  await page.waitForURL(app.url('/mfa'));
  await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
  const code = page.getByLabel('6-digit code');
  assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await code.getAttribute('inputmode'), 'numeric');
  return code;
}

test('with JavaScript: set up an authenticator app from its key, log out, log in with its code, log out', async () => {
  const page = await newPage(browser);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.base });
  const email = uniqueEmail('totp');
  await signUpToDashboard(page, email);
  const { secret, step, recoveryCodes } = await setUpAuthenticator(page);

  // Copy and Download, each with every code.
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied the recovery codes.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  for (const recoveryCode of recoveryCodes) assert.ok(copied.includes(recoveryCode), copied);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'latchkey-recovery-codes.txt');
  const saved = await readFile(await download.path(), 'utf8');
  assert.ok(saved.includes(email), saved);
  for (const recoveryCode of recoveryCodes) assert.ok(saved.includes(recoveryCode), saved);

  await continueToDashboard(page);
  await logOut(page);

  const code = await passwordStep(page, email);
  assert.equal(await page.getByRole('button', { name: 'Text me a code' }).count(), 0);
  await code.fill(nextCode(secret, step).code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), /You're signed in as Ada Lovelace/);
  const cookies = await page.context().cookies();
  assert.ok(cookies.some((c) => c.name === 'latchkey_session' && c.httpOnly));
  assert.ok(!cookies.some((c) => c.name === 'latchkey_mfa'), 'the mfa cookie is cleared');
  await page.getByText('This device').waitFor();
  await logOut(page);
  await page.goto(app.url('/dashboard'));
  await page.getByRole('heading', { name: "You're not signed in" }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('without JavaScript: the same set-up and login, a wrong code, and a recovery code', async () => {
  const page = await newPage(browser, { javaScriptEnabled: false });
  const email = uniqueEmail('nojs-totp');
  await signUpToDashboard(page, email, { javaScript: false });
  const { secret, step, recoveryCodes } = await setUpAuthenticator(page);
  assert.equal(await page.getByRole('button', { name: 'Copy' }).isVisible(), false);
  await continueToDashboard(page);
  await logOut(page);

  // A wrong code comes back inline; the right one signs in.
  let code = await passwordStep(page, email);
  await code.fill('123456');
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.equal((await page.locator('#code-error').textContent()).trim(), 'That code is not right. Check it and try again.');
  assert.equal(await page.getByLabel('6-digit code').getAttribute('aria-invalid'), 'true');
  code = page.getByLabel('6-digit code');
  const next = nextCode(secret, step);
  await code.fill(next.code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(app.url('/dashboard'));
  await logOut(page);

  // "Use a recovery code" opens without a script (<details>).
  await passwordStep(page, email);
  await page.getByText('Use a recovery code').click();
  await page.getByLabel('Recovery code').fill(recoveryCodes[0].toLowerCase());
  await page.getByRole('button', { name: 'Use recovery code' }).click();
  await page.waitForURL(app.url('/dashboard'));
  assert.match(await page.locator('.signed-in').textContent(), /You're signed in as Ada Lovelace/);
  await logOut(page);
  await page.context().close();
});

test('an access token from POST /login verifies with jose against the JWKS; an altered one does not', async () => {
  const account = await verifiedAccount(world, 'jwt');
  const issuer = app.base.replace(/\/$/, '');
  const jwks = createRemoteJWKSet(new URL(app.url('/.well-known/jwks.json')));
  const options = { issuer, audience: 'latchkey', algorithms: ['EdDSA'] };

  const login = await postJson(app, '/login', { email: account.email, password: PASSWORD });
  assert.equal(login.status, 200);
  assert.equal(login.body.status, 'authenticated');
  const { payload, protectedHeader } = await jwtVerify(login.body.access_token, jwks, options);
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, account.id);
  assert.equal(payload.iss, issuer);
  assert.ok(payload.sid && payload.jti && payload.exp > payload.iat);

  // The same signature over another payload (a different subject).
  const [header, , signature] = login.body.access_token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...decodeJwt(login.body.access_token), sub: crypto.randomUUID() }))
    .toString('base64url');
  await assert.rejects(jwtVerify(`${header}.${forged}.${signature}`, jwks, options), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  await assert.rejects(jwtVerify(login.body.access_token, jwks, { ...options, audience: 'another' }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await assert.rejects(jwtVerify(login.body.access_token, jwks, { ...options, algorithms: ['RS256'] }), { code: 'ERR_JOSE_ALG_NOT_ALLOWED' });

  // A login that finishes with a second factor hands out a token that verifies too.
  const { secret, step } = await enrolTotpByApi(app, account.cookie);
  const first = await postJson(app, '/login', { email: account.email, password: PASSWORD });
  assert.equal(first.body.status, 'mfa_required');
  const finished = await postJson(app, '/mfa/verify', { mfa_token: first.body.mfa_token, code: nextCode(secret, step).code });
  assert.equal(finished.status, 200);
  const verified = await jwtVerify(finished.body.access_token, jwks, options);
  assert.equal(verified.payload.sub, account.id);
});

test('a signed-in page renews its access token with POST /token: the HttpOnly cookie does it, the script never sees it', async () => {
  const page = await newPage(browser);
  const email = uniqueEmail('renew');
  await signUpToDashboard(page, email);
  const issuer = app.base.replace(/\/$/, '');
  const jwks = createRemoteJWKSet(new URL(app.url('/.well-known/jwks.json')));

  // What a single-page app on this origin does when its token runs out.
  const renewed = await page.evaluate(async () => {
    const response = await fetch('/token', { method: 'POST', headers: { 'content-type': 'application/json' } });
    const body = await response.json();
    const me = await fetch('/me', { headers: { authorization: `Bearer ${body.access_token}` }, credentials: 'omit' });
    return { status: response.status, body, me: me.status, cookies: document.cookie };
  });
  assert.equal(renewed.status, 200);
  assert.equal(renewed.body.token_type, 'Bearer');
  assert.equal(renewed.me, 200, 'the token alone opens /me');
  assert.doesNotMatch(renewed.cookies, /latchkey_session/, 'the session cookie stays out of reach of scripts');
  const { payload } = await jwtVerify(renewed.body.access_token, jwks, { issuer, audience: 'latchkey', algorithms: ['EdDSA'] });
  assert.ok(payload.sid);

  // Signed out, the page gets no more tokens.
  await logOut(page);
  const after = await page.evaluate(async () => (await fetch('/token', {
    method: 'POST', headers: { 'content-type': 'application/json' },
  })).status);
  assert.equal(after, 401);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the dashboard changes the name: an empty one is refused on the page, a new one is saved', async () => {
  const page = await newPage(browser);
  const posts = recordPosts(page);
  const email = uniqueEmail('rename');
  await signUpToDashboard(page, email);
  const name = page.getByLabel('Change your name');
  assert.equal(await name.inputValue(), 'Ada Lovelace');

  // Empty: the page says why and sends nothing.
  await name.fill('   ');
  await page.getByRole('button', { name: 'Save name' }).click();
  assert.equal(await errorOf(page, 'new-name'), 'Enter your name.');
  assert.equal(await name.getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new-name');
  assert.ok(!posts.includes('/account/name'), `nothing posted: ${posts}`);

  await name.fill('Grace Hopper');
  assert.equal(await errorOf(page, 'new-name'), '', 'the message goes as the name is fixed');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.waitForURL(app.url('/dashboard?notice=name-changed'));
  await page.getByText('Your name was changed.').waitFor();
  const greeting = await page.locator('.signed-in').textContent();
  assert.equal(greeting.replace(/\s+/g, ' ').trim(), `You're signed in as Grace Hopper <${email}>`);
  const me = await page.evaluate(async () => (await (await fetch('/me')).json()).user.name);
  assert.equal(me, 'Grace Hopper');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the dashboard changes the address: checked on the page, then the link to the new address makes the change', async () => {
  const page = await newPage(browser);
  const posts = recordPosts(page);
  const email = uniqueEmail('move-from');
  const newEmail = uniqueEmail('move-to');
  await signUpToDashboard(page, email);
  const address = page.getByLabel('Change your email address');
  const password = page.locator('#email-password');

  // A malformed address and no password: the page says why and sends nothing.
  await address.fill('not-an-address');
  await page.getByRole('button', { name: 'Send the link' }).click();
  assert.equal(await errorOf(page, 'new-email'), 'Enter an email address like name@example.com.');
  assert.equal(await errorOf(page, 'email-password'), 'Enter your current password.');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'new-email');
  assert.ok(!posts.includes('/email/change'), `nothing posted: ${posts}`);

  await address.fill(newEmail);
  await password.fill(PASSWORD);
  assert.equal(await errorOf(page, 'new-email'), '', 'the messages go as the fields are fixed');
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.waitForURL(app.url('/dashboard?notice=email-change-sent'));
  await page.getByText('We sent a link to your new address.').waitFor();

  const text = await sink.text(newEmail);
  const link = /https?:\/\/\S+\/email\/confirm\?token=[\w-]+/.exec(text)?.[0];
  assert.ok(link, text);
  await page.goto(link);
  await page.getByRole('heading', { name: 'Use this address?' }).waitFor();
  assert.equal(await page.evaluate(async () => (await (await fetch('/me')).json()).user.email), email,
    'opening the link changes nothing');
  await page.getByRole('button', { name: 'Use the new address' }).click();
  await page.waitForURL(app.url('/email/confirm?changed=1'));
  await page.getByRole('heading', { name: 'Your email address was changed' }).waitFor();
  assert.equal(await page.evaluate(async () => (await (await fetch('/me')).json()).user.email), newEmail);
  // The old address: the link and the "active" notice, then the request and the change.
  const told = await Promise.all([3, 4].map((n) => sink.text(email, n)));
  assert.ok(told.some((body) => /email address was changed to/.test(body)), told.join('\n---\n'));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
