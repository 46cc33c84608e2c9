// Disclosures (EXT-01..EXT-04): the case's investigator proposes a disclosure of the case's
// evidence to a prosecutor on the disclosures page; the Agency Privacy Officer approves it; the
// records officer releases it, and the signed package is there to download.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { login } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const CASE = '2026-019-000102';
const here = dirname(fileURLToPath(import.meta.url));
function sample(name) {
  const base = process.env.PROBITY_TEST_DATA ?? resolve(here, '../../../../shared/data');
  const path = join(base, 'camera', name);
  if (!existsSync(path)) {
    throw new Error(`camera sample ${path} is missing: set PROBITY_TEST_DATA to the shared data folder`);
  }
  return path;
}
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

async function as(context, url, username) {
  const ctx = await context.browser().newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await login(page, url, username);
  return { ctx, page };
}

test('ext_03_disclosure_from_proposal_to_signed_release', async ({ page, url, context }) => {
  // 1. The investigator puts a camera original on the case, then proposes the disclosure.
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/${CASE}`);
  await submit(page, 'a.evidence-link');
  await page.click('summary:has-text("Upload a camera original")');
  await page.setInputFiles('#upload input[name=file]', sample('apple_iphone4.jpg'));
  await page.selectOption('#upload select[name=purpose]', 'crime_scene');
  await page.selectOption('#upload select[name=basis_kind]', 'no_reasonable_expectation_of_privacy');
  await submit(page, '#upload button[type=submit]');
  await page.goto(`${url}/disclosures?case=${CASE}`);
  const form = 'form#propose-disclosure';
  await page.selectOption(`${form} select[name=recipient_kind]`, 'prosecutor');
  await page.fill(`${form} input[name=recipient_name]`, 'ADA Robin Lee');
  await page.fill(`${form} input[name=recipient_affiliation]`, 'Kings County District Attorney');
  await page.selectOption(`${form} select[name=purpose]`, 'criminal_discovery');
  await page.selectOption(`${form} select[name=basis]`, 'criminal_investigation');
  await page.fill(`${form} input[name=basis_reference]`, 'Ind. 4321/2026');
  await page.fill(`${form} input[name=identity_confirmation]`, 'DA office e-mail, known to the squad');
  await submit(page, `${form} button[type=submit]`);
  const row = `#disclosures tr:has-text("ADA Robin Lee")`;
  assert.match(await page.textContent(`${row} .status`), /proposed/);
  assert.equal(await page.$(`${row} form.approve`), null, 'the proposer has no approve button');

  // 2. The Agency Privacy Officer approves.
  const apo = await as(context, url, 'apo.singh');
  await apo.page.goto(`${url}/disclosures`);
  await apo.page.fill(`${row} form.approve input[name=note]`, 'basis (6) confirmed');
  await submit(apo.page, `${row} form.approve button`);
  assert.match(await apo.page.textContent(`${row} .status`), /approved by apo\.singh/);
  await apo.ctx.close();

  // 3. The records officer releases it: the manifest's hash is the release log, and the
  //    package carries the signed manifest first.
  const officer = await as(context, url, 'rec.lopez');
  await officer.page.goto(`${url}/disclosures`);
  await submit(officer.page, `${row} form.release button`);
  const status = await officer.page.textContent(`${row} .status`);
  assert.match(status, /released by rec\.lopez/);
  assert.match(status, /manifest SHA-256 [0-9a-f]{64}/);
  const href = await officer.page.getAttribute(`${row} a:has-text("Package")`, 'href');
  const tar = await officer.page.request.get(`${url}${href}`);
  assert.equal(tar.status(), 200);
  assert.equal(tar.headers()['content-type'], 'application/x-tar');
  const body = await tar.body();
  assert.equal(body.subarray(0, 13).toString(), 'manifest.json');
  await officer.ctx.close();
});
