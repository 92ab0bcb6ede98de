// The hall screen, read from the back row at 1920×1080: the current vote with its countdown,
// rule and turnout while it is open (never interim results), 「表决结束，正在计票」 between close
// and announcement, then a short summary and the result table (the full wording is read out
// and printed), paged when it is long, with the QR code of the signed bundle.
import { h, show, api, listen, kindZh, noun, secrecy, grouped, percent, clock, delegationTable } from "./common.js";

const app = document.getElementById("app");
let session = null;
let openRead = 0;
let current = null;   // { key, pages, page } of the paged table on screen
const PAGE_SECONDS = 8;

const defaultOptions = { motion: ["赞成", "反对", "弃权"], project_selection: ["赞成", "不赞成", "弃权"], satisfaction: ["满意", "基本满意", "不满意"] };

/** What the kind is, how it is voted: 「民生实事项目票决（无记名 · 加密投票）」. */
function kindLine(v) {
  const how = [secrecy(v), modeName(v)].filter(Boolean).join(" · ");
  return (kindZh[v.kind] || noun(v.kind)) + (how ? "（" + how + "）" : "");
}

const encrypted = (v) => v?.mode === "encrypted";
/** 「加密投票」/「普通投票」, when the appliance says which. */
function modeName(v) {
  if (!v?.mode) return "";
  return encrypted(v) ? "加密投票" : v.mode === "plain" ? "普通投票" : (v.mode_zh || v.mode) + "投票";
}

/** The rule a deputy must keep, as the hall hears it. */
function ruleLine(v) {
  const options = v.options || defaultOptions[v.kind] || defaultOptions.motion;
  if (v.kind === "project_selection") {
    const n = v.max_yes ?? v.select_n;
    return n ? "每张选票赞成不超过" + n + "项" : "每张选票赞成的项目不得超过办法规定的数量";
  }
  return "每项在" + options.map((o) => "“" + o + "”").join("") + "中选择一项";
}

function secondsLeft(v) {
  return Math.max(0, v.seconds_left - Math.floor((Date.now() - openRead) / 1000));
}

/** The rows of a result table: 票决 in rank order, adopted rows marked. */
function resultRows(outcome) {
  const items = outcome.items.map((it, i) => ({ ...it, index: i }));
  const options = Object.keys(items[0]?.counts || {});
  if (outcome.kind === "project_selection") {
    items.sort((a, b) => (a.rank ?? Infinity) - (b.rank ?? Infinity) || a.index - b.index);
    return {
      head: ["排名", "项目", ...options, "未按", "结果"],
      numeric: [0, 2, 3, 4, 5],
      rows: items.map((it) => ({
        cls: it.selected ? "adopted" : it.tied ? "tied" : "rejected",
        cells: [it.rank ? "第" + it.rank + "名" : "", it.item, ...options.map((o) => it.counts[o]), it.not_voted,
          it.selected ? "✓ 确定" : it.tied ? "票数相等" : "未获通过"],
      })),
    };
  }
  if (outcome.kind === "satisfaction") {
    return {
      head: ["测评项目", ...options, "未按", "满意率", "综合满意率", "等次"],
      numeric: [1, 2, 3, 4, 5, 6],
      rows: items.map((it) => ({
        cls: "",
        cells: [it.item, ...options.map((o) => it.counts[o]), it.not_voted, percent(it.rates["满意率"]), percent(it.rates["综合满意率"]), it.tier ?? "未评定"],
      })),
    };
  }
  return {
    head: ["事项", ...options, "未按", "结果"],
    numeric: [1, 2, 3, 4],
    rows: items.map((it) => ({ cls: it.passed ? "adopted" : "rejected", cells: [it.item, ...options.map((o) => it.counts[o]), it.not_voted, it.passed ? "✓ 通过" : "未通过"] })),
  };
}

function table(spec, id) {
  return h("table", { class: "hall-table", id },
    h("thead", {}, h("tr", {}, spec.head.map((t, i) => h("th", { class: spec.numeric?.includes(i) ? "num" : "" }, t)))),
    h("tbody", {}, spec.rows.map((r) => h("tr", { class: r.cls }, r.cells.map((c, i) => h("td", { class: spec.numeric?.includes(i) ? "num" : "" }, c))))));
}

/** Splits a table's rows into pages that fit its box (measured, so long names that wrap still
 *  fit), shows the current page and says which it is. */
function paginate(box, key) {
  const tbl = box.querySelector("table");
  const rows = [...tbl.tBodies[0].rows];
  const label = box.querySelector(".page-label");
  for (const r of rows) r.classList.remove("hidden");
  label.classList.remove("hidden");
  label.textContent = "第1/1页";
  const avail = box.clientHeight - tbl.tHead.offsetHeight - label.offsetHeight - 4;
  const pages = [];
  let page = [];
  let used = 0;
  for (const r of rows) {
    const hgt = r.offsetHeight;
    if (page.length && used + hgt > avail) { pages.push(page); page = []; used = 0; }
    page.push(r);
    used += hgt;
  }
  if (page.length) pages.push(page);
  const keep = current?.key === key ? current.page % Math.max(1, pages.length) : 0;
  current = { key, pages, page: keep, box };
  showPage();
}

function showPage() {
  if (!current) return;
  const { pages, page, box } = current;
  pages.forEach((p, i) => p.forEach((r) => r.classList.toggle("hidden", i !== page)));
  const label = box.querySelector(".page-label");
  label.textContent = pages.length > 1 ? "第" + (page + 1) + "/" + pages.length + "页" : "";
  label.classList.toggle("hidden", pages.length <= 1);
}

setInterval(() => {
  if (current && current.pages.length > 1 && document.body.contains(current.box)) {
    current.page = (current.page + 1) % current.pages.length;
    showPage();
  }
}, PAGE_SECONDS * 1000);

// The secretariat may turn the page by hand (a remote's →, PageDown or space).
document.addEventListener("keydown", (e) => {
  if (!current || current.pages.length < 2 || !["ArrowRight", "PageDown", " "].includes(e.key)) return;
  current.page = (current.page + 1) % current.pages.length;
  showPage();
});

function pagedBox(spec, id, key) {
  const box = h("div", { class: "paged", id: id + "-box", "data-key": key }, table(spec, id), h("p", { class: "page-label", id: id + "-page" }));
  return box;
}

/** The short summary above the table: who was there and the outcome in one or two lines. */
function summary(r) {
  const lines = (r.announcement || "").split("\n");
  if (r.outcome.kind === "project_selection") {
    const selected = r.outcome.items.filter((i) => i.selected).length;
    return lines[0] + "确定项目" + selected + "个。";
  }
  if (r.outcome.kind === "satisfaction") return lines[0];
  return r.announcement;
}

function openView(v) {
  const t = v.turnout || { cast: 0, enabled: 0 };
  const bar = h("div", { class: "bar-inner" });
  const n = noun(v.kind);
  // Two items a row, numbered as on the ballot.
  const what = v.kind === "satisfaction" ? "测评项目" : v.kind === "project_selection" ? "候选项目" : "事项";
  const pairs = [];
  for (let i = 0; i < v.items.length; i += 2) pairs.push({ cls: "", cells: [i + 1, v.items[i], v.items[i + 1] ? i + 2 : "", v.items[i + 1] ?? ""] });
  const spec = v.items.length > 1
    ? { head: ["序号", what, "序号", what], numeric: [0, 2], rows: pairs }
    : { head: ["序号", what], numeric: [0], rows: v.items.map((it, i) => ({ cls: "", cells: [i + 1, it] })) };
  const view = [
    h("h2", { id: "title" }, kindLine(v) + "：" + v.title),
    h("div", { class: "live" },
      h("div", { class: "live-box" }, h("p", { class: "live-label" }, "正在" + n + "　剩余时间"),
        h("p", { class: "live-big", id: "countdown" }, typeof v.seconds_left === "number" ? clock(secondsLeft(v)) : "—"),
        v.extended ? h("p", { class: "live-label" }, "（已延长）") : null),
      h("div", { class: "live-box" }, h("p", { class: "live-label" }, "已投票 / 应投票"),
        h("p", { class: "live-big", id: "turnout" }, t.cast + " / " + t.enabled),
        h("div", { class: "bar-outer" }, bar))),
    h("p", { class: "rule", id: "rule" }, ruleLine(v)),
    pagedBox(spec, "items", v.id + ":open"),
  ];
  bar.style.width = (t.enabled ? (100 * t.cast) / t.enabled : 0) + "%";
  return view;
}

/** A closed encrypted vote before its announcement: the list hash, large, to be read aloud
 *  and compared (16 groups of four hex digits, four to a line), its QR code, and how many
 *  scrutineers have decrypted. */
function listHashView(v, s) {
  const n = noun(v.kind);
  const groups = (s?.list_hash || "").match(/.{4}/g) || [];
  const lines = [];
  for (let i = 0; i < groups.length; i += 4) lines.push(h("div", { class: "hash-line" }, groups.slice(i, i + 4).join(" ")));
  const done = s?.decrypted_by?.length ?? 0;
  return [
    h("h2", { id: "title" }, kindLine(v) + "：" + v.title),
    h("p", { class: "rule", id: "closed-line" }, n + "结束" + (s && typeof s.n_cast === "number" ? "，选票清单共 " + s.n_cast + " 张" : "") +
      (v.turnout ? "（已投票 " + v.turnout.cast + " / " + v.turnout.enabled + "）" : "")),
    h("div", { class: "list-hash-box" },
      h("div", { class: "list-hash-text" },
        h("p", { class: "live-label" }, "清单哈希"),
        s?.list_hash
          ? h("div", { class: "list-hash mono", id: "list-hash", "data-hash": s.list_hash }, lines)
          : h("p", { class: "live-label", id: "list-hash-pending" }, "正在读取……")),
      s?.list_hash ? h("div", { class: "qr list-hash-qr" }, h("img", { src: "/api/public/votes/" + v.id + "/list-hash.svg", alt: "清单哈希二维码", id: "list-hash-qr" }),
        h("p", { class: "qr-label" }, "扫码核对清单哈希")) : null),
    h("p", { class: "rule", id: "decrypting" }, s?.decided
      ? "监票人已完成解密（" + done + " / " + s.k + " 位），等待宣布结果"
      : "监票人解密中：已有 " + done + " / " + (s?.k ?? "?") + " 位"),
  ];
}

function closedView(v) {
  const n = noun(v.kind);
  return [
    h("h2", { id: "title" }, kindLine(v) + "：" + v.title),
    h("p", { class: "counting", id: "counting" }, n + "结束，正在计票"),
    v.turnout ? h("p", { class: "rule" }, "已投票 " + v.turnout.cast + " / " + v.turnout.enabled) : null,
  ];
}

/** A run-off's earlier rounds (root first) and the list all rounds adopted, each project
 *  with the 赞成 of the round that adopted it. */
function roundsView(v, r, rounds) {
  if (!rounds.length) return null;
  const yes = (round, item) => {
    const row = (round.outcome?.items || []).find((i) => i.item === item);
    const c = row ? Object.values(row.counts || {})[0] : null;
    return typeof c === "number" ? c : "—";
  };
  const all = [...rounds, { v, r }];
  const adopted = all.flatMap(({ v: rv, r: rr }) => (rr.outcome?.selected || []).map((item) => ({ item, from: rv.id, yes: yes(rr, item) })));
  return h("div", { class: "rounds", id: "rounds" },
    h("p", { class: "rule", id: "runoff-line" }, (v.runoff_of.reason === "tie" ? "对得票相等的项目重新票决" : "就剩余名额另行票决") + "：" + v.runoff_of.seats + " 个名额"),
    h("p", { class: "final-list", id: "final-list" }, "最终确定的项目（" + adopted.length + "个）：" +
      adopted.map((a) => a.item + "（" + a.from + " 赞成" + a.yes + "票）").join("、")));
}

function announcedView(v, r, e2eStatus, rounds = []) {
  return [
    h("h2", { id: "title" }, kindLine(v) + "：" + v.title),
    v.manual ? h("p", { class: "manual-heading", id: "manual-heading" }, v.manual.heading_zh) : null,
    v.manual ? h("p", { class: "rule", id: "manual-by" }, "计票人：" + v.manual.counted_by.join("、") + "（" + v.manual.note + "）") : null,
    h("p", { class: "summary", id: "announcement" }, summary(r)),
    roundsView(v, r, rounds),
    r.by_delegation ? h("div", { class: "delegation-box" }, delegationTable(r)) : null,
    h("div", { class: "result" },
      pagedBox(resultRows(r.outcome), "result", v.id + ":announced"),
      h("div", { class: "qr" }, h("img", { src: "/api/public/votes/" + v.id + "/qr.svg", alt: "结果包二维码", id: "qr" }),
        h("p", { class: "qr-label" }, "扫码核验结果"),
        h("p", { class: "fp" }, "设备指纹：", grouped(session.fingerprint)),
        (r.interventions || []).length
          ? h("p", { class: "fp", id: "interventions" },
            "补签到 " + r.interventions.filter((i) => i.kind === "manual_checkin").length + " 人次，补发登记码 " +
            r.interventions.filter((i) => i.kind === "reissue").length + " 人次（均记入结果包）")
          : null,
        (r.scrutineers || []).length
          ? h("p", { class: "fp", id: "scrutineers" }, "监票人：", r.scrutineers.map((s) => s.name + "（指纹 " + (s.fingerprint_grouped || "") + "）").join("、"))
          : null,
        e2eStatus?.list_hash ? h("p", { class: "fp", id: "announced-list-hash" }, "清单哈希：", e2eStatus.list_hash_grouped || grouped(e2eStatus.list_hash)) : null,
        h("p", { class: "fp mono" }, "SHA-256 " + (v.bundle_sha256 || e2eStatus?.bundle_sha256 || "")))),
  ];
}

/** An encrypted vote the secretariat declared failed: the declaration, no counts. */
function failedView(v, e2eStatus) {
  return [
    h("h2", { id: "title" }, kindLine(v) + "：" + v.title),
    h("p", { class: "counting failed", id: "failed" }, noun(v.kind) + "宣告失败"),
    h("p", { class: "summary", id: "announcement" }, v.failed_announcement || ""),
    e2eStatus?.list_hash ? h("p", { class: "failed-fp", id: "failed-list-hash" }, "清单哈希：", e2eStatus.list_hash_grouped || grouped(e2eStatus.list_hash)) : null,
    h("p", { class: "failed-fp mono", id: "failed-sha" }, "结果包（不含合计）SHA-256：" + (v.bundle_sha256 || "")),
  ];
}

const latest = (list, field) => list.filter((v) => v[field]).sort((a, b) => (a[field] < b[field] ? -1 : 1)).pop();

async function render() {
  session = session || (await api("GET", "/api/public/session"));
  const { votes } = await api("GET", "/api/public/votes");
  openRead = Date.now();
  const open = votes.filter((v) => v.state === "open").pop();
  shown = open || null;
  const closed = latest(votes.filter((v) => v.state === "closed"), "closed_at");
  // A vote declared failed is shown as an announcement is, until the next vote.
  const announced = latest(votes.filter((v) => v.state === "announced" || v.state === "failed"), "announced_at");
  const head = h("h1", {}, session.name);
  let body;
  let key = null;
  // A closed vote is being counted until it is announced; an older one left unannounced
  // does not hide a later announcement.
  const counting = closed && (!announced || closed.closed_at > announced.announced_at) ? closed : null;
  const starting = votes.find((v) => v.state === "draft" && v.awaiting_roll_call);
  decrypting = null;
  if (open) { body = openView(open); key = open.id + ":open"; }
  else if (counting && encrypted(counting)) {
    const s = await api("GET", "/api/public/votes/" + counting.id + "/e2e").catch(() => null);
    if (!s?.decided) decrypting = counting.id;
    // Redrawn only when something changed: the QR code is not reloaded every poll.
    const view = JSON.stringify([counting.id, counting.title, counting.turnout, s]);
    if (view === shownView) return;
    shownView = view;
    body = listHashView(counting, s);
  } else if (counting) body = closedView(counting);
  else if (announced?.state === "failed") {
    const s = await api("GET", "/api/public/votes/" + announced.id + "/e2e").catch(() => null);
    body = failedView(announced, s);
  } else if (announced) {
    const r = await api("GET", announced.result_url);
    const s = encrypted(announced) ? await api("GET", "/api/public/votes/" + announced.id + "/e2e").catch(() => null) : null;
    // A run-off: its earlier rounds, root first, for the combined list.
    const rounds = [];
    for (let p = announced.runoff_of?.vote; p; ) {
      const pv = votes.find((x) => x.id === p);
      if (!pv || !pv.result_url) break;
      rounds.unshift({ v: pv, r: await api("GET", pv.result_url) });
      p = pv.runoff_of?.vote;
    }
    body = announcedView(announced, r, s, rounds);
    key = announced.id + ":announced";
  } else {
    body = [h("h2", {}, "请代表们就座，等待表决开始"),
      h("p", { class: "rule" }, "应到 " + session.attendance.seated + " 名　实到 " + session.attendance.present + " 名")];
  }
  // An encrypted vote about to open (the credential officer signs its roll call) goes above
  // an announced result, not above an open or counted vote.
  if (starting && !open && !counting) {
    body = [h("h2", { id: "title" }, kindLine(starting) + "：" + starting.title),
      h("p", { class: "counting", id: "starting" }, "即将开始" + noun(starting.kind)),
      h("p", { class: "rule" }, "等待证件官签署点名")];
    key = null;
  }
  if (!(counting && encrypted(counting))) shownView = null;
  show(app, head, body);
  app.dataset.state = open ? "open" : counting ? "closed" : starting ? "starting" : announced?.state === "failed" ? "failed" : announced ? "announced" : "idle";
  const box = app.querySelector(".paged");
  if (box && key) paginate(box, key);
  else current = null;
}

// The countdown, every second, without redrawing the rest.
let shown = null;
setInterval(() => {
  const el = document.getElementById("countdown");
  if (el && shown && typeof shown.seconds_left === "number") el.textContent = clock(secondsLeft(shown));
}, 1000);

let timer = null;
const again = () => { clearTimeout(timer); timer = setTimeout(() => render().catch(() => {}), 200); };
listen((e) => { if (e.type === "attendance") session = null; again(); });
// While a vote is open, the turnout and the end of the period also show without an event.
setInterval(() => { if (shown) again(); }, 5000);
// While the scrutineers decrypt, each partial decryption shows as it arrives.
let decrypting = null;
let shownView = null;
setInterval(() => { if (decrypting) again(); }, 1500);
window.addEventListener("resize", again);
render().catch(() => show(app, h("h1", {}, "正在连接表决系统……")));
