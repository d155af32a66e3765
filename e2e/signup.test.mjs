// The sign-up pages in a real browser (Debian's Chromium, driven by
// playwright-core) against the real binary and a real SMTP sink.
// Run by scripts/e2e.sh; screenshots land in target/e2e-artifacts/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  PASSWORD, axeViolations, launchBrowser, newPage, screenshot, startApp, startMailSink, uniqueEmail,
} from './harness.mjs';

const SHORT_TTL_MS = 3000;
const PASSWORDS = JSON.parse(readFileSync(new URL('./passwords.json', import.meta.url), 'utf8'));

let sink;
let app;
let shortApp; // verification links expire after 3 s
let browser;

before(async () => {
  sink = await startMailSink();
  [app, shortApp] = await Promise.all([
    startApp({ smtpPort: sink.port }),
    startApp({ smtpPort: sink.port, env: { LATCHKEY_VERIFY_TTL: `${SHORT_TTL_MS / 1000}s` } }),
  ]);
  browser = await launchBrowser();
  // A link for the "Link expired" page in the page walk (tests 6 and 7):
  // registered now, it has long expired by then, so no sleep is needed there.
  expiring.email = uniqueEmail('expiring');
  assert.equal((await registerByApi(shortApp, expiring.email)).status, 201);
  expiring.registered = Date.now();
});

after(async () => {
  await browser?.close();
  await Promise.all([app?.stop(), shortApp?.stop()]);
  await sink?.close();
});

async function fillSignup(page, { name = 'Ada Lovelace', email, password = PASSWORD }) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
}

const createAccount = (page) => page.getByRole('button', { name: 'Create account' }).click();

/// Records the POSTs a page sends, by path.
function recordPosts(page) {
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
  });
  return posts;
}

async function errorOf(page, id) {
  return (await page.locator(`#${id}-error`).textContent()).trim();
}

async function registerByApi(target, email, password = PASSWORD) {
  const response = await fetch(target.url('/register'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Ada Lovelace', email, password }),
  });
  return { status: response.status, body: await response.json() };
}

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
    'This email is already registered. Log in or resend the verification email.',
  );
  assert.equal(await page.locator('#email').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByRole('link', { name: 'Log in' }).first().getAttribute('href'), '/login');
  const resend = await page.getByRole('link', { name: 'resend the verification email' }).getAttribute('href');
  assert.equal(resend, `/resend?email=${encodeURIComponent(email.toUpperCase())}`);
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

test('the page\'s password verdict agrees with POST /register on every listed password', async () => {
  const page = await newPage(browser);
  await page.goto(app.url('/signup'));
  await page.getByLabel('Name').fill('Ada Lovelace');
  const password = page.locator('#password');
  // Touched once, the field shows its verdict (an untouched, empty field
  // does not nag).
  await password.fill('x');
  await password.blur();
  for (const [i, candidate] of PASSWORDS.entries()) {
    const email = uniqueEmail(`agree${i}`);
    await page.getByLabel('Email').fill(email);
    await password.fill(candidate);
    await password.blur();
    await page.waitForFunction(
      ([value]) => {
        const input = document.getElementById('password');
        return input.value === value && input.dataset.verdict !== 'pending';
      },
      [candidate],
    );
    const pageSaysOk = (await password.getAttribute('data-verdict')) === 'ok';
    const { status, body } = await registerByApi(app, email, candidate);
    if (pageSaysOk) {
      assert.equal(status, 201, `${JSON.stringify(candidate)}: ${JSON.stringify(body)}`);
      assert.equal(await password.getAttribute('aria-invalid'), null);
    } else {
      assert.equal(status, 422, `${JSON.stringify(candidate)} was refused by the page only`);
      assert.ok(body.error.fields.password, JSON.stringify(body));
      assert.equal(await password.getAttribute('aria-invalid'), 'true');
    }
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// Every page in each of its states, for the accessibility check and the
// screenshots. Each state starts in a fresh browser context.
const expiring = { email: null, registered: 0 }; // set in before()

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
    const email = uniqueEmail('taken');
    await registerByApi(app, email);
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
    await page.goto(await verifiedLink());
    await page.waitForURL(app.url('/dashboard'));
  },
  'dashboard-signed-out': (page) => page.goto(app.url('/dashboard')),
  'form-expired': async (page) => {
    await page.goto(app.url('/resend'));
    await page.context().clearCookies();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByRole('button', { name: 'Resend the link' }).click();
    await page.getByRole('heading', { name: 'This form has expired' }).waitFor();
  },
};

test('6. axe-core finds no serious or critical violation on any page', async () => {
  const found = [];
  for (const [name, reach] of Object.entries(states)) {
    const page = await newPage(browser);
    await reach(page);
    for (const violation of await axeViolations(page)) found.push(`${name}: ${violation}`);
    await page.context().close();
  }
  assert.deepEqual(found, []);
});

test('7. screenshots of every page at phone and desktop widths', async () => {
  for (const [name, reach] of Object.entries(states)) {
    const page = await newPage(browser);
    await reach(page);
    await screenshot(page, name);
    // Nothing wider than a phone.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= 390, `${name} is ${overflow}px wide on a phone`);
    assert.deepEqual(page.problems, [], name);
    await page.context().close();
  }
});

test('the pages carry the security headers, and assets are served from the binary', async () => {
  for (const path of ['/signup', '/check-inbox', '/resend', '/dashboard', '/verify?token=x']) {
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
