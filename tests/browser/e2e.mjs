// Chromium run of the piaojue-e2e-v2 vector walk (tests/js/walk.mjs) under the appliance's strict
// CSP, plus the tiny election re-proved in the prover Web Worker.
//   cd tests/browser && npm ci && node e2e.mjs        → prints `e2e-browser: N passed, N failed`
// run.mjs can call runE2eBrowser(browser) with its own Browser instead.
import { chromium } from "playwright-core";
import { fileURLToPath } from "node:url";
import { CHROMIUM_ARGS, startStatic } from "./e2e/static.mjs";

/** Runs the walk in a fresh context of `browser`; returns { passed, failed, failures }. */
export async function runE2eBrowser(browser, { timeoutMs = 240_000 } = {}) {
  const { server, base } = await startStatic();
  const host = new URL(base).host;
  const context = await browser.newContext();
  const problems = [];
  try {
    const page = await context.newPage();
    // Nothing may leave 127.0.0.1, and the CSP must never have to block anything.
    await context.route("**/*", (route) => {
      if (new URL(route.request().url()).host !== host) {
        problems.push(`outside request: ${route.request().url()}`);
        return route.abort();
      }
      return route.continue();
    });
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
    });
    await page.goto(`${base}/tests/browser/e2e/index.html`);
    await page.waitForFunction(() => window.__e2e !== undefined, null, { timeout: timeoutMs, polling: 250 });
    const r = await page.evaluate(() => window.__e2e);
    return { passed: r.passed, failed: r.failed + problems.length, failures: [...r.failures, ...problems], ms: r.ms };
  } finally {
    await context.close();
    server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
  let r;
  try {
    r = await runE2eBrowser(browser);
  } finally {
    await browser.close();
  }
  for (const f of r.failures) console.log(`FAIL ${f}`);
  console.log(`(${Math.round(r.ms)} ms in Chromium)`);
  console.log(`e2e-browser: ${r.passed} passed, ${r.failed} failed`);
  process.exit(r.failed === 0 ? 0 : 1);
}
