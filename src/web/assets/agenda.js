// The printable agenda page (打印议程附页) of an encrypted-ballot session: the session
// manifest's hash mh and every key it names, each with its QR code. Scrutineers and observers
// compare these, read aloud, with what their own devices show; the tablets pin them.
import { h, show, api, grouped } from "./common.js";

const app = document.getElementById("app");

function keyRow(label, entry, qr, id) {
  return h("tr", { id },
    h("td", {}, label),
    h("td", {}, h("p", { class: "mono" }, entry.fingerprint_grouped), h("p", { class: "mono muted" }, entry.public_key)),
    h("td", {}, h("img", { src: "/api/public/e2e/qr/" + qr + ".svg", alt: label + "二维码", class: "qr" })));
}

async function main() {
  let a;
  try {
    a = await api("GET", "/api/public/e2e/agenda");
  } catch (e) {
    return show(app, h("div", { class: "notice error" }, e.message));
  }
  show(app,
    h("h1", { class: "session" }, a.session),
    h("h1", {}, "议程附页：加密表决会议清单"),
    h("p", { class: "subject" }, "会议标识 " + a.election_id + "　监票人 " + a.n + " 名，任意 " + a.k + " 名共同解密"),
    h("div", { class: "keyqr", id: "mh" },
      h("img", { src: "/api/public/e2e/qr/mh.svg", alt: "会议清单哈希二维码", class: "qr" }),
      h("div", {}, h("p", {}, "会议清单哈希 mh（请监票人在各自终端上核对并当众宣读）："), h("p", { class: "mono", id: "mh-grouped" }, a.mh_grouped))),
    h("table", { class: "agenda-keys" },
      h("tr", {}, h("th", {}, "角色"), h("th", {}, "公钥指纹与公钥"), h("th", {}, "二维码")),
      a.guardians.map((g) => keyRow("监票人 " + g.index + (g.name ? "（" + g.name + "）" : ""), g, "guardian-" + g.index, "guardian-" + g.index)),
      keyRow("证件官", a.credential_officer, "officer", "officer"),
      keyRow("表决系统", a.appliance, "appliance", "appliance")),
    h("p", { class: "muted" }, "平板表决程序哈希（booth_hash）：", h("span", { class: "mono", id: "booth-hash" }, grouped(a.booth_hash))),
    h("p", { class: "no-print" }, h("button", { class: "primary", onclick: () => window.print() }, "打印")));
}

main();
