// Shared by the pages: DOM building without innerHTML, the JSON API, small formatting.

/** h("button", {class: "x", onclick: f}, "text", child…): an element; strings become text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function show(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** An API error with the appliance's stable code and Chinese message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

/** Calls the JSON API; throws ApiError for an error answer, TypeError for a network failure. */
export async function api(method, path, { body, token, raw, contentType } = {}) {
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    headers["Content-Type"] = contentType || "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data?.error || "http_" + res.status, data?.message || "服务器错误（" + res.status + "）");
  return data;
}

export const stateZh = { draft: "未开始", open: "表决中", closed: "已结束", announced: "已宣布", cancelled: "已取消", failed: "宣告失败" };
export const kindZh = { motion: "表决", project_selection: "民生实事项目票决", satisfaction: "满意度测评" };
/** What the act is called: a 测评 is a 测评, a 票决 a 票决, anything else a 表决. */
export const kindNoun = { motion: "表决", project_selection: "票决", satisfaction: "测评" };
export function noun(kind) { return kindNoun[kind] || "表决"; }

/** The state name of a vote as the appliance words it (`state_zh`), the same on every page. */
export function stateName(v) {
  return v?.state_zh || stateZh[v?.state] || "";
}

/** 记名 / 无记名, when the appliance says which. */
export function secrecy(v) {
  return v?.secret === true ? "无记名" : v?.secret === false ? "记名" : "";
}

/** m:ss */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

/** Groups a hex fingerprint in fours. */
export function grouped(hex, n = 4) {
  return (hex || "").match(new RegExp(".{1," + n + "}", "g"))?.join(" ") || "";
}

/** Listens to the appliance's events and calls `onUpdate(event)`; reconnects by itself. */
export function listen(onUpdate, onState, scope) {
  const es = new EventSource("/api/events" + (scope ? "?scope=" + scope : ""));
  es.addEventListener("hello", () => onState?.(true));
  es.addEventListener("update", (e) => {
    try { onUpdate(JSON.parse(e.data)); } catch { /* a malformed event is ignored */ }
  });
  es.onerror = () => onState?.(false);
  return es;
}

export function percent(x) {
  return (Math.round(x * 10000) / 100).toFixed(2) + "%";
}

/** A named vote's counts per 代表团 (the signed bundle's `by_delegation`), as a table: one
 *  motion by option; several items by each item's first option (赞成). */
export function delegationTable(r, id = "by-delegation") {
  const groups = r.by_delegation;
  if (!Array.isArray(groups) || !groups.length) return null;
  const options = r.vote.options || [];
  const items = r.vote.items || [];
  const single = items.length === 1;
  const head = single ? options : items.map((i) => i + "（" + (options[0] || "赞成") + "）");
  return h("table", { class: "delegations", id },
    h("tr", {}, h("th", {}, "代表团"), h("th", {}, "投票人数"), ...head.map((x) => h("th", {}, x))),
    ...groups.map((g) => h("tr", {}, h("td", {}, g.delegation || "（未列代表团）"), h("td", {}, String(g.deputies)),
      ...(single ? g.counts[0] : g.counts.map((row) => row[0])).map((n) => h("td", {}, String(n))))));
}
