// The booth (加密表决终端, SPEC-E2E §1.2 step 4, §7, §12): the deputy's tablet app for
// encrypted votes. It checks the session manifest against the mh printed on the agenda and the
// joint key against the scrutineers' signatures, reads the deputy's sealed card (kept in memory
// only), checks each vote's manifest and the officer's roll call, encrypts and proves in a Web
// Worker, shows the tracking code before anything is sent, and then either casts (投出: a
// signed receipt, verified, and a cast notice to the credential officer) or audits (核验: the
// ballot is revealed, published as spoiled and offered as a file for another device).
// The checks and messages are in logic.js (tested in Node: tests/js/booth.test.mjs).
import { h, show, noun, clock } from "../common.js";
import { parseSeed, seedProblem } from "../e2e/card.js";
import * as e from "../e2e/e2e.js";
import * as L from "./logic.js";

const app = document.getElementById("app");
const banner = document.getElementById("banner");
const store = window.localStorage;

// ---- configuration (typed once, kept; the card seed is never stored) -----------------------
const KEY = { base: "piaojue.booth.base", mh: "piaojue.booth.mh", officer: "piaojue.booth.officer" };
const cfg = { base: null, mh: null, officer: null, demo: false, mhFromDevice: false };

// ---- state ---------------------------------------------------------------------------------
let session = null;     // parsed session manifest (logic.checkSessionManifest)
let sessionBytes = null;
let jointKey = null;    // accepted K (bytes)
let fingerprint = null; // the key fingerprint read aloud at the ceremony
let cardSeed = null;    // the deputy's card: memory only
let votes = [];         // GET /api/public/votes, the last answer
let votesRead = 0;
let screen = "start";   // start | config | card | camera | home | ballot | proving | commit | casting | receipt | audit | alarm | offline
let current = null;     // { id, title, kind, vote, roll, cred, choices, proved }
let message = null;     // { title?, text, error? } shown on the home or ballot screen
let online = true;
const checked = new Map(); // vote id → { vote, roll } | { error } (a vote's manifest and roll call, checked once)
const e2eKnown = new Map(); // vote id → whether the appliance has an encrypted record for it (listing without `mode`)

const nounOf = (kind) => noun(kind);

function alarm(title, text, detail) {
  screen = "alarm";
  document.getElementById("alarm")?.remove();
  document.body.append(h("div", { class: "alarm", role: "alert", id: "alarm" },
    h("h1", {}, title), h("p", {}, text), detail ? h("p", { class: "mono hint", id: "alarm-detail" }, detail) : null,
    h("p", {}, "请勿在本终端投票，立即告知监票人和大会秘书处。"),
    h("div", { class: "actions" },
      h("button", { id: "alarm-retry", onclick: () => { document.getElementById("alarm")?.remove(); start(); } }, "重新检查"),
      h("button", { id: "alarm-settings", onclick: () => { document.getElementById("alarm")?.remove(); configForm(); } }, "检查终端设置"))));
}

function renderBanner() {
  show(banner, cfg.demo ? h("div", { class: "demo-banner", id: "demo-banner", role: "note" },
    h("b", {}, "演示"), cfg.mhFromDevice
      ? " 演示模式：会议清单哈希取自表决设备本身，未与印发的议程核对。正式会议中必须输入议程上印的哈希。"
      : " 演示模式：终端设置取自演示用的表决设备。") : null,
  !online && screen !== "offline" ? h("div", { class: "notice error", id: "offline", role: "alert" }, "与表决设备的连接中断，正在重试……") : null);
}

// ---- network -------------------------------------------------------------------------------

class NetError extends Error {}
/** A request to the appliance: { status, data } for any answer; NetError when unreachable. */
async function call(method, path, { body, bytes = false } = {}) {
  let res;
  try {
    res = await fetch(cfg.base + path, {
      method, cache: "no-store", credentials: "omit",
      headers: body !== undefined ? { "Content-Type": "application/json" } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new NetError(String(err?.message || err));
  }
  if (bytes && res.ok) return { status: res.status, data: new Uint8Array(await res.arrayBuffer()) };
  const text = await res.text().catch(() => "");
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  return { status: res.status, data };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the prover worker ---------------------------------------------------------------------

let worker = null;
let workerBroken = false;
let seq = 0;
const waiting = new Map();
function getWorker() {
  if (workerBroken) return null;
  if (worker) return worker;
  try {
    worker = new Worker(new URL("./booth-worker.js", import.meta.url), { type: "module" });
  } catch {
    workerBroken = true;
    return null;
  }
  worker.onmessage = (ev) => {
    const w = waiting.get(ev.data?.id);
    if (!w) return;
    waiting.delete(ev.data.id);
    if (ev.data.ok) w.resolve(ev.data);
    else w.reject(new L.BoothError(ev.data.code || "prove", ev.data.error, ev.data.detail));
  };
  worker.onerror = (ev) => {
    // The worker did not load (a file:// booth, an old browser): prove on this thread instead.
    ev.preventDefault?.();
    workerBroken = true;
    worker = null;
    for (const w of waiting.values()) w.reject(Object.assign(new Error("worker failed"), { workerFailed: true }));
    waiting.clear();
  };
  return worker;
}
function ask(msg) {
  const w = getWorker();
  if (!w) return Promise.reject(Object.assign(new Error("no worker"), { workerFailed: true }));
  const id = ++seq;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ ...msg, id });
  });
}
async function prove(vote, credSeed, choices) {
  const msg = { op: "prove", session: sessionBytes, voteManifest: vote.bytes, jointKey, credSeed, choices };
  try {
    return (await ask(msg)).proved;
  } catch (err) {
    if (!err.workerFailed) throw err;
    await sleep(30); // let the "正在加密" screen paint
    return L.proveForBooth({ session, vote, K: jointKey, credSeed, choices });
  }
}

// ---- start: configuration, manifest, ceremony -----------------------------------------------

async function loadConfig() {
  cfg.base = store.getItem(KEY.base) || (/^https?:$/.test(location.protocol) ? location.origin : null);
  cfg.mh = store.getItem(KEY.mh);
  cfg.officer = store.getItem(KEY.officer);
  cfg.demo = false;
  cfg.mhFromDevice = false;
  if (!cfg.base) return true;
  // The demo appliance says so and offers the values a real session types from paper.
  try {
    const r = await call("GET", "/api/public/demo/booth-config");
    if (r.status === 200 && r.data?.demo === true) {
      cfg.demo = true;
      if (!cfg.officer && typeof r.data.officer_notice_url === "string") cfg.officer = L.normalizeNoticeUrl(r.data.officer_notice_url);
      if (!cfg.mh && L.normalizeHash(r.data.mh || "")) {
        cfg.mh = L.normalizeHash(r.data.mh);
        cfg.mhFromDevice = true;
      }
    }
  } catch {
    return false; // unreachable
  }
  return true;
}

function configForm(note) {
  screen = "config";
  renderBanner();
  const base = h("input", { id: "cfg-base", class: "mono", autocomplete: "off", spellcheck: "false", placeholder: "https://10.0.0.1:8443", value: cfg.base || "" });
  const mh = h("input", { id: "cfg-mh", class: "mono", autocomplete: "off", spellcheck: "false", placeholder: "议程上印的64位哈希，可分组输入", value: cfg.mh && !cfg.mhFromDevice ? L.groupedHash(cfg.mh) : "" });
  const officer = h("input", { id: "cfg-officer", class: "mono", autocomplete: "off", spellcheck: "false", placeholder: "https://10.0.0.2:8444/notice", value: cfg.officer || "" });
  const save = (ev) => {
    ev.preventDefault();
    const b = L.normalizeBaseUrl(base.value);
    const m = L.normalizeHash(mh.value);
    const o = officer.value.trim() ? L.normalizeNoticeUrl(officer.value) : null;
    if (!b) return configForm("表决设备地址应为 https://… 形式的网址。");
    if (!m) return configForm("会议清单哈希应为64位十六进制数字（0–9、a–f），请对照议程核对。");
    if (!o && !(cfg.demo && cfg.officer)) return configForm("证件官回执地址应为 https://… 形式的网址。");
    store.setItem(KEY.base, b);
    store.setItem(KEY.mh, m);
    if (o) store.setItem(KEY.officer, o);
    start();
  };
  show(app,
    h("h1", {}, "加密表决终端设置"),
    note ? h("div", { class: "notice error", role: "alert", id: "cfg-error" }, note) : null,
    h("p", {}, "以下设置只需输入一次，保存在本终端上。请对照大会议程上印的内容输入。"),
    h("form", { class: "config", id: "config-form", onsubmit: save },
      h("label", { for: "cfg-base" }, "表决设备地址"), base,
      h("label", { for: "cfg-mh" }, "会议清单哈希（议程上印的 mh）"), mh,
      h("label", { for: "cfg-officer" }, "证件官回执地址"), officer,
      h("div", { class: "actions" },
        session ? h("button", { type: "button", id: "cfg-cancel", onclick: () => start() }, "取消") : null,
        h("button", { class: "primary", type: "submit", id: "cfg-save" }, "保存"))));
}

function renderOffline(what) {
  screen = "offline";
  renderBanner();
  const saved = Object.values(cardSeed ? kept("receipts") : receipts());
  show(app, h("section", { id: "offline-page" },
    h("h1", {}, "无法连接表决设备"),
    h("p", { class: "big" }, what || "本终端暂时无法连接表决设备，正在自动重试……"),
    saved.length ? h("div", {}, h("p", {}, "本终端保存的回执："), saved.map((r) => h("div", { class: "notice" },
      h("p", {}, "《" + (r.title || r.vote_id) + "》的跟踪码："), h("p", { class: "receipt mono" }, r.short_code)))) : null,
    h("p", {}, "请勿关闭本终端。"),
    h("p", { class: "muted" }, "如长时间不能恢复，请举手示意会务工作人员。"),
    h("div", { class: "actions" },
      h("button", { id: "offline-settings", onclick: () => configForm() }, "检查终端设置"),
      h("button", { class: "primary", id: "offline-retry", onclick: () => start() }, "立即重试"))));
}

let startTimer = null;
let starting = false;
async function start() {
  clearTimeout(startTimer);
  if (starting) return;
  starting = true;
  try {
    await startInner();
  } finally {
    starting = false;
  }
}
async function startInner() {
  const reachable = await loadConfig();
  renderBanner();
  if (!reachable && (!cfg.mh || !cfg.officer)) {
    // Perhaps a demo appliance whose settings come from itself: wait for it rather than ask.
    online = false;
    renderOffline();
    startTimer = setTimeout(start, 3000);
    return;
  }
  if (!cfg.base || !cfg.mh || (!cfg.officer && !cfg.demo)) {
    // The demo appliance without an mh: take it from the device itself, shown, under the banner.
    if (cfg.base && cfg.demo && !cfg.mh) {
      const r = await call("GET", "/api/public/e2e/manifest", { bytes: true }).catch(() => null);
      if (r?.status === 200) {
        cfg.mh = e.bytesToHex(e.parseSessionManifest(r.data).hash);
        cfg.mhFromDevice = true;
        renderBanner();
      }
    }
    if (!cfg.base || !cfg.mh || (!cfg.officer && !cfg.demo)) return configForm();
  }
  screen = "start";
  show(app, h("p", { class: "big", id: "connecting" }, "正在连接表决设备，核验会议清单和选票加密密钥……"));
  let m;
  try {
    m = await call("GET", "/api/public/e2e/manifest", { bytes: true });
  } catch {
    online = false;
    renderOffline();
    startTimer = setTimeout(start, 3000);
    return;
  }
  online = true;
  if (m.status !== 200) {
    show(app, h("div", { class: "notice", id: "not-ready" }, h("p", { class: "big" }, "表决设备尚未发布会议清单。"), h("p", {}, "请稍候，本终端会自动重试。")));
    startTimer = setTimeout(start, 5000);
    return;
  }
  try {
    session = L.checkSessionManifest(m.data, cfg.mh);
    sessionBytes = m.data;
    checked.clear();
    credMemo.clear();
  } catch (err) {
    session = null;
    return alarm(err.code === "manifest_mismatch" ? "会议清单不符" : "会议清单无效", err.message, err.detail);
  }
  let c;
  try {
    c = await call("GET", "/api/public/e2e/ceremony");
  } catch {
    online = false;
    renderOffline();
    startTimer = setTimeout(start, 3000);
    return;
  }
  if (c.status !== 200) {
    show(app, h("div", { class: "notice", id: "not-ready" }, h("p", { class: "big" }, "监票人的密钥仪式尚未完成，暂时不能投票。"), h("p", {}, "请稍候，本终端会自动重试。")));
    startTimer = setTimeout(start, 5000);
    return;
  }
  try {
    ({ K: jointKey, fingerprint } = L.checkCeremony(session, c.data));
  } catch (err) {
    jointKey = null;
    return alarm("选票加密密钥未通过核验", err.message, err.detail);
  }
  ask({ op: "prepare", session: sessionBytes, jointKey }).catch(() => {});
  if (!cardSeed) return cardForm();
  screen = "home";
  await tick();
}

// ---- the card ------------------------------------------------------------------------------

function cardForm(note, typed = "") {
  screen = "card";
  renderBanner();
  const input = h("input", { class: "seed mono", id: "seed", autocomplete: "off", autocapitalize: "characters", spellcheck: "false",
    placeholder: "XXXXX-XXXXX-XXXXX-…（13组）", "aria-label": "凭证码", value: typed });
  const submit = (ev) => {
    ev.preventDefault();
    const problem = seedProblem(input.value);
    const seed = problem ? null : parseSeed(input.value);
    if (!seed) return cardForm(problem || "凭证码无法识别，请对照凭证卡核对。", input.value);
    input.value = "";
    acceptCard(seed);
  };
  const scan = "BarcodeDetector" in window && navigator.mediaDevices?.getUserMedia
    ? h("button", { type: "button", id: "scan-card", onclick: () => scanCard().catch(() => cardForm("无法使用摄像头，请输入凭证卡上的凭证码。")) }, "扫描凭证卡二维码")
    : null;
  show(app,
    h("h1", {}, "请读取您的表决凭证卡"),
    note ? h("div", { class: "notice error", role: "alert", id: "seed-error" }, note) : null,
    h("p", {}, scan ? "请扫描凭证卡上的二维码，或逐组输入卡上的凭证码（每组末位为校验位）：" : "请逐组输入凭证卡上的凭证码（每组末位为校验位）："),
    h("form", { id: "card-form", onsubmit: submit }, input,
      h("div", { class: "actions" }, scan, h("button", { class: "primary", type: "submit", id: "seed-submit" }, "读取凭证卡"))),
    h("p", { class: "muted hint" }, "凭证码只保存在本终端的内存中，不会发送给任何设备；关闭或刷新本页面后需要重新读取。"),
    tools());
}

async function scanCard() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  const stop = () => stream.getTracks().forEach((t) => t.stop());
  screen = "camera";
  const video = h("video", { id: "camera", autoplay: true, playsinline: true, muted: true });
  video.srcObject = stream;
  const note = h("p", { class: "muted", id: "scan-note" }, "请将凭证卡二维码对准摄像头。");
  show(app, h("h1", {}, "扫描凭证卡"), video, note,
    h("div", { class: "actions" }, h("button", { id: "scan-cancel", onclick: () => { stop(); cardForm(); } }, "改为输入凭证码")));
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  for (;;) {
    await sleep(250);
    if (!document.getElementById("camera")) return stop();
    const codes = await detector.detect(video).catch(() => []);
    for (const c of codes) {
      const seed = parseSeed(c.rawValue || "");
      if (seed) {
        stop();
        return acceptCard(seed);
      }
      note.textContent = "这个二维码不是表决凭证卡，请扫描凭证卡上的二维码。";
    }
  }
}

async function acceptCard(seed) {
  cardSeed = seed;
  checked.clear(); // per-vote credentials depend on the card
  credMemo.clear();
  message = { text: "凭证卡已读取。" };
  screen = "home";
  renderHome();
  await resumePending();
  tick();
}

function forgetCard() {
  if (cardSeed) cardSeed.fill(0);
  cardSeed = null;
  for (const c of checked.values()) c.cred?.seed.fill(0);
  if (current?.cred) current.cred.seed.fill(0);
  credMemo.clear();
  current = null;
  message = null;
  checked.clear();
  cardForm();
}

// ---- receipts, pending casts and notices (localStorage, per session manifest) ----------------

const keyOf = (what) => `piaojue.booth.${what}.${cfg.mh}`;
function load(what) {
  try { return JSON.parse(store.getItem(keyOf(what)) || "{}") || {}; } catch { return {}; }
}
/** Entries are kept per vote and per-vote credential: `slot(vote_id, cred_pk)`. */
const slot = (voteId, credPk) => voteId + "/" + credPk;
function save(what, key, value) {
  const all = load(what);
  if (value === null) delete all[key];
  else all[key] = value;
  store.setItem(keyOf(what), JSON.stringify(all));
}
const receipts = () => load("receipts");

// A tablet may be handed to another deputy (更换凭证卡): what it kept counts for the card whose
// per-vote credential made it (the credential is public: it is in the roll call).
const credMemo = new Map();
function myCredPk(voteId) {
  if (!cardSeed || !session) return null;
  if (!credMemo.has(voteId)) credMemo.set(voteId, e.bytesToHex(e.deriveCredential(cardSeed, session.hash, voteId).publicKey));
  return credMemo.get(voteId);
}
const mine = (entry) => !!entry && typeof entry.vote_id === "string" && entry.cred_pk === myCredPk(entry.vote_id);
/** The kept entries of `what` made with this card, by vote id. */
function kept(what) {
  return Object.fromEntries(Object.values(load(what)).filter(mine).map((x) => [x.vote_id, x]));
}

// ---- polling the votes -----------------------------------------------------------------------

let tickTimer = null;
async function tick() {
  clearTimeout(tickTimer);
  tickTimer = setTimeout(tick, 3000);
  if (!session || !jointKey || !cardSeed) return;
  let r;
  try {
    r = await call("GET", "/api/public/votes");
  } catch {
    online = false;
    if (screen === "home") renderOffline();
    else renderBanner();
    return;
  }
  if (!online) {
    online = true;
    if (screen === "offline") screen = "home";
  }
  renderBanner();
  if (r.status !== 200 || !Array.isArray(r.data?.votes)) return;
  votes = r.data.votes;
  votesRead = Date.now();
  await decide();
}

async function isEncrypted(v) {
  if (v.mode === "encrypted") return true;
  if (v.mode !== undefined) return false;
  if (!e2eKnown.has(v.id)) {
    const r = await call("GET", "/api/public/e2e/votes/" + encodeURIComponent(v.id)).catch(() => null);
    if (!r) return false;
    e2eKnown.set(v.id, r.status === 200);
  }
  return e2eKnown.get(v.id);
}

/** The vote's manifest and roll call, checked once; this deputy's credential. */
async function checkVote(v) {
  if (checked.has(v.id)) return checked.get(v.id);
  const r = await call("GET", "/api/public/e2e/votes/" + encodeURIComponent(v.id));
  let out;
  if (r.status !== 200) {
    out = { error: { code: "vote_unavailable", message: "表决设备暂时没有提供本次表决的加密表决记录，请稍候。" }, retry: true };
  } else {
    try {
      const { vote, roll } = L.checkVoteView(session, r.data, v.id);
      const cred = L.credentialFor(cardSeed, session, vote, roll);
      out = { vote, roll, cred };
    } catch (err) {
      out = { error: err, retry: err.code === "roll_call_missing" };
    }
  }
  if (!out.retry) checked.set(v.id, out);
  return out;
}

async function decide() {
  const busy = ["proving", "commit", "casting", "refused", "audit", "alarm", "config", "card", "camera"].includes(screen);
  const open = [];
  for (const v of votes) if (v.state === "open" && (await isEncrypted(v).catch(() => false))) open.push(v);
  if (current && screen === "ballot" && !open.some((v) => v.id === current.id)) {
    // The vote closed while the deputy was choosing.
    message = { text: "《" + current.title + "》的" + nounOf(current.kind) + "已结束，您的选择未提交。", error: true };
    current = null;
    screen = "home";
  }
  if (busy || screen === "ballot") {
    updateClock();
    return;
  }
  const done = kept("receipts");
  const pending = kept("pending");
  const refused = kept("refused");
  const todo = open.find((v) => !done[v.id] && !pending[v.id] && !refused[v.id]);
  // The receipt stays on screen until the deputy leaves it or the next vote opens.
  if (screen === "receipt" && !todo) return;
  if (!todo) return renderHome(open);
  const c = await checkVote(todo);
  if (c.error) return renderHome(open, { vote: todo, error: c.error });
  if (!c.cred.enabled) return renderHome(open, { vote: todo, notEnabled: true });
  current = { id: todo.id, title: todo.title || c.vote.voteId, kind: todo.kind, vote: c.vote, roll: c.roll, cred: c.cred,
    choices: L.emptyChoices(c.vote), proved: null };
  if (message?.vote !== todo.id) message = null;
  renderBallot();
}

// ---- home ----------------------------------------------------------------------------------

function tools() {
  return h("footer", { class: "tools" },
    h("span", { class: "muted", id: "session-pins" },
      session ? ["会议清单 ", h("span", { class: "mono", id: "mh-shown" }, L.groupedHash(e.bytesToHex(session.hash)))] : null,
      fingerprint ? [" · 密钥指纹 ", h("span", { class: "mono", id: "key-fingerprint" }, fingerprint)] : null),
    h("span", {},
      cardSeed ? h("button", { id: "forget-card", onclick: forgetCard }, "更换凭证卡") : null, " ",
      h("button", { id: "settings", onclick: () => configForm() }, "终端设置")));
}

function messageBox() {
  if (!message) return null;
  return h("div", { class: "notice" + (message.error ? " error" : ""), role: message.error ? "alert" : "status", id: "message" },
    message.title ? h("p", { class: "big" }, message.title) : null, h("p", {}, message.text));
}

function receiptCard(r) {
  return h("div", { class: "notice receipt-card", "data-vote": r.vote_id },
    h("p", {}, "《" + (r.title || r.vote_id) + "》"),
    h("p", {}, "跟踪码："), h("p", { class: "receipt mono", "data-vote": r.vote_id }, r.short_code),
    h("p", { class: "muted" }, "回执时间 " + L.receiptTime(r.time)),
    h("p", { class: r.verified ? "ok" : "bad" }, r.verified ? "回执签名有效" : "回执签名无效，请告知监票人"),
    noticeLine(r));
}

/** Where the cast notice of receipt `r` stands. */
function noticeLine(r, id) {
  const key = slot(r.vote_id, r.cred_pk);
  const n = load("notices")[key];
  const text = !cfg.officer ? "未设置证件官回执地址，未能通知证件官。"
    : !n ? "正在通知证件官……"
      : n.state === "accepted" ? "已通知证件官"
        : n.state === "sent" ? "已将投票通知发给证件官（证件官的确认无法读取）"
          : n.state === "refused" ? "证件官拒收了投票通知（" + (n.why || "") + "），请告知秘书处。"
            : "未能通知证件官，正在重试";
  const cls = n?.state === "accepted" ? "ok" : n?.state === "refused" ? "bad" : "muted";
  return h("p", { class: cls, id: id || null, "data-notice": key }, text);
}

function renderHome(open = [], extra = {}) {
  screen = "home";
  renderBanner();
  const parts = [h("h1", {}, "加密表决终端"), messageBox()];
  if (extra.notEnabled) {
    parts.push(h("div", { class: "notice error", role: "alert", id: "not-enabled" },
      h("p", { class: "big" }, "《" + extra.vote.title + "》"), h("p", {}, L.NOT_IN_ROLL_CALL + "。")));
  } else if (extra.error) {
    parts.push(h("div", { class: "notice error", role: "alert", id: "vote-error" },
      h("p", { class: "big" }, "《" + extra.vote.title + "》"), h("p", {}, extra.error.message),
      extra.error.detail ? h("p", { class: "mono hint" }, extra.error.detail) : null));
  } else if (!open.length) {
    parts.push(h("p", { class: "big", id: "waiting" }, "请等待表决开始。"));
  } else if (open.every((v) => kept("receipts")[v.id])) {
    parts.push(h("p", { class: "big", id: "waiting" }, "您已投票，请等待表决结束。"));
  }
  const refused = kept("refused");
  for (const v of open) {
    const r = refused[v.id];
    if (r) parts.push(h("div", { class: "notice error", role: "alert", "data-refused": v.id }, h("p", { class: "big" }, "《" + v.title + "》：" + r.title), h("p", {}, r.text)));
  }
  const plain = votes.filter((v) => v.state === "open" && v.mode === "plain");
  if (plain.length) parts.push(h("p", { class: "muted", id: "plain-votes" }, "《" + plain.map((v) => v.title).join("》《") + "》不是加密表决，请在普通表决终端上投票。"));
  const mineKept = Object.values(kept("receipts")).sort((a, b) => b.time - a.time);
  if (mineKept.length) parts.push(h("section", { id: "receipts" }, h("h2", {}, "我的回执"), mineKept.map(receiptCard)));
  parts.push(tools());
  show(app, parts);
}

// ---- the ballot ----------------------------------------------------------------------------

function secondsLeft() {
  const v = votes.find((x) => x.id === current?.id);
  if (!v || typeof v.seconds_left !== "number") return null;
  return Math.max(0, v.seconds_left - Math.floor((Date.now() - votesRead) / 1000));
}
function timeLeft() {
  const s = secondsLeft();
  return s === null ? null : h("p", { class: "countdown", id: "time-left" }, "剩余" + nounOf(current.kind) + "时间 " + clock(s));
}
function updateClock() {
  const el = document.getElementById("time-left");
  if (el && current) el.textContent = timeLeft()?.textContent || "";
}
setInterval(updateClock, 1000);

function tap(item, index) {
  const { choices, refused } = L.choose(current.vote, current.choices, item, index);
  if (refused) {
    const note = document.getElementById("limit");
    note.textContent = refused;
    note.classList.remove("hidden");
    return;
  }
  current.choices = choices;
  renderBallot();
}

function renderBallot() {
  screen = "ballot";
  renderBanner();
  const { vote } = current;
  const opts = L.displayOptions(vote);
  const limit = L.yesLimit(vote);
  const problem = L.choiceProblem(vote, current.choices);
  const items = vote.json.items.map((item, i) => h("div", { class: "item", "data-item": i },
    h("h3", {}, (vote.m > 1 ? (i + 1) + ". " : "") + item),
    h("div", { class: "choices", role: "group", "aria-label": item },
      opts.map((o) => h("button", { class: "choice", type: "button", "aria-pressed": current.choices[i] === o.index ? "true" : "false",
        "data-item": i, "data-option": o.index, onclick: () => tap(i, o.index) }, o.label)))));
  show(app,
    h("h1", { id: "vote-title" }, current.title),
    h("p", { class: "muted", id: "ballot-kind" }, "加密" + nounOf(current.kind) + " · 您的选择在本终端加密后才发送"),
    messageBox(),
    timeLeft(),
    limit !== null ? h("div", { class: "counter", id: "counter" }, "已选" + vote.json.options[L.yesIndex(vote)] + " " + L.countYes(vote, current.choices) + "/" + limit) : null,
    h("div", { class: "notice error hidden", id: "limit", role: "alert" }),
    h("section", { id: "ballot" }, items),
    h("div", { class: "actions" },
      h("button", { class: "primary", id: "confirm", disabled: problem !== null, onclick: encryptChoices }, problem === null ? "确认" : "请对每一项作出选择")));
}

async function encryptChoices() {
  if (L.choiceProblem(current.vote, current.choices) !== null) return;
  screen = "proving";
  const target = current;
  show(app, h("h1", {}, current.title), h("p", { class: "big", id: "proving" }, "正在本终端加密您的选票……"));
  try {
    target.proved = await prove(target.vote, target.cred.seed, target.choices);
  } catch (err) {
    message = { title: "选票未能加密", text: (err.message || String(err)) + "。请重试；如仍不成功，请告知会务工作人员。", error: true };
    return renderBallot();
  }
  if (current !== target) return;
  message = null;
  renderCommit();
}

/** The choices as chosen, item by item. */
function summary(vote, choices, id) {
  return h("table", { id }, h("tbody", {}, vote.json.items.map((item, i) => h("tr", { "data-item": i },
    h("td", {}, item), h("td", { class: "big" }, L.choiceLabel(vote, choices[i]))))));
}

/** The tracking code, shown before anything leaves the tablet; then 投出 or 核验 (§12). */
function renderCommit() {
  screen = "commit";
  renderBanner();
  const p = current.proved;
  show(app,
    h("h1", {}, "请核对您的选择"),
    timeLeft(),
    summary(current.vote, p.choices, "summary"),
    h("section", { class: "commit", id: "commit" },
      h("p", {}, "您的选票已在本终端加密，跟踪码为："),
      h("p", { class: "short-code mono", id: "short-code" }, p.shortCode),
      h("p", { class: "muted hint" }, "请记下跟踪码。选票尚未发送：投出后不能更改；选择核验则这张选票作废、公开其内容供另一台设备核验，然后重新投票。"),
      h("div", { class: "actions" },
        h("button", { id: "audit", onclick: auditBallot }, "核验（不投出）"),
        h("button", { class: "primary", id: "cast", onclick: castBallot }, "投出"))),
    h("div", { class: "actions" }, h("button", { id: "change", onclick: () => { current.proved = null; renderBallot(); } }, "返回修改（不投出）")));
}

// ---- cast ----------------------------------------------------------------------------------

async function castBallot() {
  const target = current;
  const p = target.proved;
  if (!p) return;
  // Cast: this ballot's randomness is never revealed (no 核验 after 投出).
  target.proved = null;
  const pending = { vote_id: target.id, title: target.title, kind: target.kind, cred_pk: p.ballot.cred_pk, ballot: p.ballot,
    tracker: p.tracker, short_code: p.shortCode };
  save("pending", slot(target.id, pending.cred_pk), pending);
  await sendPending(pending, target.cred);
}

async function sendPending(pending, cred) {
  screen = "casting";
  renderBanner();
  const status = h("p", { class: "big", id: "casting" }, "正在投出选票……");
  show(app, h("h1", {}, pending.title), h("p", {}, "跟踪码 ", h("span", { class: "mono" }, pending.short_code)), status);
  for (let attempt = 0; ; attempt++) {
    let r;
    try {
      r = await call("POST", "/api/e2e/votes/" + encodeURIComponent(pending.vote_id) + "/ballots", { body: pending.ballot });
    } catch {
      // The same ballot again gets the same receipt: retrying is safe.
      status.textContent = "网络中断，正在重试投出（第" + (attempt + 1) + "次）……选票已加密保存在本终端，请勿关闭。";
      await sleep(L.backoff(attempt, 5000));
      continue;
    }
    if (r.status >= 500 || r.status === 429 || r.status === 408) {
      status.textContent = "表决设备繁忙，正在重试投出（第" + (attempt + 1) + "次）……";
      await sleep(L.backoff(attempt, 5000));
      continue;
    }
    save("pending", slot(pending.vote_id, pending.cred_pk), null);
    if (r.status !== 200) return showRefusal(pending, L.castRefusal(r.status, r.data, nounOf(pending.kind)));
    let receipt;
    let verified = true;
    let why = "";
    try {
      receipt = L.checkReceipt(session, pending.vote_id, pending.tracker, r.data);
    } catch (err) {
      verified = false;
      why = err.detail || err.message;
      receipt = { tracker: pending.tracker, shortCode: pending.short_code, time: Number.isSafeInteger(r.data?.time) ? r.data.time : Math.floor(Date.now() / 1000), sig: String(r.data?.sig || "") };
    }
    const entry = { vote_id: pending.vote_id, title: pending.title, cred_pk: pending.ballot.cred_pk, tracker: receipt.tracker,
      short_code: receipt.shortCode, time: receipt.time, sig: receipt.sig, verified, why };
    save("receipts", slot(entry.vote_id, entry.cred_pk), entry);
    if (verified && cred && cfg.officer) {
      save("notices", slot(entry.vote_id, entry.cred_pk), { vote_id: entry.vote_id, cred_pk: entry.cred_pk, state: "retrying",
        notice: L.makeCastNotice(session, pending.vote_id, cred, receipt), tries: 0 });
      sendNotices();
    }
    return showReceipt(entry);
  }
}

function showRefusal(pending, why) {
  screen = "refused";
  renderBanner();
  // Nothing this booth could send would be accepted: the vote is not offered again.
  if (!why.again) save("refused", slot(pending.vote_id, pending.cred_pk), { vote_id: pending.vote_id, title: pending.title, cred_pk: pending.cred_pk, ...why });
  const again = why.again && votes.some((v) => v.id === pending.vote_id && v.state === "open") && current?.id === pending.vote_id;
  show(app,
    h("h1", {}, pending.title),
    h("div", { class: "notice error", role: "alert", id: "cast-error" }, h("p", { class: "big" }, why.title), h("p", {}, why.text)),
    h("div", { class: "actions" },
      again ? h("button", { class: "primary", id: "revote", onclick: () => { current.choices = L.emptyChoices(current.vote); message = null; renderBallot(); } }, "重新投票") : null,
      h("button", { id: "cast-error-back", onclick: () => { current = null; message = { title: why.title, text: why.text, error: true }; screen = "home"; tick(); } }, "返回")));
}

function showReceipt(r) {
  screen = "receipt";
  current = null;
  message = null;
  renderBanner();
  show(app,
    h("h1", { id: r.verified ? "cast-ok" : "cast-unverified" }, r.verified ? "投票成功" : "选票已投出，但回执无效"),
    h("p", {}, "《" + r.title + "》 您的跟踪码："),
    h("p", { class: "short-code mono", id: "receipt-short-code" }, r.short_code),
    h("p", { id: "receipt-time" }, "回执时间 " + L.receiptTime(r.time)),
    h("p", { class: r.verified ? "ok" : "bad", id: "receipt-verified" }, r.verified ? "回执签名有效" : "警告：回执签名无效（" + r.why + "），请告知监票人。"),
    noticeLine(r, "notice-status"),
    h("p", {}, "回执会一直显示在本终端上，直到会议结束。计票结果公布后，可核对您的跟踪码已列入公布的选票清单。"),
    h("div", { class: "actions" }, h("button", { id: "receipt-back", onclick: () => { screen = "home"; tick(); } }, "返回")));
}

/** A cast begun before a reload: the same ballot again (same receipt), once the card is read. */
async function resumePending() {
  for (const p of Object.values(load("pending"))) {
    if (!mine(p)) continue; // another card's: waits for it
    await sendPending(p, e.deriveCredential(cardSeed, session.hash, p.vote_id));
  }
}

// ---- cast notices to the credential officer (background, with backoff) -----------------------

let noticeTimer = null;
let noticeBusy = false;
let noticeAgain = false;
async function sendNotices() {
  if (noticeBusy) {
    noticeAgain = true;
    return;
  }
  noticeBusy = true;
  try {
    await sendNoticesOnce();
  } finally {
    noticeBusy = false;
  }
  if (noticeAgain) {
    noticeAgain = false;
    sendNotices();
  }
}
async function sendNoticesOnce() {
  clearTimeout(noticeTimer);
  if (!cfg.officer) return;
  const all = load("notices");
  let next = null;
  for (const [key, n] of Object.entries(all)) {
    if (n.state !== "retrying") continue;
    const body = JSON.stringify(n.notice);
    let outcome;
    try {
      // text/plain: a simple request, no preflight (the officer reads the body whatever its type).
      const res = await fetch(cfg.officer, { method: "POST", mode: "cors", cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" }, body });
      const data = await res.json().catch(() => null);
      if (res.ok) outcome = { state: "accepted" };
      else if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) outcome = { state: "refused", why: data?.message || data?.error || String(res.status) };
    } catch {
      // Either unreachable, or reached but its answer is not readable here (no CORS header):
      // an opaque request tells which.
      try {
        await fetch(cfg.officer, { method: "POST", mode: "no-cors", cache: "no-store", credentials: "omit",
          headers: { "Content-Type": "text/plain;charset=UTF-8" }, body });
        outcome = { state: "sent" };
      } catch { /* unreachable: retry */ }
    }
    if (outcome) save("notices", key, { ...n, ...outcome });
    else {
      const tries = (n.tries || 0) + 1;
      save("notices", key, { ...n, tries });
      const wait = L.backoff(tries);
      next = next === null ? wait : Math.min(next, wait);
    }
    const el = document.querySelector(`[data-notice="${CSS.escape(key)}"]`);
    if (el) el.replaceWith(noticeLine(n, el.id || null));
  }
  if (next !== null) noticeTimer = setTimeout(sendNotices, next);
}

// ---- 核验 (Benaloh audit, §12) -----------------------------------------------------------------

async function auditBallot() {
  const target = current;
  const p = target.proved;
  if (!p) return;
  // Audited: this ballot can never be cast.
  target.proved = null;
  screen = "audit";
  renderBanner();
  const doc = L.auditDocument(p);
  const text = JSON.stringify(doc);
  const file = L.auditFileName(p.shortCode);
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const published = h("p", { class: "muted", id: "audit-published" }, "正在由表决设备公布这张作废选票……");
  show(app,
    h("h1", { id: "audit-page" }, "核验：这张选票已作废"),
    h("div", { class: "notice warning", role: "alert", id: "audit-warning" },
      h("p", { class: "big" }, "核验的选票不计入结果；请用另一台设备核验后重新投票"),
      h("p", {}, "表决计时不因核验而延长")),
    h("p", {}, "作废选票的跟踪码："),
    h("p", { class: "short-code mono", id: "audit-short-code" }, p.shortCode),
    h("p", {}, "本终端加密的选择（已公开）："),
    summary(target.vote, p.choices, "audit-choices"),
    h("p", {}, "核验文件包含加密选票、上述选择和加密所用的随机数。请在另一台设备（不是本终端，也不是表决设备）上用它核验，例如监票人的核验站：",
      h("span", { class: "mono" }, "piaojue scrutineer audit --url … --mh … " + file)),
    h("p", {}, h("a", { class: "download", id: "audit-download", href: url, download: file }, "下载核验文件 " + file)),
    h("p", { class: "muted hint", id: "audit-no-qr" }, "本终端不生成核验二维码，请使用核验文件。"),
    published,
    h("details", {}, h("summary", {}, "核验文件内容"), h("pre", { class: "audit-json mono", id: "audit-json" }, JSON.stringify(doc, null, 1))),
    h("div", { class: "actions" },
      h("button", { class: "primary", id: "revote", onclick: () => {
        URL.revokeObjectURL(url);
        if (current !== target || !votes.some((v) => v.id === target.id && v.state === "open")) {
          current = null;
          screen = "home";
          return tick();
        }
        current.choices = L.emptyChoices(current.vote);
        message = { text: "请重新选择。这次投票会重新加密，得到新的跟踪码。" };
        renderBallot();
      } }, "重新投票")));
  for (let attempt = 0; attempt < 6; attempt++) {
    let r;
    try {
      r = await call("POST", "/api/e2e/votes/" + encodeURIComponent(target.id) + "/spoiled", { body: doc });
    } catch {
      published.textContent = "未能连接表决设备，正在重试公布作废选票……";
      await sleep(L.backoff(attempt, 5000));
      continue;
    }
    if (r.status === 200) {
      published.className = "ok";
      published.textContent = "表决设备已公布这张作废选票。";
    } else if (r.status >= 500 || r.status === 429) {
      await sleep(L.backoff(attempt, 5000));
      continue;
    } else {
      published.className = "bad";
      published.textContent = "表决设备未公布这张作废选票（" + (r.data?.message || r.data?.error || r.status) + "）。核验文件仍可在另一台设备上核验。";
    }
    return;
  }
  published.className = "bad";
  published.textContent = "未能由表决设备公布这张作废选票。核验文件仍可在另一台设备上核验。";
}

// ---- go --------------------------------------------------------------------------------------

start().then(() => sendNotices());
