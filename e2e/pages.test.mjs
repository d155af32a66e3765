// Every page in each of its states: axe-core (no serious or critical
// violation), screenshots at phone and desktop widths into
// target/e2e-artifacts/, and the security headers. The sign-up pages of
// issue #3, and the login, second-step, set-up and dashboard pages of #4.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  PASSWORD, axeViolations, newPage, screenshot, uniqueEmail,
} from './harness.mjs';
import {
  SHORT_TTL_MS, createAccount, enrolEmailByApi, enrolTotpByApi, fillSignup, logIn, nextCode,
  postJson, registerByApi, startWorld, totp, totpStep, useSession, verifiedAccount,
} from './helpers.mjs';

let world;
let sink;
let app;
let shortApp;
let browser;
const expiring = { email: null, registered: 0 };

before(async () => {
  world = await startWorld({ withShortApp: true, withStrictApp: true });
  ({ sink, app, shortApp, browser } = world);
  // The link for the "Link expired" state, registered first: by the time
  // the walk reaches it, it has expired, so the wait below is usually zero.
  expiring.email = uniqueEmail('expiring');
  assert.equal((await registerByApi(shortApp, expiring.email)).status, 201);
  expiring.registered = Date.now();
});

after(() => world?.stop());

// Every page in each of its states, for the accessibility check and the
// screenshots. Each state starts in a fresh browser context.

async function expiredLink() {
  const link = await sink.link(expiring.email);
  await sleep(Math.max(0, expiring.registered + SHORT_TTL_MS + 300 - Date.now()));
  return link;
}

async function verifiedLink() {
  const email = uniqueEmail('shot');
  assert.equal((await registerByApi(app, email)).status, 201);
  return sink.link(email);
}

/// A change of address asked for by one account (a new account each time
/// would spend the sign-up quota): the link sent to the new address, and
/// that address. `mover.current` is the account's address until a change
/// is confirmed (`confirmChange`).
let mover;
async function askForChange() {
  if (!mover) {
    const account = await verifiedAccount(world, 'moving');
    mover = { cookie: account.cookie, current: account.email };
  }
  const to = uniqueEmail('moved');
  const asked = await postJson(app, '/email/change', { email: to, current_password: PASSWORD }, mover.cookie);
  assert.equal(asked.status, 202);
  const text = await sink.text(to);
  return { link: /https?:\/\/\S+\/email\/confirm\?token=[\w-]+/.exec(text)[0], to };
}

const emailChangeLink = async () => (await askForChange()).link;

/// Makes a change through its page; returns the address it replaced.
async function confirmChange(page) {
  const { link, to } = await askForChange();
  const before = mover.current;
  await page.goto(link);
  await page.getByRole('button', { name: 'Use the new address' }).click();
  await page.getByRole('heading', { name: 'Your email address was changed' }).waitFor();
  mover.current = to;
  return before;
}

/// The undo link that the notice of a change made brought to `address`.
async function undoLinkTo(address) {
  for (let n = 1; ; n += 1) {
    const undo = /https?:\/\/\S+\/email\/revert\?token=[\w-]+/.exec(await sink.text(address, n));
    if (undo) return undo[0];
  }
}

const states = {
  'signup': (page) => page.goto(app.url('/signup')),
  'signup-strong': async (page) => {
    await page.goto(app.url('/signup'));
    await fillSignup(page, { email: 'ada@example.com' });
    await page.locator('#password[data-verdict="ok"]').waitFor();
  },
  'signup-errors': async (page) => {
    await page.goto(app.url('/signup'));
    await fillSignup(page, { email: 'ada@', password: 'password' });
    await page.locator('#password[data-verdict="bad"]').waitFor();
    await createAccount(page);
    await page.locator('#email[aria-invalid="true"]').waitFor();
  },
  'signup-taken': async (page) => {
    // Verified: a pending account's address is free to sign up with again.
    const { email } = await verifiedAccount(world, 'taken');
    await page.goto(app.url('/signup'));
    await fillSignup(page, { email });
    await createAccount(page);
    await page.locator('#email-error a').first().waitFor();
  },
  'check-inbox': (page) => page.goto(app.url('/check-inbox?email=ada%40example.com')),
  'check-inbox-resent': (page) => page.goto(app.url('/check-inbox?email=ada%40example.com&resent=1')),
  'resend': (page) => page.goto(app.url('/resend')),
  'verify-verified': async (page) => {
    // Hold the timer that moves on to the dashboard.
    await page.clock.install();
    await page.goto(await verifiedLink());
  },
  'verify-already-used': async (page) => {
    const link = await verifiedLink();
    await fetch(link, { headers: { accept: 'application/json' } });
    await page.goto(link);
  },
  'verify-expired': async (page) => page.goto(await expiredLink()),
  'verify-unknown': (page) => page.goto(app.url('/verify?token=unknown')),
  'dashboard': async (page) => {
    // The verified page signs in; no need to wait for it to move on.
    await page.goto(await verifiedLink());
    await page.goto(app.url('/dashboard'));
  },
  'dashboard-signed-out': (page) => page.goto(app.url('/dashboard')),
  'login': (page) => page.goto(app.url('/login')),
  'login-wrong-password': async (page) => {
    await logIn(page, app, 'nobody@example.com', 'not the password');
    await page.locator('#login-error').filter({ hasText: 'The email or password is wrong.' }).waitFor();
  },
  'login-not-verified': async (page) => {
    const email = uniqueEmail('pending');
    await registerByApi(app, email);
    await logIn(page, app, email);
    await page.locator('#login-error').filter({ hasText: 'Confirm your email address first' }).waitFor();
  },
  'login-signed-in': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'again')).cookie);
    await page.goto(app.url('/login'));
  },
  'mfa': async (page) => {
    const account = await verifiedAccount(world, 'mfa');
    await enrolTotpByApi(app, account.cookie);
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
  },
  'mfa-wrong-code': async (page) => {
    const account = await verifiedAccount(world, 'mfa-wrong');
    const { secret } = await enrolTotpByApi(app, account.cookie);
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
    const wrong = totp(secret, totpStep()) === '000000' ? '111111' : '000000';
    await page.getByLabel('6-digit code').fill(wrong);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#code[aria-invalid="true"]').waitFor();
  },
  'mfa-recovery-code': async (page) => {
    const account = await verifiedAccount(world, 'mfa-recovery');
    await enrolTotpByApi(app, account.cookie);
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
    await page.getByText('Use a recovery code').click();
    await page.getByLabel('Recovery code').waitFor();
  },
  'mfa-email-sent': async (page) => {
    const account = await verifiedAccount(world, 'mfa-email');
    await enrolTotpByApi(app, account.cookie);
    await enrolEmailByApi(world, account.email, account.cookie);
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByRole('status').filter({ hasText: 'We sent a 6-digit code' }).waitFor();
  },
  'mfa-email-only': async (page) => {
    const account = await verifiedAccount(world, 'mfa-email-only');
    await enrolEmailByApi(world, account.email, account.cookie);
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
  },
  'mfa-expired': (page) => page.goto(app.url('/mfa')),
  'dashboard-with-two-step': async (page) => {
    const account = await verifiedAccount(world, 'dash-2fa');
    const { secret, step } = await enrolTotpByApi(app, account.cookie);
    await enrolEmailByApi(world, account.email, account.cookie);
    // A second session, from the API, for the list.
    await fetch(app.url('/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' },
      body: JSON.stringify({ email: account.email, password: PASSWORD }),
    });
    await logIn(page, app, account.email);
    await page.waitForURL(app.url('/mfa'));
    await page.getByLabel('6-digit code').fill(nextCode(secret, step).code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(app.url('/dashboard'));
  },
  'setup-choose': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'choose')).cookie);
    await page.goto(app.url('/mfa/setup'));
  },
  'setup-totp': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'setup')).cookie);
    await page.goto(app.url('/dashboard'));
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
  },
  'setup-sms': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'sms')).cookie);
    await page.goto(app.url('/mfa/setup?method=sms'));
  },
  'setup-email-code': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'email')).cookie);
    await page.goto(app.url('/dashboard'));
    await page.getByRole('button', { name: 'Set up email codes' }).click();
    await page.getByLabel('6-digit code').waitFor();
  },
  'recovery-codes': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'codes')).cookie);
    await page.goto(app.url('/dashboard'));
    await page.getByRole('button', { name: 'Set up authenticator app' }).click();
    const secret = (await page.locator('#totp-secret').textContent()).replace(/\s+/g, '');
    await page.getByLabel('6-digit code').fill(totp(secret, totpStep()));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.locator('#recovery-codes').waitFor();
  },
  'setup-required': async (page) => {
    const account = await verifiedAccount(world, 'strict', world.strictApp);
    await logIn(page, world.strictApp, account.email);
    await page.waitForURL(world.strictApp.url('/mfa/setup'));
  },
  'account-deleted': async (page) => {
    await useSession(page, app, (await verifiedAccount(world, 'leaving')).cookie);
    await page.goto(app.url('/dashboard'));
    await page.getByLabel('I understand that this cannot be undone').check();
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Account deleted' }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/me')).status);
    assert.equal(me, 401, 'the session went with the account');
  },
  'email-confirm': async (page) => page.goto(await emailChangeLink()),
  'email-changed': async (page) => {
    await confirmChange(page);
  },
  'email-confirm-unknown': (page) => page.goto(app.url('/email/confirm?token=unknown')),
  'dashboard-email-waiting': async (page) => {
    await askForChange();
    await useSession(page, app, mover.cookie);
    await page.goto(app.url('/dashboard'));
    await page.getByRole('button', { name: 'Cancel the change' }).waitFor();
  },
  'email-revert': async (page) => {
    const before = await confirmChange(page);
    await page.goto(await undoLinkTo(before));
  },
  'email-reverted': async (page) => {
    await page.goto(app.url('/email/revert?reverted=1'));
  },
  'form-expired': async (page) => {
    await page.goto(app.url('/resend'));
    await page.context().clearCookies();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByRole('button', { name: 'Resend the link' }).click();
    await page.getByRole('heading', { name: 'This form has expired' }).waitFor();
  },
};

// Each state once, in a fresh browser context: axe-core (the issue #3's
// case 6), screenshots (case 7), nothing wider than a phone, no CSP
// violation or script error.
test('6 and 7. every page state: no serious or critical axe-core violation, screenshots at phone and desktop widths', async (t) => {
  for (const [name, reach] of Object.entries(states)) {
    await t.test(name, async () => {
      const page = await newPage(browser);
      await reach(page);
      assert.deepEqual(await axeViolations(page), []);
      await screenshot(page, name);
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(overflow <= 390, `${name} is ${overflow}px wide on a phone`);
      assert.deepEqual(page.problems, []);
      await page.context().close();
    });
  }
});

test('the pages carry the security headers, and assets are served from the binary', async () => {
  for (const path of ['/signup', '/check-inbox', '/resend', '/dashboard', '/verify?token=x', '/login', '/mfa', '/mfa/setup']) {
    const response = await fetch(app.url(path), { headers: { accept: 'text/html' } });
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/, path);
    assert.match(csp, /script-src 'self'/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', path);
    const html = await response.text();
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, `${path}: no inline script`);
    assert.doesNotMatch(html, /style=/, `${path}: no inline style`);
  }
  const css = await fetch(app.url('/static/app.css'));
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.match(css.headers.get('cache-control'), /max-age/);
  const js = await fetch(app.url('/static/app.js'));
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
});
