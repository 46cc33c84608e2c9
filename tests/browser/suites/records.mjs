// Records lifecycle (RET-01, RET-11): a supervisor closes a missing person case and records that
// the person was located; the case is due; the records officer proposes its disposition on the
// records page; the proposer sees no approve button; the records manager approves, and the
// certificate is there as PDF and signed JSON.
import assert from 'node:assert/strict';
import { login } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const CASE = '2026-019-000103';
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

async function as(context, url, username) {
  const ctx = await context.browser().newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await login(page, url, username);
  return { ctx, page };
}

test('ret_11_officer_proposes_manager_approves_disposition', async ({ page, url, context }) => {
  // 1. The command's supervisor closes the case and records the fact the schedule waits for.
  await login(page, url, 'lt.moreau');
  await page.goto(`${url}/cases/${CASE}`);
  await page.selectOption('select[name=closure_reason]', 'no_arrest');
  await submit(page, 'form button:has-text("Close case")');
  assert.match(await page.textContent('dl.facts'), /RET-01/, 'missing person: RET-01');
  const today = new Date().toISOString().slice(0, 10);
  await page.fill('#retention-facts input[name=person_located_on]', today);
  await page.fill('#retention-facts input[name=reason]', 'located by the squad');
  await submit(page, '#retention-facts button[type=submit]');
  assert.equal(await page.inputValue('#retention-facts input[name=person_located_on]'), today);

  // 2. The records officer finds it due and proposes it.
  const officer = await as(context, url, 'rec.lopez');
  await officer.page.goto(`${url}/records`);
  const row = `#due tr[data-record="${CASE}"]`;
  await officer.page.waitForSelector(row);
  assert.match(await officer.page.textContent(row), /RET-01/);
  await submit(officer.page, `${row} form.propose button`);
  const proposal = `#dispositions tr:has-text("${CASE}")`;
  assert.match(await officer.page.textContent(`${proposal} .status`), /proposed/);
  assert.equal(await officer.page.$(`${proposal} form.approve`), null, 'the proposer cannot approve');
  await officer.ctx.close();

  // 3. The records manager approves: executed, certificate available.
  const manager = await as(context, url, 'rm.adeyemi');
  await manager.page.goto(`${url}/records`);
  await submit(manager.page, `${proposal} form.approve button`);
  assert.match(await manager.page.textContent(`${proposal} .status`), /executed by rm\.adeyemi/);
  const href = await manager.page.getAttribute(`${proposal} a:has-text("Certificate (PDF)")`, 'href');
  const pdf = await manager.page.request.get(`${url}${href}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.ok((await pdf.body()).subarray(0, 5).toString() === '%PDF-');
  const json = await manager.page.request.get(`${url}${href.replace('/dispositions/', '/api/dispositions/').replace('.pdf', '')}`);
  const cert = await json.json();
  assert.equal(cert.certificate.rule_id, 'RET-01');
  assert.equal(cert.certificate.proposed_by, 'rec.lopez');
  assert.equal(cert.certificate.approved_by, 'rm.adeyemi');
  await manager.ctx.close();
});
