// The formal notice (公告) of an announced vote, for printing.
import { h, show, api, grouped } from "./common.js";

const app = document.getElementById("app");
const vote = new URLSearchParams(location.hash.slice(1)).get("vote");

async function main() {
  const session = await api("GET", "/api/public/session");
  const r = await api("GET", "/api/public/votes/" + encodeURIComponent(vote) + "/result");
  const date = (r.vote.announced_at || "").slice(0, 10).split("-");
  show(app,
    h("h1", {}, session.name),
    h("h1", {}, "公　告"),
    h("p", {}, "（" + r.vote.title + "）"),
    h("div", { class: "body" }, r.announcement),
    h("p", { class: "muted" }, "依据《" + r.vote.rules_title + "》。本结果由表决系统签名，结果包 SHA-256：", h("span", { class: "mono" }, r.vote.bundle_sha256 || "")),
    h("p", { class: "muted" }, "表决系统设备指纹：", h("span", { class: "mono" }, grouped(session.fingerprint))),
    (r.scrutineers || []).length
      ? h("p", { class: "muted", id: "scrutineers" }, "监票人及其公钥指纹：",
        ...r.scrutineers.map((s) => h("span", { class: "scrutineer" }, s.name + " ", h("span", { class: "mono" }, s.fingerprint_grouped || ""), "；")))
      : null,
    h("p", { class: "sign" }, session.name + "主席团", h("br"), date.length === 3 ? date[0] + "年" + Number(date[1]) + "月" + Number(date[2]) + "日" : ""),
    h("p", { class: "no-print" }, h("button", { class: "primary", onclick: () => window.print() }, "打印")));
}

main().catch((e) => show(app, h("div", { class: "notice error" }, "无法读取结果：" + e.message)));
