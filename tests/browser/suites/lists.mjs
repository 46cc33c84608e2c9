// Lists that scale: the IAB auditor pages back and forth through the audit trail of the
// demonstration (newest first, 50 a page), filters it by record; the administrator pages through
// people five at a time and sorts them; an investigator uses the search box in the page header
// and follows a result to the case, and finds nothing of a case the policy keeps from them.
import assert from 'node:assert/strict';
import { imageLoads, login } from '../lib.mjs';

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
  const hit = page.locator('#search-case tr.hit-case a');
  assert.equal(await hit.count(), 1);
  await Promise.all([page.waitForNavigation(), hit.click()]);
  assert.ok(page.url().endsWith('/cases/2026-019-000102'), page.url());
  // The Intelligence Division's political case exists, but not for this investigator.
  await page.goto(`${url}/search?q=INTEL-2026`);
  assert.equal(await page.locator('#search-results tr[class^="hit-"]').count(), 0);
  assert.match(await page.locator('#search-summary').textContent(), /^0 results/);
});

// Camera evidence: the investigator pages through the demonstration case's originals two at a time,
// sorts them by file name and filters them by name; every thumbnail of the page loads.
test('evidence_gallery_pages_sorts_and_filters', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  const names = () => page.locator('#evidence-list li.item a').allTextContents().then((t) => t.map((s) => s.trim()));
  await page.goto(`${url}/cases/2026-019-000102/evidence?limit=2`);
  const p1 = await names();
  assert.equal(p1.length, 2, 'a page of two');
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), /^1–2 of 3$/);
  for (const img of await page.locator('#evidence-list img.thumb').all()) {
    assert.ok(await imageLoads(img), 'the thumbnail loads');
  }
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="next"]').first().click()]);
  const p2 = await names();
  assert.equal(p2.length, 1, 'the last item on the second page');
  assert.ok(!p1.includes(p2[0]), `${p2[0]} is not on the first page`);
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), /^3–3 of 3$/);
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="prev"]').first().click()]);
  assert.deepEqual(await names(), p1, 'previous returns to the first page');

  // Sorted by file name, descending, still two a page.
  await page.selectOption('#evidence-filter select[name="sort"]', 'filename');
  await page.selectOption('#evidence-filter select[name="order"]', 'desc');
  await Promise.all([page.waitForNavigation(), page.click('#evidence-filter button[type="submit"]')]);
  const all = [...p1, ...p2].sort().reverse();
  assert.deepEqual(await names(), all.slice(0, 2), 'by file name, descending');

  // Filtered by part of one file name.
  await page.fill('#evidence-filter input[name="q"]', all[2]);
  await Promise.all([page.waitForNavigation(), page.click('#evidence-filter button[type="submit"]')]);
  assert.deepEqual(await names(), [all[2]]);
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), /^1–1 of 1$/);
});

// The photo repository: the records officer pages through the demonstration records five at a time,
// sorts them by arrest id and filters the sealed ones after sealing an arrest.
test('repository_records_page_sort_and_filter', async ({ page, url }) => {
  await login(page, url, 'rec.lopez');
  const arrests = () => page.locator('#records-list tbody tr[data-record] td:nth-child(4)').allTextContents();
  await page.goto(`${url}/fr/gallery?limit=5`);
  const p1 = await arrests();
  assert.equal(p1.length, 5);
  const total = Number(await page.locator('#gallery-figures dd').first().textContent());
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), new RegExp(`^1–5 of ${total}$`));
  await Promise.all([page.waitForNavigation(), page.locator('nav.pager a[rel="next"]').first().click()]);
  const p2 = await arrests();
  assert.equal(p2.length, 5);
  assert.ok(p2.every((a) => !p1.includes(a)), 'the second page shows other records');
  assert.match(await page.locator('nav.pager .pager-count').first().textContent(), /^6–10 of /);

  // Sorting by arrest id twice gives descending order, five a page.
  await Promise.all([page.waitForNavigation(), page.locator('#records-list th a.sort', { hasText: 'Arrest or charge' }).click()]);
  await Promise.all([page.waitForNavigation(), page.locator('#records-list th a.sort', { hasText: 'Arrest or charge' }).click()]);
  const desc = await arrests();
  assert.equal(desc.length, 5);
  assert.deepEqual(desc, [...desc].sort().reverse(), 'descending');
  assert.equal(await page.locator('#records-list th[aria-sort="descending"]').count(), 1);

  // Seal one arrest; the sealed filter then finds it.
  const arrest = desc[0];
  await page.fill('form#seal-form input[name=arrest_id]', arrest);
  await page.fill('form#seal-form input[name=reason]', 'sealing order 2026-SO-0099');
  await Promise.all([page.waitForNavigation(), page.click('form#seal-form button[type="submit"]')]);
  await page.goto(`${url}/fr/gallery?sealed=true&q=${encodeURIComponent(arrest)}`);
  assert.deepEqual(await arrests(), [arrest]);
  assert.equal((await page.locator('#records-list tbody tr[data-record] td:nth-child(6)').textContent()).trim(), 'sealed');
  await page.goto(`${url}/fr/gallery?sealed=false&q=${encodeURIComponent(arrest)}`);
  assert.equal(await arrests().then((a) => a.length), 0);
});
