// Digital camera evidence: upload with purpose and legal basis, gallery, item page with custody
// history and map link, refusal of flight risk as exigency, the supervisor's camera page.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageLoads, login } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const here = dirname(fileURLToPath(import.meta.url));
function sample(name) {
  const base = process.env.PROBITY_TEST_DATA ?? resolve(here, '../../../../shared/data');
  const path = join(base, 'camera', name);
  if (!existsSync(path)) {
    throw new Error(`camera sample ${path} is missing: set PROBITY_TEST_DATA to the shared data folder`);
  }
  return path;
}

test('dc_06_upload_gallery_and_item_page_with_custody', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/2026-019-000101`);
  await Promise.all([page.waitForNavigation(), page.click('a.evidence-link')]);
  await page.click('summary:has-text("Upload a camera original")');
  await page.setInputFiles('#upload input[name=file]', sample('apple_iphone4.jpg'));
  await page.selectOption('#upload select[name=purpose]', 'crime_scene');
  await page.selectOption('#upload select[name=basis_kind]', 'no_reasonable_expectation_of_privacy');
  await Promise.all([page.waitForNavigation(), page.click('#upload button[type=submit]')]);
  assert.match(await page.textContent('#intake-report'), /Safe to clear/);
  await page.waitForSelector('ul.gallery li.item img');
  const loaded = await imageLoads(page.locator('ul.gallery li.item img').first());
  assert.ok(loaded, 'the thumbnail is served to the gallery');
  await Promise.all([page.waitForNavigation(), page.click('ul.gallery li.item a')]);
  assert.match(await page.textContent('dd.legal-basis'), /No reasonable expectation of privacy/);
  assert.match(await page.textContent('dd.sha256'), /^[0-9a-f]{64}$/);
  const map = await page.getAttribute('a.map', 'href');
  assert.match(map, /^https:\/\/www\.openstreetmap\.org\/\?mlat=41\.8/);
  const custody = await page.textContent('table.custody');
  assert.match(custody, /evidence\.ingest/);
  assert.match(custody, /evidence\.view/);
});

test('dc_02_flight_risk_alone_refused_in_the_form', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/2026-019-000101/evidence`);
  await page.click('summary:has-text("Upload a camera original")');
  await page.setInputFiles('#upload input[name=file]', sample('apple_minimal.jpg'));
  await page.selectOption('#upload select[name=purpose]', 'crime_scene');
  await page.selectOption('#upload select[name=basis_kind]', 'exigency');
  await page.selectOption('#upload select[name=statute]', 'pl_240_30');
  await page.check('#upload input[name=flight_risk_cited]');
  await Promise.all([page.waitForNavigation(), page.click('#upload button[type=submit]')]);
  assert.match(await page.textContent('main'), /DC-02/);
  assert.match(await page.textContent('main'), /flight/);
});

test('dc_04_supervisor_inventories_and_inspects_a_camera', async ({ page, url }) => {
  await login(page, url, 'lt.moreau');
  await page.click('header nav a:has-text("Cameras")');
  await page.click('summary:has-text("Inventory a camera")');
  await page.fill('#new-device input[name=make]', 'NIKON CORPORATION');
  await page.fill('#new-device input[name=model]', 'NIKON D70');
  await page.fill('#new-device input[name=serial]', 'No= 00077001');
  await page.fill('#new-device input[name=storage_location]', 'PCT-019 locker 2');
  await Promise.all([page.waitForNavigation(), page.click('#new-device button[type=submit]')]);
  assert.match(await page.textContent('ul.overdue'), /77001.*never inspected/);
  const row = page.locator('table.devices tr', { hasText: '77001' });
  await Promise.all([page.waitForNavigation(), row.locator('button:has-text("Record inspection")').click()]);
  assert.doesNotMatch(await page.textContent('ul.overdue'), /77001/);
});
