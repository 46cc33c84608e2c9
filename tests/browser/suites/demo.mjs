// The demonstration is in motion: `probity demo` seeds work in progress for each role. The FR
// investigator finds requests waiting in the queue; the supervisor finds a thermal deployment in
// force, watches the demo source's live view move, and sees the robot's retained frames.
import assert from 'node:assert/strict';
import { login } from '../lib.mjs';

// The demo server starts after the suites are loaded: ask it for the demonstration photo repository,
// so requests in every state of the workflow are seeded.
process.env.PROBITY_DEMO_GALLERY ??= '1';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('demo_fr_investigator_finds_requests_in_every_state', async ({ page, url }) => {
  await login(page, url, 'fri.chen');
  await page.goto(`${url}/fr`);
  const states = await page.$$eval('table.fr-queue tbody td.status', (tds) => tds.map((td) => td.textContent.trim()));
  for (const s of ['submitted', 'returned_unsuitable', 'searched', 'identification', 'peer_review', 'approved_possible_match', 'negative']) {
    assert.ok(states.some((t) => t.startsWith(s)), `a ${s} request in the queue: ${states}`);
  }
  // The searched request opens with its candidate pool.
  const row = page.locator('table.fr-queue tbody tr', { hasText: 'searched' }).first();
  await Promise.all([page.waitForNavigation(), row.locator('a').first().click()]);
  assert.equal((await page.textContent('#fr-state')).trim(), 'searched');
  await page.waitForSelector('table#candidates tbody tr');
});

test('demo_thermal_supervisor_sees_a_deployment_in_force_and_a_moving_live_view', async ({ page, url }) => {
  await login(page, url, 'lt.moreau');
  await page.click('header nav a:has-text("Thermal")');
  const rows = page.locator('tr[data-source="thermal.demo"]');
  const statuses = await rows.locator('.status').allTextContents();
  assert.ok(statuses.some((s) => /in force/.test(s)), `a deployment in force: ${statuses}`);
  assert.ok(statuses.some((s) => /expired/.test(s)), `an expired one: ${statuses}`);
  const live = rows.filter({ hasText: 'in force' }).first();
  await Promise.all([page.waitForNavigation(), live.locator('a:has-text("Live view")').click()]);
  await page.waitForFunction(() => /^\d+$/.test(document.getElementById('seq').textContent));
  const first = Number(await page.textContent('#seq'));
  await page.waitForFunction((n) => Number(document.getElementById('seq').textContent) > n, first);
  assert.match(await page.textContent('#max'), /°C/);

  await page.goto(`${url}/thermal/robot`);
  const robot = await page.$$eval('#robot-frames tbody tr', (trs) => trs.filter((tr) => tr.textContent.includes('robot.demo')).length);
  assert.ok(robot >= 4, `the robot's frames of different ages: ${robot}`);
});
