// FOIL (PUB-01): a member of the public submits a request on the public form without an account and
// gets a receipt; the records officer finds it on the queue, acknowledges it and gathers a photograph
// of the case; the officer cannot review what they gathered (four eyes); a FOIL reviewer runs the face
// detector, marks a plate, is refused a box outside the image, and completes the review; the officer
// releases the redacted copy citing §87(2)(b). Overdue requests are red on the queue.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'playwright-core';
import { imageLoads, login, PASSWORD } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const CASE = '2026-019-000101';
const here = dirname(fileURLToPath(import.meta.url));

// The first LFW portrait (alphabetically) with a _0001.jpg: a real photograph of a face.
function portrait() {
  const base = process.env.PROBITY_TEST_DATA ?? resolve(here, '../../../../shared/data');
  const lfw = join(base, 'faces', 'lfw');
  if (!existsSync(lfw)) {
    throw new Error(`${lfw} is missing: set PROBITY_TEST_DATA to the shared data folder`);
  }
  for (const name of readdirSync(lfw).sort()) {
    const path = join(lfw, name, `${name}_0001.jpg`);
    if (existsSync(path)) return { path, file: `${name}_0001.jpg` };
  }
  throw new Error(`no LFW portrait in ${lfw}`);
}

// A records unit member with `role`, created by the administrator through the API.
async function recordsPerson(url, username, role) {
  const admin = await request.newContext({ baseURL: url, ignoreHTTPSErrors: true });
  const ok = async (r, what) => assert.ok(r.ok(), `${what}: ${r.status()} ${await r.text()}`);
  await ok(await admin.post('/api/session', { data: { username: 'admin', password: PASSWORD } }), 'admin signs in');
  const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
  await ok(await admin.post('/api/users', {
    data: { username, display_name: `Records ${username}`, rank: 'civilian', command: 'RECORDS', kind: 'member', password: PASSWORD },
  }), 'create reviewer');
  await ok(await admin.post(`/api/users/${username}/assignments`, { data: { role, command: 'RECORDS', starts: yesterday } }), 'assign');
  await admin.dispose();
}

async function as(context, url, username) {
  const ctx = await context.browser().newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await login(page, url, username);
  return { ctx, page };
}

const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

test('pub_01_public_request_to_redacted_release', async ({ page, url, context }) => {
  // 1. The public form, no account.
  await page.goto(`${url}/foil/request`);
  await page.fill('#foil-public-form input[name=requester]', 'Browser Resident');
  await page.fill('#foil-public-form input[name=contact]', 'resident@example.org');
  await page.fill('#foil-public-form textarea[name=description]', 'Photographs of the incident on Main Street');
  await submit(page, '#foil-public-form button[type=submit]');
  const receipt = (await page.textContent('#receipt-number')).trim();
  assert.match(receipt, /^FOIL-\d{4}-\d{6}$/);
  assert.match(await page.textContent('#acknowledge-by'), /^\d{4}-\d{2}-\d{2}$/);

  // 2. A photograph of the case, uploaded by the investigator.
  const { path, file } = portrait();
  const rivera = await as(context, url, 'det.rivera');
  await rivera.page.goto(`${url}/cases/${CASE}/evidence`);
  await rivera.page.click('summary:has-text("Upload a camera original")');
  await rivera.page.setInputFiles('#upload input[name=file]', path);
  await rivera.page.selectOption('#upload select[name=purpose]', 'crime_scene');
  await rivera.page.selectOption('#upload select[name=basis_kind]', 'no_reasonable_expectation_of_privacy');
  await submit(rivera.page, '#upload button[type=submit]');
  await rivera.ctx.close();

  // 3. The records officer: the queue, acknowledgement, gathering.
  const officer = await as(context, url, 'rec.lopez');
  const o = officer.page;
  await submit(o, 'header nav a:has-text("FOIL requests")');
  const row = o.locator('#foil-requests tr', { hasText: receipt });
  await Promise.all([o.waitForNavigation(), row.locator('a').click()]);
  const requestUrl = o.url();
  assert.equal((await o.textContent('#foil-status')).trim(), 'received');
  await submit(o, '#foil-acknowledge-form button[type=submit]');
  assert.equal((await o.textContent('#foil-status')).trim(), 'acknowledged');
  assert.match(await o.textContent('#foil-decision-by'), /^\d{4}-\d{2}-\d{2}/);
  await o.fill('#foil-gather-form input[name=case]', CASE);
  await submit(o, '#foil-gather-form button[type=submit]');
  const record = o.locator('section.foil-record', { hasText: file });
  assert.equal(await record.count(), 1, 'the photograph is a responsive record');

  // Four eyes: the officer who gathered cannot complete the review.
  await submit(o, '#foil-review-form button[type=submit]');
  const refusal = await o.textContent('main');
  assert.match(refusal, /PUB-01/);
  assert.match(refusal, /four eyes/);

  // 4. The reviewer: detection on every record, a plate, a refused box, the review.
  await recordsPerson(url, 'rec.browser', 'records_manager');
  const reviewer = await as(context, url, 'rec.browser');
  const r = reviewer.page;
  await r.goto(requestUrl);
  const records = await r.locator('section.foil-record').count();
  for (let i = 0; i < records; i++) {
    await submit(r, `section.foil-record >> nth=${i} >> .foil-detect-form button`);
  }
  const mine = r.locator('section.foil-record', { hasText: file });
  assert.match(await mine.textContent(), /Face detector: [1-9]\d* face\(s\) proposed/);
  const faces = await mine.locator('table.foil-boxes tr[data-box]').count();
  assert.ok(faces >= 1, 'a box proposed for the face');
  const outlined = await imageLoads(mine.locator('img.foil-preview'));
  assert.ok(outlined, 'the preview with the boxes is served');
  // A box outside the image is refused with the rule and nothing is lost.
  await mine.locator('.foil-box-form select[name=kind]').selectOption('plate');
  await mine.locator('.foil-box-form input[name=x]').fill('5000');
  await mine.locator('.foil-box-form input[name=y]').fill('0');
  await mine.locator('.foil-box-form input[name=width]').fill('10');
  await mine.locator('.foil-box-form input[name=height]').fill('10');
  await Promise.all([r.waitForNavigation(), mine.locator('.foil-box-form button').click()]);
  assert.match(await r.textContent('main'), /PUB-01/);
  assert.match(await r.textContent('main'), /not inside/);
  await r.goto(requestUrl);
  const again = r.locator('section.foil-record', { hasText: file });
  assert.equal(await again.locator('table.foil-boxes tr[data-box]').count(), faces);
  await again.locator('.foil-box-form select[name=kind]').selectOption('plate');
  await again.locator('.foil-box-form input[name=x]').fill('0');
  await again.locator('.foil-box-form input[name=y]').fill('0');
  await again.locator('.foil-box-form input[name=width]').fill('40');
  await again.locator('.foil-box-form input[name=height]').fill('20');
  await Promise.all([r.waitForNavigation(), again.locator('.foil-box-form button').click()]);
  const withPlate = r.locator('section.foil-record', { hasText: file });
  assert.equal(await withPlate.locator('table.foil-boxes tr[data-box]').count(), faces + 1);
  await r.fill('#foil-review-form input[name=notes]', 'faces and the plate covered');
  await submit(r, '#foil-review-form button[type=submit]');
  assert.match(await r.textContent('#foil-review'), /rec\.browser/);
  await reviewer.ctx.close();

  // 5. The officer releases, citing §87(2)(b); the release log names both hashes.
  await o.goto(requestUrl);
  await o.selectOption('#foil-decision-form select[name=outcome]', 'grant');
  await submit(o, '#foil-decision-form button[type=submit]');
  assert.match(await o.textContent('main'), /PUB-01/, 'redactions need the exemption cited');
  await o.goto(requestUrl);
  await o.selectOption('#foil-decision-form select[name=outcome]', 'grant');
  await o.check('#foil-decision-form input[name=exemptions][value=b]');
  await submit(o, '#foil-decision-form button[type=submit]');
  assert.equal((await o.textContent('#foil-status')).trim(), 'granted');
  assert.match(await o.textContent('#foil-outcome'), /POL §87\(2\)\(b\)/);
  const releases = o.locator('#foil-releases tr[data-release]');
  assert.equal(await releases.count(), records);
  const released = o.locator('#foil-releases tr[data-release]', { hasText: 'Browser Resident' }).first();
  const href = await released.locator('a').getAttribute('href');
  const copy = await o.request.get(`${url}${href}`);
  assert.equal(copy.status(), 200);
  assert.equal(copy.headers()['content-type'], 'image/jpeg');
  const hash = createHash('sha256').update(await copy.body()).digest('hex');
  const codes = await released.locator('code').allTextContents();
  assert.ok(codes.includes(hash), 'the released copy has the logged hash');
  await officer.ctx.close();
});

test('pub_01_overdue_request_is_red_and_counted', async ({ page, url }) => {
  await login(page, url, 'rec.lopez');
  await page.goto(`${url}/foil`);
  await page.click('summary:has-text("Log a request")');
  await page.fill('#foil-intake-form input[name=requester]', 'Late Letter');
  await page.fill('#foil-intake-form input[name=contact]', '1 Centre Street');
  await page.fill('#foil-intake-form textarea[name=description]', 'Arrest reports of 2024');
  await page.fill('#foil-intake-form input[name=received_on]', '2025-11-25');
  await submit(page, '#foil-intake-form button[type=submit]');
  await page.goto(`${url}/foil`);
  const row = page.locator('#foil-requests tr', { hasText: 'Late Letter' });
  assert.match(await row.getAttribute('class'), /overdue/);
  assert.match(await row.textContent(), /2025-12-03/, 'five business days after, Thanksgiving skipped');
  const color = await row.locator('td').nth(1).evaluate((el) => getComputedStyle(el).color);
  const [red, green, blue] = color.match(/\d+/g).map(Number);
  assert.ok(red > 120 && green < 60 && blue < 60, `shown in red, not ${color}`);
  assert.ok(Number(await page.textContent('#foil-counts [data-count=overdue]')) >= 1);
});
