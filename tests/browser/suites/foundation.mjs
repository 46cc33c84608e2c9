// Foundation workflows: sign-in, navigation by role, cases, people administration.
import assert from 'node:assert/strict';
import { login } from '../lib.mjs';

export const tests = [];
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
  assert.ok(!rows.includes('INTEL-2026-00007'), `political-activity case hidden (FR-25): ${rows}`);
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

