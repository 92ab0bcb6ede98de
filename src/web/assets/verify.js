// The observer's verify page: checks a result bundle in the browser against a key the observer
// types or scans — signatures (strict Ed25519), the rules document's hash, every ballot, the
// recount, the roll — and says plainly what it checked and what it did not.
import { h, show, api, kindZh, grouped } from "./common.js";
import { verify, sha256Hex, DOMAIN } from "./sig.js";

const app = document.getElementById("app");
const params = new URLSearchParams(location.hash.slice(1));

function b64decode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error("结果包正文不是标准 base64");
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function cmp(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Every check, as [ok, label, detail]. */
export function check(bundleText, keyHex, receipt) {
  const out = [];
  const add = (ok, label, detail = "") => out.push([ok, label, detail]);
  let env, bodyBytes, body;
  try {
    env = JSON.parse(bundleText);
    if (env.format !== "piaojue-bundle/1") throw new Error("格式不是 piaojue-bundle/1");
    bodyBytes = b64decode(env.body);
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bodyBytes));
    if (body.format !== "piaojue-result/1") throw new Error("正文格式不是 piaojue-result/1");
    add(true, "结果包格式", "piaojue-bundle/1，SHA-256 " + sha256Hex(bodyBytes));
  } catch (e) {
    add(false, "结果包格式", e.message);
    return { checks: out };
  }
  const key = (keyHex || "").replace(/\s+/g, "").toLowerCase();
  const appliance = (env.signatures || []).filter((s) => s.role === "appliance");
  if (!/^[0-9a-f]{64}$/.test(key)) add(false, "设备公钥", "请输入64位十六进制的设备公钥（议程上印有）");
  else if (appliance.length !== 1) add(false, "设备签名", "应有且只有一个设备签名");
  else {
    const s = appliance[0];
    add(s.public_key === key, "设备公钥", s.public_key === key ? "与您输入的公钥一致" : "结果包由另一把密钥签名：" + s.public_key);
    add(verify(DOMAIN.result, bodyBytes, s.signature, s.public_key) && body.appliance_key === s.public_key, "设备签名", "Ed25519 严格验证");
  }
  const scrutineers = (env.signatures || []).filter((s) => s.role === "scrutineer");
  let valid = 0;
  for (const s of scrutineers) {
    const ok = verify(DOMAIN.result, bodyBytes, s.signature, s.public_key);
    if (ok) valid++;
    add(ok, "监票人会签：" + (s.name || ""), ok ? "签名有效" : "签名无效");
  }
  add(valid >= (body.cosignatures_required || 0), "会签人数", valid + " 名，办法要求 " + (body.cosignatures_required || 0) + " 名");
  add(sha256Hex(new TextEncoder().encode(body.rules_document)) === body.rules_sha256, "办法文件", "哈希与通过的办法一致");
  let rules;
  try { rules = JSON.parse(body.rules_document); } catch { rules = {}; }
  const options = rules.options || { motion: ["赞成", "反对", "弃权"], project_selection: ["赞成", "不赞成", "弃权"], satisfaction: ["满意", "基本满意", "不满意"] }[body.kind];
  const approve = body.kind === "project_selection" && rules.form === "approve_up_to_n";
  const allowed = approve ? 2 : options.length;
  const maxYes = body.kind === "project_selection" ? (rules.max_yes || rules.select_n) : Infinity;
  const bad = body.ballots.findIndex((b) => !Array.isArray(b) || b.length !== body.items.length || b.some((c) => !Number.isInteger(c) || c < 0 || c >= allowed) || b.filter((c) => c === 0).length > maxYes);
  add(bad < 0, "每张选票有效", bad < 0 ? body.ballots.length + " 张选票均符合办法" : "第 " + (bad + 1) + " 张选票不符合办法");
  add(body.ballots.every((b, i) => i === 0 || cmp(body.ballots[i - 1], b) <= 0), "选票顺序", "已排序，顺序不透露投票先后");
  const receipts = body.receipts;
  add(receipts.every((r, i) => /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/.test(r) && (i === 0 || receipts[i - 1] < r)), "回执码列表", receipts.length + " 个，已排序且不重复");
  const roll = body.roll;
  add(roll.cast === body.ballots.length && roll.cast === receipts.length && roll.cast <= roll.enabled && roll.enabled <= roll.present && roll.present <= roll.seated,
    "人数关系", "投票 " + roll.cast + " = 选票 " + body.ballots.length + " = 回执 " + receipts.length + " ≤ 参加 " + roll.enabled + " ≤ 实到 " + roll.present + " ≤ 应到 " + roll.seated);
  const recount = body.items.map((_, i) => options.map((_, j) => body.ballots.filter((b) => b[i] === j).length));
  const same = JSON.stringify(recount) === JSON.stringify(body.counts)
    && body.outcome.items.every((it, i) => options.every((o, j) => it.counts[o] === recount[i][j]) && it.not_voted === roll.enabled - recount[i].reduce((a, b) => a + b, 0));
  add(same, "重新计票", same ? "逐张计票与公布的票数一致" : "逐张计票与公布的票数不一致");
  add(body.outcome.announcement === body.announcement, "宣布文本", "与结果一致");
  if (receipt) {
    const code = receipt.trim().toUpperCase();
    add(receipts.includes(code), "回执码 " + code, receipts.includes(code) ? "已列入结果" : "未列入结果");
  }
  return { checks: out, body };
}

function report(result) {
  const ok = result.checks.length > 0 && result.checks.every((c) => c[0]);
  const body = result.body;
  return h("section", { id: "report" },
    h("p", { class: "verdict " + (ok ? "ok" : "bad"), id: "verdict" }, ok ? "✓ 核验通过" : "✗ 核验未通过"),
    body ? h("p", {}, kindZh[body.kind] + "：" + body.title) : null,
    h("ul", { class: "checks" }, result.checks.map(([good, label, detail]) => h("li", { class: good ? "ok" : "bad" }, (good ? "✓ " : "✗ ") + label + (detail ? "：" + detail : "")))),
    body ? h("div", {}, h("h3", {}, "宣布的结果"), h("pre", { class: "announcement" }, body.announcement)) : null,
    h("div", { class: "notice" }, h("b", {}, "本页核验了："), "签名（设备与监票人，严格 Ed25519）、办法文件的哈希、每张选票是否有效、重新计票、人数关系、回执码。",
      h("br"), h("b", {}, "本页没有核验："), "按办法重新判定通过与否、排名和等次（请用命令行 piaojue verify 完整核验）；选票是否就是每位代表的真实选择（这依赖表决系统的承诺，每位代表可核对自己的回执码）。"));
}

async function main() {
  let votes = [];
  try { votes = (await api("GET", "/api/public/votes")).votes.filter((v) => v.state === "announced"); } catch { /* offline: files still work */ }
  const key = h("input", { class: "key mono", id: "key", placeholder: "设备公钥（64位十六进制，见会议议程）", value: params.get("key") || "" });
  const receipt = h("input", { class: "mono", id: "receipt", placeholder: "回执码（可选）" });
  const pick = h("select", { id: "vote" }, votes.map((v) => h("option", { value: v.id }, v.id + " " + v.title)));
  const file = h("input", { type: "file", id: "file", accept: ".json,application/json" });
  const out = h("div", { id: "out" });
  const run = async (text) => show(out, report(check(text, key.value, receipt.value)));
  show(app,
    h("h1", {}, "结果核验"),
    h("p", {}, "核验表决结果包：签名、每张选票、重新计票。公钥请以会议议程上印的为准，不要只相信本设备显示的。"),
    h("p", {}, h("label", {}, "设备公钥", key)),
    h("p", {}, h("button", { id: "use-appliance-key", onclick: async () => {
      const s = await api("GET", "/api/public/session");
      key.value = s.public_key;
    } }, "填入本设备公布的公钥"), h("span", { class: "muted" }, " （只用于对照，独立核验请手工输入议程上的公钥）")),
    h("p", {}, h("label", {}, "回执码 ", receipt)),
    h("h2", {}, "从本设备读取"),
    h("div", { class: "row" }, pick, " ", h("button", { class: "primary", id: "verify-vote", disabled: votes.length === 0, onclick: async () => {
      const res = await fetch("/api/public/votes/" + pick.value + "/bundle", { cache: "no-store" });
      run(await res.text());
    } }, "核验")),
    h("h2", {}, "或打开结果包文件"),
    h("div", { class: "row" }, file, " ", h("button", { id: "verify-file", onclick: async () => {
      if (file.files[0]) run(await file.files[0].text());
    } }, "核验文件")),
    out);
}

main();
