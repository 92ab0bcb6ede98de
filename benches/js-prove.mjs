// Chromium benchmark of JS ballot proving in the prover Web Worker (SPEC-E2E appendix A shapes).
//   (cd tests/browser && npm ci) && node benches/js-prove.mjs [runs=7]
// Prints a table: median prove time inside the worker, median round trip seen by the page,
// median main-thread verification, and the largest main-thread frame / 4 ms-timer gap while
// the worker proves. Targets: per_item M=7 ≤ 60 ms, M=30 ≤ 200 ms.
import { createRequire } from "node:module";
import { CHROMIUM_ARGS, ROOT, startStatic } from "../tests/browser/e2e/static.mjs";

const { chromium } = createRequire(`${ROOT}/tests/browser/package.json`)("playwright-core");
const runs = Number(process.argv[2] || 7);
const { server, base } = await startStatic();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  await page.goto(`${base}/benches/js-prove/index.html?runs=${runs}`);
  await page.waitForFunction(() => window.__bench !== undefined, null, { timeout: 600_000, polling: 500 });
  const r = await page.evaluate(() => window.__bench);
  if (r.error) throw new Error(r.error);
  const f = (x) => x.toFixed(1).padStart(8);
  console.log(`${r.userAgent}\nmedian of ${r.runs} runs; K.precompute(8) once: ${r.precomputeMs.toFixed(1)} ms\n`);
  console.log("| shape | branches | bytes | prove (worker) ms | round trip ms | verify (main) ms | max frame gap ms | max 4 ms-timer gap ms |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const x of r.rows) {
    console.log(`| ${x.shape} | ${x.branches} | ${x.bytes} | ${f(x.proveMs)} | ${f(x.roundTripMs)} | ${f(x.verifyMs)} | ${f(x.maxFrameGapMs)} | ${f(x.maxTimerGapMs)} |`);
  }
  console.log(`\nfor contrast, ${r.mainThread.shape} proved on the main thread: max frame gap ${r.mainThread.maxFrameGapMs.toFixed(0)} ms, max timer gap ${r.mainThread.maxTimerGapMs.toFixed(0)} ms`);
} finally {
  await browser.close();
  server.close();
}
