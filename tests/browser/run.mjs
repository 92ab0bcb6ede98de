// Page tests: the real appliance binary, Debian's Chromium driven by playwright-core.
// Prints `browser: N passed, N failed` and exits non-zero when any test fails.
// Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, else to a temp directory.
import { chromium } from "playwright-core";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { runE2eBrowser } from "./e2e.mjs";
import { message, DOMAIN } from "../../src/web/assets/sig.js";
import { signHex, torsionSignatureHex } from "../js/forge.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const BIN = process.env.PIAOJUE_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "piaojue");
const shots = process.env.UPDATE_SCREENSHOTS ? join(root, "docs", "screenshots") : mkdtempSync(join(tmpdir(), "piaojue-shots-"));
mkdirSync(shots, { recursive: true });

function startServer(data, deputies) {
  return new Promise((resolve, reject) => {
    const proc = spawn(BIN, ["serve", "--demo", "--demo-deputies", String(deputies), "--data", data, "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening:\s+(http:\/\/\S+)/);
      if (m) resolve({ base: m[1], proc });
    });
    proc.stderr.on("data", () => {});
    proc.on("exit", (code) => reject(new Error("server exited " + code + ": " + out)));
  });
}

const data = join(mkdtempSync(join(tmpdir(), "piaojue-browser-")), "data");
const { base, proc } = await startServer(data, 30);
const host = new URL(base).host;
const passphrase = readFileSync(join(data, "demo", "operator-passphrase"), "utf8").trim();
// codes.csv is RFC 4180 CSV (the csv crate writes it): quoted fields may hold commas and quotes.
const codes = readFileSync(join(data, "demo", "codes.csv"), "utf8").trim().split(/\r?\n/).slice(1).map((l) => [...l.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)].map((m) => m[1] !== undefined ? m[1].replaceAll('""', '"') : m[2]));

// The operator, from Node, for set-up steps the tests are not about.
let cookie = "";
async function op(method, path, body) {
  const res = await fetch(base + path, { method, headers: { "Content-Type": "application/json", Cookie: cookie }, body: body ? JSON.stringify(body) : undefined });
  if (path === "/api/operator/login") cookie = res.headers.get("set-cookie").split(";")[0];
  const json = await res.json();
  if (!res.ok) throw new Error(path + ": " + JSON.stringify(json));
  return json;
}
await op("POST", "/api/operator/login", { passphrase });
const session = await (await fetch(base + "/api/public/session")).json();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const problems = [];
/** A fresh page that records every request to another host, every console error and every failed request. */
async function newPage(viewport) {
  const context = await browser.newContext({ viewport, locale: "zh-CN" });
  const page = await context.newPage();
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol.startsWith("http") && u.host !== host) problems.push("request left the appliance: " + r.url());
  });
  page.on("console", (m) => { if (m.type() === "error") page.__errors.push(m.text()); });
  page.on("pageerror", (e) => page.__errors.push(String(e)));
  page.on("requestfailed", (r) => { if (!r.url().includes("/api/events")) page.__errors.push("failed: " + r.url()); });
  page.on("dialog", (d) => d.accept(page.__reply || ""));
  page.__errors = [];
  return page;
}
async function goto(page, path) {
  const res = await page.goto(base + path);
  const csp = res.headers()["content-security-policy"] || "";
  assert.ok(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), "strict CSP on " + path);
  return res;
}
function clean(page, allowed = []) {
  const errors = page.__errors.filter((e) => !allowed.some((a) => e.includes(a)));
  assert.deepEqual(errors, [], "no console errors");
}
const text = (page, sel) => page.locator(sel).innerText();

const tests = [];
const test = (name, fn) => tests.push([name, fn]);

let receiptCode = null;

test("a deputy enrols from the QR URL, votes a 7→5 票决 (the 6th 赞成 is refused) and gets a verified receipt", async () => {
  await op("POST", "/api/operator/demo/checkin", {});
  await op("POST", "/api/operator/votes/v1/open", {});
  const [id, name, code] = codes[0];
  const page = await newPage({ width: 800, height: 1280 });
  await goto(page, "/tablet#code=" + code + "&fp=" + session.fingerprint);
  await page.waitForSelector("#deputy-name");
  assert.equal(await text(page, "#deputy-name"), name);
  const choice = (i, j) => page.locator(`button[data-item="${i}"][data-option="${j}"]`);
  await choice(0, 0).waitFor();
  for (let i = 0; i < 5; i++) await choice(i, 0).click();
  assert.equal(await text(page, "#counter"), "已选赞成 5/5");
  await choice(5, 0).click();
  assert.match(await text(page, "#limit"), /最多只能对5个项目投赞成票/);
  assert.equal(await choice(5, 0).getAttribute("aria-pressed"), "false");
  await choice(5, 1).click();
  await choice(6, 2).click();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "tablet.png"), fullPage: false });
  await page.click("#next");
  await page.click("#confirm");
  await page.waitForSelector("#receipt-code");
  receiptCode = (await text(page, "#receipt-code")).trim();
  assert.match(receiptCode, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  assert.match(await text(page, "#receipt-verified"), /回执签名已验证/);
  await page.screenshot({ path: join(shots, "tablet-receipt.png") });
  clean(page);
  void id;
});

test("the tablet refuses a ballot signed by another key", async () => {
  const [, , code] = codes[1];
  const page = await newPage({ width: 800, height: 1280 });
  await page.route("**/api/tablet/votes/*/ballot", async (route) => {
    const res = await route.fetch();
    const json = await res.json();
    // Someone between the appliance and the tablet changes the ballot but cannot re-sign it.
    json.body = json.body.replace("城区中小学扩容工程", "某某工程");
    await route.fulfill({ response: res, json });
  });
  await goto(page, "/tablet#code=" + code + "&fp=" + session.fingerprint);
  await page.waitForSelector("#alarm");
  assert.match(await text(page, "#alarm"), /选票签名验证失败/);
  assert.equal(await page.locator("button[data-item]").count(), 0, "no ballot is shown");
  clean(page);
});

test("a tablet pinned to another key refuses the appliance, and a wrong code is explained", async () => {
  const [, , code] = codes[2];
  const page = await newPage({ width: 800, height: 1280 });
  await goto(page, "/tablet#code=" + code + "&fp=" + "00".repeat(32));
  await page.waitForSelector("#alarm");
  assert.match(await text(page, "#alarm"), /设备指纹不符/);
  const page2 = await newPage({ width: 800, height: 1280 });
  await goto(page2, "/tablet#code=AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH&fp=" + session.fingerprint);
  await page2.waitForSelector("[role=alert]");
  assert.match(await text(page2, "[role=alert]"), /登记码无效或已使用/);
  clean(page, ["401"]);
  clean(page2, ["401"]);
});

test("the secretariat runs a vote from the console: open, simulated deputies, close, tally, announce", async () => {
  const page = await newPage({ width: 1366, height: 900 });
  await goto(page, "/console");
  await page.fill("#passphrase", passphrase);
  await page.click("#login");
  await page.waitForSelector("#seated");
  assert.equal(await text(page, "#seated"), "30");
  assert.equal(await text(page, "#present"), "30");
  await page.click("#open-v3");
  await page.waitForFunction(() => document.querySelector("#vote-v3 .state")?.textContent.includes("表决中"));
  await page.click("#simulate-v3");
  await page.waitForFunction(() => document.querySelector("#flash")?.textContent.includes("模拟投票"));
  await page.click("#close-v3");
  await page.waitForFunction(() => document.querySelector("#vote-v3 .state")?.textContent.includes("已结束"));
  await page.click("#tally-v3");
  await page.waitForSelector("#announcement");
  assert.match(await text(page, "#announcement"), /^应到代表30名，实到30名。赞成\d+票，反对\d+票，弃权\d+票，未按表决器\d+名。(通过|未通过)。$/);
  await page.click("#announce-v3");
  await page.waitForFunction(() => document.querySelector("#vote-v3 .state")?.textContent.includes("已宣布"));
  // The 票决 the tablet voted in: the others vote, then it closes and is announced.
  await page.click("#simulate-v1");
  await page.waitForFunction(() => document.querySelector("#flash")?.textContent.includes("模拟投票"));
  await page.click("#close-v1");
  await page.waitForFunction(() => document.querySelector("#vote-v1 .state")?.textContent.includes("已结束"));
  await page.click("#announce-v1");
  await page.waitForFunction(() => document.querySelector("#vote-v1 .state")?.textContent.includes("已宣布"));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, "console.png"), fullPage: false });
  await page.click("#tally-v1");
  await page.waitForSelector("#announcement");
  clean(page);
});

test("the hall screen shows the result in the formal wording with the bundle's QR code", async () => {
  const page = await newPage({ width: 1920, height: 1080 });
  await goto(page, "/screen");
  await page.waitForSelector("#announcement");
  assert.match(await text(page, "#announcement"), /^应到代表30名，实到30名。候选项目7个，拟确定5个/);
  await page.waitForFunction(() => document.querySelector("#qr")?.naturalWidth > 0);
  await page.screenshot({ path: join(shots, "screen.png") });
  clean(page);
});

test("the verify page verifies the bundle and the deputy's receipt, and rejects a tampered bundle", async () => {
  const page = await newPage({ width: 1280, height: 1000 });
  await goto(page, "/verify");
  await page.waitForFunction(() => document.querySelectorAll("#vote option").length >= 2);
  await page.fill("#key", session.public_key);
  await page.fill("#receipt", receiptCode);
  await page.selectOption("#vote", "v1");
  await page.click("#verify-vote");
  await page.waitForSelector("#verdict");
  assert.equal(await text(page, "#verdict"), "✓ 核验通过");
  assert.match(await text(page, "#report"), new RegExp("回执码 " + receiptCode + "：已列入结果"));
  await page.screenshot({ path: join(shots, "verify.png"), fullPage: false });
  const bundle = await (await fetch(base + "/api/public/votes/v1/bundle")).json();
  const body = JSON.parse(Buffer.from(bundle.body, "base64").toString("utf8"));
  body.counts[0][0] += 1;
  bundle.body = Buffer.from(JSON.stringify(body)).toString("base64");
  const file = join(mkdtempSync(join(tmpdir(), "piaojue-tamper-")), "tampered.json");
  writeFileSync(file, JSON.stringify(bundle));
  await page.setInputFiles("#file", file);
  await page.click("#verify-file");
  await page.waitForFunction(() => document.querySelector("#verdict")?.textContent.includes("未通过"));
  assert.match(await text(page, "#report"), /✗ 设备签名/);
  assert.match(await text(page, "#report"), /✗ 重新计票/);
  // A key the observer typed that is not the appliance's.
  await page.fill("#key", "11".repeat(32));
  await page.click("#verify-vote");
  // The tampered file's report is still on screen: wait for the new one.
  await page.waitForFunction(() => document.querySelector("#report")?.textContent.includes("另一把密钥"));
  assert.match(await text(page, "#verdict"), /未通过/);
  assert.match(await text(page, "#report"), /结果包由另一把密钥签名/);
  clean(page);
});

/** A bundle of the appliance, changed and re-signed with its own key (DATA/appliance.key): what
 *  only a holder of the appliance could publish. `sign` may forge the signature instead. */
async function resigned(vote, edit, sign = signHex) {
  const seed = readFileSync(join(data, "appliance.key"), "utf8").trim();
  const bundle = await (await fetch(base + "/api/public/votes/" + vote + "/bundle")).json();
  const body = JSON.parse(Buffer.from(bundle.body, "base64").toString("utf8"));
  edit(body);
  const bytes = JSON.stringify(body);
  bundle.body = Buffer.from(bytes).toString("base64");
  bundle.signatures = [{ role: "appliance", public_key: session.public_key, signature: sign(message(DOMAIN.result, bytes), seed) }];
  const file = join(mkdtempSync(join(tmpdir(), "piaojue-forged-")), vote + ".json");
  writeFileSync(file, JSON.stringify(bundle));
  return file;
}
/** The CLI's checks on a file, pinned to the appliance's key; the names of those that fail. */
function cliChecks(file) {
  const r = spawnSync(BIN, ["verify", file, "--key", session.public_key, "--json"]);
  return JSON.parse(r.stdout.toString()).checks;
}
const cliFails = (file) => cliChecks(file).filter((c) => !c.ok).map((c) => c.name);
async function verifyFile(page, file) {
  await page.evaluate(() => document.querySelector("#report")?.remove());
  await page.setInputFiles("#file", file);
  await page.click("#verify-file");
  await page.waitForSelector("#verdict");
  return [...(await page.locator("#report li.bad").evaluateAll((els) => els.map((e) => e.dataset.check)))];
}

test("the verify page runs the CLI's checks: a re-signed outcome flipped to 通过 fails outcome.rerun, a torsion signature fails", async () => {
  const page = await newPage({ width: 1280, height: 1000 });
  await goto(page, "/verify");
  await page.fill("#key", session.public_key);
  // Issue 11 #9: 1 赞成 of 300 seated, announced as passed and re-signed with the appliance key.
  const oneOf300 = (flip) => (b) => {
    b.roll = { seated: 300, present: 300, enabled: 300, cast: 1 };
    b.ballots = [[0]];
    b.receipts = b.receipts.slice(0, 1);
    b.counts = [[1, 0, 0]];
    b.outcome.roll = b.roll;
    b.outcome.quorum_required = 200;
    Object.assign(b.outcome.items[0], { counts: { 赞成: 1, 反对: 0, 弃权: 0 }, not_voted: 299, majority_required: 151, passed: flip });
    b.outcome.passed = flip;
    b.announcement = b.outcome.announcement = "应到代表300名，实到300名。赞成1票，反对0票，弃权0票，未按表决器299名。" + (flip ? "通过。" : "未通过。");
  };
  const honest = await resigned("v3", oneOf300(false));
  assert.deepEqual(cliFails(honest), [], "the CLI passes the honest re-signed bundle");
  assert.deepEqual(await verifyFile(page, honest), [], "the page passes it too");
  assert.equal(await text(page, "#verdict"), "✓ 核验通过");
  const flipped = await resigned("v3", oneOf300(true));
  assert.deepEqual(cliFails(flipped), ["outcome.rerun", "announcement"]);
  assert.deepEqual(await verifyFile(page, flipped), ["outcome.rerun", "announcement"], "the page fails the same checks");
  assert.equal(await text(page, "#verdict"), "✗ 核验未通过");
  assert.match(await text(page, "#failed"), /outcome\.rerun/);
  const cliDetail = cliChecks(flipped).find((c) => c.name === "outcome.rerun").detail;
  assert.equal(cliDetail, "outcome.items[0].passed: the bundle says true, the rules give false");
  assert.ok((await text(page, "li[data-check='outcome.rerun']")).includes("✗ 按办法重新判定结果：公布的结果与按办法从选票重新判定的不一致：" + cliDetail), "the page says where, in the CLI's words");
  await page.screenshot({ path: join(shots, "verify-flipped.png"), fullPage: false });
  // The kind/secret/co-signature consistency check.
  const open = await resigned("v3", (b) => { b.secret = false; });
  assert.deepEqual(cliFails(open), ["rules.kind", "named"]);
  assert.deepEqual(await verifyFile(page, open), ["rules.kind", "named"]);
  // A signature whose R carries an 8-torsion component: a cofactored verifier accepts it.
  const torsion = await resigned("v3", () => {}, torsionSignatureHex);
  assert.deepEqual(cliFails(torsion), ["signature.appliance"]);
  assert.deepEqual(await verifyFile(page, torsion), ["signature.appliance"]);
  // Scrutineer keys typed from the agenda that the bundle does not name (as --scrutineers FILE).
  await page.fill("#scrutineers", "# 议程\n" + session.public_key + "\n");
  const agenda = join(mkdtempSync(join(tmpdir(), "piaojue-agenda-")), "keys.txt");
  writeFileSync(agenda, session.public_key + "\n");
  const v3 = await resigned("v3", () => {});
  const cli = JSON.parse(spawnSync(BIN, ["verify", v3, "--key", session.public_key, "--scrutineers", agenda, "--json"]).stdout.toString());
  assert.deepEqual(await verifyFile(page, v3), cli.checks.filter((c) => !c.ok).map((c) => c.name));
  assert.ok(cli.checks.some((c) => c.name === "scrutineers.pinned" && !c.ok));
  await page.fill("#scrutineers", "");
  // The nine ed25519_strict vectors through the page's own sig.js, in this Chromium.
  const cases = JSON.parse(readFileSync(join(root, "crates/core/tests/data/e2e/vectors.json"), "utf8")).ed25519_strict;
  const verdicts = await page.evaluate(async (cs) => {
    const sig = await import("/assets/sig.js");
    const hex = (x) => Uint8Array.from(x.match(/../g) || [], (b) => parseInt(b, 16));
    return cs.map((c) => sig.verifyMessage(hex(c.msg), c.sig, c.pk));
  }, cases);
  assert.equal(cases.length, 9);
  assert.deepEqual(verdicts, cases.map((c) => c.valid));
  clean(page);
});

let passed = 0;
let failed = 0;
for (const [name, fn] of tests) {
  try {
    await fn();
    passed++;
    console.log("ok     " + name);
  } catch (e) {
    failed++;
    console.log("FAILED " + name + "\n       " + (e.stack || e).toString().split("\n").slice(0, 6).join("\n       "));
  }
}
// The encrypted-ballot vector walk, re-proved in this Chromium (its own static server, strict CSP).
const e2e = await runE2eBrowser(browser);
if (e2e.failed) {
  failed++;
  console.log(`FAILED e2e vector walk in Chromium: ${e2e.failed} of ${e2e.passed + e2e.failed} checks\n       ` + e2e.failures.join("\n       "));
} else {
  passed++;
  console.log(`ok     e2e vector walk in Chromium (${e2e.passed} checks)`);
}
if (problems.length) {
  failed++;
  console.log("FAILED no request leaves the appliance:\n       " + problems.join("\n       "));
}
await browser.close();
proc.kill();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
