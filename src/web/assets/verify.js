// The observer's verify page: runs, in the browser, exactly the checks of `piaojue verify`
// (checks.js, a port of crates/core/src/bundle.rs) under the same names and verdicts —
// signatures under the strict Ed25519 rule, the pinned key, co-signatures, the rules document's
// hash, kind, secrecy and co-signature requirement, every ballot, the recount, the roll, the
// outcome re-decided from the ballots by the rules engine (rules.js), the announcement, the named
// list, the chain to the previous bundle and a receipt — and says plainly what it checked.
// An encrypted vote's bundle (v2: envelope `piaojue-bundle/2`, or a bare body with manifest_hex)
// is checked in a worker (e2e/verify-worker.js over e2e/bundle-verify.js, a port of
// crates/core/src/e2e/bundle.rs): V1–V16 and `rules` under the CLI's names, first without the
// per-ballot proofs (quick, for a deputy's phone), then all of them on request, with progress.
// A vote the secretariat declared failed (its decryption could not complete) has a bundle
// without a result: the page then says 表决宣告失败 with the reason, and shows no counts.
// A result's `procedure` (重新表决, 重新票决, a 测评 built from a 票决 bundle, a manual count) is
// read out in Chinese above the checks; the linked bundles themselves are not checked here.
import { h, show, api, kindZh, grouped } from "./common.js";
import { verifyBundle, parseScrutineerKeys, RUNOFF_REASON_ZH, MANUAL_METHOD_ZH } from "./checks.js";
import { publicKey } from "./sig.js";

// Guarded so that Node can import the page's pure parts (tests/js/checks.test.mjs).
const app = typeof document !== "undefined" ? document.getElementById("app") : null;
const params = new URLSearchParams(typeof location !== "undefined" ? location.hash.slice(1) : "");

/** What each check is called in the hall; the stable name (as the CLI prints it) follows. */
function label(name, expect) {
  if (name.startsWith("signature.scrutineer[")) return "监票人会签";
  if (name.startsWith("signature[")) return "未知角色的签名";
  return {
    envelope: "结果包格式", body: "结果正文", "signature.appliance": "设备签名", "key.pinned": "设备公钥",
    "cosignatures.required": "会签人数", "rules.hash": "办法文件的哈希", "rules.parse": "办法文件", "rules.kind": "表决类型、无记名与会签要求与办法一致",
    "ballots.wellformed": "每张选票有效", "ballots.order": "选票顺序", receipts: "回执码列表", roll: "人数关系",
    "counts.recount": "重新计票", "outcome.rerun": "按办法重新判定结果", announcement: "宣布文本", named: "记名名单",
    "chain.previous": "与上一个结果包相连", procedure: "表决程序（重新表决、重新票决、测评来源或人工计票）", scrutineers: "设备签入本次表决的监票人", "scrutineers.pinned": "监票人公钥与议程一致", interventions: "秘书处补签到与补发登记码（监票人会签）", "session.demo": "演示会议", receipt: "回执码 " + (expect.receipt || "").trim().toUpperCase(),
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

/** The procedure a result records, read out for the observer: one line a part, none without a
 *  procedure. The texts are the bundle's own (shown as text nodes, never as markup). */
export function procedureLines(p) {
  if (!p) return [];
  const lines = [];
  if (p.revote_of) {
    const r = p.revote_of;
    lines.push("重新表决：" + r.vote + "（" + (r.state === "failed" ? "已宣告失败" : r.state === "cancelled" ? "已取消" : r.state) + "：" + r.reason + "）");
  }
  if (p.runoff_of) {
    const r = p.runoff_of;
    lines.push((RUNOFF_REASON_ZH[r.reason] || r.reason) + "：" + r.vote + " 的 " + r.candidates.length + " 个候选项目，" + r.seats + " 个名额"
      + "（原票决结果正文 SHA-256 " + r.bundle_sha256.slice(0, 16) + "…）");
  }
  if (p.source) lines.push("满意度测评，项目来自票决结果 " + p.source.bundle_sha256.slice(0, 16) + "…（签名设备公钥 " + p.source.appliance_key.slice(0, 16) + "…）");
  if (p.manual) {
    const m = p.manual;
    lines.push((MANUAL_METHOD_ZH[m.method] || m.method) + "，计票人：" + m.counted_by.join("、") + "；说明：" + m.note);
  }
  return lines;
}

function procedureBlock(p) {
  const lines = procedureLines(p);
  if (!lines.length) return null;
  return h("div", { class: "notice", id: "procedure" },
    h("h3", {}, "表决程序"),
    h("ul", {}, lines.map((t) => h("li", {}, t))),
    p.manual ? h("p", { class: "muted" }, "人工计票没有电子选票：公布的票数是计票人报告、经监票人会签的票数，本页按办法从这些票数重新判定结果，但不能重新计票。") : null,
    p.runoff_of || p.source ? h("p", { class: "muted" }, "本页核对了程序记录本身与本表决是否相符；所链接的结果包请另行打开核验。") : null);
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
    body ? procedureBlock(body.procedure) : null,
    h("ul", { class: "checks" }, result.checks.map((c) => h("li", { class: c.ok ? "ok" : "bad", "data-check": c.name },
      (c.ok ? "✓ " : "✗ ") + label(c.name, expect) + "：" + detailZh(c, expect) + " ", h("code", { class: "mono muted" }, c.name)))),
    body ? h("div", {}, h("h3", {}, "宣布的结果"), h("pre", { class: "announcement" }, body.announcement)) : null,
    h("div", { class: "notice" }, h("b", {}, "本页核验了："),
      "与命令行 piaojue verify 相同的全部检查（名称相同，结论相同）：设备与监票人的签名（严格 Ed25519）、设备公钥、会签只计设备签入本次表决的监票人（如提供议程上的监票人公钥，也与之核对）、会签人数、办法文件的哈希与内容、表决类型与无记名和会签要求、每张选票、重新计票、人数关系、按办法从选票重新判定的结果（通过与否、排名、票数相等、缺额、满意率和等次）、宣布文本、记名名单、表决程序（重新表决、重新票决按其名额判定、测评来源、人工计票须有监票人会签），以及（如提供）上一个结果包和回执码。",
      h("br"), h("b", {}, "本页不能核验："), "选票是否就是每位代表的真实选择（这依赖表决系统的承诺，每位代表可核对自己的回执码）；未填写议程上的监票人公钥时，监票人是否就是议程上公布的（请核对列出的指纹）。"));
}

// ------------------------------------------------------------------------------------------------
// Encrypted (v2) bundles.

/** What each v2 check is called; the CLI's name follows it on the page. */
const LABEL_V2 = {
  parse: "结果包格式", V1: "会话清单与表决清单", V2: "密钥仪式：参加的监票人与各轮签名", V3: "密钥仪式：零知识证明与加密份额",
  V4: "联合公钥与全体参加监票人的密钥公告", V5: "每张选票的证明与签名", V6: "凭证都在点名册中且各用一次，密文不重复",
  V7: "选票按跟踪码排序、列表哈希与设备的关闭签名", V8: "由全部选票的密文重新合计", V9: "解密的监票人法定人数",
  V10: "每位监票人部分解密的证明与签名", V11: "合并解密的结果", V12: "票数解码", V13: "核验（作废）选票的重新加密",
  V14: "证件官点名册签名与设备签名", V15: "投票数与点名册（及出席人数）一致", V16: "被拒绝选票的理由",
  rules: "按表决办法从解密票数重新判定结果与宣布文本", "chain.previous": "与上一个结果包相连", tracker: "您的跟踪码在选票列表中",
};

/** The v2 bundle text at a glance: the envelope's format or a bare body's manifest_hex (the
 *  worker decides exactly, as bundle::is_v2 does, and hands anything else back). */
function looksV2(bytes) {
  const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
  if (/"format"\s*:\s*"piaojue-bundle\/2"/.test(head)) return true;
  if (/"format"\s*:\s*"piaojue-bundle\/1"/.test(head)) return false;
  return new TextDecoder().decode(bytes).includes('"manifest_hex"');
}

let worker = null;
let runId = 0;
/** Runs the worker (or, without workers, bundle-verify.js here); `onProgress(msg)`. */
async function runWorker(message, onProgress) {
  const id = ++runId;
  if (!worker) {
    try {
      worker = new Worker(new URL("./e2e/verify-worker.js", import.meta.url), { type: "module" });
    } catch {
      worker = "inline";
    }
  }
  if (worker === "inline") {
    const { verifyV2, isV2 } = await import("./e2e/bundle-verify.js");
    if (!message.bytes) message.bytes = runWorker.lastBytes;
    runWorker.lastBytes = message.bytes;
    if (!isV2(message.bytes)) return { not_v2: true };
    return verifyV2(message.bytes, { ...message.options, onProgress: (done, total, phase) => onProgress({ done, total, phase }) });
  }
  return new Promise((resolve, reject) => {
    const listen = (e) => {
      const d = e.data;
      if (!d || d.id !== id) return;
      if (d.type === "progress") return onProgress(d);
      worker.removeEventListener("message", listen);
      if (d.type === "report") resolve(d.report);
      else reject(new Error(d.message));
    };
    worker.addEventListener("message", listen);
    worker.postMessage({ ...message, id, type: "verify" });
  });
}

const seconds = (ms) => (ms / 1000).toFixed(1) + " 秒";

function progressText(d) {
  if (d.phase === "ballots") return "正在核验每张选票的证明与签名：" + d.done + " / " + d.total + " 张";
  if ((d.phase || "").startsWith("aggregate")) return "正在由选票密文重新合计：" + d.done + " / " + d.total + " 张";
  if (d.phase === "parsed") return "已读入结果包，正在核验……";
  return "正在核验……";
}

/** A check's label; for a vote declared failed, `rules` checks the declaration instead. */
function labelV2(name, declared) {
  if (declared && name === "rules") return "表决办法、表决记录与秘书处宣告表决失败的公告";
  return LABEL_V2[name] || name;
}

const NOT_DECRYPTED = "本次表决在解密前宣告失败，没有合计、部分解密与票数";

function detailV2Zh(c, declared) {
  if (c.ok === null) return "尚未核验（请按「核验全部选票的证明」）：" + c.detail;
  if (c.name === "tracker") return c.ok ? "已列入选票列表：" + c.detail : "未在选票列表中找到：" + c.detail;
  if (declared && c.name === "rules") return c.ok ? "宣告失败的记录与公告无误，不产生票数与结果：" + c.detail : "宣告失败的记录与公告不符：" + c.detail;
  if (c.name === "rules" && !c.ok) return "公布的结果与按表决办法从解密票数重新判定的不一致：" + c.detail;
  if (declared && c.ok && ["V8", "V9", "V10", "V11"].includes(c.name)) return "不适用：" + NOT_DECRYPTED + "（" + c.detail + "）";
  if (declared && c.ok && c.name === "V12") return "投票数小于 T 且不超过点名册启用的人数；票数解码不适用：" + NOT_DECRYPTED + "（" + c.detail + "）";
  return c.detail;
}

/** The secretariat's declaration that the vote failed, as the bundle carries it. */
function failedBlock(r, unverified) {
  const f = r.result && r.result.failed;
  return h("div", { class: "notice error", id: "declared-failed" },
    unverified ? h("p", {}, h("b", {}, "结果包声明表决宣告失败，但核验未通过（见上），请勿采信。")) : null,
    h("p", {}, h("b", {}, "表决宣告失败"), "：本次表决因技术原因未能完成解密计票，秘书处已宣告表决失败。本次表决不产生结果，所投选票不予计数。"),
    f ? h("p", {}, "原因：", h("span", { id: "failed-reason" }, f.reason)) : null,
    f ? h("p", { class: "muted" }, "宣告时间：" + f.declared_at) : null,
    h("p", { class: "muted" }, "结果包中没有合计、部分解密与票数；本页核验的是全部选票、点名册、列表哈希与设备的关闭签名，以及宣告失败的记录与公告。"));
}

/** Where the deputy's ballot is in the list: its place, the full tracker, its neighbours. */
function trackerBlock(t) {
  if (!t) return null;
  if (!t.hits.length) {
    return h("div", { class: "notice error", id: "tracker-result" }, h("b", {}, "没有找到您的跟踪码 " + t.input),
      "：结果包的选票列表中没有这张选票。请核对输入；确认无误时，请持投票回执向监票人和秘书处反映。");
  }
  return h("div", { class: "notice", id: "tracker-result" }, t.hits.map((x) => h("div", {},
    h("p", {}, h("b", { class: "ok" }, "✓ 您的选票在列表中："), "表决 " + x.vote_id + " 的第 ", h("b", { id: "tracker-position" }, String(x.position)),
      " 张（共 " + x.n + " 张，按跟踪码排序）。"),
    h("p", {}, "完整跟踪码：", h("mark", { class: "mono", id: "tracker-full" }, x.tracker)),
    h("ol", { class: "mono trackers", start: String(x.around[0].position) }, x.around.map((a) => h("li", {},
      a.position === x.position ? h("mark", {}, a.short + "  " + a.tracker) : h("span", { class: "muted" }, a.short + "  " + a.tracker)))))));
}

function countsTable(v) {
  const opts = v.options || [];
  return h("table", { class: "counts" },
    h("tr", {}, h("th", {}, "项目"), opts.map((o) => h("th", {}, o))),
    v.items.map((item, i) => h("tr", {}, h("td", {}, item), (v.counts[i] || []).map((c) => h("td", {}, c)))));
}

function reportV2(r, onFull, running) {
  const failed = r.checks.filter((c) => c.ok === false);
  const pending = r.checks.filter((c) => c.ok === null);
  // A vote declared failed has no result: its verdict never reads as a result that passed.
  const declared = !!r.declared_failed;
  const verdict = failed.length ? "✗ 核验未通过"
    : declared ? (pending.length ? "表决宣告失败，不产生结果（结果包快速核验无误，尚未核验每张选票的证明）" : "表决宣告失败，不产生结果（结果包核验无误：全部检查，包括每张选票的证明）")
    : pending.length ? "✓ 快速核验通过：尚未核验每张选票的证明" : "✓ 核验通过（全部检查，包括每张选票的证明）";
  const res = r.result;
  return h("section", { id: "report" },
    h("p", { class: "verdict " + (failed.length ? "bad" : declared ? "" : "ok"), id: "verdict" }, verdict),
    failed.length ? h("p", { id: "failed" }, "未通过的检查：" + failed.map((c) => c.name + "（" + labelV2(c.name, declared) + "）").join("、")) : null,
    res ? h("p", {}, (kindZh[res.kind] || res.kind) + "（加密表决" + (declared ? "，宣告失败" : "") + "）：" + res.title + (res.demo ? "（演示会议）" : "")) : h("p", {}, "加密表决的结果包：" + r.votes.map((v) => v.vote_id).join("、")),
    declared ? failedBlock(r, failed.length > 0) : null,
    r.bundle_sha256 ? h("p", { class: "mono muted" }, "结果正文 SHA-256：" + r.bundle_sha256) : null,
    res ? procedureBlock(res.procedure) : null,
    r.mh ? h("p", {}, "会话清单哈希（请与议程上印的核对）：", h("span", { class: "mono", id: "mh" }, grouped(r.mh))) : null,
    r.fingerprint ? h("p", {}, "监票人密钥指纹（与密钥仪式上宣读的核对）：", h("span", { class: "mono" }, r.fingerprint)) : null,
    trackerBlock(r.tracker),
    pending.length || running ? h("div", { class: "notice" },
      h("p", {}, (declared
        ? "快速核验已核对：会话与表决清单、密钥仪式、点名册签名、选票列表与列表哈希、设备的关闭签名、由全部选票密文重新合计，以及宣告失败的记录与公告（本次表决没有部分解密与票数）。"
        : "快速核验已核对：会话与表决清单、密钥仪式、点名册签名、选票列表与列表哈希、由全部选票密文重新合计、每位监票人部分解密的证明与签名、合并解密与票数。")
        + "尚未核验的是每张选票自身的零知识证明与签名（需要较长时间）。"),
      h("button", { class: "primary", id: "verify-all", disabled: !!running, onclick: onFull }, "核验全部选票的证明"),
      h("p", { id: "full-status" }, running || "")) : null,
    r.timing && r.timing.ballots_ms !== undefined ? h("p", { id: "elapsed" }, "全部核验用时 " + seconds(r.timing.page_ms ?? r.timing.worker_ms ?? r.timing.total_ms ?? r.timing.checks_ms)
      + "（其中选票证明 " + seconds(r.timing.ballots_ms) + (r.helpers ? "，" + r.helpers + " 个线程" : "") + "）") : null,
    h("ul", { class: "checks" }, r.checks.map((c) => h("li", { class: c.ok === true ? "ok" : c.ok === false ? "bad" : "muted", "data-check": c.name },
      (c.ok === true ? "✓ " : c.ok === false ? "✗ " : "… ") + labelV2(c.name, declared) + "：" + detailV2Zh(c, declared) + " ", h("code", { class: "mono muted" }, c.name)))),
    declared ? null : r.votes.filter((v) => v.counts).map((v) => h("div", {}, h("h3", {}, "解密的票数：" + v.vote_id + "（投票 " + v.n_cast + " 张）"), countsTable(v))),
    !declared && res && res.options ? h("div", {}, h("h3", {}, "按表决办法的票数"), countsTable({ items: res.items, options: res.options, counts: res.counts })) : null,
    r.announcement ? h("div", {}, h("h3", {}, declared ? "秘书处的宣告" : "宣布的结果"), h("pre", { class: "announcement" }, r.announcement)) : null,
    h("div", { class: "notice" }, h("b", {}, "本页核验了："),
      "与命令行 piaojue verify 相同的检查 V1–V16（名称相同，结论相同）：会话清单与表决清单、密钥仪式（含重新开始的记录与申诉的裁决）、联合公钥、每张选票的证明与签名（按「核验全部选票的证明」后）、"
      + "凭证与点名册、选票列表的排序与列表哈希、设备的关闭签名、由选票密文重新合计、监票人部分解密的证明与签名、合并解密、票数解码、核验选票、被拒选票的理由，"
      + "以及按表决办法从解密票数重新判定的结果与宣布文本（rules）、（如提供）上一个结果包与您的跟踪码。"
      + "表决宣告失败的结果包没有合计、部分解密与票数，rules 改为核对宣告失败的记录与公告（没有票数、没有结果、公告文本与原因一致）。全部计算在本设备上进行，结果包不会发往别处。",
      h("br"), h("b", {}, "本页不能核验："), "会场宣布的出席人数（请填写后核对，或与会场公布的核对）；证件官对每份投票通知的核对；每位代表的平板是否如实加密了其选择（这由核验（作废）选票抽查）；"
      + "会话清单哈希是否就是议程上印的（请自行核对上面的哈希）。"));
}

async function runV2(out, bytes, opts, fallback) {
  const status = h("p", { id: "status" }, "正在读入结果包……");
  const bar = h("progress", { id: "progress", max: 1, value: 0 });
  show(out, h("section", {}, status, bar));
  const onProgress = (d) => {
    status.textContent = progressText(d) + "（已用 " + seconds(d.elapsed_ms || 0) + "）";
    if (d.total) { bar.max = d.total; bar.value = d.done; }
  };
  let r;
  try {
    r = await runWorker({ bytes, options: { ...opts, full: false } }, onProgress);
  } catch (e) {
    show(out, h("p", { class: "notice error" }, "核验时出错：" + e.message));
    return;
  }
  if (r.not_v2) { fallback(); return; }
  const full = async () => {
    const t0 = performance.now();
    const fullBar = h("progress", { id: "full-progress", max: 1, value: 0 });
    const fullStatus = h("span", { id: "full-progress-text" }, "正在开始……");
    show(out, reportV2(r, null, "进行中"));
    out.querySelector("#full-status").replaceChildren(fullStatus, h("br"), fullBar);
    const tick = setInterval(() => {
      if (fullStatus.dataset.text) fullStatus.textContent = fullStatus.dataset.text + "（已用 " + seconds(performance.now() - t0) + "）";
    }, 250);
    try {
      r = await runWorker({ options: { ...opts, full: true } }, (d) => {
        fullStatus.dataset.text = progressText(d);
        fullStatus.textContent = progressText(d) + "（已用 " + seconds(performance.now() - t0) + "）";
        if (d.total) { fullBar.max = d.total; fullBar.value = d.done; }
      });
      r.timing.page_ms = Math.round(performance.now() - t0);
      show(out, reportV2(r, full));
    } catch (e) {
      show(out, h("p", { class: "notice error" }, "核验时出错：" + e.message));
    } finally {
      clearInterval(tick);
    }
  };
  show(out, reportV2(r, full));
}

async function main() {
  let votes = [];
  // Announced votes, and encrypted votes declared failed (their bundle is published without a result).
  try { votes = (await api("GET", "/api/public/votes")).votes.filter((v) => v.state === "announced" || (v.state === "failed" && v.bundle_url)); } catch { /* offline: files still work */ }
  const key = h("input", { class: "key mono", id: "key", placeholder: "设备指纹（如 20c9 0c81 …，共16组，见公告）或设备公钥", value: params.get("key") || params.get("fp") || "" });
  const receipt = h("input", { class: "mono", id: "receipt", placeholder: "回执码（可选）" });
  const bundleUrl = (id) => "/api/public/votes/" + id + "/bundle";
  const download = h("a", { id: "download", href: votes.length ? bundleUrl(votes[0].id) : "#", download: "" }, "下载结果包");
  const pick = h("select", { id: "vote", onchange: () => { download.href = bundleUrl(pick.value); } },
    votes.map((v) => h("option", { value: v.id }, v.id + " " + v.title + (v.state === "failed" ? "（宣告失败）" : ""))));
  const file = h("input", { type: "file", id: "file", accept: ".json,application/json" });
  const previous = h("input", { type: "file", id: "previous", accept: ".json,application/json" });
  const scrutineers = h("textarea", { class: "key mono", id: "scrutineers", rows: 3, placeholder: "监票人公钥（可选：议程上印的，每行一个64位十六进制）" });
  const tracker = h("input", { class: "key mono", id: "tracker", placeholder: "跟踪码（加密表决，可选）：如 Q3MB-7D2K-…，共4组；或64位十六进制的完整跟踪码", value: params.get("tracker") || "" });
  const hall = h("input", { id: "hall-present", type: "number", min: "0", placeholder: "出席人数（可选）" });
  const out = h("div", { id: "out" });
  const run = async (bytes) => {
    const prev = previous.files && previous.files[0] ? new Uint8Array(await previous.files[0].arrayBuffer()) : null;
    const plain = () => show(out, report(check(bytes, key.value, receipt.value, prev, scrutineers.value)));
    if (!looksV2(bytes)) return plain();
    const typed = key.value.replace(/\s+/g, "");
    await runV2(out, bytes, { pinned: typed || null, tracker: tracker.value.trim() || null, hallPresent: hall.value.trim() || null, previous: prev }, plain);
  };
  const fetchBundle = async (id) => {
    const res = await fetch(bundleUrl(id), { cache: "no-store" });
    if (!res.ok) throw new Error("读取结果包失败（" + res.status + "）");
    return new Uint8Array(await res.arrayBuffer());
  };
  const runVote = async (id) => {
    try {
      await run(await fetchBundle(id));
    } catch (e) {
      show(out, h("p", { class: "notice error" }, e.message));
    }
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
    h("p", {}, h("label", {}, "加密表决：您的跟踪码 ", tracker)),
    h("p", {}, h("label", {}, "加密表决：会场宣布的出席人数（可选） ", hall)),
    h("h2", {}, "从本设备读取"),
    h("div", { class: "row" }, pick, " ", h("button", { class: "primary", id: "verify-vote", disabled: votes.length === 0, onclick: () => runVote(pick.value) }, "核验"), " ", download),
    h("h2", {}, "或打开结果包文件"),
    h("div", { class: "row" }, file, " ", h("button", { id: "verify-file", onclick: async () => {
      if (file.files[0]) run(new Uint8Array(await file.files[0].arrayBuffer()));
    } }, "核验文件")),
    out);
  // `#vote=V-0001` (the hall screen's and the 公告's link): that vote's bundle from this appliance.
  const wanted = params.get("vote");
  if (wanted) {
    if ([...pick.options].some((o) => o.value === wanted)) pick.value = wanted;
    download.href = bundleUrl(wanted);
    runVote(wanted);
  }
}

if (typeof document !== "undefined") main();
