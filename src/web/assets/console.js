// The secretariat's console: attendance, roster, rules, votes from draft to announced.
// The operator sees turnout while a vote is open, and the tally only after the close.
import { h, show, api, ApiError, listen, kindZh, noun, stateName, secrecy, grouped } from "./common.js";
import { sha256Hex, hexToBytes } from "./sig.js";

const app = document.getElementById("app");
let status = null;
let deputies = [];
let scrutineerList = [];
let filter = "";
// The voting period is the appliance's: it closes the vote when the period ends. The page
// only shows what is left, from the server's `seconds_left` and the time since it was read.
const loadedAt = { t: Date.now() };
let flash = null;
/** Errors by the place that caused them (a vote's row, a form): shown right there. */
const errors = {};
/** The tally on view: the same element across the redraws (every second while a vote is open). */
const resultView = h("div", { id: "result-view" });
// File inputs cannot be refilled after a redraw (a browser keeps the chosen file only in the
// element): the same two elements across the redraws, so a file chosen is never lost.
const rulesFile = h("input", { type: "file", accept: "application/json,.json", id: "rules-file" });
const rosterFile = h("input", { type: "file", accept: ".csv,text/csv", id: "roster-file" });
/** Encrypted votes after their close: `/api/public/votes/{id}/e2e` by vote id. */
const e2e = {};
/** The scrutineers of the key ceremony (guardians), from the agenda: index → name. */
let guardians = null;
/** Adopted rules documents by SHA-256 (parsed), for the officer's command. */
let rulesDocs = {};
/** The decided result of a closed encrypted vote, privately: its announcement, by vote id. */
const decidedText = {};

function note(text, error = false) {
  flash = { text, error };
  render();
}

/** An error in Chinese: the appliance's message, or a Chinese frame around one that is not. */
function zh(e) {
  if (!(e instanceof ApiError)) return "无法连接表决系统，请检查网络后重试。";
  const m = e.message || "";
  if (e.code === "bad_rules" || e.code === "bad_items") return rulesZh(m);
  if (/[\u4e00-\u9fff]/.test(m)) return m;
  return "操作未成功（" + e.code + "）。表决系统的说明：" + m;
}

// The rules engine names the field of a document in its own words (`majority.den: must be
// at least 1`), as `piaojue tally` prints them; the console reads them out in Chinese.
const FIELD_ZH = {
  format: "格式", title: "标题", text: "正文", kind: "类型", options: "选项", quorum: "出席法定人数",
  majority: "通过所需票数", "majority.base": "计算基数", num: "分子", den: "分母", inclusive: "是否含本数",
  select_n: "拟确定项目数", form: "票决方式", max_yes: "每票赞成上限", tie_rule: "票数相等的处理",
  shortfall_rule: "不足额的处理", tiers: "满意度等次", valid_options: "有效选项", followup: "后续处理",
  secret: "无记名", cast_policy: "投票规则", cosignatures_required: "监票人会签人数",
  voting_seconds: "表决时间（秒）", manual_checkin_cosign: "补签到须监票人会签", items: "表决事项",
};
const PHRASE_ZH = [
  [/must be at least (\d+)/, "至少应为$1"], [/must be at most (\d+)/, "至多为$1"], [/must be (\d+) to (\d+) seconds/, "应在$1至$2秒之间"],
  [/is below one half: a session needs at least half its deputies present/, "低于二分之一：会议须有过半数代表出席"],
  [/missing: how many projects the vote adopts/, "缺少：本次票决拟确定几个项目"], [/is above 1: no count could reach it/, "大于1，任何票数都达不到"],
  [/a zero denominator/, "分母为零"], [/unknown field `([^`]+)`/, "不认识的字段「$1」"], [/missing field `([^`]+)`/, "缺少字段「$1」"],
  [/has no effect on a (.+)/, "对$1不起作用"], [/longer than (\d+) characters/, "超过$1个字"],
];
function rulesZh(message) {
  let m = message.replace(/^办法文件有误：/, "");
  const field = m.match(/^([a-z_.\[\]0-9]+): /);
  let where = "";
  if (field) {
    where = field[1].split(".").map((p) => FIELD_ZH[p.replace(/\[\d+\]/, "")] || p).join("·") + "：";
    m = m.slice(field[0].length);
  }
  for (const [re, zhText] of PHRASE_ZH) m = m.replace(re, zhText);
  return "办法文件有误：" + where + m + (field ? "（字段 " + field[1] + "）" : "");
}

/** Calls the API for the form or row `where`; a refusal is shown next to it. */
async function call(method, path, body, opts = {}) {
  const where = opts.where || "general";
  try {
    const r = await api(method, path, { body, ...opts });
    delete errors[where];
    return r;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { loginForm(e.message); throw e; }
    errors[where] = zh(e);
    render();
    throw e;
  }
}

function errorBox(where) {
  return errors[where] ? h("div", { class: "notice error", role: "alert", id: "error-" + where }, errors[where]) : null;
}

function loginForm(error) {
  const input = h("input", { type: "password", id: "passphrase", autocomplete: "current-password", "aria-label": "口令" });
  show(app, h("main", {},
    h("h1", {}, "大会秘书处登录"),
    error && h("div", { class: "notice error", role: "alert" }, error),
    h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api("POST", "/api/operator/login", { body: { passphrase: input.value } });
        await load();
      } catch (err) { loginForm(err.message); }
    } }, h("p", {}, "口令："), input, " ", h("button", { class: "primary", type: "submit", id: "login" }, "登录"))));
}

async function load() {
  try {
    // Ask first, so a console not yet logged in shows the login form without an error.
    if (!(await api("GET", "/api/operator/whoami")).operator) return loginForm();
    status = await api("GET", "/api/operator/status");
    loadedAt.t = Date.now();
    deputies = (await api("GET", "/api/operator/deputies")).deputies;
    scrutineerList = (await api("GET", "/api/operator/scrutineers")).scrutineers;
    await loadEncrypted();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return loginForm();
    return note("无法连接表决系统：" + e.message, true);
  }
  render();
}

const encrypted = (v) => v.mode === "encrypted";
/** 「加密投票」/「普通投票」. */
const modeName = (v) => (encrypted(v) ? "加密" : v.mode_zh && v.mode !== "plain" ? v.mode_zh : "普通") + "投票";

/** What the encrypted votes need beyond the status: the agenda's scrutineers, the rules
 *  documents (for the officer's command) and each closed vote's decryption progress. */
async function loadEncrypted() {
  const enc = status.votes.filter(encrypted);
  if (!enc.length) return;
  if (!guardians) {
    const agenda = await api("GET", "/api/public/e2e/agenda").catch(() => null);
    if (agenda?.guardians) guardians = agenda.guardians.map((g) => ({ index: g.index, name: g.name || null }));
  }
  if (enc.some((v) => v.state === "draft") && status.rules.some((r) => !rulesDocs[r.sha256])) {
    const list = await api("GET", "/api/operator/rules").catch(() => null);
    for (const r of list?.rules || []) {
      try { rulesDocs[r.sha256] = JSON.parse(r.document); } catch { /* the command then names no form */ }
    }
  }
  await Promise.all(enc.filter((v) => v.state === "closed").map((v) => loadE2e(v.id)));
}

async function loadE2e(id) {
  const s = await api("GET", "/api/public/votes/" + id + "/e2e").catch(() => null);
  if (s) e2e[id] = s;
  if (s?.decided && !decidedText[id]) {
    const r = await api("GET", "/api/operator/votes/" + id + "/result").catch(() => null);
    if (r) decidedText[id] = r.announcement || "";
  }
}

// While a closed encrypted vote waits for its decryption, its progress is read again: the
// scrutineers' partial decryptions arrive one by one.
setInterval(async () => {
  const waiting = status?.votes.filter((v) => encrypted(v) && v.state === "closed" && !e2e[v.id]?.decided) || [];
  if (!waiting.length) return;
  await Promise.all(waiting.map((v) => loadE2e(v.id)));
  render();
}, 1500);

/** Shell quoting for the officer's command: single quotes around anything not plain. */
const sh = (s) => (/^[\w.:\/=@%+-]+$/.test(s) ? s : "'" + String(s).replace(/'/g, "'\\''") + "'");

/** The command the credential officer runs to sign the opening roll call of vote `v`: the vote
 *  manifest's type and items as the rules document makes them (rules/encrypted.rs form_for),
 *  and the hall's count of the deputies present. */
function officerCommand(v) {
  const doc = rulesDocs[v.rules_sha256];
  const n = v.items.length;
  const args = ["piaojue", "officer", "open", "--url", location.origin, "--vote-id", v.id];
  if (v.kind === "motion") args.push("--type", "motion");
  else if (v.kind === "project_selection") args.push("--type", doc?.form === "approve_up_to_n" ? "approve_up_to_n" : "per_item");
  else if (v.kind === "satisfaction") args.push("--type", "satisfaction");
  for (const item of v.items) args.push("--item", item);
  if (v.kind === "project_selection" && typeof v.max_yes === "number") args.push("--max-yes", String(Math.min(v.max_yes, n)));
  if (v.kind === "satisfaction") for (const o of v.options || []) args.push("--option", o);
  args.push("--confirm-present", String(status.attendance.present));
  return args.map(sh).join(" ");
}

function figure(label, n, id) {
  return h("div", { class: "figure" }, h("b", { id }, n), label);
}

function attendance() {
  const a = status.attendance;
  return h("section", {}, h("h2", {}, "出席情况"), h("div", { class: "figures" },
    figure("应到", a.seated, "seated"), figure("实到", a.present, "present"), figure("请假", a.leave, "leave"),
    figure("未签到", a.absent, "absent"), figure("中途退场", a.left, "left")),
    status.demo ? h("p", {}, h("button", { id: "demo-checkin", onclick: async () => {
      const r = await call("POST", "/api/operator/demo/checkin", {}, { where: "attendance" }).catch(() => null);
      if (!r) return;
      note("演示：已为" + r.checked_in + "名代表模拟签到。");
      load();
    } }, "演示：模拟全体代表签到")) : null,
    errorBox("attendance"));
}

function turnoutBar(t) {
  if (!t) return "";
  const pct = t.enabled ? Math.round((100 * t.cast) / t.enabled) : 0;
  return h("div", {}, "已投 " + t.cast + " / " + t.enabled,
    h("div", { class: "bar-outer" }, h("div", { class: "bar-inner", style: null, "data-pct": pct })));
}

function reason(question) {
  const r = window.prompt(question);
  return r && r.trim() ? r.trim() : null;
}

async function act(vote, what, body = {}) {
  const r = await call("POST", "/api/operator/votes/" + vote.id + "/" + what, body, { where: "vote-" + vote.id });
  note("《" + r.vote.title + "》" + stateName(r.vote) + "。");
  await load();
  return r;
}

/** The actions of a vote; 取消 is kept apart (its own column), never beside 开始表决. */
function voteActions(v) {
  const b = (label, id, onclick, primary) => h("button", { class: primary ? "primary" : "", id: id + "-" + v.id, onclick }, label);
  const n = noun(v.kind);
  const swallow = (p) => p.catch(() => {});
  if (encrypted(v) && v.state === "draft" && v.awaiting_roll_call) {
    return [h("div", { class: "awaiting", id: "awaiting-" + v.id },
      h("p", { class: "waiting-line" }, "等待证件官签署点名"),
      h("p", { class: "muted" }, "加密投票须由证件官签署开始点名后才开始" + n + "。证件官在其电脑上运行（实到人数须与会场清点的一致；证件官首次使用时另加 --mh 议程上印的会议清单哈希）："),
      h("pre", { class: "command mono", id: "officer-command-" + v.id }, officerCommand(v)))];
  }
  if (encrypted(v) && v.state === "closed") {
    return [h("span", { class: "muted" }, e2e[v.id]?.decided ? "已解密，请核对结果后宣布（见下方）" : "正在解密，见下方步骤")];
  }
  switch (v.state) {
    case "draft":
      return [
        b("开始" + n, "open", () => swallow(act(v, "open")), true),
        v.voting_seconds ? h("span", { class: "muted" }, " " + n + "时间 " + v.voting_seconds + " 秒，到时自动结束 ") : null,
      ];
    case "open":
      return [
        b("结束" + n, "close", () => { if (window.confirm("确定结束《" + v.title + "》？结束后不能再投票。")) swallow(act(v, "close")); }, true),
        v.extended ? null : b("延长1分钟", "extend", () => { if (window.confirm(n + "时间只能延长一次。确定延长1分钟？")) swallow(act(v, "extend", { seconds: 60 })); }),
        status.demo ? b("演示：其余代表随机投票", "simulate", async () => {
          const r = await call("POST", "/api/operator/demo/simulate/" + v.id, {}, { where: "vote-" + v.id }).catch(() => null);
          if (!r) return;
          note("演示：" + r.cast + "名代表已模拟投票。");
          load();
        }) : null,
        // A trainer's way to show the failure path: the simulated scrutineers stay away.
        status.demo && encrypted(v) ? b("演示：监票人缺席", "absent", async () => {
          const r = await call("POST", "/api/operator/demo/absent-scrutineers/" + v.id, {}, { where: "vote-" + v.id }).catch(() => null);
          if (r) note("演示：模拟的监票人不会解密《" + v.title + "》；结束后解密无法完成，可宣告" + n + "失败。");
        }) : null,
      ];
    case "closed":
      return [b("查看计票结果", "tally", () => showResult(v)),
        b("宣布结果", "announce", () => {
          if (window.confirm("宣布《" + v.title + "》的结果？\n宣布后，结果将在会场大屏、代表终端和公告中公开，不能撤回。")) swallow(act(v, "announce"));
        }, true)];
    case "announced":
      return [b("查看结果", "tally", () => showResult(v)),
        h("a", { href: "/console/notice#vote=" + v.id, target: "_blank", id: "notice-" + v.id }, "打印公告"),
        // The run-off the rules call for: a tie at the cut, or seats left.
        v.runoff_due ? b(v.runoff_due.reason === "tie" ? "对并列项目重新票决" : "就剩余名额另行票决", "runoff", () => {
          if (window.confirm(v.runoff_due.reason_zh + "：《" + v.title + "》剩余 " + v.runoff_due.seats + " 个名额？\n新票决只列入相应的候选项目，并注明它来自 " + v.id + " 的结果包。")) {
            call("POST", "/api/operator/votes/" + v.id + "/runoff", {}, { where: "vote-" + v.id })
              .then((r) => { note("已建立 " + r.vote.id + "《" + r.vote.title + "》：" + r.vote.items.join("、") + "，" + r.vote.runoff_of.seats + " 个名额。"); return load(); })
              .catch(() => {});
          }
        }, true) : null];
    default:
      return [h("span", { class: "muted", id: "reason-" + v.id }, v.cancelled_reason || v.failed_reason ? "原因：" + (v.cancelled_reason || v.failed_reason) : ""),
        v.state === "failed" && v.bundle_url ? h("a", { href: v.bundle_url, id: "bundle-" + v.id, download: v.id + "-bundle.json" }, " 下载结果包（不含合计）") : null,
        // 重新表决: a new vote with a new id that names this one.
        (v.state === "cancelled" || v.state === "failed") && !v.revoted_by
          ? b("重新" + n, "revote", () => {
            if (window.confirm("以新的编号重新" + n + "《" + v.title + "》？\n新表决将注明它重新表决的是 " + v.id + " 及其原因；" + v.id + " 的选票不计入。")) {
              call("POST", "/api/operator/votes/" + v.id + "/revote", {}, { where: "vote-" + v.id })
                .then((r) => { note("已建立重新" + n + " " + r.vote.id + "《" + r.vote.title + "》，请开始" + n + "。"); return load(); })
                .catch(() => {});
            }
          })
          : null,
        v.revoted_by ? h("span", { class: "muted", id: "revoted-" + v.id }, " 已重新" + n + "：" + v.revoted_by) : null,
        (v.state === "cancelled" || v.state === "failed") && !v.revoted_by ? manualForm(v) : null];
  }
}

/** A closed encrypted vote, step by step: 关闭 → 清单哈希 (read aloud, compared with the hall
 *  screen) → 监票人解密 (who has, k needed) → 结果 (checked, then 宣布). */
function e2eSteps(v) {
  const s = e2e[v.id];
  const n = noun(v.kind);
  const decrypted = new Set(s?.decrypted_by || []);
  const k = s?.k ?? "?";
  const list = guardians || (s ? Array.from({ length: s.n }, (_, i) => ({ index: i + 1, name: null })) : []);
  const step = (state, id, title, ...body) => h("li", { class: "step " + state, id: id + "-" + v.id, "data-step": id },
    h("p", { class: "step-title" }, (state === "done" ? "✓ " : state === "current" ? "▶ " : "") + title), ...body);
  const decided = !!s?.decided;
  const b = (label, id, onclick, primary) => h("button", { class: primary ? "primary" : "", id: id + "-" + v.id, onclick }, label);
  return h("tr", { class: "e2e-row", id: "e2e-" + v.id }, h("td", {}), h("td", { colspan: 5 },
    h("ol", { class: "steps" },
      step("done", "step-closed", "关闭",
        h("p", {}, n + "已结束" + (s && typeof s.n_cast === "number" ? "，选票清单共 " + s.n_cast + " 张" : "") + "。"),
        h("p", { class: "muted", id: "cast-count-" + v.id }, s && typeof s.cast_count === "number"
          ? "证件官已核对：收到投票通知 " + s.cast_count + " 份" + (s.cast_count !== s.n_cast ? "（与清单张数不同，请告知监票人）" : "")
          : "等待证件官核对投票通知……")),
      step(s?.list_hash ? "done" : "current", "step-list-hash", "清单哈希",
        s?.list_hash
          ? [h("p", { class: "list-hash mono", id: "list-hash-" + v.id, "data-hash": s.list_hash }, s.list_hash_grouped || grouped(s.list_hash)),
            h("p", { class: "muted" }, "请向会场宣读，并与会场大屏上的清单哈希逐组核对。")]
          : h("p", { class: "muted" }, "正在读取……")),
      step(decided ? "done" : s?.list_hash ? "current" : "todo", "step-decrypt", "监票人解密",
        h("p", { id: "decrypt-count-" + v.id }, "需 " + k + " 位监票人解密，已有 " + decrypted.size + " 位" + (decided ? "，解密已完成。" : "……")),
        h("ul", { class: "guardians", id: "guardians-" + v.id }, list.map((g) => h("li", { "data-guardian": g.index, class: decrypted.has(g.index) ? "ok" : "muted" },
          "监票人 " + g.index + (g.name ? " " + g.name : "") + "：" + (decrypted.has(g.index) ? "已解密" : "未解密"))))),
      step(decided ? "current" : "todo", "step-result", "结果",
        decided
          ? [decidedText[v.id] ? h("pre", { class: "announcement", id: "decided-" + v.id }, decidedText[v.id]) : null,
            h("p", { class: "muted" }, "结果尚未公开，仅秘书处可见。核对后宣布：结果将在会场大屏、代表终端和公告中公开。"),
            h("div", { class: "row" },
              b("查看计票结果", "tally", () => showResult(v)),
              b("宣布结果", "announce", () => {
                if (window.confirm("宣布《" + v.title + "》的结果？\n宣布后，结果将在会场大屏、代表终端和公告中公开，不能撤回。")) act(v, "announce").catch(() => {});
              }, true)),
            errorBox("vote-" + v.id)]
          : h("p", { class: "muted" }, "解密完成后在此核对结果并宣布。"))),
    decided ? null : h("div", { class: "declare-failed", id: "declare-failed-box-" + v.id },
      h("p", { class: "muted" }, "若解密无法完成（到场监票人不足 " + k + " 位、证件官无法提交闭票点名、监票人核对不符而拒绝解密），可宣告本次" + n + "失败：所投选票不予计数，公布不含合计的结果包；之后可重新" + n + "或人工计票。"),
      h("button", { class: "danger", id: "declare-failed-" + v.id, onclick: () => {
        const r = reason("宣告《" + v.title + "》失败的原因（将记入审计日志、结果包和会场大屏）：");
        if (r && window.confirm("宣告《" + v.title + "》失败？\n所投选票不予计数，不能撤回。")) act(v, "declare-failed", { reason: r }).catch(() => {});
      } }, "宣告" + n + "失败"))));
}

/** 取消, in a column of its own at the far end of the row, and asking for a reason. */
function cancelAction(v) {
  if (v.state !== "draft" && v.state !== "open") return null;
  return h("button", { class: "danger", id: "cancel-" + v.id, onclick: () => {
    const r = reason("取消《" + v.title + "》的原因（将记入审计日志）：");
    if (r) act(v, "cancel", { reason: r }).catch(() => {});
  } }, "取消" + noun(v.kind));
}

/** The deputies enabled in a closed vote who did not vote (未按): from the appliance when it
 *  says, else (a named vote) from who is listed with a choice. */
function notVoted(v, r) {
  if (Array.isArray(r.not_voted)) return r.not_voted.map((d) => (typeof d === "string" ? deputies.find((x) => x.id === d) || { id: d, name: d } : d));
  if (r.secret === false && Array.isArray(r.named_choices) && v.roll) {
    const voted = new Set(r.named_choices.map((c) => c.deputy));
    // Without the roll's names, the deputies present now and not listed are the best guess.
    return deputies.filter((d) => !voted.has(d.id) && (d.presence === "present" || d.presence === "left"));
  }
  return null;
}

/** The links a vote's result records (docs/procedures.md), in the secretariat's words. */
function procedureLines(v) {
  const lines = [];
  if (v.runoff_of) lines.push(h("div", { class: "muted", id: "runoff-of-" + v.id }, (v.runoff_of.reason === "tie" ? "对得票相等的项目重新票决" : "就剩余名额另行票决") + "：来自 " + v.runoff_of.vote + "，" + v.runoff_of.seats + " 个名额"));
  if (v.runoff_by) lines.push(h("div", { class: "muted", id: "runoff-by-" + v.id }, "已重新票决：" + v.runoff_by));
  if (v.source) lines.push(h("div", { class: "muted", id: "source-" + v.id, title: "结果包 SHA-256 " + v.source.bundle_sha256 + "\n签名公钥 " + v.source.appliance_key },
    "测评项目来自" + (v.source_summary ? "《" + v.source_summary.title + "》（" + v.source_summary.session + "）" : "票决结果 " + v.source.bundle_sha256.slice(0, 8) + "…")));
  if (v.manual) lines.push(h("div", { class: "manual-mark", id: "manual-" + v.id }, v.manual.heading_zh + "：计票人 " + v.manual.counted_by.join("、")));
  if (v.chair_decision) lines.push(h("div", { class: "muted", id: "chair-" + v.id }, "会议主持人确定：" + v.chair_decision.items.join("、")));
  return lines;
}

/** 人工计票 (举手 / 纸质票) for a cancelled or failed vote: counts per item and option, 实到,
 *  who counted; the scrutineers then co-sign it before it is announced. */
function manualForm(v) {
  const method = h("select", { id: "manual-method-" + v.id }, h("option", { value: "show_of_hands" }, "举手表决"), h("option", { value: "paper" }, "纸质票"));
  const present = h("input", { id: "manual-present-" + v.id, type: "number", min: 0, size: 5, placeholder: "实到人数", value: status.attendance ? String(status.attendance.present) : "" });
  const counts = h("textarea", { id: "manual-counts-" + v.id, rows: Math.min(6, v.items.length), cols: 30,
    placeholder: v.items.map((i) => i + "：" + (v.options || []).join(" ")).join("\n") });
  const by = h("input", { id: "manual-by-" + v.id, placeholder: "计票人（用顿号分隔）", size: 24 });
  const why = h("input", { id: "manual-note-" + v.id, placeholder: "说明（如：电子表决系统故障）", size: 24 });
  const submit = h("button", { id: "manual-submit-" + v.id, onclick: () => {
    const rows = counts.value.trim().split("\n").map((l) => l.replace(/^[^：:]*[：:]/, "").trim().split(/\s+/).map(Number));
    const body = { method: method.value, present: Number(present.value), counts: rows,
      counted_by: by.value.split(/[、,，]/).map((x) => x.trim()).filter(Boolean), note: why.value };
    if (!window.confirm("录入《" + v.title + "》的" + (body.method === "paper" ? "纸质票计票" : "举手表决") + "结果？\n将生成标明人工计票的结果包，须经监票人会签后方可宣布。")) return;
    call("POST", "/api/operator/votes/" + v.id + "/manual-count", body, { where: "vote-" + v.id })
      .then((r) => { note("已录入人工计票结果 " + r.vote.id + "，请监票人核对并会签（piaojue scrutineer cosign）。"); return load(); })
      .catch(() => {});
  } }, "录入人工计票结果");
  return h("details", { class: "manual-form", id: "manual-form-" + v.id }, h("summary", {}, "人工计票（举手 / 纸质票）"),
    h("p", { class: "muted" }, "每行一项，依次填写各选项（" + (v.options || []).join("、") + "）的票数，用空格分隔。"),
    method, present, counts, by, why, submit);
}

/** A 测评 built from a 票决 bundle: each project's 票决 result beside its 测评 result. */
function sideBySide(v, r) {
  if (!v.source_summary || !r.outcome || !Array.isArray(r.outcome.items)) return null;
  const rated = new Map(r.outcome.items.map((i) => [i.item, i]));
  const pct = (x) => (typeof x === "number" ? (x * 100).toFixed(1) + "%" : "—");
  return h("div", { id: "side-by-side" }, h("h3", {}, "代表决 → 人大评：票决结果与满意度测评"),
    h("p", { class: "muted" }, "票决：《" + v.source_summary.title + "》（" + v.source_summary.session + "）"),
    h("table", {}, h("tr", {}, h("th", {}, "项目"), h("th", {}, "票决赞成票"), h("th", {}, "票决名次"), h("th", {}, "满意率"), h("th", {}, "综合满意率"), h("th", {}, "测评等次")),
      v.source_summary.projects.map((p) => {
        const m = rated.get(p.item);
        return h("tr", {}, h("td", {}, p.item), h("td", {}, String(p.yes ?? "—")), h("td", {}, p.rank ? "第" + p.rank + "名" : "—"),
          h("td", {}, pct(m?.rates?.["满意率"])), h("td", {}, pct(m?.rates?.["综合满意率"])), h("td", {}, m?.tier || "—"));
      })));
}

async function showResult(v) {
  let r, bundle;
  try {
    r = await call("GET", "/api/operator/votes/" + v.id + "/result", undefined, { where: "vote-" + v.id });
    bundle = await call("GET", "/api/operator/votes/" + v.id + "/bundle", undefined, { where: "vote-" + v.id });
  } catch { return; }
  const cosigned = bundle.signatures.filter((s) => s.role === "scrutineer");
  const box = resultView;
  const enc = encrypted(v);
  const missing = enc ? null : notVoted(v, r);
  const roll = r.vote.roll || v.roll;
  const count = roll && typeof roll.enabled === "number" ? roll.enabled - (typeof r.cast === "number" ? r.cast : roll.cast || 0) : null;
  show(box, h("h2", {}, "计票结果：" + v.title + (v.state === "closed" ? "（尚未宣布，仅秘书处可见）" : "")),
    v.manual ? h("p", { class: "manual-mark" }, v.manual.heading_zh + "（计票人：" + v.manual.counted_by.join("、") + "；" + v.manual.note + "）") : null,
    h("pre", { class: "announcement", id: "announcement" }, r.announcement),
    sideBySide(v, r),
    h("div", { id: "not-voted" },
      h("h3", {}, "未按表决器的代表" + (missing ? "（" + missing.length + "名）" : count !== null ? "（" + count + "名）" : "")),
      missing
        ? (missing.length ? h("p", {}, missing.map((d) => d.name + (d.delegation ? "（" + d.delegation + (d.seat ? " " + d.seat : "") + "）" : "")).join("、")) : h("p", {}, "无：参加" + noun(v.kind) + "的代表都已投票。"))
        : h("p", { class: "muted" }, count === 0 ? "无：参加" + noun(v.kind) + "的代表都已投票。"
          : enc ? "加密投票：表决系统不知道哪些代表投了票，只知道张数。" : "表决系统未提供名单。")),
    enc
      ? h("p", {}, "解密的监票人：" + (e2e[v.id]?.decrypted_by || []).map((i) => "监票人 " + i + (guardians?.find((g) => g.index === i)?.name ? " " + guardians.find((g) => g.index === i).name : "")).join("、"))
      : h("p", {}, "监票人会签：" + (cosigned.length ? cosigned.map((s) => s.name).join("、") : "无")),
    enc
      ? h("p", { class: "muted" }, "加密选票 " + (e2e[v.id]?.n_cast ?? r.cast) + " 张；清单哈希 " + (e2e[v.id]?.list_hash_grouped || "") + "；结果包 SHA-256 " + (e2e[v.id]?.bundle_sha256 || r.vote.bundle_sha256 || ""))
      : h("p", { class: "muted" }, "回执码 " + r.receipts.length + " 个；结果包 SHA-256 " + (r.vote.bundle_sha256 || "（宣布后公布）")));
  box.scrollIntoView();
}

function votes() {
  const rows = status.votes.map((v) => {
    const left = v.state === "open" && typeof v.seconds_left === "number" ? Math.max(0, v.seconds_left - Math.floor((Date.now() - loadedAt.t) / 1000)) : null;
    const row = h("tr", { id: "vote-" + v.id, class: encrypted(v) && v.state === "closed" ? "has-steps" : null },
      h("td", {}, v.id), h("td", {}, v.title, h("div", { class: "muted kind" }, [secrecy(v), kindZh[v.kind] || noun(v.kind)].filter(Boolean).join("") + " · " + v.items.length + "项"),
        h("div", { class: "mode " + (encrypted(v) ? "mode-encrypted" : "mode-plain"), id: "mode-" + v.id }, modeName(v)),
        v.revote_of ? h("div", { class: "muted", id: "revote-of-" + v.id }, "重新表决 " + v.revote_of.vote + "（" + (v.revote_of.state === "failed" ? "宣告失败" : "已取消") + "：" + v.revote_of.reason + "）") : null,
        ...procedureLines(v)),
      h("td", { class: "state" }, stateName(v), left !== null ? h("div", { class: "countdown" }, "剩余 " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0")) : null),
      h("td", {}, turnoutBar(v.turnout)),
      h("td", { class: "actions" }, h("div", { class: "row" }, voteActions(v)), errorBox("vote-" + v.id)),
      h("td", { class: "aside" }, cancelAction(v)));
    return encrypted(v) && v.state === "closed" ? [row, e2eSteps(v)] : row;
  });
  const rules = status.rules;
  const title = h("input", { id: "new-title", placeholder: "表决事项名称", size: 40 });
  const rule = h("select", { id: "new-rules" }, rules.map((r) => h("option", { value: r.sha256 }, r.title + "（" + kindZh[r.kind] + "）")));
  const items = h("textarea", { id: "new-items", rows: 4, cols: 50, placeholder: "每行一项：候选项目、议案或测评事项" });
  const mode = h("select", { id: "new-mode", "aria-label": "投票方式" },
    h("option", { value: "" }, "默认（无记名且密钥仪式已完成时为加密投票）"),
    h("option", { value: "encrypted" }, "加密投票"),
    h("option", { value: "plain" }, "普通投票"));
  return h("section", {}, h("h2", {}, "表决"),
    h("p", {}, h("a", { href: "/api/operator/report", target: "_blank", id: "session-report" }, "会议表决情况报告（可打印）"),
      h("span", { class: "muted" }, " · 会后存档：piaojue archive 数据目录 输出文件.tar，再用 piaojue verify --archive 核验")),
    h("table", {}, h("thead", {}, h("tr", {}, ["编号", "事项", "状态", "投票进度", "操作", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows.flat())),
    resultView,
    h("h3", {}, "新建表决"),
    h("div", { class: "row" }, title, rule, mode),
    items,
    h("div", {}, h("button", { id: "create", onclick: async () => {
      const list = items.value.split("\n").map((s) => s.trim()).filter(Boolean);
      const body = { title: title.value, rules_sha256: rule.value, items: list };
      if (mode.value) body.mode = mode.value;
      const r = await call("POST", "/api/operator/votes", body, { where: "create" }).catch(() => null);
      if (!r) return;
      note("已新建" + noun(r.vote.kind) + " " + r.vote.id + "（" + modeName(r.vote) + "）。");
      load();
    } }, "新建")),
    errorBox("create"));
}

function rulesSection() {
  const file = rulesFile;
  return h("section", {}, h("h2", {}, "办法"),
    h("ul", {}, status.rules.map((r) => h("li", {}, r.title, " ", h("span", { class: "muted mono" }, r.sha256.slice(0, 16) + "…")))),
    h("div", { class: "row" }, file, h("button", { onclick: async () => {
      if (!file.files[0]) return;
      const raw = new Uint8Array(await file.files[0].arrayBuffer());
      const r = await call("POST", "/api/operator/rules", undefined, { raw, where: "rules" }).catch(() => null);
      if (!r) return;
      file.value = "";
      note("已通过并冻结《" + r.title + "》，SHA-256 " + r.sha256 + "。");
      load();
    } }, "通过办法文件")),
    errorBox("rules"));
}

function roster() {
  const file = rosterFile;
  const search = h("input", { placeholder: "按姓名、代表团或座位筛选", value: filter, oninput: (e) => { filter = e.target.value; renderRoster(); }, id: "roster-filter" });
  return h("section", {}, h("h2", {}, "代表名册"),
    deputies.length === 0 ? h("div", { class: "row" }, file, h("button", { onclick: async () => {
      if (!file.files[0]) return;
      const raw = new Uint8Array(await file.files[0].arrayBuffer());
      const r = await call("POST", "/api/operator/roster", undefined, { raw, contentType: "text/csv", where: "roster" }).catch(() => null);
      if (!r) return;
      file.value = "";
      note("已导入" + r.imported + "名代表。");
      load();
    } }, "导入名册 CSV")) : null,
    h("div", { class: "row" }, search,
      h("button", { onclick: async () => { const r = await call("POST", "/api/operator/codes", {}, { where: "roster" }).catch(() => null); if (r) note("已生成" + r.codes.length + "张登记卡的登记码。"); } }, "生成登记码"),
      h("a", { href: "/console/cards", target: "_blank" }, "打印登记卡")),
    errorBox("roster"),
    h("div", { id: "roster" }));
}

function renderRoster() {
  const el = document.getElementById("roster");
  if (!el) return;
  const f = filter.trim();
  const shown = deputies.filter((d) => !f || d.name.includes(f) || d.delegation.includes(f) || d.seat.includes(f)).slice(0, 200);
  const who = async (d, what, question) => {
    const r = reason(question);
    if (!r) return;
    const out = await call("POST", "/api/operator/deputies/" + d.id + "/" + what, { reason: r }, { where: "roster" }).catch(() => null);
    if (!out) return;
    if (what === "reissue") note(d.name + "的新登记码：" + out.code + "（旧终端已失效）");
    else note(d.name + "：" + out.deputy.presence_zh);
    load();
  };
  show(el, h("table", {}, h("thead", {}, h("tr", {}, ["编号", "姓名", "代表团", "座位", "状态", "终端", "操作"].map((t) => h("th", {}, t)))),
    h("tbody", {}, shown.map((d) => h("tr", { id: "deputy-" + d.id },
      h("td", {}, d.id), h("td", {}, d.name), h("td", {}, d.delegation), h("td", {}, d.seat),
      h("td", {}, d.presence_zh), h("td", {}, d.tablet_enrolled ? "已登记" : "—"),
      h("td", {}, h("div", { class: "row" },
        d.presence !== "present" ? h("button", { onclick: () => who(d, "checkin", "补签到原因：") }, "补签到") : h("button", { onclick: () => who(d, "checkout", "退场原因：") }, "退场"),
        h("button", { onclick: () => who(d, "leave", "请假原因：") }, "请假"),
        h("button", { onclick: () => who(d, "reissue", "重新发卡原因（如平板故障）：") }, "重新发卡"))))))),
    deputies.length > shown.length ? h("p", { class: "muted" }, "仅显示前200名，请用筛选。") : null);
}

function scrutineers() {
  const name = h("input", { placeholder: "监票人姓名", id: "scrutineer-name" });
  return h("section", {}, h("h2", {}, "监票人"),
    h("table", { id: "scrutineer-list" }, h("tr", {}, h("th", {}, "编号"), h("th", {}, "姓名"), h("th", {}, "终端"), h("th", {}, "公钥指纹（与议程核对）")),
      scrutineerList.map((s) => h("tr", {}, h("td", {}, s.id), h("td", {}, s.name), h("td", {}, s.enrolled ? "已登记" : "未登记"),
        h("td", { class: "mono" }, s.public_key ? grouped(sha256Hex(hexToBytes(s.public_key))) : "—")))),
    h("div", { class: "row" }, name, h("button", { onclick: async () => {
      const r = await call("POST", "/api/operator/scrutineers", { name: name.value }, { where: "scrutineers" }).catch(() => null);
      if (!r) return;
      await load();
      note("监票人 " + r.scrutineer.name + " 的登记码：" + r.code + "（只显示一次）");
    } }, "添加监票人")),
    errorBox("scrutineers"));
}

const ACTOR_ZH = { operator: "秘书处", system: "表决系统" };
const ACTION_ZH = {
  init: "创建会议", login: "秘书处登录", logout: "秘书处退出", import_roster: "导入名册", issue_codes: "生成登记码", enrol: "终端登记",
  presence: "出席状态", reissue: "重新发卡", adopt_rules: "通过办法", create_vote: "新建表决", open_vote: "开始表决",
  extend_vote: "延长表决时间", close_vote: "结束表决", announce_vote: "宣布结果", cancel_vote: "取消表决", declare_failed: "宣告表决失败", cast: "投票",
  demo_cast: "演示：模拟投票", add_scrutineer: "增设监票人", enrol_scrutineer: "监票人登记终端", cosign: "监票人会签",
  publish_manifest: "发布会议清单（加密投票）", ceremony_message: "密钥仪式消息",
  request_roll_call: "请证件官签署点名", e2e_open: "证件官签署开始点名", e2e_close: "加密投票关闭，签署清单哈希",
  e2e_roll_call: "证件官签署结束点名", e2e_partial: "监票人部分解密", e2e_result: "合并解密", e2e_decided: "加密投票计票完成",
  e2e_spoiled: "公布核验作废的选票",
};
const PRESENCE_ZH = { absent: "未签到", present: "已签到", left: "中途退场", leave: "请假" };

/** One audit entry in words: who did what, to whom, why. */
function auditLine(e) {
  const actor = ACTOR_ZH[e.actor] || e.actor.replace(/^deputy:/, "代表 ").replace(/^scrutineer:/, "监票人 ");
  const d = e.detail || {};
  const bits = [];
  if (d.vote) bits.push("表决 " + d.vote);
  if (d.deputy) bits.push("代表 " + d.deputy);
  if (d.from && d.to) bits.push((PRESENCE_ZH[d.from] || d.from) + " → " + (PRESENCE_ZH[d.to] || d.to));
  if (d.reason) bits.push("原因：" + d.reason);
  if (d.cosigned_by) bits.push("监票人 " + d.cosigned_by + " 会签");
  if (typeof d.cast === "number") bits.push("投票 " + d.cast + " 张");
  if (typeof d.n_cast === "number") bits.push("选票 " + d.n_cast + " 张");
  if (typeof d.cast_count === "number") bits.push("投票通知 " + d.cast_count + " 份");
  if (typeof d.guardian === "number") bits.push("监票人 " + d.guardian);
  if (d.list_hash) bits.push("清单哈希 " + grouped(d.list_hash).slice(0, 19) + " …");
  if (d.mode === "encrypted") bits.push("加密投票");
  if (d.by === "period_ended") bits.push("表决时间到，自动结束");
  if (Array.isArray(d.deputies)) bits.push(d.deputies.length + " 名代表");
  else if (typeof d.deputies === "number") bits.push(d.deputies + " 名代表");
  return [String(e.seq), (e.time || "").replace("T", " ").slice(0, 19), actor, ACTION_ZH[e.action] || e.action, bits.join("；")];
}

let auditEntries = null;
function auditSection() {
  return h("section", {}, h("h2", {}, "审计日志"),
    h("p", { class: "muted" }, "共 " + status.audit.seq + " 条，链头 ", h("span", { class: "mono" }, status.audit.head)),
    h("button", { id: "show-audit", onclick: async () => {
      const from = Math.max(1, status.audit.seq - 99);
      auditEntries = (await call("GET", "/api/operator/audit?from=" + from + "&limit=100", undefined, { where: "audit" })).entries;
      render();
    } }, auditEntries ? "刷新（最近100条）" : "查看最近100条"),
    errorBox("audit"),
    auditEntries ? h("table", { id: "audit" }, h("tr", {}, ["序号", "时间", "谁", "做了什么", "详情"].map((t) => h("th", {}, t))),
      auditEntries.slice().reverse().map((e) => h("tr", {}, auditLine(e).map((c) => h("td", {}, c))))) : null);
}

function render() {
  if (!status) return;
  // Re-rendering must not lose what the operator is typing.
  const keep = {};
  const focused = document.activeElement?.id;
  for (const el of app.querySelectorAll("input[id]:not([type=file]), textarea[id], select[id]")) keep[el.id] = el.value;
  show(app,
    h("header", { class: "bar" }, h("h1", {}, status.session),
      h("span", { class: "muted" }, "设备指纹 ", h("span", { class: "mono" }, grouped(status.fingerprint))),
      h("button", { onclick: async () => { await api("POST", "/api/operator/logout", { body: {} }); status = null; loginForm(); } }, "退出")),
    h("main", {},
      flash && h("div", { class: "notice" + (flash.error ? " error" : ""), role: "status", id: "flash" }, flash.text),
      errorBox("general"),
      attendance(), votes(), rulesSection(), roster(), scrutineers(),
      auditSection()));
  for (const [id, v] of Object.entries(keep)) {
    const el = document.getElementById(id);
    if (el) el.value = v;
  }
  if (focused) document.getElementById(focused)?.focus();
  renderRoster();
  for (const bar of document.querySelectorAll(".bar-inner")) bar.style.width = bar.dataset.pct + "%";
}

// The countdown of open votes, redrawn every second (the appliance closes them itself).
setInterval(() => {
  if (status?.votes.some((v) => v.state === "open")) render();
}, 1000);

let timer = null;
listen(() => { clearTimeout(timer); timer = setTimeout(() => status && load(), 300); });
load();
