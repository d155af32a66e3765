// What every browser test needs: a real SMTP sink, the real latchkey binary
// on a free port with a fresh SQLite folder, and Debian's Chromium driven by
// playwright-core. Nothing here downloads a browser.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { simpleParser } from 'mailparser';
import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..');
export const artifacts = join(repo, 'target', 'e2e-artifacts');
const binary = process.env.LATCHKEY_BIN || join(repo, 'target', 'debug', 'latchkey');

export const PASSWORD = 'violet submarine harvests 42 clouds';

export async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/// A real SMTP server on loopback that keeps every message it accepts.
export async function startMailSink() {
  const messages = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw });
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    port,
    messages,
    /// Waits for the `count`-th message to `address` and returns its text.
    async text(address, count = 1, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = messages.filter((m) => m.to.includes(address.toLowerCase()));
        if (mine.length >= count) return (await simpleParser(mine[count - 1].raw)).text;
        if (Date.now() > deadline) throw new Error(`${address} got ${mine.length} of ${count} emails`);
        await sleep(50);
      }
    },
    /// Waits for the `count`-th sign-in code emailed to `address` (other
    /// mail, such as notices, is skipped) and returns its 6 digits.
    async code(address, count = 1, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = messages.filter((m) => m.to.includes(address.toLowerCase()));
        const parsed = await Promise.all(mine.map((m) => simpleParser(m.raw)));
        const codes = parsed
          .filter((mail) => mail.subject === 'Your sign-in code')
          .map((mail) => /\b\d{6}\b/.exec(mail.text)[0]);
        if (codes.length >= count) return codes[count - 1];
        if (Date.now() > deadline) throw new Error(`${address} got ${codes.length} of ${count} codes`);
        await sleep(50);
      }
    },
    /// Waits for the `count`-th message to `address` and returns its link.
    async link(address, count = 1, timeoutMs = 15000) {
      const text = await this.text(address, count, timeoutMs);
      const link = /https?:\/\/\S+\/verify\?token=[\w-]+/.exec(text)?.[0];
      if (!link) throw new Error(`no link in:\n${text}`);
      return link;
    },
    count(address) {
      return messages.filter((m) => m.to.includes(address.toLowerCase())).length;
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}

/// The latchkey binary on a free port, fresh database, mail to `smtpPort`.
/// `host` names it in its public URL: `localhost` for passkeys, which
/// browsers offer to domain names only (it listens on 127.0.0.1 either way).
export async function startApp({ smtpPort, env = {}, host = '127.0.0.1' }) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
  const base = `http://${host}:${port}`;
  const probe = `http://127.0.0.1:${port}/healthz`;
  const log = [];
  const child = spawn(binary, ['serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      RUST_LOG: 'warn,latchkey=info',
      LATCHKEY_LISTEN: `127.0.0.1:${port}`,
      LATCHKEY_PUBLIC_URL: base,
      LATCHKEY_DATABASE_URL: `sqlite://${join(dir, 'latchkey.db')}`,
      LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const exited = new Promise((ok) => child.once('exit', ok));
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`latchkey exited:\n${log.join('')}`);
    try {
      const response = await fetch(probe);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`latchkey did not start:\n${log.join('')}`);
    await sleep(100);
  }
  return {
    base,
    url: (path) => `${base}${path}`,
    log,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

/// A fresh browser context (no cookies) that fails the test on any CSP
/// violation or script error.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  page.problems = problems;
  return page;
}

const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/// axe-core's serious and critical violations on the current page. The
/// script is evaluated over the DevTools protocol, which our CSP (rightly)
/// would not allow as an inline script.
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(artifacts, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

let counter = 0;
/// A unique address per call, so tests never collide on one database.
export function uniqueEmail(prefix) {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}@example.com`;
}
