// Every page in each of its states: axe-core (the case 6),
// screenshots at phone and desktop widths into target/e2e-artifacts/
// (case 7), and the security headers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

import { axeViolations, newPage, screenshot, uniqueEmail } from './harness.mjs';
import {
  SHORT_TTL_MS, createAccount, fillSignup, registerByApi, startWorld,
} from './helpers.mjs';

let world;
let sink;
let app;
let shortApp;
let browser;
const expiring = { email: null, registered: 0 };

before(async () => {
  world = await startWorld({ withShortApp: true });
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
