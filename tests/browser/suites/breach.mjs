// Breach response (EXT-05): a member reports a suspected breach; the Agency Privacy Officer
// records it (the 24-hour clock appears on every page of the privacy staff), records the
// report to the City Chief Privacy Officer and the notification decision and a letter; the
// quarterly summary counts it, with no names.
import assert from 'node:assert/strict';
import { login } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

async function as(context, url, username) {
  const ctx = await context.browser().newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await login(page, url, username);
  return { ctx, page };
}

test('ext_05_breach_from_report_to_quarterly_summary', async ({ page, url, context }) => {
  // 1. Anyone reports a suspicion and gets a reference.
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/breaches/suspect`);
  await page.fill('#suspect-form textarea[name=description]', 'A printout of an arrest photo left on the public counter');
  await submit(page, '#suspect-form button[type=submit]');
  assert.match(await page.textContent('#suspicion-receipt'), /reference/);

  // 2. The Agency Privacy Officer records it as a breach: the clock runs, on every page.
  const apo = await as(context, url, 'apo.singh');
  await apo.page.goto(`${url}/breaches`);
  assert.match(await apo.page.textContent('#breach-clock'), /suspected breach/);
  await submit(apo.page, '#breaches tr:has-text("suspected") a:has-text("Open")');
  const hourAgo = new Date(Date.now() - 3600 * 1000).toISOString().slice(0, 16);
  await apo.page.fill('#record-form textarea[name=what_disclosed]', 'one arrest photograph with name and date of birth');
  await apo.page.fill('#record-form input[name=disclosed_to]', 'members of the public at the counter');
  await apo.page.fill('#record-form input[name=discovered_at]', hourAgo);
  await submit(apo.page, '#record-form button[type=submit]');
  await apo.page.goto(`${url}/holds`);
  assert.match(await apo.page.textContent('#breach-clock'), /left to report to the City Chief Privacy Officer/);
  await apo.page.goBack();

  // 3. The report to the City CPO stops the clock; the notification decision and a letter.
  await submit(apo.page, '#cpo-report-form button[type=submit]');
  assert.match(await apo.page.textContent('#breach'), /Reported to the City CPO/);
  await apo.page.selectOption('#notification-form select[name=decision]', 'risk_of_harm');
  await apo.page.fill('#notification-form textarea[name=reason]', 'identifying data seen by the public');
  await submit(apo.page, '#notification-form button[type=submit]');
  await apo.page.fill('#letter-form input[name=recipient]', 'The person photographed');
  await apo.page.fill('#letter-form input[name=sent_on]', new Date().toISOString().slice(0, 10));
  await submit(apo.page, '#letter-form button[type=submit]');
  assert.match(await apo.page.textContent('#letters'), /The person photographed/);

  // 4. The quarterly summary counts it and names nobody.
  await apo.page.goto(`${url}/breaches`);
  const href = await apo.page.getAttribute('a:has-text("CSV")', 'href');
  const csv = await apo.page.request.get(`${url}${href}`);
  assert.equal(csv.status(), 200);
  const text = await csv.text();
  assert.match(text, /notify_risk_of_harm/);
  assert.doesNotMatch(text, /rivera|singh|photographed/);
  const pdfHref = await apo.page.getAttribute('a:has-text("PDF")', 'href');
  const pdf = await apo.page.request.get(`${url}${pdfHref}`);
  assert.equal(pdf.status(), 200);
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await apo.ctx.close();
});
