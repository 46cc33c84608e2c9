// Browser tests: a real `probity demo` server (SQLite, TLS with its self-signed certificate) driven
// by Debian's Chromium through playwright-core. Each test is a workflow a user would follow.
//
// Usage: node run.mjs [path/to/probity]   (default: ../../target/debug/probity)

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';

const here = new URL('.', import.meta.url).pathname;
const binary = resolve(process.argv[2] ?? join(here, '../../target/debug/probity'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'demo-password-2026';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'probity-browser-'));
  const port = await freePort();
  const proc = spawn(binary, ['demo', '--data-dir', dir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PROBITY_LOG: 'warn' },
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`probity demo exited early:\n${out}`);
    if (out.includes('URL:')) {
      try {
        const r = await fetch(`${url}/health`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /Password for every demo login/, 'demo prints the logins');
  return { url, dir, proc, output: () => out };
}

async function login(page, url, username) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('sec_01_sign_in_and_out', async ({ page, url }) => {
  await page.goto(`${url}/`);
  assert.match(page.url(), /\/login$/, 'anonymous visitors are sent to sign in');
  await page.fill('input[name=username]', 'det.rivera');
  await page.fill('input[name=password]', 'wrong password');
  await page.click('button[type=submit]');
  await page.waitForSelector('.error');
  assert.match(await page.textContent('.error'), /not/i);
  await login(page, url, 'det.rivera');
  assert.match(await page.textContent('h1'), /Welcome/);
  await Promise.all([page.waitForNavigation(), page.click('form.signout button')]);
  assert.match(page.url(), /\/login$/);
});

test('sec_02_navigation_follows_role', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => a.textContent.trim()));
  assert.ok(nav.includes('Cases'), `investigator sees Cases: ${nav}`);
  assert.ok(!nav.includes('People and access'), `investigator does not administer people: ${nav}`);
  await page.goto(`${url}/admin/users`);
  assert.match(await page.textContent('main'), /rule/i, 'a refused page names the rule');
});

test('case_list_and_case_page', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  await page.click('header nav a:has-text("Cases")');
  await page.waitForSelector('table.list');
  const rows = await page.$$eval('table.list tbody tr td:first-child', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(rows.includes('2026-019-000101'), `own case listed: ${rows}`);
  assert.ok(!rows.includes('2026-INT-000007'), `political-activity case hidden (FR-25): ${rows}`);
  await page.click('a:has-text("2026-019-000101")');
  await page.waitForSelector('dl.facts');
  assert.match(await page.textContent('dl.facts'), /det\.rivera/);
});

test('ret_supervisor_closes_case_with_reason', async ({ page, url }) => {
  await login(page, url, 'lt.moreau');
  await page.goto(`${url}/cases/2026-019-000102`);
  await page.selectOption('select[name=closure_reason]', 'no_arrest');
  await Promise.all([page.waitForNavigation(), page.click('form button:has-text("Close case")')]);
  assert.match(await page.textContent('dl.facts .status'), /closed/);
  assert.match(await page.textContent('dl.facts'), /RET-04/, 'retention rule shown for a closed misdemeanor');
});

test('admin_adds_person_assignment_and_training', async ({ page, url }) => {
  await login(page, url, 'admin');
  await page.click('header nav a:has-text("People and access")');
  await page.click('summary:has-text("Add a person")');
  await page.fill('input[name=username]', 'det.browser');
  await page.fill('input[name=display_name]', 'Det. Demo Browser');
  await page.fill('input[name=rank]', 'detective');
  await page.fill('input[name=command]', 'PCT-019');
  await page.fill('input[name=password]', 'a-long-enough-password');
  await Promise.all([page.waitForNavigation(), page.click('form button:has-text("Add")')]);
  assert.match(page.url(), /\/admin\/users\/det\.browser$/);
  const today = new Date().toISOString().slice(0, 10);
  await page.selectOption('select[name=role]', 'investigator');
  await page.fill('input[name=starts]', today);
  await Promise.all([page.waitForNavigation(), page.click('form button:has-text("Assign")')]);
  assert.match(await page.textContent('main'), /investigator in PCT-019/);
  await page.selectOption('select[name=course]', 'digital_cameras');
  await page.fill('input[name=completed]', today);
  await Promise.all([page.waitForNavigation(), page.click('form button:has-text("Record training")')]);
  assert.match(await page.textContent('main'), /digital_cameras/);
});

const server = await startServer();
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = 0;
try {
  for (const t of tests) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      await t.fn({ page, url: server.url });
      console.log(`ok   ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}\n${e.stack}`);
      await page.screenshot({ path: join(tmpdir(), `probity-${t.name}.png`) }).catch(() => {});
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
  server.proc.kill('SIGTERM');
  rmSync(server.dir, { recursive: true, force: true });
}
if (failed) {
  console.log(`${failed} of ${tests.length} browser tests failed`);
  process.exit(1);
}
console.log(`${tests.length} browser tests passed`);
