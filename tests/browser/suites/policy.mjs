// Published policy (OVR-02): any signed-in person reads a pack's rules beside the Cedar that
// enforces them; the Agency Privacy Officer proposes a revision on the pack's page, the policy
// owner approves it, and an investigator reads the history and the diff of the change.
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

test('ovr_02_pack_history_and_diff_in_the_browser', async ({ page, url, context }) => {
  // 1. An investigator reads the thermal pack: TH-05 in plain language beside its Cedar.
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/policy`);
  await submit(page, '#packs a:has-text("Thermographic")');
  assert.match(await page.textContent('#rule-TH-05 .rule-text'), /supervisor authorizes each deployment/i);
  assert.ok((await page.$$('#rule-TH-05 pre.cedar')).length > 0, 'TH-05 has its Cedar beside it');
  assert.equal(await page.$('#revision-form'), null, 'an investigator proposes nothing');
  const before = (await page.$$('#revisions tbody tr')).length;

  // 2. The Agency Privacy Officer proposes a revision with the form.
  const apo = await as(context, url, 'apo.singh');
  await apo.page.goto(`${url}/policy/thermographic-cameras`);
  await apo.page.click('summary:has-text("Propose a revision")');
  const toml = await apo.page.inputValue('#revision-form textarea[name=pack_toml]');
  const version = toml.match(/version = "([^"]+)"/)[1];
  const effective = toml.match(/effective = (\d{4}-\d{2}-\d{2})/)[1];
  const revised = toml
    .replace(`version = "${version}"`, 'version = "2026.12.31"')
    .replace(`effective = ${effective}`, 'effective = 2026-12-31')
    .replace('[[roles]]', '[[revisions]]\ndate = 2026-12-31\nkind = "revision"\ndescription = "Clarifies the robot pilot reporting line."\n\n[[roles]]');
  await apo.page.fill('#revision-form textarea[name=pack_toml]', revised);
  await apo.page.fill('#revision-form input[name=reason]', 'annual review');
  await submit(apo.page, '#revision-form button[type=submit]');
  const row = '#revisions tr[data-version="2026.12.31"]';
  assert.match(await apo.page.textContent(`${row} td.status`), /proposed/);
  assert.equal(await apo.page.$(`${row} form.decision`), null, 'the proposer has no decision form');
  await apo.ctx.close();

  // 3. The policy owner approves it, in force now.
  const owner = await as(context, url, 'po.okafor');
  await owner.page.goto(`${url}/policy/thermographic-cameras`);
  await owner.page.fill(`${row} form.decision input[name=reason]`, 'reviewed');
  await submit(owner.page, `${row} form.decision button[value=approve]`);
  assert.match(await owner.page.textContent(`${row} td.status`), /in_force/);
  await owner.ctx.close();

  // 4. The investigator sees the new version, the history and the diff of the change.
  await page.goto(`${url}/policy/thermographic-cameras`);
  assert.match(await page.textContent('#version'), /2026\.12\.31/);
  assert.equal((await page.$$('#revisions tbody tr')).length, before + 1);
  await submit(page, `${row} a:has-text("diff")`);
  assert.match(await page.textContent('#diff-summary'), /to version 2026\.12\.31/);
  const added = await page.$$eval('pre.diff[data-part=TOML] ins', (els) => els.map((e) => e.textContent));
  assert.ok(added.some((t) => t.includes('Clarifies the robot pilot reporting line.')), added.join('\n'));
  assert.ok(added.some((t) => t.includes('version = "2026.12.31"')), added.join('\n'));
});

test('ovr_02_audit_trail_names_the_revision_that_decided', async ({ page, url, context }) => {
  // An investigator reads a case of theirs: an audited read, decided by a rule of a pack.
  await login(page, url, 'det.rivera');
  await page.goto(`${url}/cases/2026-019-000101`);
  // The auditor's trail shows the rule and the pack revision beside the entry...
  const auditor = await as(context, url, 'iab.walsh');
  await auditor.page.goto(`${url}/audit?actor=user:det.rivera&action=case.read`);
  const cell = auditor.page.locator('td.decided-by').filter({ has: auditor.page.locator('a.policy-revision') }).first();
  assert.match(await cell.textContent(), /version/);
  const link = cell.locator('a.policy-revision');
  const href = await link.getAttribute('href');
  assert.match(href, /^\/policy\/[a-z-]+#rev-[0-9a-f-]{36}$/, href);
  // ...and the link opens that revision in the pack's history.
  await Promise.all([auditor.page.waitForNavigation(), link.click()]);
  const id = href.split('#rev-')[1];
  assert.ok(await auditor.page.$(`#revisions tr#rev-${id}`), `revision ${id} is in the history`);
  await auditor.ctx.close();
});
