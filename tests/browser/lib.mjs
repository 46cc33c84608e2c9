// Helpers shared by the browser test suites.
export const PASSWORD = 'demo-password-2026';

export async function login(page, url, username) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}
