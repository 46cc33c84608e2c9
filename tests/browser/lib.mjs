// Helpers shared by the browser test suites.
export const PASSWORD = 'demo-password-2026';

export async function login(page, url, username) {
  await page.goto(`${url}/login`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

// The demo logins `probity demo` printed: the indented lines after "Password for every demo login".
export function demoLogins(demoOutput) {
  const lines = demoOutput.split('\n');
  const start = lines.findIndex((l) => l.includes('Password for every demo login'));
  const logins = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ {4}(\S+)\s/.exec(l);
    if (!m) break;
    logins.push(m[1]);
  }
  return logins;
}

// Whether an image loads. Lazy and asynchronously decoded images are not waited for by the page's
// load event, so the image is brought into view and awaited until it has loaded or failed.
export async function imageLoads(locator) {
  await locator.scrollIntoViewIfNeeded();
  return locator.evaluate(
    (i) =>
      new Promise((resolve) => {
        const settle = () => resolve(i.complete && i.naturalWidth > 0);
        if (i.complete) settle();
        else {
          i.addEventListener('load', settle, { once: true });
          i.addEventListener('error', settle, { once: true });
        }
      }),
  );
}
