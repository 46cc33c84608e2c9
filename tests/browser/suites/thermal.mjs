// Thermal workflows: a supervisor authorizes a deployment (TH-05), a source pushes frames through
// the API, and the supervisor watches them live with spot, minimum and maximum (TH-01, TH-03).
import assert from 'node:assert/strict';
import { request } from 'playwright-core';
import { login, PASSWORD } from '../lib.mjs';

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

const W = 32;
const H = 24;
// Linear calibration: °C = raw × 0.01 − 273.15. Background 26.85 °C, a hot square of 36.85 °C.
function frame(shift) {
  const buf = Buffer.alloc(W * H * 2);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const hot = x >= 2 && x < 7 && y >= 2 && y < 7;
      buf.writeUInt16LE((hot ? 31000 : 30000) + shift, (y * W + x) * 2);
    }
  }
  return buf;
}

async function sourceAccount(url, name) {
  const admin = await request.newContext({ baseURL: url, ignoreHTTPSErrors: true });
  const ok = async (r, what) => assert.ok(r.ok(), `${what}: ${r.status()} ${await r.text()}`);
  await ok(await admin.post('/api/session', { data: { username: 'admin', password: PASSWORD } }), 'admin signs in');
  const today = new Date().toISOString().slice(0, 10);
  await ok(await admin.post('/api/users', {
    data: { username: name, display_name: `Thermal source ${name}`, rank: 'civilian', command: 'PCT-019', kind: 'service' },
  }), 'create source account');
  await ok(await admin.post(`/api/users/${name}/assignments`, { data: { role: 'investigator', command: 'PCT-019', starts: today } }), 'assign');
  await ok(await admin.post(`/api/users/${name}/training`, { data: { course: 'thermographic_cameras', completed: today } }), 'train');
  const t = await admin.post(`/api/users/${name}/tokens`, { data: { label: 'browser test relay' } });
  await ok(t, 'token');
  const { token } = await t.json();
  await admin.dispose();
  return request.newContext({ baseURL: url, ignoreHTTPSErrors: true, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
}

const push = (src, name, shift) =>
  src.post(`/api/thermal/live/${name}/frames?width=${W}&height=${H}&scale=0.01&offset=-273.15`, {
    headers: { 'content-type': 'application/x-thermal-raw16' },
    data: frame(shift),
  });

test('th_05_th_03_authorize_then_watch_live_frames', async ({ page, url }) => {
  const name = 'relay.browser';
  const src = await sourceAccount(url, name);
  try {
    // Before any authorization the source is refused, and told why.
    const refused = await push(src, name, 0);
    assert.equal(refused.status(), 403);
    const problem = await refused.json();
    assert.equal(problem.rule, 'TH-05');
    assert.match(problem.detail, /no deployment authorization/);

    // The supervisor authorizes the deployment on the page.
    await login(page, url, 'lt.moreau');
    await page.click('header nav a:has-text("Thermal")');
    await page.fill('input[name=source]', name);
    await page.selectOption('select[name=source_kind]', 'wireless');
    await page.selectOption('select[name=basis]', 'public_observation');
    await page.fill('textarea[name=risks_to_personnel]', 'none beyond routine patrol');
    await page.fill('textarea[name=risks_to_civilians]', 'crowd at the plaza');
    await page.fill('textarea[name=risks_to_suspects]', 'none identified');
    await page.fill('textarea[name=legitimate_purpose]', 'locate a missing child in the park');
    await Promise.all([page.waitForNavigation(), page.click('#authorize-form button[type=submit]')]);
    assert.match(await page.textContent(`tr[data-source="${name}"] .status`), /in force/);

    // The source pushes; the live view shows the frames with spot, minimum and maximum.
    assert.equal((await push(src, name, 0)).status(), 202);
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-source="${name}"] a:has-text("Live view")`)]);
    await page.waitForFunction(() => /^\d+$/.test(document.getElementById('seq').textContent));
    const first = Number(await page.textContent('#seq'));
    assert.match(await page.getAttribute('#frame', 'src'), /^data:image\/jpeg;base64,/);
    assert.match(await page.textContent('#max'), /36\.[89] °C/);
    assert.match(await page.textContent('#min'), /26\.[89] °C/);
    assert.match(await page.textContent('#spot'), /26\.[89] °C at \(16, 12\)/, 'spot starts at the centre');

    // A click on the hot square moves the spot meter there.
    const box = await page.locator('#frame').boundingBox();
    await page.click('#frame', { position: { x: (box.width * 4.5) / W, y: (box.height * 4.5) / H } });
    await page.waitForFunction(() => /at \(4, 4\)/.test(document.getElementById('spot').textContent));
    assert.match(await page.textContent('#spot'), /36\.[89] °C at \(4, 4\)/);

    // The next frame follows, with the spot kept where it was set.
    assert.equal((await push(src, name, 100)).status(), 202);
    await page.waitForFunction((n) => Number(document.getElementById('seq').textContent) > n, first);
    await page.waitForFunction(() => /37\.[89] °C at \(4, 4\)/.test(document.getElementById('spot').textContent));

    // The source ends the session.
    assert.equal((await src.delete(`/api/thermal/live/${name}`)).status(), 204);
  } finally {
    await src.dispose();
  }
});

test('th_05_investigator_cannot_authorize', async ({ page, url }) => {
  await login(page, url, 'det.rivera');
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => a.textContent.trim()));
  assert.ok(!nav.includes('Thermal'), `only supervisors see the authorizations page: ${nav}`);
  await page.goto(`${url}/thermal`);
  assert.match(await page.textContent('main'), /rule/i, 'a refused page names the rule');
});
