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

// Every demo login's home page: the items listed add up to the count shown, every item's link
// opens a page (never an error), and the people the demonstration data gives work to see it:
// the FR investigator a request to work, the supervisor a camera overdue for inspection, the
// records officer a public records request with its deadline.
test('home_page_of_every_demo_role_lists_its_work_with_working_links', async ({ url, context, demoOutput }) => {
  const { demoLogins } = await import('../lib.mjs');
  const browser = context.browser();
  const logins = demoLogins(demoOutput);
  assert.ok(logins.length >= 10, `demo logins: ${logins.join(', ')}`);
  const expected = { 'fri.chen': 'fr', 'lt.moreau': 'evidence', 'rec.lopez': 'foil' };
  for (const username of logins) {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await login(page, url, username);
    const r = await page.goto(`${url}/`);
    assert.equal(r.status(), 200, `${username}: home page`);
    const items = page.locator('#worklist li.worklist-item');
    const n = await items.count();
    const heading = page.locator('#worklist h2 .nav-count');
    const shown = (await heading.count()) ? await count(heading) : 0;
    assert.equal(n, shown, `${username}: ${n} items listed, ${shown} counted`);
    for (const g of await page.locator('#worklist .worklist-group').all()) {
      const listed = await g.locator('li.worklist-item').count();
      assert.equal(listed, await count(g.locator('h3 .nav-count')), `${username}: group count`);
    }
    if (expected[username]) {
      const group = page.locator(`#worklist .worklist-group[data-group="${expected[username]}"] li.worklist-item`);
      assert.ok((await group.count()) >= 1, `${username} has ${expected[username]} work in the demo`);
    }
    const links = [...new Set(await items.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))))];
    for (const href of links.slice(0, 12)) {
      const res = await page.goto(`${url}${href}`);
      assert.equal(res.status(), 200, `${username}: ${href} opens`);
      assert.equal(await page.locator('main h1').count(), 1, `${username}: ${href} is a page`);
    }
    await ctx.close();
  }
});
