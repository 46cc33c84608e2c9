// Accessibility: every page of every demo login, the sign-in page and the second-factor page are
// checked with axe-core at 360, 1280 and 1920 px wide (no violation of impact serious or critical),
// every form lays out without overlap at the same widths
// (screenshots are saved to a temporary folder, its path printed), and a workflow is done with the
// keyboard alone.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoLogins, login } from '../lib.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [360, 1280, 1920];

export const tests = [];
const test = (name, fn) => tests.push({ name, fn });

// A path's shape: numbers, case numbers, usernames and other identifiers become `*`, so one page of
// each kind is visited per person.
const SHAPES = [
  [/^\/cases\/[^/]+$/, '/cases/*'],
  [/^\/cases\/[^/]+\/evidence$/, '/cases/*/evidence'],
  [/^\/cases\/[^/]+\/evidence\/[^/]+$/, '/cases/*/evidence/*'],
  [/^\/cases\/[^/]+\/fr\/new$/, '/cases/*/fr/new'],
  [/^\/fr\/requests\/[^/]+$/, '/fr/requests/*'],
  [/^\/fr\/requests\/[^/]+\/compare\/[^/]+$/, '/fr/requests/*/compare/*'],
  [/^\/fr\/requests\/[^/]+\/report$/, '/fr/requests/*/report'],
  [/^\/admin\/users\/[^/]+$/, '/admin/users/*'],
  [/^\/breaches\/\d+$/, '/breaches/*'],
  [/^\/misuse\/[^/]+$/, '/misuse/*'],
  [/^\/foil\/requests\/[^/]+$/, '/foil/requests/*'],
  [/^\/policy\/[^/]+$/, '/policy/*'],
  [/^\/policy\/[^/]+\/diff$/, '/policy/*/diff'],
  [/^\/thermal\/live\/[^/]+$/, '/thermal/live/*'],
  [/^\/thermal\/robot$/, '/thermal/robot'],
  [/^\/account\/second-factor$/, '/account/second-factor'],
  [/^\/foil\/request$/, '/foil/request'],
];
const shapeOf = (path) => SHAPES.find(([re]) => re.test(path))?.[1];

async function axe(page) {
  // The page's Content-Security-Policy allows no inline script, so a script tag would be refused: the
  // file from node_modules is evaluated through the DevTools protocol instead, with the policy on.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

// Every visible control and label of each form whose box intersects another's (a label and the control
// it wraps are one), and every one reaching past the right edge of the window.
async function overlaps(page) {
  return page.evaluate(() => {
    const found = [];
    const name = (el) => {
      const id = el.id ? `#${el.id}` : '';
      const n = el.getAttribute('name') ? `[name=${el.getAttribute('name')}]` : '';
      const text = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 30);
      return `${el.tagName.toLowerCase()}${id}${n}${text ? ` "${text}"` : ''}`;
    };
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1) {
      const wide = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > width + 1 && el.checkVisibility())
        .filter((el, _, all) => !all.includes(el.parentElement)).slice(0, 3).map(name);
      found.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${width} px window: ${wide.join(', ')}`);
    }
    for (const el of document.querySelectorAll('header a, header button, header input')) {
      const r = el.getBoundingClientRect();
      if (el.checkVisibility() && r.right > width + 1) found.push(`header: ${name(el)} reaches ${Math.round(r.right)} px, past the window's ${width} px`);
    }
    document.querySelectorAll('form').forEach((form, f) => {
      const els = [...form.querySelectorAll('input:not([type=hidden]), select, textarea, button, label')]
        .filter((el) => el.checkVisibility() && el.getBoundingClientRect().width > 0);
      const boxes = els.map((el) => el.getBoundingClientRect());
      for (let i = 0; i < els.length; i++) {
        const a = boxes[i];
        if (a.right > width + 1 && !els[i].closest('table')) found.push(`form ${f} (${form.id || form.action}): ${name(els[i])} reaches ${Math.round(a.right)} px, past the window's ${width} px`);
        for (let j = i + 1; j < els.length; j++) {
          if (els[i].contains(els[j]) || els[j].contains(els[i])) continue;
          if (els[i].tagName === 'LABEL' && els[i].control === els[j]) continue;
          if (els[j].tagName === 'LABEL' && els[j].control === els[i]) continue;
          const b = boxes[j];
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1) found.push(`form ${f} (${form.id || form.action}): ${name(els[i])} overlaps ${name(els[j])}`);
        }
      }
    });
    return found;
  });
}

// Visits the person's navigation and one page of each kind linked from there (and one level on).
async function pagesOf(page, url) {
  await page.goto(`${url}/`);
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => new URL(a.href).pathname));
  const pages = [...new Set(['/', ...nav])];
  const seen = new Set(pages);
  const shapes = new Set();
  return { nav, pages, seen, shapes };
}

async function detailLinks(page, url, seen, shapes) {
  const links = await page.$$eval('main a[href]', (as) => as.map((a) => a.href));
  const out = [];
  for (const href of links) {
    const u = new URL(href);
    if (u.origin !== new URL(url).origin) continue;
    const shape = shapeOf(u.pathname);
    if (!shape || shapes.has(shape) || seen.has(u.pathname)) continue;
    shapes.add(shape);
    seen.add(u.pathname);
    out.push(u.pathname + u.search);
  }
  return out;
}

const hasForm = (page) => page.evaluate(() => [...document.querySelectorAll('main form')].some((f) => f.querySelector('input:not([type=hidden]), select, textarea')));

test('every_page_of_every_role_has_no_serious_or_critical_axe_violation_and_no_overlapping_form', async ({ page, url, context, demoOutput }) => {
  const logins = demoLogins(demoOutput);
  assert.ok(logins.length >= 20, `the demo logins: ${logins}`);
  const shots = mkdtempSync(join(tmpdir(), 'probity-layout-'));
  console.log(`     screenshots at ${WIDTHS.join(', ')} px: ${shots}`);
  const violations = [];
  const layout = [];
  const structure = [];
  const shot = new Set();
  let visited = 0;
  // The page now shown: its frame, axe-core at every width, and its forms' layout at every width.
  const inspect = async (who, path) => {
    visited++;
    await page.setViewportSize({ width: 1280, height: 800 });
    // Folded sections (details) are opened, so the forms inside them are checked too.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    const frame = await page.evaluate(() => ({
      lang: document.documentElement.lang,
      h1: document.querySelectorAll('h1').length,
      main: document.querySelectorAll('main, [role=main]').length,
      skip: !!document.querySelector('a.skip-link[href="#main"]') && !!document.getElementById('main'),
    }));
    if (frame.lang !== 'en' || frame.h1 !== 1 || frame.main !== 1 || !frame.skip) structure.push(`${who} ${path}: ${JSON.stringify(frame)} (want lang en, one h1, one main, a skip link to it)`);
    const form = await hasForm(page);
    const kind = shapeOf(new URL(`${url}${path}`).pathname) ?? path;
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      for (const v of await axe(page)) violations.push({ who, path: `${path} at ${width} px`, ...v });
      if (!form) continue;
      for (const o of await overlaps(page)) layout.push(`${who} ${path} at ${width} px: ${o}`);
      if (!shot.has(`${kind}@${width}`)) {
        shot.add(`${kind}@${width}`);
        const file = `${kind.replace(/^\//, '').replace(/[/*]+/g, '_') || 'home'}-${who.replace(/[^\w.-]+/g, '_')}-${width}.png`;
        await page.screenshot({ path: join(shots, file), fullPage: true });
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  };
  const check = async (who, path) => {
    const r = await page.goto(`${url}${path}`);
    if (!r || r.status() >= 400 || !(r.headers()['content-type'] ?? '').includes('text/html')) return;
    await inspect(who, path);
  };
  // Signed out: the sign-in page and the public FOIL form.
  await check('(signed out)', '/login');
  await check('(signed out)', '/foil/request');
  // The second-factor page: a sign-in from outside the local networks reaches it after the
  // password; here the browser is local, so the page is reached as after a code for a sign-in
  // that has lapsed (the form posted with the sign-in page's CSRF token), which shows the same
  // form with its error.
  await page.goto(`${url}/login`);
  await Promise.all([
    page.waitForNavigation(),
    page.evaluate(() => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = '/login/totp';
      for (const [n, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['pending', 'lapsed-sign-in'], ['code', '000000']]) {
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = n;
        i.value = v;
        f.append(i);
      }
      document.body.append(f);
      f.submit();
    }),
  ]);
  assert.equal((await page.textContent('h1')).trim(), 'Second factor', await page.textContent('main'));
  assert.ok(await page.$('form[action="/login/totp"] input[name=code]'), 'the code field');
  await inspect('(second factor)', '/login/totp');
  for (const who of logins) {
    await context.clearCookies();
    await login(page, url, who);
    const { pages, seen, shapes } = await pagesOf(page, url);
    const queue = [...pages];
    for (let i = 0; i < queue.length; i++) {
      await check(who, queue[i]);
      if (i < pages.length + 8) queue.push(...(await detailLinks(page, url, seen, shapes)));
    }
    await check(who, '/account/second-factor');
  }
  const byRule = {};
  for (const v of violations) byRule[`${v.id} (${v.impact})`] = (byRule[`${v.id} (${v.impact})`] ?? 0) + 1;
  writeFileSync(join(shots, 'axe-violations.json'), JSON.stringify(violations, null, 1));
  console.log(`     ${visited} pages checked; axe-core violations (pages) by rule: ${JSON.stringify(byRule)}`);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const list = serious.map((v) => `${v.id} (${v.impact}) ${v.who} ${v.path}: ${v.targets.slice(0, 3).join(' | ')}${v.targets.length > 3 ? ` and ${v.targets.length - 3} more` : ''}`);
  const problems = [...new Set(list)].concat([...new Set(layout)], structure);
  writeFileSync(join(shots, 'problems.txt'), problems.join('\n'));
  if (problems.length) console.log(problems.map((p) => `     ${p}`).join('\n'));
  assert.equal(problems.length, 0, `${problems.length} problems (listed above): axe-core found no serious or critical violation, no form control or label overlaps another or leaves the window, every page has one h1, a main landmark and a skip link`);
});

// Presses Tab (Shift+Tab when `back`) until the focused element satisfies `is`, as a keyboard user
// would; fails after `max` presses.
async function tabTo(page, what, is, { max = 80, back = false } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    if (await page.evaluate(is)) return;
  }
  assert.fail(`${what}: not reached with the Tab key`);
}

test('keyboard_only_thermal_authorization_and_live_spot_meter', async ({ page, url }) => {
  await login(page, url, 'lt.moreau');
  await page.goto(`${url}/thermal`);
  const before = await page.locator('#authorizations tbody tr[data-source="robot.demo"]').count();
  // The first Tab reaches the skip link; Enter moves past the header.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => location.hash), '#main');
  // The form, field by field.
  await tabTo(page, 'the source field', () => document.activeElement.name === 'source');
  await page.keyboard.type('robot.demo');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'source_kind');
  for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement.value)) !== 'robot'; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.value), 'robot');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'basis');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement.value), 'public_observation');
  for (const [field, text] of [
    ['risks_to_personnel', 'None: the robot enters first.'],
    ['risks_to_civilians', 'None expected: the building is empty.'],
    ['risks_to_suspects', 'None: observation only.'],
    ['legitimate_purpose', 'Locate a barricaded person before entry.'],
  ]) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.name), field);
    await page.keyboard.type(text);
  }
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'duration_minutes');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('90');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Authorize');
  // The focused control shows a visible focus ring.
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.waitForSelector('#authorizations');
  const rows = page.locator('#authorizations tbody tr[data-source="robot.demo"]');
  assert.equal(await rows.count(), before + 1, `a new robot.demo authorization: ${await page.textContent('main')}`);

  // The live view: the spot meter moves with the arrow keys.
  await page.goto(`${url}/thermal`);
  await tabTo(page, 'the live view of thermal.demo', () => document.activeElement.getAttribute('href')?.startsWith('/thermal/live/thermal.demo'));
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.waitForFunction(() => /^\d+$/.test(document.getElementById('seq').textContent));
  await tabTo(page, 'the picture', () => document.activeElement.id === 'frame');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /at \(\d+, \d+\)/.test(document.getElementById('spot').textContent));
  const centre = await page.textContent('#spot');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((c) => {
    const t = document.getElementById('spot').textContent;
    return /at \(\d+, \d+\)/.test(t) && t.replace(/.* at /, '') !== c.replace(/.* at /, '');
  }, centre);
});
