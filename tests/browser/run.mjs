// Browser tests: a real `probity demo` server (SQLite, TLS with its self-signed certificate) driven
// by Debian's Chromium through playwright-core. Each test is a workflow a user would follow.
//
// Usage: node run.mjs [path/to/probity]   (default: ../../target/debug/probity)

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import assert from 'node:assert/strict';

const here = new URL('.', import.meta.url).pathname;
const binary = resolve(process.argv[2] ?? join(here, '../../target/debug/probity'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'probity-browser-'));
  const port = await freePort();
  const proc = spawn(binary, ['demo', '--data-dir', dir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PROBITY_LOG: 'warn' },
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`probity demo exited early:\n${out}`);
    if (out.includes('URL:')) {
      try {
        const r = await fetch(`${url}/health`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /Password for every demo login/, 'demo prints the logins');
  return { url, dir, proc, output: () => out };
}


// Every suite in suites/ exports `tests`: [{ name, fn({ page, url, context, demoOutput }) }];
// `demoOutput` is what `probity demo` printed (its logins, its seeded work).
const tests = [];
for (const file of readdirSync(join(here, 'suites')).filter((f) => f.endsWith('.mjs')).sort()) {
  const suite = await import(join(here, 'suites', file));
  tests.push(...suite.tests.map((t) => ({ ...t, name: `${file.replace('.mjs', '')}: ${t.name}` })));
}
const only = process.env.PROBITY_BROWSER_ONLY;
const selected = only ? tests.filter((t) => t.name.includes(only)) : tests;

const server = await startServer();
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = 0;
try {
  for (const t of selected) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    try {
      await t.fn({ page, url: server.url, context, demoOutput: server.output() });
      console.log(`ok   ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}\n${e.stack}`);
      await page.screenshot({ path: join(tmpdir(), `probity-${t.name}.png`) }).catch(() => {});
    } finally {
      await context.close();
    }
  }
} finally {
  await browser.close();
  server.proc.kill('SIGTERM');
  rmSync(server.dir, { recursive: true, force: true });
}
if (failed) {
  console.log(`${failed} of ${selected.length} browser tests failed`);
  process.exit(1);
}
console.log(`${selected.length} browser tests passed`);
