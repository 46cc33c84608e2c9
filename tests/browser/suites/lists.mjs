// Lists that scale: the IAB auditor pages back and forth through the audit trail of the
// demonstration (newest first, 50 a page), filters it by record; the administrator pages through
// people five at a time and sorts them; an investigator uses the search box in the page header
// and follows a result to the case, and finds nothing of a case the policy keeps from them.
import assert from 'node:assert/strict';
import { login } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const seqs = async (page) =>
  (await page.locator('#audit-entries tbody tr td:first-child').allTextContents()).map(Number);

test('audit_trail_pages_back_and_forth_and_filters_by_record', async ({ page, url }) => {
  await login(page, url, 'iab.walsh');
  const start = Date.now();
  await page.goto(`${url}/audit`);
  console.log(`    /audit (first page of the demo trail) loaded in ${Date.now() - start} ms`);
  const first = await seqs(page);
  assert.equal(first.length, 50, 'a page of 50 entries');
  assert.ok(first.every((s, i) => i === 0 || s < first[i - 1]), 'newest first');
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="next"]').first().click()]);
  const second = await seqs(page);
  assert.ok(second.length > 0 && second[0] < first[first.length - 1], 'the next page is older');
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="prev"]').first().click()]);
  assert.deepEqual(await seqs(page), first, 'previous returns to the first page');
  assert.ok(await page.locator('th', { hasText: 'Decided by' }).count());

  await page.fill('#audit-filter input[name="record_type"]', 'case');
  await page.fill('#audit-filter input[name="record_id"]', '2026-019-000102');
  await Promise.all([page.waitForNavigation(), page.click('#audit-filter button[type="submit"]')]);
  const records = await page.locator('#audit-entries tbody tr td:nth-child(5)').allTextContents();
  assert.ok(records.length > 0, 'the case has entries');
  assert.ok(records.every((r) => r.trim() === 'case 2026-019-000102'), records.join('|'));
});

test('people_list_pages_and_sorts', async ({ page, url }) => {
  await login(page, url, 'admin');
  await page.goto(`${url}/admin/users?limit=5`);
  const names = () => page.locator('#users-list tbody tr td:first-child').allTextContents();
  const p1 = await names();
  assert.equal(p1.length, 5);
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), /^1–5 of \d+/);
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="next"]').first().click()]);
  const p2 = await names();
  assert.equal(p2.length, 5);
  assert.ok(p2[0] > p1[4], `${p2[0]} follows ${p1[4]}`);
  // Sorting by username again reverses the order, keeping the page size.
  await Promise.all([page.waitForNavigation(), page.locator('#users-list th a.sort', { hasText: 'Username' }).click()]);
  const desc = await names();
  assert.equal(desc.length, 5);
  assert.ok(desc[0] > desc[4], 'descending');
  assert.equal(await page.locator('#users-list th[aria-sort="descending"]').count(), 1);
});

test('search_box_finds_a_case_and_hides_what_the_policy_refuses', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/`);
  await page.fill('header form[role="search"] input[name="q"]', '2026-019-000102');
  await Promise.all([page.waitForNavigation(), page.press('header form[role="search"] input[name="q"]', 'Enter')]);
  assert.ok(page.url().includes('/search?q=2026-019-000102'), page.url());
  const hit = page.locator('#search-results tr.hit-case a');
  assert.equal(await hit.count(), 1);
  await Promise.all([page.waitForNavigation(), hit.click()]);
  assert.ok(page.url().endsWith('/cases/2026-019-000102'), page.url());
  // The Intelligence Division's political case exists, but not for this investigator.
  await page.goto(`${url}/search?q=INTEL-2026`);
  assert.equal(await page.locator('#search-results tr[class^="hit-"]').count(), 0);
  assert.match(await page.locator('#search-summary').textContent(), /^0 results/);
});
