// The formal notice (公告) of an announced vote, for printing.
import { h, show, api, grouped, delegationTable } from "./common.js";

const app = document.getElementById("app");
const vote = new URLSearchParams(location.hash.slice(1)).get("vote");

async function main() {
  const session = await api("GET", "/api/public/session");
  const r = await api("GET", "/api/public/votes/" + encodeURIComponent(vote) + "/result");
  const date = (r.vote.announced_at || "").slice(0, 10).split("-");
  // Numbered per session: the vote's place among the announced votes, in order of announcement.
  const { votes } = await api("GET", "/api/public/votes");
  const order = votes.filter((v) => v.state === "announced").sort((a, b) => (a.announced_at < b.announced_at ? -1 : a.announced_at > b.announced_at ? 1 : 0));
  const number = order.findIndex((v) => v.id === r.vote.id) + 1;
  document.title = "公告第" + number + "号 · " + r.vote.title;
  show(app,
    h("h1", { class: "session" }, session.name),
    h("h1", {}, "公　告"),
    h("p", { class: "number", id: "number" }, "第" + number + "号"),
    h("p", { class: "subject" }, "（" + r.vote.title + "）"),
    h("div", { class: "body" }, r.announcement),
    r.by_delegation ? h("p", { class: "subject" }, "记名表决：各代表团表决情况") : null,
    delegationTable(r),
    h("p", { class: "muted" }, "依据《" + r.vote.rules_title + "》。本结果由表决系统签名，结果包 SHA-256：", h("span", { class: "mono" }, r.vote.bundle_sha256 || "")),
    h("div", { class: "keyqr" },
      h("img", { src: "/api/public/key.svg", alt: "设备公钥二维码", id: "key-qr" }),
      h("div", {},
        h("p", { class: "muted" }, "表决系统设备指纹：", h("span", { class: "mono", id: "fingerprint" }, grouped(session.fingerprint))),
        h("p", { class: "muted" }, "设备公钥（二维码同）：", h("span", { class: "mono", id: "public-key" }, session.public_key)),
        h("p", { class: "muted" }, "核验：", h("span", { class: "mono" }, "piaojue verify 结果包 --fingerprint \"" + grouped(session.fingerprint) + "\"")))),
    (r.interventions || []).length
      ? h("p", { class: "muted", id: "interventions" }, "秘书处补签到 " + r.interventions.filter((i) => i.kind === "manual_checkin").length +
        " 人次、补发登记码 " + r.interventions.filter((i) => i.kind === "reissue").length + " 人次（每一次的代表、时间、原因和监票人会签均列入结果包）。")
      : null,
    (r.scrutineers || []).length
      ? h("p", { class: "muted", id: "scrutineers" }, "监票人及其公钥指纹：",
        ...r.scrutineers.map((s) => h("span", { class: "scrutineer" }, s.name + " ", h("span", { class: "mono" }, s.fingerprint_grouped || ""), "；")))
      : null,
    h("p", { class: "sign" }, session.name + "主席团", h("br"), date.length === 3 ? date[0] + "年" + Number(date[1]) + "月" + Number(date[2]) + "日" : ""),
    h("p", { class: "no-print" }, h("button", { class: "primary", onclick: () => window.print() }, "打印")));
}

main().catch((e) => show(app, h("div", { class: "notice error" }, "无法读取结果：" + e.message)));
