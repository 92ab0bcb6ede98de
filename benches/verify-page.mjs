// The verify page on a large encrypted bundle, in Chromium (issue 15's target: a deputy's own
// ballot, the list hash, the totals, the partial decryptions and the result within 10 s; every
// ballot's proofs on request, reported). Run against an appliance that has announced an
// encrypted vote, e.g. after `piaojue loadtest --encrypted --tablets 3000`:
//   node benches/verify-page.mjs http://127.0.0.1:PORT VOTE [TRACKER_HEX]
// (playwright-core from tests/browser/node_modules; Chromium at $CHROMIUM or /usr/bin/chromium).
import { createRequire } from "node:module";
const require = createRequire(new URL("../tests/browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [base, vote, tracker] = process.argv.slice(2);
if (!base || !vote) {
  console.error("usage: node benches/verify-page.mjs BASE_URL VOTE [TRACKER_HEX]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: "zh-CN" })).newPage();
await page.goto(base + "/verify");
await page.waitForFunction((v) => [...document.querySelectorAll("#vote option")].some((o) => o.value === v), vote);
await page.selectOption("#vote", vote);
if (tracker) await page.fill("#tracker", tracker);
let t0 = Date.now();
await page.click("#verify-vote");
await page.waitForSelector("#verdict", { timeout: 600000 });
const fast = Date.now() - t0;
const verdict = (await page.textContent("#verdict")).trim();
const found = tracker ? (await page.$("#tracker-position")) !== null : null;
t0 = Date.now();
await page.click("#verify-all");
await page.waitForFunction(() => {
  const v = document.querySelector("#verdict");
  return v && !document.querySelector("#full-progress") && !/快速/.test(v.textContent);
}, null, { timeout: 1800000, polling: 500 });
const full = Date.now() - t0;
const fullVerdict = (await page.textContent("#verdict")).trim();
console.log(JSON.stringify({ fast_ms: fast, verdict, tracker_found: found, full_ms: full, full_verdict: fullVerdict }));
await browser.close();
