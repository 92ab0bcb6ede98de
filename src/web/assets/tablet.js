// The deputy's tablet: enrol from the card, wait for a vote, show the ballot only after its
// signature checks against the pinned key, cast with retries until a signed receipt arrives.
import { h, show, api, ApiError, listen, stateZh, grouped } from "./common.js";
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
let screen = "home";    // home | ballot | confirm | casting
let message = null;     // a notice shown on the home screen

function alarm(title, text) {
  document.body.append(h("div", { class: "alarm", role: "alert", id: "alarm" },
    h("h1", {}, title), h("p", {}, text), h("p", {}, "请勿在本终端投票，立即告知监票人和大会秘书处。")));
}

function randomHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return bytesToHex(b);
}

// ---- enrolment -------------------------------------------------------------------------

function enrolForm(note) {
  const input = h("input", { class: "code mono", id: "code", autocomplete: "off", placeholder: "XXXX-XXXX-XXXX-…", "aria-label": "登记码" });
  const submit = async (e) => {
    e.preventDefault();
    await enrol(input.value, null);
  };
  show(app,
    h("h1", {}, "表决终端登记"),
    note && h("div", { class: "notice error", role: "alert" }, note),
    h("p", {}, "请扫描您的代表登记卡上的二维码，或输入卡上的登记码："),
    h("form", { onsubmit: submit }, input, h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "登记"))));
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
    if (!pinned) message = "已登记。请核对登记卡上的设备指纹：" + grouped(fp).slice(0, 19) + "……";
    history.replaceState(null, "", "/tablet");
    await refresh();
  } catch (e) {
    history.replaceState(null, "", "/tablet");
    if (e instanceof ApiError) enrolForm(e.message);
    else enrolForm("无法连接表决系统，请稍后重试。");
  }
}

// ---- home --------------------------------------------------------------------------------

async function refresh() {
  if (!S.token) return enrolForm();
  try {
    me = await api("GET", "/api/tablet/me", { token: S.token });
    meRead = Date.now();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      S.token = null;
      return enrolForm("本终端的登记已失效（可能已重新发卡），请使用新的登记卡。");
    }
    message = "与表决系统的连接中断，正在重试……";
    if (screen === "home") renderHome();
    return;
  }
  publicKey = me.session.public_key;
  if (fingerprint(publicKey) !== S.fp) {
    alarm("签名密钥已变更", "表决系统的签名密钥与本终端登记时的不一致。");
    return;
  }
  if (screen === "casting") return;
  const open = me.votes.find((v) => v.state === "open" && v.enabled && !v.cast);
  if (open && (screen === "home" || ballot?.vote_id !== open.id)) return loadBallot(open.id);
  if (!open && (screen === "ballot" || screen === "confirm")) {
    // The vote closed while the deputy was choosing.
    ballot = null;
    screen = "home";
    message = "表决已结束，您的选择未提交。";
  }
  if (screen === "home") renderHome();
}

/** The time left to vote, from the appliance (which closes the vote when it ends). */
function timeLeft(voteId) {
  const v = me?.votes.find((x) => x.id === voteId);
  if (!v || typeof v.seconds_left !== "number") return null;
  const left = Math.max(0, v.seconds_left - Math.floor((Date.now() - meRead) / 1000));
  return h("p", { class: "countdown", id: "time-left" }, "剩余表决时间 " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0"));
}

// Keep the countdown current without redrawing the ballot.
setInterval(() => {
  const el = document.getElementById("time-left");
  if (el && ballot) el.textContent = timeLeft(ballot.vote_id)?.textContent || "";
}, 1000);

function presenceLine() {
  const d = me.deputy;
  const present = d.presence === "present";
  return h("div", { class: "status" },
    h("span", { class: present ? "ok" : "bad" }, present ? "已签到" : d.presence_zh), " ",
    present
      ? h("button", { onclick: () => presence("checkout") }, "中途退场")
      : h("button", { class: "primary", onclick: () => presence("checkin") }, "签到"));
}

async function presence(what) {
  try { await api("POST", "/api/tablet/" + what, { token: S.token, body: {} }); } catch (e) { message = e.message; }
  await refresh();
}

function header() {
  const d = me.deputy;
  return h("header", { class: "who" },
    h("div", {}, h("div", { class: "big", id: "deputy-name" }, d.name), h("div", { class: "muted" }, d.delegation + " · " + d.seat)),
    presenceLine());
}

async function renderHome() {
  const parts = [header()];
  if (message) parts.push(h("div", { class: "notice", role: "status", id: "message" }, message));
  const latest = [...me.votes].reverse();
  const cast = latest.find((v) => v.state === "open" && v.cast);
  const waiting = latest.find((v) => v.state === "open" && !v.enabled);
  const done = latest.find((v) => v.state === "announced");
  if (cast) parts.push(h("div", { class: "notice" }, h("p", {}, "您已完成《" + cast.title + "》的投票，回执码："),
    h("p", { class: "receipt mono", id: "receipt-code" }, cast.receipt_code), h("p", { class: "muted" }, "请等待表决结束。")));
  else if (waiting) parts.push(h("div", { class: "notice" }, "《" + waiting.title + "》正在表决，开始表决时您未签到，不能参加本次表决。"));
  else parts.push(h("p", { class: "big", id: "waiting" }, "请等待表决开始。"));
  if (done) {
    parts.push(h("h2", {}, "已宣布：" + done.title));
    const box = h("div", { class: "notice", id: "announcement" }, "正在读取结果……");
    parts.push(box);
    if (done.receipt_code) parts.push(h("p", { class: "muted" }, "您的回执码 " + done.receipt_code + " 已列入公布的结果，可在核验页面查证。"));
    api("GET", done.result_url).then((r) => show(box, h("div", { style: null }, r.announcement))).catch(() => show(box, "结果暂时无法读取。"));
  }
  show(app, parts);
}

// ---- the ballot -----------------------------------------------------------------------------

async function loadBallot(voteId) {
  let b;
  try {
    b = await api("GET", "/api/tablet/votes/" + voteId + "/ballot", { token: S.token });
  } catch (e) {
    message = e.message;
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
  const saved = JSON.parse(store.getItem("piaojue.pending." + voteId) || "null");
  ballot = { vote_id: voteId, definition, choices: saved?.choices || definition.items.map(() => null) };
  if (saved) { screen = "casting"; return cast(); }
  screen = "ballot";
  message = null;
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
    h("p", { class: "muted" }, (d.secret ? "无记名" : "记名") + "表决 · 依据《" + d.rules_title + "》"),
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

async function cast() {
  const voteId = ballot.vote_id;
  const key = "piaojue.pending." + voteId;
  // The ballot id is kept until the receipt arrives: a retry, even after a reload, is the same cast.
  const pending = JSON.parse(store.getItem(key) || "null") || { ballot_id: randomHex(16), choices: ballot.choices };
  store.setItem(key, JSON.stringify(pending));
  const status = h("p", { class: "big", id: "casting" }, "正在提交选票……");
  show(app, header(), h("h1", {}, ballot.definition.title), status);
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await api("POST", "/api/tablet/votes/" + voteId + "/cast", {
        token: S.token, body: { vote_id: voteId, ballot_id: pending.ballot_id, choices: pending.choices } });
      const ok = verify(DOMAIN.receipt, r.body, r.signature, publicKey) && JSON.parse(r.body).receipt_code === r.receipt_code;
      store.removeItem(key);
      return showReceipt(r.receipt_code, ok);
    } catch (e) {
      if (e instanceof ApiError && e.status < 500) {
        store.removeItem(key);
        screen = "home";
        ballot = null;
        message = e.code === "vote_closed" ? "表决已结束，您的选票未能提交。" : e.message;
        return refresh();
      }
      status.textContent = "网络中断，正在重试提交（第" + (attempt + 1) + "次）……您的选择已保存在本终端。";
      await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 5000)));
    }
  }
}

function showReceipt(code, verified) {
  screen = "home";
  ballot = null;
  show(app,
    header(),
    h("h1", {}, "投票成功"),
    h("p", {}, "您的回执码："),
    h("p", { class: "receipt mono", id: "receipt-code" }, code),
    h("p", { class: verified ? "ok" : "bad", id: "receipt-verified" }, verified ? "回执签名已验证：选票已由表决系统保存。" : "警告：回执签名无法验证，请告知监票人。"),
    h("p", { class: "muted" }, "结果宣布后，可在核验页面查证此回执码已列入结果。"),
    h("div", { class: "actions" }, h("button", { onclick: () => { message = null; refresh(); } }, "返回")));
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
if (params.get("code")) enrol(params.get("code"), params.get("fp"));
else refresh();
