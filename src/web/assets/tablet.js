// The deputy's tablet: enrol from the card, wait for a vote, show the ballot only after its
// signature checks against the pinned key, cast with retries until a signed receipt arrives.
import { h, show, api, ApiError, listen, grouped, noun, clock } from "./common.js";
import { verify, fingerprint, DOMAIN, bytesToHex } from "./sig.js";

const app = document.getElementById("app");
const store = window.localStorage;
const S = {
  get token() { return store.getItem("piaojue.token"); },
  set token(v) { v ? store.setItem("piaojue.token", v) : store.removeItem("piaojue.token"); },
  get fp() { return store.getItem("piaojue.fp"); },
  set fp(v) { v ? store.setItem("piaojue.fp", v) : store.removeItem("piaojue.fp"); },
};
let me = null;          // /api/tablet/me
let meRead = 0;         // when `me` was read (for the countdown)
let publicKey = null;   // the appliance key, checked against the pinned fingerprint
let ballot = null;      // { vote_id, definition, choices: [] }
let screen = "home";    // home | ballot | confirm | casting | receipt
let message = null;     // a notice shown on the home screen: { title?, text, error? }

function alarm(title, text) {
  // One alarm on screen, whatever raced to raise it (two ballot loads, a refresh).
  document.getElementById("alarm")?.remove();
  document.body.append(h("div", { class: "alarm", role: "alert", id: "alarm" },
    h("h1", {}, title), h("p", {}, text), h("p", {}, "请勿在本终端投票，立即告知监票人和大会秘书处。")));
}

function randomHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return bytesToHex(b);
}

// ---- enrolment -------------------------------------------------------------------------

// Crockford base32, as the appliance prints codes: four symbols and a check symbol a group.
const B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The check symbol of a group of four (crypto::check_symbol): Σ wᵢ·vᵢ mod 32, weights 1,3,5,7. */
function checkSymbol(group) {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += [1, 3, 5, 7][i] * B32.indexOf(group[i]);
  return B32[sum % 32];
}

/** What is wrong with a typed code, before the appliance is asked (null if nothing). */
export function codeProblem(typed) {
  const folded = typed.toUpperCase().replace(/[\s\-\u3000]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  const bad = [...folded].findIndex((c) => !B32.includes(c));
  if (bad >= 0) return "登记码里的「" + folded[bad] + "」不是卡上会印的字符，请对照登记卡重新核对。";
  if (folded.length === 32) return null; // an older card without check symbols
  if (folded.length !== 40) return "登记码应为8组、每组5个字符（现在有" + folded.length + "个字符），请对照登记卡核对。";
  for (let g = 0; g < 8; g++) {
    const group = folded.slice(g * 5, g * 5 + 5);
    if (checkSymbol(group.slice(0, 4)) !== group[4]) return "第" + (g + 1) + "组「" + group + "」似乎有误，请对照登记卡核对这一组。已输入的内容保留，改正后再按登记。";
  }
  return null;
}

function enrolForm(note, typed = "") {
  const input = h("input", { class: "code mono", id: "code", autocomplete: "off", placeholder: "XXXXX-XXXXX-XXXXX-…", "aria-label": "登记码", value: typed });
  const submit = async (e) => {
    e.preventDefault();
    // A typo is caught here, by group, and what was typed stays.
    const problem = codeProblem(input.value);
    if (problem) return enrolForm(problem, input.value);
    await enrol(input.value, null);
  };
  // Where the browser can read QR codes from the camera, a scan button.
  const scan = "BarcodeDetector" in window ? h("button", { type: "button", id: "scan", onclick: () => scanCard().catch(() => enrolForm("无法使用摄像头，请输入卡上的登记码。", input.value)) }, "扫描登记卡二维码") : null;
  show(app,
    h("h1", {}, "表决终端登记"),
    note && h("div", { class: "notice error", role: "alert", id: "enrol-error" }, note),
    h("p", {}, "请扫描您的代表登记卡上的二维码，或输入卡上的登记码："),
    h("form", { onsubmit: submit }, input, h("div", { class: "actions" }, scan, h("button", { class: "primary", type: "submit" }, "登记"))));
}

/** Reads the card's QR code with the camera (BarcodeDetector) and enrols with what it holds. */
async function scanCard() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  const video = h("video", { id: "camera", autoplay: true, playsinline: true });
  video.srcObject = stream;
  show(app, h("h1", {}, "请将登记卡二维码对准摄像头"), video,
    h("div", { class: "actions" }, h("button", { onclick: () => { stream.getTracks().forEach((t) => t.stop()); enrolForm(); } }, "改为输入登记码")));
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    if (!document.getElementById("camera")) return;
    const codes = await detector.detect(video).catch(() => []);
    const url = codes.map((c) => c.rawValue).find((v) => v.includes("#code="));
    if (url) {
      stream.getTracks().forEach((t) => t.stop());
      const p = new URLSearchParams(url.split("#")[1]);
      return enrol(p.get("code"), p.get("fp"));
    }
  }
}

async function enrol(code, pinned) {
  try {
    const r = await api("POST", "/api/tablet/enrol", { body: { code } });
    const fp = fingerprint(r.session.public_key);
    if (pinned && pinned.toLowerCase() !== fp) {
      alarm("设备指纹不符", "本系统的签名密钥与登记卡上的指纹不一致，可能不是大会的表决系统。");
      return;
    }
    S.token = r.token;
    S.fp = pinned ? pinned.toLowerCase() : fp;
    if (!pinned) message = "已登记。请核对登记卡上的设备指纹：" + grouped(fp);
    history.replaceState(null, "", "/tablet");
    await refresh();
  } catch (e) {
    history.replaceState(null, "", "/tablet");
    if (e instanceof ApiError) enrolForm(e.message, code);
    else enrolForm("无法连接表决系统，请稍后重试。", code);
  }
}

// ---- home --------------------------------------------------------------------------------

/** What the tablet knows of each vote from the public list: its kind and 记名/无记名. */
let info = {};
const nounOf = (voteId) => noun(info[voteId]?.kind);
/** An encrypted vote is not voted on this page but in the booth (加密投票终端). */
const encrypted = (voteId) => info[voteId]?.mode === "encrypted";
/** Whether this appliance is a demo that serves the booth itself (asked once). */
let boothHere = null;

/** The receipts this tablet received, kept until the session ends (a reload keeps them). */
function receipts() {
  try { return JSON.parse(store.getItem("piaojue.receipts") || "{}") || {}; } catch { return {}; }
}
function keepReceipt(voteId, entry) {
  const all = receipts();
  all[voteId] = { ...(all[voteId] || {}), ...entry };
  store.setItem("piaojue.receipts", JSON.stringify(all));
}
/** Casts begun on this tablet and not yet acknowledged, by vote id. */
function pendingCasts() {
  const out = {};
  for (let i = 0; i < store.length; i++) {
    const k = store.key(i);
    if (!k?.startsWith("piaojue.pending.")) continue;
    try { out[k.slice("piaojue.pending.".length)] = JSON.parse(store.getItem(k)); } catch { /* ignored */ }
  }
  return out;
}

let retryTimer = null;
async function refresh() {
  if (!S.token) return enrolForm();
  if (screen === "casting") return;
  try {
    const [m, pub] = await Promise.all([
      api("GET", "/api/tablet/me", { token: S.token }),
      api("GET", "/api/public/votes").catch(() => null),
    ]);
    me = m;
    meRead = Date.now();
    if (pub) info = Object.fromEntries(pub.votes.map((v) => [v.id, v]));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      S.token = null;
      return enrolForm("本终端的登记已失效（可能已重新发卡），请使用新的登记卡。");
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(refresh, 3000);
    if (!me) return renderOffline();
    offline = true;
    if (screen === "home") renderHome();
    return;
  }
  offline = false;
  publicKey = me.session.public_key;
  if (fingerprint(publicKey) !== S.fp) {
    alarm("签名密钥已变更", "表决系统的签名密钥与本终端登记时的不一致。");
    return;
  }
  if (screen === "casting") return;
  // A cast begun before a reload or a network loss: finish it (the same ballot id gets the
  // same receipt back, even if the appliance had already taken it) and show the receipt.
  const pending = pendingCasts();
  for (const v of me.votes) {
    if (pending[v.id] && (v.cast || v.state === "open")) {
      ballot = null;
      screen = "casting";
      return cast(v.id, pending[v.id]);
    }
    if (pending[v.id]) store.removeItem("piaojue.pending." + v.id);
  }
  const open = me.votes.find((v) => v.state === "open" && v.enabled && !v.cast && !encrypted(v.id));
  if (open && (screen === "home" || screen === "receipt" || ballot?.vote_id !== open.id)) return loadBallot(open.id);
  if (!open && (screen === "ballot" || screen === "confirm")) {
    // The vote closed while the deputy was choosing.
    const n = nounOf(ballot?.vote_id);
    ballot = null;
    screen = "home";
    message = { text: n + "已结束，您的选择未提交。", error: true };
  }
  if (screen === "home") renderHome();
}
let offline = false;

/** The tablet's own page when the appliance cannot be reached: what is kept, and that it retries. */
function renderOffline() {
  const pending = Object.values(pendingCasts());
  const kept = Object.values(receipts());
  show(app, h("section", { id: "offline-page" },
    h("h1", {}, "与表决系统的连接中断"),
    pending.length
      ? pending.map((p) => h("p", { class: "notice big", id: "offline-kept" }, "您对《" + (p.title || "本次表决") + "》的选择已保存在本终端，连接恢复后会自动提交。"))
      : h("p", { class: "big" }, "您在本终端的登记和回执都已保存。"),
    kept.map((r) => h("div", { class: "notice" }, h("p", {}, "《" + r.title + "》的回执码："), h("p", { class: "receipt mono" }, r.code))),
    h("p", {}, "请勿关闭本终端，正在自动重新连接……"),
    h("p", { class: "muted" }, "如长时间不能恢复，请举手示意会务工作人员。")));
}

/** The time left to vote, from the appliance (which closes the vote when it ends). */
function timeLeft(voteId) {
  const v = me?.votes.find((x) => x.id === voteId);
  if (!v || typeof v.seconds_left !== "number") return null;
  const left = Math.max(0, v.seconds_left - Math.floor((Date.now() - meRead) / 1000));
  return h("p", { class: "countdown", id: "time-left" }, "剩余" + nounOf(voteId) + "时间 " + clock(left));
}

// Keep the countdown current without redrawing the ballot.
setInterval(() => {
  const el = document.getElementById("time-left");
  if (el && ballot) el.textContent = timeLeft(ballot.vote_id)?.textContent || "";
}, 1000);
// The header follows the appliance's presence state (the secretariat may change it too).
setInterval(() => { if (S.token && me && (screen === "home" || screen === "receipt")) refresh(); }, 10000);

/** 签到 / 中途退场: at the foot of the home screen, away from any ballot; 退场 asks first. */
function presenceActions(confirming) {
  const d = me.deputy;
  const present = d.presence === "present";
  if (!present) return h("footer", { class: "presence", id: "presence-actions" },
    h("button", { class: "primary", id: "checkin", onclick: () => presence("checkin") }, "签到"));
  if (!confirming) return h("footer", { class: "presence", id: "presence-actions" },
    h("button", { id: "checkout", onclick: () => renderHome(true) }, "中途退场"));
  return h("footer", { class: "presence confirming", id: "presence-actions" },
    h("div", { class: "notice", role: "alertdialog", id: "checkout-question" },
      h("p", { class: "big" }, "确定要中途退场吗？"),
      h("p", {}, "退场后，此后开始的表决您将不能参加；回到会场后请重新签到。"),
      h("div", { class: "actions" },
        h("button", { id: "checkout-cancel", onclick: () => renderHome(false) }, "不退场，返回"),
        h("button", { class: "primary", id: "checkout-confirm", onclick: () => presence("checkout") }, "确定退场"))));
}

async function presence(what) {
  try {
    await api("POST", "/api/tablet/" + what, { token: S.token, body: {} });
    message = null;
  } catch (e) {
    message = { text: (what === "checkin" ? "签到" : "退场") + "未成功：" + (e instanceof ApiError ? e.message : "无法连接表决系统") + "。请稍后重试，或举手示意会务工作人员。", error: true };
  }
  await refresh();
}

function header() {
  const d = me.deputy;
  const present = d.presence === "present";
  return h("header", { class: "who" },
    h("div", {}, h("div", { class: "big", id: "deputy-name" }, d.name), h("div", { class: "muted" }, d.delegation + " · " + d.seat)),
    h("div", { class: "status" }, h("span", { class: present ? "ok" : "bad", id: "presence" }, d.presence_zh || (present ? "已签到" : ""))));
}

function messageBox() {
  if (!message) return null;
  const m = typeof message === "string" ? { text: message } : message;
  return h("div", { class: "notice" + (m.error ? " error" : ""), role: m.error ? "alert" : "status", id: "message" },
    m.title ? h("p", { class: "big" }, m.title) : null, h("p", {}, m.text));
}

/** One receipt, plainly, with where its vote stands. */
function receiptCard(v, kept) {
  const n = nounOf(v.id);
  const state = v.state === "open" ? "您已投票，请等待" + n + "结束。"
    : v.state === "closed" ? n + "已结束，正在计票。您的选票已由表决系统保存。"
      : v.state === "announced" ? "结果已宣布。" : v.state_zh || "";
  const check = h("p", { class: "check", "data-check": v.id });
  if (v.state === "announced" && v.result_url) {
    api("GET", v.result_url).then((r) => {
      const listed = (r.receipts || []).includes(v.receipt_code);
      check.className = listed ? "check ok" : "check bad";
      check.textContent = listed ? "✓ 您的回执码已列入公布的结果，可在核验页面再次查证。" : "✗ 公布的结果中没有您的回执码，请立即告知监票人。";
    }).catch(() => {});
  }
  return h("div", { class: "notice receipt-card", "data-vote": v.id },
    h("p", {}, "《" + v.title + "》 · ", h("b", { class: "state" }, v.state_zh || "")),
    h("p", {}, "您的回执码："),
    h("p", { class: "receipt mono", "data-vote": v.id }, v.receipt_code),
    kept?.verified ? h("p", { class: "ok" }, "回执签名已验证。") : null,
    h("p", {}, state), check);
}

async function renderHome(confirmingCheckout = false) {
  screen = "home";
  const parts = [header()];
  if (offline) parts.push(h("div", { class: "notice error", role: "alert" }, "与表决系统的连接中断，正在重试……您的登记和回执已保存在本终端。"));
  parts.push(messageBox());
  const latest = [...me.votes].reverse();
  const elsewhere = latest.find((v) => v.state === "open" && encrypted(v.id));
  const open = latest.find((v) => v.state === "open" && !encrypted(v.id));
  const waiting = latest.find((v) => v.state === "open" && !v.enabled && !encrypted(v.id));
  const done = latest.find((v) => v.state === "announced");
  if (elsewhere) {
    if (boothHere === null) {
      boothHere = false;
      api("GET", "/api/public/demo/booth-config").then(() => { boothHere = true; if (screen === "home") renderHome(); }).catch(() => {});
    }
    parts.push(h("div", { class: "notice", id: "encrypted-vote" },
      h("p", { class: "big" }, "《" + elsewhere.title + "》"),
      h("p", {}, "本次表决为加密投票，请在加密投票终端上投票。"),
      boothHere ? h("p", {}, h("a", { href: "/booth", id: "booth-link" }, "打开加密投票终端（演示）")) : null));
  }
  if (waiting) parts.push(h("div", { class: "notice", id: "not-enabled" }, "《" + waiting.title + "》正在" + nounOf(waiting.id) + "。开始" + nounOf(waiting.id) + "时您未签到，不能参加本次" + nounOf(waiting.id) + "。"));
  else if (!open && !elsewhere) parts.push(h("p", { class: "big", id: "waiting" }, "请等待表决开始。"));
  const kept = receipts();
  const cast = latest.filter((v) => v.cast && v.receipt_code);
  if (cast.length) parts.push(h("section", { id: "receipts" }, h("h2", {}, "我的回执"), cast.map((v) => receiptCard(v, kept[v.id]))));
  if (done) {
    parts.push(h("h2", {}, "已宣布：" + done.title));
    const box = h("div", { class: "notice", id: "announcement" }, "正在读取结果……");
    parts.push(box);
    api("GET", done.result_url).then((r) => show(box, r.announcement)).catch(() => show(box, "结果暂时无法读取。"));
  }
  parts.push(presenceActions(confirmingCheckout));
  show(app, parts);
}

// ---- the ballot -----------------------------------------------------------------------------

async function loadBallot(voteId) {
  let b;
  try {
    b = await api("GET", "/api/tablet/votes/" + voteId + "/ballot", { token: S.token });
  } catch (e) {
    message = { text: (e instanceof ApiError ? e.message : "无法连接表决系统") + "。请稍候，本终端会自动重试；如仍不能显示选票，请举手示意会务工作人员。", error: true };
    clearTimeout(retryTimer);
    retryTimer = setTimeout(refresh, 3000);
    return renderHome();
  }
  if (fingerprint(b.public_key) !== S.fp || !verify(DOMAIN.ballot, b.body, b.signature, b.public_key)) {
    alarm("选票签名验证失败", "这张选票不是由大会表决系统签发的，或在传输中被改动。");
    return;
  }
  const definition = JSON.parse(b.body);
  if (definition.vote_id !== voteId) {
    alarm("选票与表决不符", "收到的选票属于另一次表决。");
    return;
  }
  ballot = { vote_id: voteId, definition, choices: definition.items.map(() => null) };
  screen = "ballot";
  // A refusal of this vote's cast stays above the ballot shown again.
  if (message?.vote !== voteId) message = null;
  renderBallot();
}

function isApprove(d) { return d.kind === "project_selection" && d.form === "approve_up_to_n"; }

function yesCount() { return ballot.choices.filter((c) => c === 0).length; }

function choose(i, option) {
  const d = ballot.definition;
  const current = ballot.choices[i];
  if (isApprove(d)) option = current === 0 ? 1 : 0;
  if (option === 0 && current !== 0 && d.max_yes && yesCount() >= d.max_yes) {
    const note = document.getElementById("limit");
    note.textContent = "最多只能对" + d.max_yes + "个项目投" + d.options[0] + "票。请先取消一个" + d.options[0] + "，再选择这一项。";
    note.classList.remove("hidden");
    return;
  }
  ballot.choices[i] = option;
  renderBallot();
}

function renderBallot() {
  const d = ballot.definition;
  if (isApprove(d)) ballot.choices = ballot.choices.map((c) => (c === null ? 1 : c));
  const items = d.items.map((item, i) => h("div", { class: "item" },
    h("h3", {}, (i + 1) + ". " + item),
    h("div", { class: "choices", role: "group", "aria-label": item },
      (isApprove(d) ? [d.options[0]] : d.options).map((opt, j) => h("button", {
        class: "choice", type: "button", "aria-pressed": ballot.choices[i] === j ? "true" : "false",
        "data-item": i, "data-option": j, onclick: () => choose(i, j),
      }, opt)))));
  const complete = ballot.choices.every((c) => c !== null);
  show(app,
    header(),
    h("h1", {}, d.title),
    h("p", { class: "muted", id: "ballot-kind" }, (d.secret ? "无记名" : "记名") + noun(d.kind) + " · 依据《" + d.rules_title + "》"),
    messageBox(),
    timeLeft(d.vote_id),
    d.max_yes ? h("div", { class: "counter", id: "counter" }, "已选" + d.options[0] + " " + yesCount() + "/" + d.max_yes) : null,
    h("div", { class: "notice error hidden", id: "limit", role: "alert" }),
    items,
    h("div", { class: "actions" },
      h("button", { class: "primary", id: "next", disabled: !complete, onclick: renderConfirm }, complete ? "下一步：核对选择" : "请对每一项作出选择")));
}

function renderConfirm() {
  screen = "confirm";
  const d = ballot.definition;
  const label = (c) => (isApprove(d) ? (c === 0 ? d.options[0] : "未选") : d.options[c]);
  show(app,
    header(),
    h("h1", {}, "请核对您的选择"),
    h("table", {}, h("tbody", {}, d.items.map((item, i) => h("tr", {}, h("td", {}, item), h("td", { class: "big" }, label(ballot.choices[i])))))),
    h("p", { class: "muted" }, "确认后不能更改。"),
    h("div", { class: "actions" },
      h("button", { onclick: () => { screen = "ballot"; renderBallot(); } }, "返回修改"),
      h("button", { class: "primary", id: "confirm", onclick: () => { screen = "casting"; cast(); } }, "确认投票")));
}

/** Why a cast was refused and what to do, in plain words; `back` when the choice may be redone. */
function refusal(e, n) {
  const ask = "如有疑问，请举手示意会务工作人员。";
  switch (e.code) {
    case "not_enabled":
      return { title: "您的选票未被接受", text: "开始" + n + "时您不在参加本次" + n + "的代表名单中（未签到或已请假），不能参加本次" + n + "。" + ask };
    case "vote_closed":
      return { title: "您的选票未能提交", text: n + "已经结束，这张选票没有计入结果。" + ask };
    case "vote_not_open":
      return { title: "您的选票未能提交", text: n + "还没有开始。请等待主持人宣布开始后再投票。" };
    case "vote_cancelled":
      return { title: "本次" + n + "已取消", text: "这张选票不再收取，请听从主持人的安排。" };
    case "already_cast":
      return { title: "您已经投过票", text: "表决系统已收到您在本次" + n + "中的一张选票，每位代表只能投一次，刚才这次提交未被接受。" + ask };
    case "too_many_yes":
      return { back: true, title: "选择超过了规定数量", text: "赞成的项目超过了规定数量，选票未被接受。请减少赞成的项目后重新提交。" };
    case "wrong_item_count": case "unknown_option": case "wrong_vote": case "bad_ballot_id":
      return { back: true, title: "选票未被接受", text: "选票内容不完整或有误。请核对每一项的选择后重新提交。" + ask };
    default:
      return { title: "您的选票未被接受", text: (e.message || "表决系统拒绝了这次提交") + "。" + ask };
  }
}

async function cast(voteId = ballot.vote_id, resumed = null) {
  const key = "piaojue.pending." + voteId;
  const n = nounOf(voteId);
  const title = resumed?.title || ballot?.definition.title || "";
  // The ballot id is kept until the receipt arrives: a retry, even after a reload, is the same cast.
  const pending = resumed || JSON.parse(store.getItem(key) || "null") || { ballot_id: randomHex(16), choices: ballot.choices, title };
  store.setItem(key, JSON.stringify(pending));
  const status = h("p", { class: "big", id: "casting" }, resumed ? "正在确认您已保存的选票……" : "正在提交选票……");
  show(app, header(), h("h1", {}, title), status);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await api("POST", "/api/tablet/votes/" + voteId + "/cast", {
        token: S.token, body: { vote_id: voteId, ballot_id: pending.ballot_id, choices: pending.choices } });
      const ok = verify(DOMAIN.receipt, r.body, r.signature, publicKey) && JSON.parse(r.body).receipt_code === r.receipt_code;
      store.removeItem(key);
      return showReceipt(voteId, title, r.receipt_code, ok);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        store.removeItem(key);
        screen = "home";
        S.token = null;
        return enrolForm("您的选票未能提交：本终端的登记已失效（可能已重新发卡）。请举手示意会务工作人员，使用新的登记卡重新登记。");
      }
      if (e instanceof ApiError && e.status < 500 && e.status !== 429) {
        store.removeItem(key);
        const why = refusal(e, n);
        message = { ...why, error: true, vote: voteId };
        if (why.back && ballot?.vote_id === voteId) {
          screen = "ballot";
          return renderBallot();
        }
        screen = "home";
        ballot = null;
        return refresh();
      }
      status.textContent = "网络中断，正在重试提交（第" + (attempt + 1) + "次）……您的选择已保存在本终端，请勿关闭。";
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 5000)));
    }
  }
}

function showReceipt(voteId, title, code, verified) {
  screen = "receipt";
  ballot = null;
  message = null;
  keepReceipt(voteId, { code, verified, title });
  show(app,
    header(),
    h("h1", { id: "cast-ok" }, "投票成功"),
    h("p", {}, "《" + title + "》 您的回执码："),
    h("p", { class: "receipt mono", id: "receipt-code" }, code),
    h("p", { class: verified ? "ok" : "bad", id: "receipt-verified" }, verified ? "回执签名已验证：选票已由表决系统保存。" : "警告：回执签名无法验证，请告知监票人。"),
    h("p", {}, "回执码会一直显示在本终端上，直到会议结束。结果宣布后，可在核验页面查证此回执码已列入结果。"),
    h("div", { class: "actions" }, h("button", { id: "receipt-back", onclick: () => { message = null; screen = "home"; refresh(); } }, "返回")));
}

// ---- start ----------------------------------------------------------------------------------

const params = new URLSearchParams(location.hash.slice(1));
let timer = null;
// Events matter only to an enrolled tablet; before that, the enrolment form (and its
// message) must stay as it is.
const onEvent = () => { if (S.token) { clearTimeout(timer); timer = setTimeout(refresh, 150); } };
listen(onEvent, (up) => {
  const el = document.getElementById("offline");
  if (!up && !el) document.body.append(h("div", { class: "notice error", id: "offline" }, "与表决系统的连接中断，正在重连……"));
  if (up) { el?.remove(); onEvent(); }
}, "tablet");
// The tablet app works offline: a service worker keeps its own files (and nothing else), so
// a reload without the network shows this app's own page instead of the browser's error.
// Registered only where the appliance allows the /tablet scope (`Service-Worker-Allowed`).
if ("serviceWorker" in navigator && location.pathname === "/tablet") {
  fetch("/assets/sw.js", { cache: "no-store" })
    .then((r) => (r.ok && (r.headers.get("Service-Worker-Allowed") || "").split(",").some((s) => s.trim() && "/tablet".startsWith(s.trim()))
      ? navigator.serviceWorker.register("/assets/sw.js", { scope: "/tablet" }) : null))
    .catch(() => { /* offline or not allowed: the app still works online */ });
}
if (params.get("code")) enrol(params.get("code"), params.get("fp"));
else refresh();
