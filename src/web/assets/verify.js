// The observer's verify page: runs, in the browser, exactly the checks of `piaojue verify`
// (checks.js, a port of crates/core/src/bundle.rs) under the same names and verdicts —
// signatures under the strict Ed25519 rule, the pinned key, co-signatures, the rules document's
// hash, kind, secrecy and co-signature requirement, every ballot, the recount, the roll, the
// outcome re-decided from the ballots by the rules engine (rules.js), the announcement, the named
// list, the chain to the previous bundle and a receipt — and says plainly what it checked.
import { h, show, api, kindZh } from "./common.js";
import { verifyBundle, parseScrutineerKeys } from "./checks.js";
import { publicKey } from "./sig.js";

const app = document.getElementById("app");
const params = new URLSearchParams(location.hash.slice(1));

/** What each check is called in the hall; the stable name (as the CLI prints it) follows. */
function label(name, expect) {
  if (name.startsWith("signature.scrutineer[")) return "监票人会签";
  if (name.startsWith("signature[")) return "未知角色的签名";
  return {
    envelope: "结果包格式", body: "结果正文", "signature.appliance": "设备签名", "key.pinned": "设备公钥",
    "cosignatures.required": "会签人数", "rules.hash": "办法文件的哈希", "rules.parse": "办法文件", "rules.kind": "表决类型、无记名与会签要求与办法一致",
    "ballots.wellformed": "每张选票有效", "ballots.order": "选票顺序", receipts: "回执码列表", roll: "人数关系",
    "counts.recount": "重新计票", "outcome.rerun": "按办法重新判定结果", announcement: "宣布文本", named: "记名名单",
    "chain.previous": "与上一个结果包相连", scrutineers: "设备签入本次表决的监票人", "scrutineers.pinned": "监票人公钥与议程一致", interventions: "秘书处补签到与补发登记码（监票人会签）", "session.demo": "演示会议", receipt: "回执码 " + (expect.receipt || "").trim().toUpperCase(),
  }[name] || name;
}

/** A Chinese reading of the few details an observer most needs; else the CLI's own words. */
function detailZh(c, expect) {
  if (c.name === "key.pinned" && !c.ok) {
    if (!expect.key && !expect.fingerprint) return "请输入设备指纹（公告、登记卡和会场大屏上印有，共16组）或64位十六进制的设备公钥（议程上印有）";
    return "结果包由另一把密钥签名：" + (c.signer || "") + "（" + c.detail + "）";
  }
  if (c.name === "key.pinned") return "与您输入的设备指纹或公钥一致";
  if (c.name === "receipt") return c.ok ? "已列入结果" : "未列入结果";
  if (c.name === "outcome.rerun" && !c.ok) return "公布的结果与按办法从选票重新判定的不一致：" + c.detail;
  return c.detail;
}

export function check(bundleText, keyHex, receipt, previousText, scrutineerText) {
  // The key as printed on the agenda, or its fingerprint as printed on the 公告, the cards
  // and the hall screen (`20c9 0c81 …`): both are 64 hex digits, grouping and case ignored.
  // Either pins the key (no one can make a key whose bytes are a given fingerprint).
  const key = (keyHex || "").replace(/\s+/g, "").toLowerCase();
  const typed = /^[0-9a-f]{64}$/.test(key) ? key : null;
  const expect = { key: null, fingerprint: null, receipt: receipt || null, previous: previousText || null, scrutineers: null };
  if (typed) {
    const asKey = publicKey(typed);
    expect.fingerprint = typed;
    if (!asKey.error) expect.key = typed;
  }
  // The agenda's scrutineer keys, read as `piaojue verify --scrutineers FILE` reads its file.
  if (scrutineerText && scrutineerText.trim()) {
    const parsed = parseScrutineerKeys(scrutineerText);
    if (parsed.error) return { verified: false, body: null, expect, checks: [{ name: "scrutineers.pinned", ok: false, detail: "监票人公钥（议程）：" + parsed.error }] };
    expect.scrutineers = parsed.keys;
  }
  const result = verifyBundle(bundleText, expect);
  return { ...result, expect: { ...expect, typed: key } };
}

function report(result) {
  const ok = result.verified;
  const body = result.body;
  const expect = result.expect;
  return h("section", { id: "report" },
    h("p", { class: "verdict " + (ok ? "ok" : "bad"), id: "verdict" }, ok ? "✓ 核验通过" : "✗ 核验未通过"),
    ok ? null : h("p", { id: "failed" }, "未通过的检查：" + result.checks.filter((c) => !c.ok).map((c) => c.name).join("、")),
    body ? h("p", {}, (kindZh[body.kind] || body.kind) + "：" + body.title) : null,
    result.bundle_sha256 ? h("p", { class: "mono muted" }, "结果正文 SHA-256：" + result.bundle_sha256) : null,
    h("ul", { class: "checks" }, result.checks.map((c) => h("li", { class: c.ok ? "ok" : "bad", "data-check": c.name },
      (c.ok ? "✓ " : "✗ ") + label(c.name, expect) + "：" + detailZh(c, expect) + " ", h("code", { class: "mono muted" }, c.name)))),
    body ? h("div", {}, h("h3", {}, "宣布的结果"), h("pre", { class: "announcement" }, body.announcement)) : null,
    h("div", { class: "notice" }, h("b", {}, "本页核验了："),
      "与命令行 piaojue verify 相同的全部检查（名称相同，结论相同）：设备与监票人的签名（严格 Ed25519）、设备公钥、会签只计设备签入本次表决的监票人（如提供议程上的监票人公钥，也与之核对）、会签人数、办法文件的哈希与内容、表决类型与无记名和会签要求、每张选票、重新计票、人数关系、按办法从选票重新判定的结果（通过与否、排名、票数相等、缺额、满意率和等次）、宣布文本、记名名单，以及（如提供）上一个结果包和回执码。",
      h("br"), h("b", {}, "本页不能核验："), "选票是否就是每位代表的真实选择（这依赖表决系统的承诺，每位代表可核对自己的回执码）；未填写议程上的监票人公钥时，监票人是否就是议程上公布的（请核对列出的指纹）。"));
}

async function main() {
  let votes = [];
  try { votes = (await api("GET", "/api/public/votes")).votes.filter((v) => v.state === "announced"); } catch { /* offline: files still work */ }
  const key = h("input", { class: "key mono", id: "key", placeholder: "设备指纹（如 20c9 0c81 …，共16组，见公告）或设备公钥", value: params.get("key") || params.get("fp") || "" });
  const receipt = h("input", { class: "mono", id: "receipt", placeholder: "回执码（可选）" });
  const bundleUrl = (id) => "/api/public/votes/" + id + "/bundle";
  const download = h("a", { id: "download", href: votes.length ? bundleUrl(votes[0].id) : "#", download: "" }, "下载结果包");
  const pick = h("select", { id: "vote", onchange: () => { download.href = bundleUrl(pick.value); } },
    votes.map((v) => h("option", { value: v.id }, v.id + " " + v.title)));
  const file = h("input", { type: "file", id: "file", accept: ".json,application/json" });
  const previous = h("input", { type: "file", id: "previous", accept: ".json,application/json" });
  const scrutineers = h("textarea", { class: "key mono", id: "scrutineers", rows: 3, placeholder: "监票人公钥（可选：议程上印的，每行一个64位十六进制）" });
  const out = h("div", { id: "out" });
  const run = async (bytes) => {
    const prev = previous.files && previous.files[0] ? new Uint8Array(await previous.files[0].arrayBuffer()) : null;
    show(out, report(check(bytes, key.value, receipt.value, prev, scrutineers.value)));
  };
  show(app,
    h("h1", {}, "结果核验"),
    h("p", {}, "核验表决结果包：签名、每张选票、重新计票、按办法重新判定结果，与命令行 piaojue verify 的检查完全相同。公钥请以会议议程上印的为准，不要只相信本设备显示的。"),
    h("p", {}, h("label", {}, "设备指纹或公钥 ", key)),
    h("p", {}, h("button", { id: "use-appliance-key", onclick: async () => {
      const s = await api("GET", "/api/public/session");
      key.value = s.public_key;
    } }, "填入本设备公布的公钥"), h("span", { class: "muted" }, " （只用于对照，独立核验请手工输入议程上的公钥）")),
    h("p", {}, h("label", {}, "回执码 ", receipt)),
    h("p", {}, h("label", {}, "监票人公钥（可选，与议程核对）", scrutineers)),
    h("p", {}, h("label", {}, "上一个结果包（可选，核验结果链） ", previous)),
    h("h2", {}, "从本设备读取"),
    h("div", { class: "row" }, pick, " ", h("button", { class: "primary", id: "verify-vote", disabled: votes.length === 0, onclick: async () => {
      const res = await fetch("/api/public/votes/" + pick.value + "/bundle", { cache: "no-store" });
      run(new Uint8Array(await res.arrayBuffer()));
    } }, "核验"), " ", download),
    h("h2", {}, "或打开结果包文件"),
    h("div", { class: "row" }, file, " ", h("button", { id: "verify-file", onclick: async () => {
      if (file.files[0]) run(new Uint8Array(await file.files[0].arrayBuffer()));
    } }, "核验文件")),
    out);
}

if (typeof document !== "undefined") main();
