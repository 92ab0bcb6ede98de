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
import { encryptedVote, encryptedModes, encryptedFailed } from "./encrypted.mjs";
import { message, DOMAIN } from "../../src/web/assets/sig.js";
import { signHex, torsionSignatureHex } from "../js/forge.mjs";
import { hallProcedures } from "./procedures.mjs";

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

test("enrolment for elderly deputies: a typo is caught by group before the appliance is asked, and what was typed stays", async () => {
  const [, , code] = codes[25];
  assert.match(code, /^([0-9A-Z]{5}-){7}[0-9A-Z]{5}$/, "printed codes carry a check symbol per group");
  const groups = code.split("-");
  const g = groups[2];
  groups[2] = g.slice(0, 1) + (g[1] === "Z" ? "Y" : "Z") + g.slice(2);
  const typo = groups.join(" ");
  const page = await newPage({ width: 800, height: 1280 });
  await goto(page, "/tablet");
  await page.fill("#code", typo);
  await page.click("button[type=submit]");
  await page.waitForSelector("#enrol-error");
  assert.match(await text(page, "#enrol-error"), /第3组/);
  assert.equal(await page.inputValue("#code"), typo, "what the deputy typed is kept");
  // Lower case, spaces for dashes: the correct code enrols.
  await page.fill("#code", code.toLowerCase().replace(/-/g, " "));
  await page.click("button[type=submit]");
  await page.waitForFunction(() => !document.querySelector("#code"));
  clean(page);
});

test("console: the scrutineers with their keys' fingerprints, a readable audit log, the rules engine's refusals in Chinese", async () => {
  const page = await newPage({ width: 1440, height: 900 });
  await goto(page, "/console");
  await page.fill("#passphrase", passphrase);
  await page.click("#login");
  await page.waitForSelector("#scrutineer-list");
  await page.fill("#scrutineer-name", "副总监票人 孙立");
  await page.click("text=添加监票人");
  await page.waitForFunction(() => document.querySelector("#scrutineer-list")?.textContent.includes("孙立") || document.querySelector("#error-scrutineers"));
  // While a vote is open (v1 here) the scrutineers are frozen: the refusal says so, in Chinese,
  // beside the form. Otherwise the new scrutineer is listed.
  if (await page.$("#error-scrutineers")) assert.match(await text(page, "#error-scrutineers"), /进行中，表决结束后才能增设或登记监票人/);
  else assert.match(await text(page, "#scrutineer-list"), /孙立/);
  await page.click("#show-audit");
  await page.waitForSelector("#audit");
  const audit = await text(page, "#audit");
  assert.match(audit, /导入名册/);
  assert.match(audit, /秘书处/);
  // A rules document with a zero denominator: refused, in Chinese, beside the rules form.
  const bad = join(mkdtempSync(join(tmpdir(), "piaojue-rules-")), "bad.json");
  writeFileSync(bad, JSON.stringify({ title: "错误的办法", kind: "motion", majority: { num: 1, den: 0, inclusive: false } }));
  await page.setInputFiles("#rules-file", bad);
  await page.click("text=通过办法文件");
  await page.waitForSelector("#error-rules");
  const error = await text(page, "#error-rules");
  assert.match(error, /办法文件有误：通过所需票数·分母：至少应为1/);
  assert.match(error, /majority\.den/, "the field path stays for the record");
  clean(page, ["400", "409"]);
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

// ---- Issue 12: the pages as their users meet them -------------------------------------------

const rulesOf = async (kind) => (await op("GET", "/api/operator/status")).rules.find((r) => r.kind === kind).sha256;
let made = 0;
/** A new plain vote of `kind` with `n` items, made by the operator (these tests are about the
 *  plain tablet page; a secret vote would otherwise be encrypted once the ceremony completed). */
async function newVote(kind, n, title) {
  made++;
  const items = Array.from({ length: n }, (_, i) => (kind === "satisfaction" ? "测评项目" : "候选项目") + (i + 1) + "号：城乡" + "道路供水学校".slice(0, 2 + (i % 5)) + "改造提升工程");
  const r = await op("POST", "/api/operator/votes", { title: title || "测试" + made + "（" + n + "项）", rules_sha256: await rulesOf(kind), items: kind === "motion" ? items.slice(0, 1).map(() => "关于测试议案" + made + "的决定") : items, mode: "plain" });
  return r.vote;
}
/** Runs a vote to its end from the operator's side: the others vote, it closes. */
async function finish(id) {
  await op("POST", "/api/operator/demo/simulate/" + id, {});
  await op("POST", "/api/operator/votes/" + id + "/close", {});
}
async function tabletFor(n) {
  const [, name, code] = codes[n];
  const page = await newPage({ width: 800, height: 1280 });
  await goto(page, "/tablet#code=" + code + "&fp=" + session.fingerprint);
  await page.waitForSelector("#deputy-name");
  return { page, name };
}

test("tablet: 中途退场 is away from the ballot and asks first; a refused cast says why and what to do; the header follows the server", async () => {
  await op("POST", "/api/operator/demo/checkin", {});
  const v = await newVote("motion", 1);
  await op("POST", "/api/operator/votes/" + v.id + "/open", {});
  const { page } = await tabletFor(3);
  await page.locator('button[data-item="0"][data-option="0"]').waitFor();
  assert.equal(await page.locator("#checkout").count(), 0, "no 中途退场 beside the ballot");
  assert.match(await text(page, "#ballot-kind"), /^无记名表决/);
  // The appliance refuses the cast (here as it did for a checked-out deputy): the deputy is told.
  await page.route("**/api/tablet/votes/*/cast", (route) => route.fulfill({ status: 403, json: { error: "not_enabled", message: "您不能参加本次表决" } }));
  await page.click('button[data-item="0"][data-option="0"]');
  await page.click("#next");
  await page.click("#confirm");
  await page.waitForSelector("#message");
  const said = await text(page, "#message");
  assert.match(said, /未被接受/);
  assert.match(said, /会务工作人员/);
  await page.unroute("**/api/tablet/votes/*/cast");
  await finish(v.id);
  await op("POST", "/api/operator/votes/" + v.id + "/announce", {});
  await page.waitForSelector(`.receipt[data-vote="${v.id}"]`);
  // 中途退场 asks first; 不退场 keeps the deputy present.
  await page.click("#checkout");
  await page.waitForSelector("#checkout-question");
  const me = async () => (await op("GET", "/api/operator/deputies")).deputies.find((d) => d.id === codes[3][0]).presence;
  assert.equal(await me(), "present", "one tap does not check out");
  await page.click("#checkout-cancel");
  assert.equal(await page.locator("#checkout-question").count(), 0);
  await page.click("#checkout");
  await page.click("#checkout-confirm");
  await page.waitForFunction(() => document.querySelector("#presence")?.textContent === "中途退场");
  assert.equal(await me(), "left");
  // The secretariat checks the deputy back in: the header follows without a tap.
  await op("POST", "/api/operator/deputies/" + codes[3][0] + "/checkin", { reason: "回到会场" });
  await page.waitForFunction(() => document.querySelector("#presence")?.textContent === "已签到", null, { timeout: 15000 });
  clean(page, ["403"]);
});

test("tablet: a cast resumed after a network loss shows 投票成功; the receipt stays through close and announcement; offline, the app's own page", async () => {
  await op("POST", "/api/operator/demo/checkin", {});
  const v = await newVote("satisfaction", 2);
  await op("POST", "/api/operator/votes/" + v.id + "/open", {});
  const { page } = await tabletFor(4);
  const context = page.context();
  await page.locator('button[data-item="1"][data-option="0"]').waitFor();
  assert.match(await text(page, "#ballot-kind"), /^无记名测评/, "a 测评 is called 测评");
  await page.click('button[data-item="0"][data-option="0"]');
  await page.click('button[data-item="1"][data-option="1"]');
  await page.click("#next");
  // The appliance takes the ballot but its answer is lost on the way back.
  let taken = 0;
  await page.route("**/api/tablet/votes/*/cast", async (route) => { await route.fetch(); taken++; await route.abort(); });
  await page.click("#confirm");
  await page.waitForFunction(() => document.querySelector("#casting")?.textContent.includes("网络中断"));
  assert.ok(taken >= 1);
  await page.unroute("**/api/tablet/votes/*/cast");
  await page.reload();
  await page.waitForSelector("#cast-ok");
  assert.equal(await text(page, "#cast-ok"), "投票成功");
  assert.match(await text(page, "#receipt-verified"), /回执签名已验证/);
  const code = (await text(page, "#receipt-code")).trim();
  await page.click("#receipt-back");
  const card = `.receipt[data-vote="${v.id}"]`;
  await page.waitForSelector(card);
  assert.equal((await text(page, card)).trim(), code);
  await finish(v.id);
  // Between close and announcement: still there, plainly.
  await page.waitForFunction((id) => document.querySelector(`.receipt-card[data-vote="${id}"]`)?.textContent.includes("正在计票"), v.id);
  assert.equal((await text(page, card)).trim(), code);
  const look = await page.locator(card).evaluate((el) => ({ size: parseFloat(getComputedStyle(el).fontSize), color: getComputedStyle(el).color }));
  assert.ok(look.size >= 30, "large: " + look.size);
  assert.equal(look.color, "rgb(17, 17, 17)", "not grey");
  await op("POST", "/api/operator/votes/" + v.id + "/announce", {});
  await page.waitForFunction((id) => document.querySelector(`[data-check="${id}"]`)?.textContent.includes("已列入公布的结果"), v.id);
  assert.equal((await text(page, card)).trim(), code);
  // Offline: the service worker keeps the app, which shows its own page and what it kept.
  const served = await fetch(base + "/assets/sw.js");
  if (!served.headers.get("service-worker-allowed")) {
    // The appliance does not yet allow the /tablet scope: the test adds the header it needs.
    await context.route("**/assets/sw.js", async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, headers: { ...res.headers(), "service-worker-allowed": "/tablet" } });
    });
    await page.reload();
    await page.waitForSelector(card);
  }
  const scope = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.scope));
  assert.equal(scope, base + "/tablet");
  const cached = await page.evaluate(async () => (await Promise.all((await caches.keys()).map(async (k) => (await (await caches.open(k)).keys()).map((r) => new URL(r.url).pathname)))).flat());
  assert.ok(cached.includes("/tablet") && cached.includes("/assets/tablet.js"), "the app is kept");
  assert.ok(cached.every((p) => p === "/tablet" || p === "/assets/app.css" || /^\/assets\/(common|tablet|sig|e2e\/e2e|vendor\/[\w/-]+)\.js$/.test(p)), "nothing outside the tablet app is kept: " + cached);
  await context.setOffline(true);
  await page.reload();
  await page.waitForSelector("#offline-page");
  assert.match(await text(page, "#offline-page"), /与表决系统的连接中断/);
  assert.match(await text(page, "#offline-page"), new RegExp(code));
  await context.setOffline(false);
  await page.waitForSelector(card, { timeout: 15000 });
  // Pages outside the tablet app are never served by it.
  const other = await newPage({ width: 800, height: 600 });
  await goto(other, "/verify");
  assert.equal(await other.evaluate(() => navigator.serviceWorker.controller), null);
  clean(page, ["ERR_INTERNET_DISCONNECTED", "Failed to fetch", "failed:", "ERR_FAILED", "net::"]);
});

/** Everything on the page inside the 1920×1080 viewport (hidden rows of other pages aside). */
async function overflowing(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll("body *")) {
      if (el.closest(".hidden")) continue;
      const r = el.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.right > innerWidth + 1 || r.bottom > innerHeight + 1 || r.left < -1 || r.top < -1) bad.push(el.tagName + "#" + el.id + "." + el.className + " → " + Math.round(r.right) + "×" + Math.round(r.bottom));
    }
    if (document.documentElement.scrollHeight > innerHeight || document.documentElement.scrollWidth > innerWidth) bad.push("the document scrolls");
    return bad;
  });
}
/** Walks every page of the paged table: nothing overflows, every row is shown once, text ≥ 40 px.
 *  The screen also turns its pages by itself every 8 s, so each look reads the page number
 *  and its rows together, and the walk goes on until it has seen every page. */
async function everyPage(page, box, rows) {
  const look = () => page.evaluate((b) => {
    const m = document.getElementById(b + "-page").textContent.match(/第(\d+)\/(\d+)页/);
    return {
      at: m ? Number(m[1]) : 1,
      of: m ? Number(m[2]) : 1,
      rows: [...document.querySelectorAll("#" + b + " tbody tr:not(.hidden)")].map((r) => r.textContent),
      small: [...document.querySelectorAll("#" + b + " td, #" + b + " th")].map((c) => parseFloat(getComputedStyle(c).fontSize)).filter((s) => s < 40),
    };
  }, box);
  const byPage = new Map();
  let pages = 1;
  for (let tries = 0; tries < 40; tries++) {
    const before = await look();
    assert.deepEqual(await overflowing(page), [], "page " + before.at);
    const after = await look();
    // A page that turned between the two looks is looked at again.
    if (before.at === after.at && JSON.stringify(before.rows) === JSON.stringify(after.rows)) {
      assert.deepEqual(after.small, [], "table text ≥ 40 px");
      byPage.set(after.at, after.rows);
    }
    pages = after.of;
    if (byPage.size >= pages) break;
    await page.keyboard.press("ArrowRight");
  }
  assert.equal(byPage.size, pages, "saw every page");
  const seen = [...byPage.values()].flat();
  assert.equal(seen.length, rows, "every row once over " + pages + " pages");
  assert.equal(new Set(seen).size, rows);
  return pages;
}

test("hall screen at 1920×1080: 5, 15 and 30 items of each kind fit (paged); countdown, rule, turnout; 正在计票; 票决 in rank order", async () => {
  await op("POST", "/api/operator/demo/checkin", {});
  const page = await newPage({ width: 1920, height: 1080 });
  await goto(page, "/screen");
  for (const kind of ["project_selection", "satisfaction", "motion"]) {
    for (const n of kind === "motion" ? [1] : [5, 15, 30]) {
      const v = await newVote(kind, n);
      await op("POST", "/api/operator/votes/" + v.id + "/open", {});
      await page.waitForFunction((t) => document.querySelector("#title")?.textContent.includes(t) && document.querySelector("#app").dataset.state === "open", v.title);
      assert.match(await text(page, "#countdown"), /^\d+:\d\d$/);
      assert.match(await text(page, "#turnout"), /^\d+ \/ 30$/);
      const rule = await text(page, "#rule");
      if (kind === "project_selection") assert.match(rule, v.max_yes ? new RegExp("^每张选票赞成不超过" + v.max_yes + "项$") : /^每张选票赞成/);
      else assert.match(rule, /中选择一项/);
      const big = await page.evaluate(() => ["#countdown", "#turnout", "#rule"].map((s) => parseFloat(getComputedStyle(document.querySelector(s)).fontSize)));
      assert.ok(big.every((s) => s >= 56), "large: " + big);
      await everyPage(page, "items", n === 1 ? 1 : Math.ceil(n / 2));
      if (n === 30) await page.screenshot({ path: join(shots, "screen-open-" + kind + ".png") });
      await finish(v.id);
      await page.waitForFunction(() => document.querySelector("#app").dataset.state === "closed");
      assert.equal(await text(page, "#counting"), (kind === "satisfaction" ? "测评" : kind === "project_selection" ? "票决" : "表决") + "结束，正在计票");
      assert.deepEqual(await overflowing(page), []);
      await op("POST", "/api/operator/votes/" + v.id + "/announce", {});
      await page.waitForFunction((t) => document.querySelector("#app").dataset.state === "announced" && document.querySelector("#title")?.textContent.includes(t) && document.querySelector("#result"), v.title);
      const pages = await everyPage(page, "result", n);
      assert.ok(n < 15 || pages > 1, "a long list is paged");
      const cells = await page.evaluate(() => [...document.querySelectorAll("#result tbody tr")].map((r) => ({ cls: r.className, cells: [...r.cells].map((c) => c.textContent) })));
      assert.ok(cells.every((r) => r.cells.every((c) => c !== "—")), "no —");
      if (kind === "project_selection") {
        const ranks = cells.map((r) => (r.cells[0] ? Number(r.cells[0].replace(/\D/g, "")) : Infinity));
        assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), "rank order");
        assert.ok(cells.filter((r) => r.cls.includes("adopted")).every((r) => r.cells.at(-1) === "✓ 确定"));
        assert.ok(cells.filter((r) => !r.cls.includes("adopted") && !r.cls.includes("tied")).every((r) => r.cells.at(-1) === "未获通过"));
        assert.ok(cells.some((r) => r.cls.includes("adopted")));
      }
      if (n === 30 || (kind === "motion")) await page.screenshot({ path: join(shots, "screen-" + kind + (n > 1 ? "-" + n : "") + ".png") });
    }
  }
  clean(page);
});

test("console: 宣布结果 asks first; 取消 apart from 开始; errors beside their form, in Chinese; 未按 names after close; one vocabulary", async () => {
  // A named 表决 (the demo's own are secret): the same document, adopted with secret: false.
  const doc = JSON.parse(readFileSync(join(root, "firmware-config", "rules", "motion.json"), "utf8"));
  doc.secret = false;
  doc.title = doc.title + "（记名表决）";
  let named;
  try { named = (await op("POST", "/api/operator/rules", doc)).sha256; } catch { named = null; }
  const t = await newVote("satisfaction", 3);
  const page = await newPage({ width: 1440, height: 900 });
  await goto(page, "/console");
  await page.fill("#passphrase", passphrase);
  await page.click("#login");
  await page.waitForSelector("#seated");
  // Vocabulary: a 测评 is a 测评, the state as the appliance names it, 记名/无记名 shown.
  await page.waitForSelector("#vote-" + t.id);
  assert.equal(await text(page, `#vote-${t.id} .state`), t.state_zh);
  assert.match(await text(page, `#vote-${t.id} .kind`), /^无记名满意度测评/);
  assert.equal(await text(page, "#open-" + t.id), "开始测评");
  // 取消 is not beside 开始.
  const [open, cancel] = [await page.locator("#open-" + t.id).boundingBox(), await page.locator("#cancel-" + t.id).boundingBox()];
  assert.ok(cancel.x - (open.x + open.width) > 150, "取消 far from 开始: " + JSON.stringify([open, cancel]));
  assert.ok(await page.evaluate((id) => document.getElementById("open-" + id).parentElement !== document.getElementById("cancel-" + id).parentElement, t.id));
  // An error shows beside the form that caused it, in Chinese.
  await page.fill("#new-title", "");
  await page.fill("#new-items", "");
  await page.click("#create");
  await page.waitForSelector("#error-create");
  assert.match(await text(page, "#error-create"), /[\u4e00-\u9fff]/);
  const [form, err] = [await page.locator("#create").boundingBox(), await page.locator("#error-create").boundingBox()];
  assert.ok(Math.abs(err.y - (form.y + form.height)) < 80, "beside the form");
  assert.equal(await page.locator("#flash.error").count(), 0);
  // 未按 names after the close of a named vote: a deputy who checked out on the tablet did not vote.
  if (named) {
    await op("POST", "/api/operator/demo/checkin", {});
    const v = (await op("POST", "/api/operator/votes", { title: "记名测试议案", rules_sha256: named, items: ["关于记名测试的决定"] })).vote;
    await op("POST", "/api/operator/votes/" + v.id + "/open", {});
    const [id, name, code] = codes[5];
    const { token } = await (await fetch(base + "/api/tablet/enrol", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code }) })).json();
    await fetch(base + "/api/tablet/checkout", { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + token }, body: "{}" });
    await op("POST", "/api/operator/demo/simulate/" + v.id, {});
    await page.waitForSelector("#close-" + v.id);
    await page.click("#close-" + v.id);
    await page.waitForSelector("#tally-" + v.id);
    await page.click("#tally-" + v.id);
    await page.waitForSelector("#not-voted");
    assert.match(await text(page, "#not-voted"), new RegExp("未按表决器的代表（1名）[\\s\\S]*" + name));
    void id;
    // 宣布结果 asks first: declined, nothing is announced.
    page.__reply = undefined;
    let asked = null;
    page.removeAllListeners("dialog");
    page.on("dialog", (d) => { asked = d.message(); d.dismiss(); });
    await page.click("#announce-" + v.id);
    await page.waitForTimeout(300);
    assert.match(asked || "", /宣布/);
    assert.equal((await op("GET", "/api/operator/status")).votes.find((x) => x.id === v.id).state, "closed");
    page.removeAllListeners("dialog");
    page.on("dialog", (d) => d.accept());
    await page.click("#announce-" + v.id);
    await page.waitForFunction((i) => document.querySelector("#vote-" + i + " .state")?.textContent.includes("已宣布"), v.id);
  } else {
    throw new Error("could not adopt a named motion document");
  }
  clean(page, ["400", "422"]);
});

test("the 公告 of a 7-item 票决 prints on one A4 page, numbered and centred", async () => {
  const page = await newPage({ width: 1000, height: 1400 });
  await goto(page, "/console/notice#vote=v1");
  await page.waitForSelector("#number");
  const votes = (await op("GET", "/api/operator/status")).votes.filter((v) => v.state === "announced").sort((a, b) => (a.announced_at < b.announced_at ? -1 : 1));
  assert.equal(await text(page, "#number"), "第" + (votes.findIndex((v) => v.id === "v1") + 1) + "号");
  await page.waitForFunction(() => document.querySelector("#key-qr")?.complete);
  const pdf = await page.pdf({ format: "A4", printBackground: false });
  const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pages, 1, "one A4 page");
  // Centred: the same margin left and right, and the hash inside the page.
  const box = await page.evaluate(() => { const m = document.querySelector("main").getBoundingClientRect(); return { left: m.left, right: innerWidth - m.right, scroll: document.documentElement.scrollWidth - innerWidth }; });
  assert.ok(Math.abs(box.left - box.right) < 2 && box.scroll <= 0, JSON.stringify(box));
  clean(page);
});

// ---- Encrypted votes (tests/browser/encrypted.mjs): last, when no other vote is open. -------

const ctx = { base, data, bin: BIN, shots, op, newPage, goto, text, clean, passphrase, codes, session, overflowing };
test("encrypted 票决 v4: booth (tracking code before sending, one 核验), list hash on the hall screen, scrutineers decrypt, announced, piaojue verify", async () => {
  const r = await encryptedVote(ctx);
  for (const n of [r.verifyPage, ...r.notes]) console.log("       note: " + n);
});
test("console: 默认 / 加密投票 / 普通投票 at creation, a refusal saying why, 等待证件官签署点名 with the officer's command", async () => {
  await encryptedModes(ctx);
});
test("an encrypted vote the scrutineers cannot decrypt: 宣告表决失败 on the console with its reason, the hall screen's declaration, the verify page's verdict", async () => {
  for (const c of await encryptedFailed(ctx)) console.log("       note: the console met " + c);
});

test("hall procedures: a show of hands from the console's form, co-signed, 举手表决结果 on the hall screen; a paper count's tie, 对并列项目重新票决, the final list; 测评 beside last year's 票决; the session report", async () => {
  await hallProcedures(ctx);
});

let passed = 0;
let failed = 0;
// ONLY=regex runs the matching tests alone (and not the vector walk): for working on a page.
const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;
for (const [name, fn] of tests) {
  if (only && !only.test(name)) continue;
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
const e2e = only ? { passed: 0, failed: 0, failures: [] } : await runE2eBrowser(browser);
if (e2e.failed) {
  failed++;
  console.log(`FAILED e2e vector walk in Chromium: ${e2e.failed} of ${e2e.passed + e2e.failed} checks\n       ` + e2e.failures.join("\n       "));
} else if (!only) {
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
