// The home page's worklist: the Agency Privacy Officer signs in and finds, under "Waiting for you",
// a breach recorded an hour ago with its 24-hour deadline (EXT-05), linking to the breach's page;
// the navigation counts it beside Home and Breaches. Once the report to the City Chief Privacy
// Officer is recorded, the item is gone. An investigator's home page does not show it. The test
// creates what it needs, so it does not depend on the demonstration data's counts.
import assert from 'node:assert/strict';
import { request } from 'playwright-core';
import { login, PASSWORD } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function api(url, username) {
  const ctx = await request.newContext({ baseURL: url, ignoreHTTPSErrors: true });
  const r = await ctx.post('/api/session', { data: { username, password: PASSWORD } });
  assert.ok(r.ok(), `${username} signs in: ${r.status()} ${await r.text()}`);
  return ctx;
}

const count = async (locator) => Number((await locator.textContent())?.trim() ?? '0');

test('home_worklist_shows_waiting_items_and_nav_counts', async ({ page, url, context }) => {
  const apo = await api(url, 'apo.singh');
  const discovered = new Date(Date.now() - 3600 * 1000).toISOString();
  const r = await apo.post('/api/breaches', {
    data: { kind: 'misdirected', what_disclosed: 'a browser-test arrest report', disclosed_to: 'the wrong agency', discovered_at: discovered },
  });
  assert.equal(r.status(), 201, await r.text());
  const breach = (await r.json()).id;

  await login(page, url, 'apo.singh');
  await page.goto(`${url}/`);
  const worklist = page.locator('#worklist');
  await worklist.waitFor();
  const item = worklist.locator(`li.worklist-item[data-record="${breach}"][data-kind="breach.cpo_report"]`);
  await item.waitFor();
  assert.match(await item.textContent(), /EXT-05/);
  assert.match(await item.textContent(), /due .*left/);
  assert.equal(await item.locator('a').getAttribute('href'), `/breaches/${breach}`);
  const group = worklist.locator('.worklist-group[data-group="breaches"] h3 .nav-count');
  assert.ok((await count(group)) >= 1);

  // The navigation counts it: beside Home (everything) and beside Breaches.
  const home = page.locator('header nav a[href="/"] .nav-count');
  const breaches = page.locator('header nav a[href="/breaches"] .nav-count');
  assert.ok((await count(home)) >= (await count(breaches)));
  assert.ok((await count(breaches)) >= 1);
  const before = await count(breaches);

  // The link opens the page where the officer acts.
  await Promise.all([page.waitForNavigation(), item.locator('a').click()]);
  assert.ok(page.url().endsWith(`/breaches/${breach}`), page.url());

  // Reported: gone from the worklist, and the count drops.
  const rep = await apo.post(`/api/breaches/${breach}/cpo-report`, { data: { method: 'telephone', note: 'browser test' } });
  assert.ok(rep.ok(), await rep.text());
  await page.goto(`${url}/`);
  await worklist.waitFor();
  assert.equal(await worklist.locator(`li.worklist-item[data-record="${breach}"][data-kind="breach.cpo_report"]`).count(), 0);
  const after = (await breaches.count()) ? await count(breaches) : 0;
  assert.ok(after <= before, `${after} <= ${before}`);
  await apo.dispose();

  // An investigator is not waited on for it.
  const ctx = await context.browser().newContext({ ignoreHTTPSErrors: true });
  const other = await ctx.newPage();
  await login(other, url, 'det.rivera');
  await other.goto(`${url}/`);
  await other.locator('#worklist').waitFor();
  assert.equal(await other.locator(`#worklist [data-record="${breach}"]`).count(), 0);
  await ctx.close();
});
