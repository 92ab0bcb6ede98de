// The hall's procedures in Chromium against the real appliance (imported by run.mjs): a
// scrutineer enrolled with their own key; a motion cancelled and counted by show of hands
// (the console's form), co-signed, announced, on the hall screen as 举手表决结果; a 票决
// counted on paper with a tie at the cut, its run-off from the console's button, voted,
// announced, on the hall screen with the final list of both rounds; the 测评 built from last
// year's 票决 beside it on the console; the printable session report.
import assert from "node:assert/strict";
import { join } from "node:path";
import { publicKeyHex, signHex } from "../js/forge.mjs";
import { message, DOMAIN } from "../../src/web/assets/sig.js";

const SEED = "6b".repeat(32);

/** ctx: { base, shots, op, newPage, goto, text, clean }. */
export async function hallProcedures(ctx) {
  const { op, newPage, goto, text, shots, base } = ctx;
  const status = await op("GET", "/api/operator/status");
  const rulesOf = (kind) => status.rules.find((r) => r.kind === kind).sha256;
  // A scrutineer with a key made on "their own device" (here: this test).
  const added = await op("POST", "/api/operator/scrutineers", { name: "监票人王某" });
  const enrol = await fetch(base + "/api/scrutineer/enrol", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: added.code, public_key: publicKeyHex(SEED) }),
  }).then((r) => r.json());
  assert.ok(enrol.token, JSON.stringify(enrol));
  const cosign = async (vote) => {
    const b = await fetch(base + "/api/scrutineer/votes/" + vote + "/bundle", { headers: { authorization: "Bearer " + enrol.token } }).then((r) => r.json());
    const body = Uint8Array.from(atob(b.body), (c) => c.charCodeAt(0));
    const r = await fetch(base + "/api/scrutineer/votes/" + vote + "/cosign", {
      method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + enrol.token },
      body: JSON.stringify({ signature: signHex(message(DOMAIN.result, body), SEED) }),
    });
    assert.equal(r.status, 200, await r.text());
  };

  // A motion cancelled, then counted by show of hands from the console's form.
  const m = (await op("POST", "/api/operator/votes", { title: "关于批准县财政预算的决议", rules_sha256: rulesOf("motion"), items: ["关于批准县财政预算的决议"], mode: "plain" })).vote;
  await op("POST", "/api/operator/votes/" + m.id + "/cancel", { reason: "电子表决系统故障" });
  const con = await newPage({ width: 1400, height: 1000 });
  await goto(con, "/console");
  await con.fill("#passphrase", ctx.passphrase);
  await con.click("#login");
  await con.waitForSelector("#manual-form-" + m.id);
  await con.click("#manual-form-" + m.id + " summary");
  await con.fill("#manual-present-" + m.id, "30");
  await con.fill("#manual-counts-" + m.id, "关于批准县财政预算的决议：27 1 2");
  await con.fill("#manual-by-" + m.id, "监票人王某、计票人李某");
  await con.fill("#manual-note-" + m.id, "电子表决系统故障，改为举手表决");
  await con.click("#manual-submit-" + m.id);
  await con.waitForSelector(".manual-mark");
  const manual = (await op("GET", "/api/operator/votes")).votes.find((v) => v.revote_of?.vote === m.id);
  assert.ok(manual && manual.state === "closed" && manual.manual.method === "show_of_hands", JSON.stringify(manual));
  // Not announced on the operator's word: a scrutineer co-signs first.
  await assert.rejects(op("POST", "/api/operator/votes/" + manual.id + "/announce", {}), /cosignatures_missing/);
  await cosign(manual.id);
  await op("POST", "/api/operator/votes/" + manual.id + "/announce", {});
  const screen = await newPage({ width: 1920, height: 1080 });
  await goto(screen, "/screen");
  await screen.waitForSelector("#manual-heading");
  assert.equal(await text(screen, "#manual-heading"), "举手表决结果");
  assert.match(await text(screen, "#announcement"), /赞成27票/);
  await screen.screenshot({ path: join(shots, "hall-manual.png") });

  // A 7 → 5 票决 counted on paper: 4 adopted, two tied at the cut for the last seat.
  const items = ["城区污水管网改造", "乡村道路硬化", "中小学食堂提升", "社区养老驿站", "农贸市场升级", "城区公厕改造", "公共充电桩建设"];
  const paper = (await op("POST", "/api/operator/manual-counts", {
    title: "2027年民生实事项目票决（纸质票）", rules_sha256: rulesOf("project_selection"), items,
    method: "paper", present: 30, counts: [[27, 2, 1], [25, 3, 2], [24, 4, 2], [22, 5, 3], [19, 8, 3], [19, 9, 2], [9, 18, 3]],
    counted_by: ["监票人王某", "计票人李某"], note: "电子表决系统故障，改用纸质票",
  })).vote;
  await cosign(paper.id);
  await op("POST", "/api/operator/votes/" + paper.id + "/announce", {});
  // A new tab of the logged-in console (navigating the old one would abort its requests).
  const tab = async () => {
    const p = await con.context().newPage();
    p.__errors = [];
    p.on("console", (m) => { if (m.type() === "error") p.__errors.push(m.text()); });
    p.on("pageerror", (e) => p.__errors.push(String(e)));
    p.on("dialog", (d) => d.accept());
    return p;
  };
  const con2 = await tab();
  await goto(con2, "/console");
  await con2.waitForSelector("#runoff-" + paper.id);
  await con2.click("#runoff-" + paper.id);
  await con2.waitForSelector("[id^=runoff-of-]");
  const runoff = (await op("GET", "/api/operator/votes")).votes.find((v) => v.runoff_of?.vote === paper.id);
  assert.deepEqual(runoff.items, ["农贸市场升级", "城区公厕改造"]);
  assert.equal(runoff.runoff_of.seats, 1);
  assert.equal(runoff.max_yes, 1);
  await op("POST", "/api/operator/demo/checkin", {});
  await op("POST", "/api/operator/votes/" + runoff.id + "/open", {});
  await op("POST", "/api/operator/demo/simulate/" + runoff.id, {});
  await op("POST", "/api/operator/votes/" + runoff.id + "/close", {});
  await op("POST", "/api/operator/votes/" + runoff.id + "/announce", {});
  const screen2 = await newPage({ width: 1920, height: 1080 });
  await goto(screen2, "/screen");
  await screen2.waitForSelector("#final-list");
  const finalList = await text(screen2, "#final-list");
  for (const adopted of items.slice(0, 4)) assert.ok(finalList.includes(adopted), finalList);
  assert.match(await text(screen2, "#runoff-line"), /对得票相等的项目重新票决：1 个名额/);
  await screen2.screenshot({ path: join(shots, "hall-runoff.png") });

  // 人大评: the demo's 测评 of last year's projects, side by side with their 票决 result.
  const sat = (await op("GET", "/api/operator/votes")).votes.find((v) => v.source && v.mode === "plain");
  assert.ok(sat, "the demo has a 测评 built from last year's 票决");
  assert.equal(sat.items.length, 5);
  if (sat.state === "draft") {
    await op("POST", "/api/operator/votes/" + sat.id + "/open", {});
    await op("POST", "/api/operator/demo/simulate/" + sat.id, {});
    await op("POST", "/api/operator/votes/" + sat.id + "/close", {});
  }
  const con3 = await tab();
  await goto(con3, "/console");
  await con3.waitForSelector("#source-" + sat.id);
  await con3.click("#tally-" + sat.id);
  await con3.waitForSelector("#side-by-side");
  const side = await text(con3, "#side-by-side");
  assert.ok(side.includes("教育惠民工程") && side.includes("第1名"), side);

  // The printable session report, under its own strict policy.
  const report = await con.context().newPage();
  report.__errors = [];
  report.on("console", (msg) => { if (msg.type() === "error") report.__errors.push(msg.text()); });
  await report.setViewportSize({ width: 1100, height: 1400 });
  const resp = await report.goto(base + "/api/operator/report");
  assert.match(resp.headers()["content-security-policy"], /default-src 'none'; style-src 'sha256-/);
  await report.waitForSelector("h2");
  const all = await report.locator("body").innerText();
  assert.ok(all.includes("表决情况报告") && all.includes("纸质票计票结果") && all.includes("最终确定的项目"), all.slice(0, 500));
  await report.screenshot({ path: join(shots, "session-report.png"), fullPage: false });
  for (const p of [con, con2, con3, screen, screen2, report]) ctx.clean(p);
}
