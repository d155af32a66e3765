// The page's password verdict (the server's own, from /password/check)
// against POST /register, on the list tests/api/password_check.rs uses too.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { newPage, uniqueEmail } from './harness.mjs';
import { registerByApi, startWorld } from './helpers.mjs';

const PASSWORDS = JSON.parse(readFileSync(new URL('./passwords.json', import.meta.url), 'utf8'));

let world;
let app;
let browser;

before(async () => {
  world = await startWorld();
  ({ app, browser } = world);
});

after(() => world?.stop());

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
