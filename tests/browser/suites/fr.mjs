// Facial recognition casework in the browser: a real LFW probe from the request form to the possible
// match report, each step by the person the policy names (FR-04..FR-15, FR-22).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { login } from '../lib.mjs';

// The demo server starts after the suites are loaded: ask it for the demonstration photo repository
// (seeded from the development faces, see probity_server::fr::seed_demo).
process.env.PROBITY_DEMO_GALLERY ??= '1';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const here = new URL('.', import.meta.url).pathname;
const data = process.env.PROBITY_TEST_DATA ?? resolve(here, '../../../../shared/data');
const lfw = join(data, 'faces', 'lfw');

// The same identities as the demo gallery: sorted names with at least three images, first 16.
function demoIdentities() {
  assert.ok(existsSync(lfw), `test data missing: ${lfw} does not exist; set PROBITY_TEST_DATA`);
  return readdirSync(lfw)
    .sort()
    .filter((n) => readdirSync(join(lfw, n)).length >= 3)
    .slice(0, 16);
}

async function step(page, formId, fill) {
  await page.waitForSelector(`form#${formId}`);
  if (fill) await fill();
  await Promise.all([page.waitForNavigation(), page.click(`form#${formId} button[type=submit]`)]);
  const err = await page.$('.error, .problem');
  if (err) throw new Error(`${formId}: ${await err.textContent()}`);
}

test('fr_14_request_to_possible_match_report', async ({ page, url }) => {
  const names = demoIdentities();
  const target = names[3];
  const probe = join(lfw, target, `${target}_0001.jpg`);

  // Requester: the request form shows the exact wording of each authorized use (FR-05).
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/2026-019-000101/fr/new`);
  assert.match(await page.textContent('form#fr-request-form'), /committed, is committing, or is about to commit a crime/);
  await page.check('input[name=authorized_use][value=suspect]');
  await page.setInputFiles('input[name=still_0]', probe);
  await page.selectOption('select[name=source_0]', 'cctv');
  await Promise.all([page.waitForNavigation(), page.click('form#fr-request-form button[type=submit]')]);
  assert.match(page.url(), /\/fr\/requests\/[0-9a-f-]+$/, `request page: ${page.url()}`);
  const requestUrl = page.url();
  assert.equal((await page.textContent('#fr-state')).trim(), 'submitted');

  // FR investigator: basis, quality, one edit.
  await login(page, url, 'fri.chen');
  await page.goto(`${url}/fr`);
  assert.ok(await page.$(`a[href="${new URL(requestUrl).pathname}"]`), 'the request is in the FR queue');
  await page.goto(requestUrl);
  await step(page, 'confirm-form');
  await step(page, 'quality-form', () => page.fill('form#quality-form textarea[name=reasons]', 'one frontal face, sharp'));
  await step(page, 'edit-form', async () => {
    await page.selectOption('form#edit-form select[name=op]', 'brightness');
    await page.fill('form#edit-form input[name=gain]', '1.1');
    await page.fill('form#edit-form input[name=delta]', '5');
  });
  assert.match(await page.textContent('main'), /Edits \(FR-07\)/);
  assert.equal(await page.$('form#search-form'), null, 'no search before the supervisor discussion (FR-22)');

  // FR supervisor: the discussion (FR-22).
  await login(page, url, 'sgt.haddad');
  await page.goto(requestUrl);
  await step(page, 'discussion-form', () => page.fill('form#discussion-form textarea[name=note]', 'use (1) discussed'));

  // FR investigator: search, compare side by side, identify.
  await login(page, url, 'fri.chen');
  await page.goto(requestUrl);
  assert.equal(await page.$('#gallery-empty'), null, 'the demo photo repository is seeded');
  await step(page, 'search-form');
  await page.waitForSelector('table#candidates');
  const firstSubject = (await page.textContent('table#candidates tbody tr:first-child td:nth-child(4)')).trim();
  assert.equal(firstSubject, 'Demo Subject 0004', 'the probe identity ranks first');
  await Promise.all([page.waitForNavigation(), page.click('table#candidates tbody tr:first-child a.compare')]);
  await page.waitForSelector('#fr-compare img#cand-img');
  await page.fill('#zoom', '2');
  await page.click('#flip');
  for (const sel of await page.$$('form#identification-form select[name^=f_]')) {
    await sel.selectOption('similar');
  }
  await page.selectOption('form#identification-form select[name=judgement]', 'proposed');
  await Promise.all([page.waitForNavigation(), page.click('form#identification-form button[type=submit]')]);
  assert.equal((await page.textContent('#fr-state')).trim(), 'identification');

  // Requester: sees only the proposed candidate, unapproved; no pool (FR-10, FR-15).
  await login(page, url, 'det.rivera');
  await page.goto(requestUrl);
  assert.match(await page.textContent('#proposed'), /UNAPPROVED/);
  assert.equal(await page.$('table#candidates'), null, 'the requester never sees the pool');
  await step(page, 'background-form', () => page.fill('form#background-form textarea[name=result]', 'lives near the scene'));

  // Peer review by another FR investigator (FR-11), supervisor approval (FR-12).
  await login(page, url, 'fri.novak');
  await page.goto(requestUrl);
  await step(page, 'peer-form', () => page.fill('form#peer-form textarea[name=notes]', 'features agree'));
  await login(page, url, 'sgt.haddad');
  await page.goto(requestUrl);
  await step(page, 'supervisor-form');
  assert.equal((await page.textContent('#fr-state')).trim(), 'approved_possible_match');

  // Requester: the report with the notice (FR-14), and its PDF.
  await login(page, url, 'det.rivera');
  await page.goto(requestUrl);
  await Promise.all([page.waitForNavigation(), page.click('a#report-link')]);
  const report = await page.textContent('article.fr-report');
  assert.match(report, /POSSIBLE MATCH REPORT/);
  assert.match(report, /not constitute probable cause/);
  const pdf = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { type: r.headers.get('content-type'), head: (await r.text()).slice(0, 8) };
  }, await page.getAttribute('a#report-pdf', 'href'));
  assert.equal(pdf.type, 'application/pdf');
  assert.match(pdf.head, /^%PDF-1\.\d/);
});

test('fr_19_unforeseen_use_for_an_outside_agency_decided_by_three_officials', async ({ page, url }) => {
  const names = demoIdentities();
  const probe = join(lfw, names[5], `${names[5]}_0001.jpg`);

  // FR staff document the outside agency's request (FR-20).
  await login(page, url, 'fri.chen');
  await page.goto(`${url}/fr/external-requests`);
  await step(page, 'external-form', async () => {
    await page.fill('form#external-form input[name=agency]', 'Demo County Sheriff');
    await page.fill('form#external-form input[name=contact]', 'Det. Demo Ray, 555-0100');
    await page.fill('form#external-form input[name=investigation_reference]', 'DCS-2026-311');
    await page.check('form#external-form input[name=active_criminal_investigation]');
    await page.selectOption('form#external-form select[name=purpose]', 'criminal_investigation');
  });
  const reference = (await page.textContent('table#external-requests tbody tr:first-child code')).trim();

  // The requester describes a use not on the list and cites the outside request.
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/2026-019-000101/fr/new`);
  await page.click('details#unforeseen-use summary');
  await page.fill('textarea[name=unforeseen_use]', 'compare a still the hostage taker posted online');
  await page.fill('input[name=external_request]', reference);
  await page.setInputFiles('input[name=still_0]', probe);
  await page.selectOption('select[name=source_0]', 'social_media');
  await Promise.all([page.waitForNavigation(), page.click('form#fr-request-form button[type=submit]')]);
  const requestUrl = page.url();
  assert.match(requestUrl, /\/fr\/requests\/[0-9a-f-]+$/, `request page: ${requestUrl}`);
  assert.match(await page.textContent('#unforeseen'), /Awaiting the decision/);

  // No basis can be confirmed before the three officials decide (FR-19).
  await login(page, url, 'fri.chen');
  await page.goto(requestUrl);
  assert.equal(await page.$('form#confirm-form'), null, 'no confirmation before the decision');
  assert.equal(await page.$('form#unforeseen-form'), null, 'FR staff do not decide');
  for (const official of ['cod.burke', 'cdet.ames', 'dci.nolan']) {
    await login(page, url, official);
    await page.goto(`${url}/fr`);
    assert.ok(await page.$(`a[href="${new URL(requestUrl).pathname}"]`), 'the officials find the request in the queue');
    assert.match(await page.textContent('table.fr-queue'), /awaiting the three officials/);
    await page.goto(requestUrl);
    await step(page, 'unforeseen-form', () => page.fill('form#unforeseen-form textarea[name=reason]', `approved by ${official}: life at risk`));
  }
  assert.match(await page.textContent('#unforeseen'), /Approved by the three officials/);
  assert.match(await page.textContent('#unforeseen'), /addendum/);

  // OVR-04: the use proceeds only once an addendum recording it is in force. The Agency Privacy
  // Officer records it on the policy page; the policy owner approves it.
  const requestId = new URL(requestUrl).pathname.split('/').pop();
  await login(page, url, 'apo.singh');
  await page.goto(`${url}/policy/facial-recognition`);
  await page.click('summary:has-text("Record an addendum")');
  await page.fill('form#addendum-form input[name=covers]', `fr_request:${requestId}`);
  await page.fill('form#addendum-form textarea[name=text]', 'Comparing a still a hostage taker posted online, while the hostage taking is in progress.');
  await page.fill('form#addendum-form input[name=reason]', 'approved by the three officials (FR-19)');
  await Promise.all([page.waitForNavigation(), page.click('form#addendum-form button[type=submit]')]);
  const addendum = `#revisions tr:has-text("fr_request:${requestId}")`;
  assert.match(await page.textContent(`${addendum} td.status`), /proposed/);
  await login(page, url, 'po.okafor');
  await page.goto(`${url}/policy/facial-recognition`);
  await page.fill(`${addendum} form.decision input[name=reason]`, 'a use the three officials approved');
  await Promise.all([page.waitForNavigation(), page.click(`${addendum} form.decision button[value=approve]`)]);
  assert.match(await page.textContent(`${addendum} td.status`), /in_force/);
  await login(page, url, 'fri.chen');
  await page.goto(requestUrl);
  await step(page, 'confirm-form');
  assert.equal((await page.textContent('#fr-state')).trim(), 'basis_confirmed');
  await page.goto(`${url}/fr/external-requests`);
  assert.ok(await page.$(`table#external-requests a[href="${new URL(requestUrl).pathname}"]`), 'the analysis is linked to the outside request');

  // Records officer seals an arrest (FR-02); oversight sees the counts.
  await login(page, url, 'rec.lopez');
  await page.goto(`${url}/fr/gallery`);
  await step(page, 'seal-form', async () => {
    await page.fill('form#seal-form input[name=arrest_id]', 'DEMO-A-0016');
    await page.fill('form#seal-form input[name=reason]', 'sealing order 2026-SO-0042');
  });
  assert.match(await page.textContent('#seal-result'), /1 record\(s\) sealed/);
  await login(page, url, 'iab.walsh');
  await page.goto(`${url}/fr/oversight`);
  assert.ok(Number(await page.textContent('#total-requests')) >= 2);
  assert.match(await page.textContent('#oversight-totals'), /approved by the three officials: [1-9]/);
});
