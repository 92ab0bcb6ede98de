// The enrolment cards, for printing on A4: one card per deputy whose code is not yet used,
// with name, seat, the QR code (drawn by the appliance as SVG) and the code as text.
import { h, show, api, ApiError } from "./common.js";

const title = document.getElementById("session");
const main = document.getElementById("cards");

/** The appliance's SVG, parsed as XML and imported as a node: never through innerHTML. */
function qr(svgText) {
  const doc = new DOMParser().parseFromString(svgText || "", "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) return null;
  for (const s of [...svg.getElementsByTagName("script")]) s.remove();
  return document.importNode(svg, true);
}

function card(c, fingerprint) {
  return h("section", { class: "card" },
    h("div", { class: "who" },
      h("h2", {}, c.name),
      h("p", {}, c.delegation),
      h("p", {}, "座位：" + c.seat),
      h("p", { class: "id" }, "代表编号 " + c.deputy)),
    h("div", { class: "qr" }, qr(c.qr_svg)),
    h("p", { class: "code" }, c.code),
    h("p", { class: "fp" }, "设备指纹 " + fingerprint));
}

async function load() {
  let data;
  try {
    // `/console/cards?deputy=d0042` reprints one deputy's card.
    const one = new URLSearchParams(location.search).get("deputy");
    data = await api("GET", "/api/operator/cards" + (one ? "?deputy=" + encodeURIComponent(one) : ""));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      return show(main, h("p", { class: "none" }, "请先以秘书处身份登录：", h("a", { href: "/console" }, "大会秘书处控制台")));
    }
    return show(main, h("p", { class: "none" }, "无法读取登记卡：" + e.message));
  }
  document.title = "代表登记卡 · " + data.session;
  title.textContent = data.session;
  show(main, data.cards.length
    ? data.cards.map((c) => card(c, data.fingerprint_grouped))
    : h("p", { class: "none" }, "没有待打印的登记卡：所有代表均已登记，或尚未生成登记码。"));
}

load();
