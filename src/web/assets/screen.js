// The hall screen: the current vote, turnout while it is open (never interim results), then
// the result in the formal wording with a table and the QR code of the signed bundle.
import { h, show, api, listen, kindZh, grouped, percent } from "./common.js";

const app = document.getElementById("app");
let session = null;

function resultTable(outcome) {
  const items = outcome.items;
  const options = Object.keys(items[0].counts);
  const extra = outcome.kind === "motion" ? ["结果"] : outcome.kind === "project_selection" ? ["排名", "结果"] : ["有效票", "满意率", "综合满意率", "等次"];
  const rows = items.map((it) => {
    const cells = [it.item, ...options.map((o) => it.counts[o]), it.not_voted];
    if (outcome.kind === "motion") cells.push(it.passed ? "通过" : "未通过");
    if (outcome.kind === "project_selection") cells.push(it.rank ?? "—", it.selected ? "确定" : it.tied ? "票数相等" : "—");
    if (outcome.kind === "satisfaction") cells.push(it.valid, percent(it.rates["满意率"]), percent(it.rates["综合满意率"]), it.tier ?? "—");
    return h("tr", {}, cells.map((c) => h("td", {}, c)));
  });
  return h("table", {}, h("thead", {}, h("tr", {}, ["事项", ...options, "未按", ...extra].map((t) => h("th", {}, t)))), h("tbody", {}, rows));
}

/** The announcement as the screen shows it: for a 票决 the per-candidate lines are in the table. */
function hallText(r) {
  if (r.outcome.kind !== "project_selection") return r.announcement;
  return r.announcement.split("\n").filter((l) => !/^(得票情况|第\d+名|未获通过)/.test(l)).join("\n");
}

/** The time left in the voting period, kept by the appliance (which closes the vote). */
let openRead = 0;
function countdown(v) {
  if (typeof v.seconds_left !== "number") return null;
  const left = Math.max(0, v.seconds_left - Math.floor((Date.now() - openRead) / 1000));
  return h("p", { class: "countdown", id: "countdown" },
    "剩余时间 " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + (v.extended ? "（已延长）" : ""));
}

async function render() {
  session = session || (await api("GET", "/api/public/session"));
  const { votes } = await api("GET", "/api/public/votes");
  openRead = Date.now();
  const open = votes.filter((v) => v.state === "open").pop();
  const announced = votes.filter((v) => v.state === "announced").sort((a, b) => (a.announced_at < b.announced_at ? -1 : 1)).pop();
  const head = h("h1", {}, session.name);
  if (open) {
    const t = open.turnout || { cast: 0, enabled: 0 };
    const bar = h("div", { class: "bar-inner" });
    show(app, head, h("h2", { id: "title" }, kindZh[open.kind] + "：" + open.title),
      h("p", { class: "turnout", id: "turnout" }, "正在表决　已投票 " + t.cast + " / " + t.enabled),
      countdown(open),
      h("div", { class: "bar-outer" }, bar),
      h("ol", {}, open.items.slice(0, 12).map((i) => h("li", {}, i))));
    bar.style.width = (t.enabled ? (100 * t.cast) / t.enabled : 0) + "%";
    return;
  }
  if (announced) {
    const r = await api("GET", announced.result_url);
    show(app, head, h("h2", { id: "title" }, announced.title),
      h("div", { class: "result" },
        h("div", {}, h("div", { class: "announcement", id: "announcement" }, hallText(r)), resultTable(r.outcome)),
        h("div", { class: "qr" }, h("img", { src: "/api/public/votes/" + announced.id + "/qr.svg", alt: "结果包二维码", id: "qr" }),
          h("p", { class: "fp" }, "扫码核验结果。设备指纹：", grouped(session.fingerprint)),
          (r.scrutineers || []).length
            ? h("p", { class: "fp", id: "scrutineers" }, "监票人：", r.scrutineers.map((s) => s.name + "（指纹 " + (s.fingerprint_grouped || "").slice(0, 19) + " …）").join("、"))
            : null,
          h("p", { class: "fp mono" }, "SHA-256 " + (announced.bundle_sha256 || "")))));
    return;
  }
  show(app, head, h("h2", {}, "请代表们就座，等待表决开始"),
    h("p", { class: "turnout" }, "应到 " + session.attendance.seated + " 名　实到 " + session.attendance.present + " 名"));
}

// Redraw the countdown every second while a vote is open.
setInterval(() => { if (document.getElementById("countdown")) render().catch(() => {}); }, 1000);

let timer = null;
const again = () => { clearTimeout(timer); timer = setTimeout(() => render().catch(() => {}), 200); };
listen((e) => { if (e.type === "attendance") session = null; again(); });
render().catch(() => show(app, h("h1", {}, "正在连接表决系统……")));
