// The rules engine in the browser: a port of crates/core/src/rules/ (piaojue-rules/1), so the
// verify page re-decides an outcome from the ballots exactly as `piaojue verify` does.
// Pure ES module (no DOM, no I/O): runs in a page and in Node. Checked against the same golden
// vectors as the Rust engine (tests/data/tally/vectors.json, tests/js/rules.test.mjs).
//
// JSON is read with a strict parser that behaves like serde_json where it matters for a
// verdict: duplicate keys in a struct are refused, a number written with a fraction or an
// exponent is a float (never a u32), integers keep their exact value (BigInt above 2^53),
// lone surrogates, control characters in strings and trailing data are refused.

// ------------------------------------------------------------------------------------------------
// Strict JSON

/** A JSON number written with a fraction or an exponent (serde_json's f64). */
export class F64 {
  constructor(v) { this.v = v; }
}

export class JsonError extends Error {}

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

/** Parses JSON text like serde_json: objects are Maps (duplicates kept for the struct readers
 *  to refuse: a Map records `dup`), integers are Numbers (BigInt when not safe), floats F64. */
export function parseJson(text, maxDepth = 128) {
  let i = 0;
  const n = text.length;
  const failAt = (msg) => { throw new JsonError(msg + " at offset " + i); };
  const ws = () => { while (i < n) { const c = text.charCodeAt(i); if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++; else break; } };
  function value(depth) {
    ws();
    if (i >= n) failAt("EOF while parsing a value");
    const c = text[i];
    if (c === "{") {
      if (depth + 1 >= maxDepth) failAt("recursion limit exceeded");
      i++;
      const m = new Map();
      ws();
      if (text[i] === "}") { i++; return m; }
      for (;;) {
        ws();
        if (text[i] !== '"') failAt("key must be a string");
        const k = string();
        ws();
        if (text[i] !== ":") failAt("expected `:`");
        i++;
        const v = value(depth + 1);
        // serde_json's Value keeps the last of duplicate keys; a struct refuses them (T.struct).
        if (m.has(k)) m.dup = m.dup || k;
        m.set(k, v);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return m; }
        failAt("expected `,` or `}`");
      }
    }
    if (c === "[") {
      if (depth + 1 >= maxDepth) failAt("recursion limit exceeded");
      i++;
      const a = [];
      ws();
      if (text[i] === "]") { i++; return a; }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return a; }
        failAt("expected `,` or `]`");
      }
    }
    if (c === '"') return string();
    if (text.startsWith("true", i)) { i += 4; return true; }
    if (text.startsWith("false", i)) { i += 5; return false; }
    if (text.startsWith("null", i)) { i += 4; return null; }
    return number();
  }
  function number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === "-") failAt("expected value");
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const b = BigInt(m[0]);
      if (b >= I64_MIN && b <= U64_MAX) return Number.isSafeInteger(Number(b)) ? Number(b) : b;
    }
    const f = Number(m[0]);
    if (!Number.isFinite(f)) failAt("number out of range");
    return new F64(f);
  }
  function string() {
    i++;
    let out = "";
    for (;;) {
      if (i >= n) failAt("EOF while parsing a string");
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return out; }
      if (c < 0x20) failAt("control character in a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        i += 2;
        const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
        if (simple !== undefined) { out += simple; continue; }
        if (e !== "u") failAt("invalid escape");
        const hex4 = () => {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) failAt("invalid escape");
          i += 4;
          return parseInt(h, 16);
        };
        const u = hex4();
        if (u >= 0xdc00 && u <= 0xdfff) failAt("lone trailing surrogate in hex escape");
        if (u >= 0xd800 && u <= 0xdbff) {
          if (text[i] !== "\\" || text[i + 1] !== "u") failAt("lone leading surrogate in hex escape");
          i += 2;
          const lo = hex4();
          if (lo < 0xdc00 || lo > 0xdfff) failAt("lone leading surrogate in hex escape");
          out += String.fromCharCode(u, lo);
          continue;
        }
        out += String.fromCharCode(u);
        continue;
      }
      // Raw text: a lone surrogate cannot come from UTF-8 input (the caller decodes strictly).
      out += text[i];
      i++;
    }
  }
  const v = value(0);
  ws();
  if (i < n) failAt("trailing characters");
  return v;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Bytes (or a string) → text, refusing invalid UTF-8. */
export function decodeUtf8(bytes) {
  return typeof bytes === "string" ? bytes : utf8Strict.decode(bytes);
}

/** A parsed JSON value back to plain JS (Maps → objects, F64 → number), for display and tests. */
export function toPlain(v) {
  if (v instanceof F64) return v.v;
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) { const o = {}; for (const [k, x] of v) o[k] = toPlain(x); return o; }
  return v;
}

/** A plain JS value (from JSON.parse or a test) as parseJson would give it. */
export function fromPlain(v) {
  return parseJson(JSON.stringify(v));
}

// ------------------------------------------------------------------------------------------------
// Typed readers over parsed JSON, in serde's terms. Each throws a RulesError naming the path.

export class RulesError extends Error {
  constructor(field, message) {
    super(field + ": " + message);
    this.field = field;
    this.detail = message;
  }
  within(parent) {
    return new RulesError(parent + "." + this.field, this.detail);
  }
}
const rerr = (field, message) => new RulesError(field, message);
const join = (path, key) => (path ? path + "." + key : key);
const describe = (v) => v === null ? "null" : v instanceof F64 ? "floating point `" + v.v + "`" : Array.isArray(v) ? "a sequence" : v instanceof Map ? "a map" : typeof v === "bigint" ? "integer `" + v + "`" : typeof v === "number" ? "integer `" + v + "`" : typeof v === "boolean" ? "boolean `" + v + "`" : "a string";

export const T = {
  string: (v, path) => { if (typeof v !== "string") throw rerr(path || "input", "invalid type: " + describe(v) + ", expected a string"); return v; },
  bool: (v, path) => { if (typeof v !== "boolean") throw rerr(path || "input", "invalid type: " + describe(v) + ", expected a boolean"); return v; },
  uint: (max, what) => (v, path) => {
    if (typeof v === "bigint") {
      if (v < 0n || v > max) throw rerr(path || "input", "invalid value: integer `" + v + "`, expected " + what);
      return v;
    }
    if (typeof v !== "number") throw rerr(path || "input", "invalid type: " + describe(v) + ", expected " + what);
    if (v < 0 || BigInt(v) > max) throw rerr(path || "input", "invalid value: integer `" + v + "`, expected " + what);
    return v;
  },
  f64: (v, path) => {
    if (v instanceof F64) return v.v;
    if (typeof v === "number") return v;
    if (typeof v === "bigint") return Number(v);
    throw rerr(path || "input", "invalid type: " + describe(v) + ", expected f64");
  },
  vec: (inner) => (v, path) => {
    if (!Array.isArray(v)) throw rerr(path || "input", "invalid type: " + describe(v) + ", expected a sequence");
    return v.map((x, k) => inner(x, (path || "") + "[" + k + "]"));
  },
  option: (inner) => (v, path) => (v === null || v === undefined ? null : inner(v, path)),
  oneOf: (names, what) => (v, path) => {
    // serde_json reads a unit variant from `"name"` or from `{"name": null}`.
    if (v instanceof Map && v.size === 1 && !v.dup) {
      const [[k, x]] = [...v];
      if (x !== null) throw rerr(path || "input", "invalid type: " + describe(x) + ", expected unit");
      v = k;
    }
    if (typeof v !== "string") throw rerr(path || "input", "invalid type: " + describe(v) + ", expected " + what);
    if (!(v in names)) throw rerr(path || "input", "unknown variant `" + v + "`, expected one of " + Object.keys(names).map((x) => "`" + x + "`").join(", "));
    return names[v];
  },
  /** A struct as serde derives it: `fields` maps name → [reader, required, hasDefault] in
   *  declaration order. From a map: unknown fields refused when `strict`, duplicates refused,
   *  a missing Option is None. From a sequence (serde accepts that too): the fields in order,
   *  only `#[serde(default)]` fields may be left off the end. */
  struct: (fields, strict = true, expecting = "a map") => (v, path) => {
    const names = Object.keys(fields);
    const out = {};
    if (Array.isArray(v)) {
      const expect = "struct with " + names.length + " elements";
      if (v.length > names.length) throw rerr(path || "input", "invalid length " + v.length + ", expected " + expect);
      names.forEach((k, i) => {
        const [reader, , hasDefault] = fields[k];
        if (i < v.length) out[k] = reader(v[i], (path || "") + "[" + i + "]");
        else if (hasDefault) out[k] = null;
        else throw rerr(path || "input", "invalid length " + v.length + ", expected " + expect);
      });
      return out;
    }
    if (!(v instanceof Map)) throw rerr(path || "input", "invalid type: " + describe(v) + ", expected " + expecting);
    if (v.dup && v.dup in fields) throw rerr(path || "input", "duplicate field `" + v.dup + "`");
    for (const [k, x] of v) {
      if (!(k in fields)) {
        if (strict) throw rerr(join(path, k), "unknown field `" + k + "`, expected one of " + names.map((f) => "`" + f + "`").join(", "));
        continue;
      }
      out[k] = fields[k][0](x, join(path, k));
    }
    for (const [k, [reader, required]] of Object.entries(fields)) {
      if (!v.has(k)) {
        if (required) throw rerr(path || "input", "missing field `" + k + "`");
        out[k] = reader === T.any ? undefined : null;
      }
    }
    return out;
  },
  any: (v) => v,
};
T.u8 = T.uint(255n, "u8");
T.u32 = T.uint(4294967295n, "u32");
T.u64 = T.uint(U64_MAX, "u64");

// ------------------------------------------------------------------------------------------------
// Helpers on text, as Rust sees it

/** Rust's str::trim (Unicode White_Space; not U+FEFF, which JS trims). */
const RUST_WS = "\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const trimRe = new RegExp("^[" + RUST_WS + "]+|[" + RUST_WS + "]+$", "g");
export const rustTrim = (s) => s.replace(trimRe, "");
/** chars().count(): Unicode scalar values. */
export const charCount = (s) => { let k = 0; for (const _ of s) k++; return k; };
/** char::is_control: general category Cc. */
export const hasControl = (s) => /[\u0000-\u001f\u007f-\u009f]/.test(s);
export const byteLength = (s) => utf8.encode(s).length;

// ------------------------------------------------------------------------------------------------
// Fractions (fraction.rs): integers only

export const MAX_DEN = 1000000;

export function fraction(num, den, inclusive) {
  if (den === 0) throw ["den", "must be at least 1 (a zero denominator)"];
  if (den > MAX_DEN) throw ["den", "must be at most " + MAX_DEN];
  if (num === 0) throw ["num", "must be at least 1"];
  if (num > den) throw ["num", num + "/" + den + " is above 1: no count could reach it"];
  return { num, den, inclusive };
}
export const TWO_THIRDS_INCLUSIVE = Object.freeze({ num: 2, den: 3, inclusive: true });
export const MORE_THAN_HALF = Object.freeze({ num: 1, den: 2, inclusive: false });
/** Fraction::ANY_VOTE: no threshold but one vote, for a run-off under `runoff_majority: false`
 *  (「以得票多的确定」); never made from a document. reached() by any value ≥ 1, minimum() 1. */
export const ANY_VOTE = Object.freeze({ num: 0, den: 1, inclusive: true });

/** Does `value` reach `f` of `base`? Never with 0. (BigInt: exact whatever the sizes.) */
export function reached(f, value, base) {
  if (value === 0) return false;
  const lhs = BigInt(value) * BigInt(f.den);
  const rhs = BigInt(f.num) * BigInt(base);
  return f.inclusive ? lhs >= rhs : lhs > rhs;
}

/** The least value that reaches `f` of `base`. */
export function minimum(f, base) {
  const product = BigInt(f.num) * BigInt(base);
  const den = BigInt(f.den);
  const min = f.inclusive ? (product + den - 1n) / den : product / den + 1n;
  return Number(min < 1n ? 1n : min);
}

const DIGITS = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
function chineseNumber(n) {
  if (n <= 9) return DIGITS[n];
  if (n === 10) return "十";
  if (n <= 19) return "十" + DIGITS[n - 10];
  if (n <= 99) return n % 10 === 0 ? DIGITS[Math.floor(n / 10)] + "十" : DIGITS[Math.floor(n / 10)] + "十" + DIGITS[n % 10];
  return String(n);
}

export function describeFraction(f) {
  if (f.num === 0) return "得票多者";
  if (f.num * 2 === f.den && !f.inclusive) return "过半数";
  if (f.num === f.den) return f.inclusive ? "全部" : "超过全部";
  const words = chineseNumber(f.den) + "分之" + chineseNumber(f.num);
  return f.inclusive ? words + "以上" : "超过" + words;
}

// ------------------------------------------------------------------------------------------------
// The rules document (document.rs)

export const FORMAT = "piaojue-rules/1";
export const MAX_DOCUMENT_BYTES = 256 * 1024;
export const MAX_TALLY_INPUT_BYTES = 1024 * 1024;
const MAX_OPTIONS = 8;
const MAX_OPTION_CHARS = 16;
const MAX_TITLE_CHARS = 200;
const MAX_TEXT_BYTES = 200 * 1024;
const MAX_FOLLOWUPS = 16;
const MAX_LABEL_CHARS = 32;
const MAX_COSIGNATURES = 50;
export const DEFAULT_VOTING_SECONDS = 60;
export const MIN_VOTING_SECONDS = 15;
export const MAX_VOTING_SECONDS = 86400;
export const MAX_SEATED = 100000;
export const MAX_ITEMS = 500;
const MAX_ITEM_CHARS = 200;

export const KIND_ZH = { motion: "表决", project_selection: "民生实事项目票决", satisfaction: "满意度测评" };
const DEFAULT_OPTIONS = { motion: ["赞成", "反对", "弃权"], project_selection: ["赞成", "不赞成", "弃权"], satisfaction: ["满意", "基本满意", "不满意"] };
const SATISFIED = "满意", BASICALLY = "基本满意", DISSATISFIED = "不满意", ABSTAIN = "弃权";
const BASE_ZH = { seated: "全体代表", present: "出席代表", enabled: "参加表决的代表", cast: "所投票数", cast_excluding_abstain: "除弃权外所投票数" };
const ident = (names) => Object.fromEntries(names.map((x) => [x, x]));

const Kind = T.oneOf(ident(["motion", "project_selection", "satisfaction"]), "a vote kind");
const RawFraction = T.struct({ num: [T.u32, true], den: [T.u32, true], inclusive: [T.bool, true] });
const RawMajority = T.struct({ base: [T.oneOf(ident(Object.keys(BASE_ZH)), "a majority base"), false, true], num: [T.u32, true], den: [T.u32, true], inclusive: [T.bool, true] });
const Tiers = T.struct({ base: [T.oneOf(ident(["seated", "present", "valid"]), "a tier base"), false, true], boundary: [T.oneOf(ident(["inclusive", "strict"]), "a boundary"), false, true] });
const METRICS = ident(["满意率", "基本满意率", "综合满意率", "不满意率"]);
const RawFollowup = T.struct({ metric: [T.oneOf(METRICS, "a metric"), true], op: [T.oneOf({ ">": ">", ">=": ">=", "≥": ">=", "<": "<", "<=": "<=", "≤": "<=" }, "an operator"), true], value: [T.f64, true], label: [T.string, true] });
const o = (r) => [T.option(r), false];
const RawRules = T.struct({
  format: o(T.string), title: o(T.string), text: o(T.string), kind: [Kind, true], options: o(T.vec(T.string)),
  quorum: o(RawFraction), majority: o(RawMajority), select_n: o(T.u32), form: o(T.oneOf(ident(["per_item", "approve_up_to_n"]), "a form")),
  max_yes: o(T.u32), tie_rule: o(T.oneOf(ident(["revote_tied", "include_all_tied", "chair_decides"]), "a tie rule")),
  shortfall_rule: o(T.oneOf(ident(["accept_fewer", "revote_remaining", "defer"]), "a shortfall rule")), runoff_majority: o(T.bool),
  tiers: o(Tiers), valid_options: o(T.vec(T.string)), followup: o(T.vec(RawFollowup)), secret: o(T.bool),
  cast_policy: o(T.oneOf(ident(["first_cast_final"]), "a cast policy")), cosignatures_required: o(T.u32), voting_seconds: o(T.u32),
  manual_checkin_cosign: o(T.bool),
}, true, "a rules document object");

/** Size, UTF-8, emptiness and syntax as rules::parse_json checks them; returns the parsed value. */
export function parseCapped(bytes, max, what) {
  const b = typeof bytes === "string" ? utf8.encode(bytes) : bytes;
  if (b.length > max) throw rerr("input", "the " + what + " is " + b.length + " bytes; at most " + max / 1024 + " KiB is accepted");
  let text;
  try { text = utf8Strict.decode(b); } catch { throw rerr("input", "the " + what + " is not UTF-8"); }
  if (rustTrim(text) === "") throw rerr("input", "the " + what + " is empty");
  try { return parseJson(text); } catch (e) { throw rerr("input", e.message); }
}

/** Rules::from_json: a validated rules document (plain object), or a RulesError. */
export function parseRules(bytes) {
  return rulesFromRaw(RawRules(parseCapped(bytes, MAX_DOCUMENT_BYTES, "rules document"), ""));
}

function checkOptions(options) {
  if (options.length === 0) throw rerr("options", "is empty: a ballot needs choices");
  if (options.length > MAX_OPTIONS) throw rerr("options", options.length + " options; at most " + MAX_OPTIONS);
  const out = [];
  options.forEach((raw, i) => {
    const option = rustTrim(raw);
    if (option === "") throw rerr("options[" + i + "]", "is empty");
    if (charCount(option) > MAX_OPTION_CHARS) throw rerr("options[" + i + "]", "longer than " + MAX_OPTION_CHARS + " characters");
    if (hasControl(option)) throw rerr("options[" + i + "]", "holds a control character");
    if (out.includes(option)) throw rerr("options[" + i + "]", "`" + option + "` is listed twice");
    out.push(option);
  });
  return out;
}

function checkFollowups(raw) {
  if (raw.length > MAX_FOLLOWUPS) throw rerr("followup", raw.length + " entries; at most " + MAX_FOLLOWUPS);
  return raw.map((f, i) => {
    if (!(f.value >= 0 && f.value <= 1)) throw rerr("followup[" + i + "].value", f.value + " is not a rate between 0 and 1");
    const label = rustTrim(f.label);
    if (label === "" || charCount(label) > MAX_LABEL_CHARS) throw rerr("followup[" + i + "].label", "must be 1 to " + MAX_LABEL_CHARS + " characters");
    return { metric: f.metric, op: f.op, value: f.value, label };
  });
}

const frac = (f, prefix) => {
  try { return fraction(f.num, f.den, f.inclusive); } catch (e) { throw Array.isArray(e) ? rerr(prefix + "." + e[0], e[1]) : e; }
};

/** Rules::from_raw. */
export function rulesFromRaw(raw) {
  if (raw.format !== null && raw.format !== FORMAT) throw rerr("format", "`" + raw.format + "` is not a format this appliance reads (expected `" + FORMAT + "`)");
  const title = rustTrim(raw.title ?? "");
  if (charCount(title) > MAX_TITLE_CHARS) throw rerr("title", "longer than " + MAX_TITLE_CHARS + " characters");
  const text = raw.text ?? "";
  if (byteLength(text) > MAX_TEXT_BYTES) throw rerr("text", "longer than " + MAX_TEXT_BYTES / 1024 + " KiB");
  const kind = raw.kind;
  const options = raw.options === null ? DEFAULT_OPTIONS[kind].slice() : checkOptions(raw.options);
  const quorum = raw.quorum === null ? TWO_THIRDS_INCLUSIVE : frac(raw.quorum, "quorum");
  // A quorum below half would let a handful of deputies open a secret vote.
  if (quorum.num * 2 < quorum.den) throw rerr("quorum", quorum.num + "/" + quorum.den + " is below one half: a session needs at least half its deputies present");
  const votingSeconds = raw.voting_seconds ?? DEFAULT_VOTING_SECONDS;
  if (votingSeconds < MIN_VOTING_SECONDS || votingSeconds > MAX_VOTING_SECONDS) throw rerr("voting_seconds", "must be " + MIN_VOTING_SECONDS + " to " + MAX_VOTING_SECONDS + " seconds");
  const warnings = [];
  const unused = (field, present) => { if (present) warnings.push(field + ": has no effect on a " + KIND_ZH[kind]); };
  let params;
  if (kind === "motion" || kind === "project_selection") {
    const approval = raw.form === "approve_up_to_n";
    if (options.length < 2 && !(approval && kind === "project_selection")) throw rerr("options", "a motion or per-item 票决 needs at least two options (the first is the yes)");
    unused("tiers", raw.tiers !== null);
    unused("valid_options", raw.valid_options !== null);
    unused("followup", raw.followup !== null);
    const majority = raw.majority === null ? { base: "seated", fraction: MORE_THAN_HALF } : { base: raw.majority.base ?? "seated", fraction: frac(raw.majority, "majority") };
    if (kind === "motion") {
      for (const f of ["select_n", "form", "max_yes", "tie_rule", "shortfall_rule", "runoff_majority"]) unused(f, raw[f] !== null);
      params = { majority };
    } else {
      if (raw.select_n === null) throw rerr("select_n", "missing: how many projects the vote adopts");
      if (raw.select_n === 0) throw rerr("select_n", "must be at least 1");
      const maxYes = raw.max_yes ?? raw.select_n;
      if (maxYes === 0) throw rerr("max_yes", "must be at least 1");
      params = { majority, select_n: raw.select_n, form: raw.form ?? "per_item", max_yes: maxYes, tie_rule: raw.tie_rule ?? "revote_tied", shortfall_rule: raw.shortfall_rule ?? "accept_fewer", runoff_majority: raw.runoff_majority ?? true };
    }
  } else {
    for (const f of ["majority", "select_n", "form", "max_yes", "tie_rule", "shortfall_rule", "runoff_majority"]) unused(f, raw[f] !== null);
    for (const needed of [SATISFIED, BASICALLY, DISSATISFIED]) if (!options.includes(needed)) throw rerr("options", "a satisfaction test needs the option " + needed);
    const index = (name) => { const at = options.indexOf(name); return at < 0 ? null : at; };
    let valid;
    if (raw.valid_options === null) valid = [SATISFIED, BASICALLY, DISSATISFIED].map(index).filter((x) => x !== null);
    else {
      const list = raw.valid_options;
      if (list.length > options.length) throw rerr("valid_options", "lists more entries than options");
      const picked = [];
      list.forEach((name, i) => {
        const at = index(name);
        if (at === null) throw rerr("valid_options[" + i + "]", "`" + name + "` is not one of the options");
        if (picked.includes(at)) throw rerr("valid_options[" + i + "]", "`" + name + "` is listed twice");
        picked.push(at);
      });
      for (const needed of [SATISFIED, BASICALLY, DISSATISFIED]) if (!list.includes(needed)) throw rerr("valid_options", "must include " + needed + ": the rates are taken over it");
      valid = picked.sort((a, b) => a - b);
    }
    const followup = checkFollowups(raw.followup ?? []);
    const t = raw.tiers ?? {};
    params = { tiers: { base: t.base ?? "seated", boundary: t.boundary ?? "inclusive" }, valid_options: valid, followup };
  }
  const cosignaturesRequired = raw.cosignatures_required ?? 0;
  if (cosignaturesRequired > MAX_COSIGNATURES) throw rerr("cosignatures_required", "at most " + MAX_COSIGNATURES);
  return { title, text, kind, options, quorum, secret: raw.secret ?? true, cast_policy: raw.cast_policy ?? "first_cast_final", cosignatures_required: cosignaturesRequired, voting_seconds: votingSeconds, manual_checkin_cosign: raw.manual_checkin_cosign ?? false, params, warnings };
}

/** Rules::for_runoff: the rules a run-off (对得票相等的项目重新票决, 就剩余名额另行票决) is decided
 *  under: the same document with `select_n` the seats and at most that many 赞成 per ballot;
 *  under `runoff_majority: false` the majority is any vote of those cast (「以得票多的确定」).
 *  null for a kind without run-offs, no seat, or more seats than the document's select_n. */
export function forRunoff(rules, seats) {
  if (rules.kind !== "project_selection") return null;
  const p = rules.params;
  if (seats === 0 || seats > p.select_n) return null;
  const majority = p.runoff_majority ? p.majority : { base: "cast", fraction: ANY_VOTE };
  return { ...rules, params: { ...p, select_n: seats, max_yes: Math.min(p.max_yes, seats), majority } };
}

/** Rules::check_items: select_n and max_yes against the candidates; returns the warnings. */
export function checkItems(rules, items) {
  const warnings = rules.warnings.slice();
  if (rules.kind === "project_selection") {
    const { select_n: selectN, max_yes: maxYes } = rules.params;
    if (selectN > items) throw rerr("select_n", selectN + " projects to adopt but only " + items + " candidates");
    if (maxYes > items) throw rerr("max_yes", maxYes + " 赞成 allowed but only " + items + " candidates");
    if (items === selectN) warnings.push("select_n: " + items + " candidates for " + selectN + " places is 等额, not 差额票决");
  }
  return warnings;
}

// ------------------------------------------------------------------------------------------------
// Roll and counts (tally.rs)

export const RawRoll = T.struct({ seated: [T.u64, true], present: [T.u64, true], enabled: [T.option(T.u64), false, true], cast: [T.option(T.u64), false, true] });
export const enabledOf = (roll) => (roll.enabled ?? roll.present);

function checkRoll(roll) {
  const e = (f, m) => { throw rerr("roll." + f, m); };
  const en = enabledOf(roll);
  if (roll.seated == 0) e("seated", "must be at least 1");
  if (roll.seated > MAX_SEATED) e("seated", roll.seated + " is above " + MAX_SEATED);
  if (roll.present > roll.seated) e("present", roll.present + " present but only " + roll.seated + " seated");
  if (en > roll.present) e("enabled", en + " able to vote but only " + roll.present + " present");
  if (roll.cast !== null && roll.cast !== undefined && roll.cast > en) e("cast", roll.cast + " ballots cast but only " + en + " deputies could vote");
}

/** Counts::new: items, roll and counts checked against the rules. Numbers come out as Numbers. */
export function makeCounts(rules, items, roll, counts) {
  const e = (f, m) => { throw rerr(f, m); };
  if (items.length === 0) e("items", "is empty: a vote needs at least one item");
  if (items.length > MAX_ITEMS) e("items", items.length + " items; at most " + MAX_ITEMS);
  items.forEach((item, i) => {
    if (rustTrim(item) === "") e("items[" + i + "]", "is empty");
    if (charCount(item) > MAX_ITEM_CHARS) e("items[" + i + "]", "longer than " + MAX_ITEM_CHARS + " characters");
    if (hasControl(item)) e("items[" + i + "]", "holds a control character");
    const first = items.slice(0, i).indexOf(item);
    if (first >= 0) e("items[" + i + "]", "`" + item + "` is the same as items[" + first + "]");
  });
  checkRoll(roll);
  // From here every number of the roll is ≤ MAX_SEATED: safe as a Number.
  const r = { seated: Number(roll.seated), present: Number(roll.present) };
  if (roll.enabled !== null && roll.enabled !== undefined) r.enabled = Number(roll.enabled);
  if (roll.cast !== null && roll.cast !== undefined) r.cast = Number(roll.cast);
  const en = enabledOf(r);
  if (counts.length !== items.length) e("counts", counts.length + " rows for " + items.length + " items");
  const limit = r.cast ?? en;
  const rows = counts.map((row, i) => {
    if (row.length !== rules.options.length) e("counts[" + i + "]", row.length + " numbers but the rules have " + rules.options.length + " options (" + rules.options.join("/") + ")");
    row.forEach((n, j) => { if (n > en) e("counts[" + i + "][" + j + "]", n + " ballots for " + rules.options[j] + " but only " + en + " deputies could vote"); });
    const out = row.map(Number);
    const sum = out.reduce((a, b) => a + b, 0);
    if (sum > limit) e("counts[" + i + "]", sum + " ballots counted but " + (r.cast !== undefined ? "only " + limit + " ballots were cast" : "only " + limit + " deputies could vote"));
    return out;
  });
  if (rules.kind === "project_selection") {
    const maxYes = rules.params.max_yes;
    const yes = rows.reduce((a, row) => a + row[0], 0);
    const allowed = maxYes * limit;
    if (yes > allowed) e("counts", yes + " " + rules.options[0] + " in all but " + limit + " ballots of at most " + maxYes + " each allow only " + allowed);
  }
  return { items: items.slice(), roll: r, counts: rows };
}

// ------------------------------------------------------------------------------------------------
// decide (tally.rs) and the announcement (announce.rs)

function majorityBase(rules, majority, roll, row) {
  const cast = row.reduce((a, b) => a + b, 0);
  switch (majority.base) {
    case "seated": return roll.seated;
    case "present": return roll.present;
    case "enabled": return enabledOf(roll);
    case "cast": return cast;
    default: { const a = rules.options.indexOf(ABSTAIN); return cast - (a < 0 ? 0 : row[a]); }
  }
}

function select(yes, meets, selectN, tieRule, quorumMet) {
  const eligible = yes.map((_, i) => i).filter((i) => meets[i]);
  eligible.sort((a, b) => yes[b] - yes[a]); // stable, as Rust's sort_by
  const rank = yes.map(() => null);
  eligible.forEach((i, pos) => {
    const first = eligible.slice(0, pos).findIndex((j) => yes[j] === yes[i]);
    rank[i] = (first < 0 ? pos : first) + 1;
  });
  const n = selectN;
  if (!quorumMet) return { rank: yes.map(() => null), selected: [], tied: [], tieSeats: 0 };
  if (eligible.length <= n) return { rank, selected: eligible, tied: [], tieSeats: 0 };
  const cut = yes[eligible[n - 1]];
  if (yes[eligible[n]] < cut) return { rank, selected: eligible.slice(0, n), tied: [], tieSeats: 0 };
  const above = eligible.filter((i) => yes[i] > cut);
  const tied = eligible.filter((i) => yes[i] === cut);
  if (tieRule === "include_all_tied") return { rank, selected: above.concat(tied), tied: [], tieSeats: 0 };
  return { rank, selected: above, tied, tieSeats: n - above.length };
}

const tierOf = (tiers, votes, t) => (tiers.boundary === "inclusive" ? 2 * votes >= t : 2 * votes > t);
function triggered(f, part, whole) {
  if (whole === 0) return false;
  const lhs = part, rhs = f.value * whole;
  return f.op === ">" ? lhs > rhs : f.op === ">=" ? lhs >= rhs : f.op === "<" ? lhs < rhs : lhs <= rhs;
}

/** decide(): the outcome as `piaojue tally` prints it and a bundle records it (key order as
 *  serde writes it). Rates are plain numbers here; RATE_KEYS names the float fields. */
export function decide(rules, counts, warnings) {
  const roll = counts.roll;
  const enabled = enabledOf(roll);
  const quorumMet = reached(rules.quorum, roll.present, roll.seated);
  const quorumRequired = minimum(rules.quorum, roll.seated);
  const rollOut = { seated: roll.seated, present: roll.present };
  if (roll.enabled !== undefined) rollOut.enabled = roll.enabled;
  if (roll.cast !== undefined) rollOut.cast = roll.cast;
  const base = counts.items.map((item, i) => {
    const row = counts.counts[i];
    const c = {};
    rules.options.forEach((opt, j) => { c[opt] = row[j]; });
    return { item, counts: c, not_voted: enabled - row.reduce((a, b) => a + b, 0) };
  });
  let items, decision;
  if (rules.kind === "motion") {
    const { majority } = rules.params;
    items = base.map((it, i) => {
      const row = counts.counts[i];
      const b = majorityBase(rules, majority, roll, row);
      return { ...it, majority_required: minimum(majority.fraction, b), passed: quorumMet && reached(majority.fraction, row[0], b) };
    });
    decision = { passed: items.every((x) => x.passed) };
  } else if (rules.kind === "project_selection") {
    const { majority, select_n: selectN, tie_rule: tieRule } = rules.params;
    const bases = counts.counts.map((row) => majorityBase(rules, majority, roll, row));
    const meets = counts.counts.map((row, i) => reached(majority.fraction, row[0], bases[i]));
    const yes = counts.counts.map((row) => row[0]);
    const pick = select(yes, meets, selectN, tieRule, quorumMet);
    items = base.map((it, i) => ({ ...it, majority_required: minimum(majority.fraction, bases[i]), meets_majority: meets[i], rank: pick.rank[i], selected: pick.selected.includes(i), tied: pick.tied.includes(i) }));
    const name = (i) => counts.items[i];
    const tie = pick.tied.length ? { items: pick.tied.map(name), seats: pick.tieSeats, votes: yes[pick.tied[0]] } : null;
    decision = { selected: pick.selected.map(name), tie, shortfall: Math.max(0, selectN - (pick.selected.length + pick.tieSeats)) };
  } else {
    const { tiers, valid_options: validOptions, followup } = rules.params;
    const at = (nm) => Math.max(0, rules.options.indexOf(nm));
    const [sAt, bAt, dAt] = [at(SATISFIED), at(BASICALLY), at(DISSATISFIED)];
    items = base.map((it, i) => {
      const row = counts.counts[i];
      const valid = validOptions.reduce((a, j) => a + row[j], 0);
      const [s, b, d] = [row[sAt], row[bAt], row[dAt]];
      const rate = (x) => (valid === 0 ? 0 : x / valid);
      const t = tiers.base === "seated" ? roll.seated : tiers.base === "present" ? roll.present : valid;
      const tier = !quorumMet || t === 0 ? null : tierOf(tiers, s, t) ? SATISFIED : tierOf(tiers, s + b, t) ? BASICALLY : DISSATISFIED;
      const labels = [];
      for (const f of followup) {
        const part = f.metric === "满意率" ? s : f.metric === "基本满意率" ? b : f.metric === "综合满意率" ? s + b : d;
        if (triggered(f, part, valid) && !labels.includes(f.label)) labels.push(f.label);
      }
      return { ...it, valid, rates: { "满意率": rate(s), "基本满意率": rate(b), "综合满意率": rate(s + b), "不满意率": rate(d) }, tier, followup: labels };
    });
    decision = {};
  }
  const outcome = { kind: rules.kind, roll: rollOut, quorum_met: quorumMet, quorum_required: quorumRequired, items, ...decision, announcement: "", warnings };
  outcome.announcement = announcement(rules, outcome);
  return outcome;
}

/** The keys whose values serde writes as f64 (the 测评 rates); every other number is an integer. */
export const RATE_KEYS = new Set(["满意率", "基本满意率", "综合满意率", "不满意率"]);

function countsLine(item) {
  let line = "";
  for (const [opt, n] of Object.entries(item.counts)) line += opt + n + "票，";
  return line + "未按表决器" + item.not_voted + "名。";
}

/** Rust's `format!("{:.2}", x)`: the exact binary value rounded to two decimals, ties to even
 *  (JS toFixed breaks exact ties upwards). An exact tie is x = k/8 with k odd. */
export function fixed2(x) {
  const s = x.toFixed(2);
  const eight = x * 8;
  if (Number.isInteger(eight) && eight % 2 === 1 && Number.isInteger(x * 1000)) {
    // x = m + .125/.375/.625/.875: toFixed rounded up; Rust keeps the even hundredth.
    const hundredths = Math.round(x * 100 - 0.5); // floor of the exact x·100 (x·100 = k + 0.5)
    const even = hundredths % 2 === 0 ? hundredths : hundredths + 1;
    return (even / 100).toFixed(2);
  }
  return s;
}
export const percent = (rate) => fixed2(rate * 100) + "%";

/** announce::announcement. */
export function announcement(rules, outcome) {
  const roll = outcome.roll;
  if (!outcome.quorum_met) return "应到代表" + roll.seated + "名，实到" + roll.present + "名，不足法定人数（" + outcome.quorum_required + "名），不能进行" + KIND_ZH[rules.kind] + "。";
  let text = "应到代表" + roll.seated + "名，实到" + roll.present + "名。";
  if (rules.kind === "motion") {
    const single = outcome.items.length === 1;
    for (const item of outcome.items) {
      if (!single) text += "\n" + item.item + "：";
      text += countsLine(item) + (item.passed ? "通过。" : "未通过。");
    }
  } else if (rules.kind === "project_selection") {
    const { majority, select_n: selectN, tie_rule: tieRule, shortfall_rule: shortfallRule } = rules.params;
    const fixedBase = !(majority.base === "cast" || majority.base === "cast_excluding_abstain");
    if (majority.fraction.num === 0) {
      // A run-off under `runoff_majority: false`.
      text += "候选项目" + outcome.items.length + "个，拟确定" + selectN + "个，以得票多的确定。\n得票情况（按赞成票排序）：";
    } else {
      text += "候选项目" + outcome.items.length + "个，拟确定" + selectN + "个，以" + BASE_ZH[majority.base] + "的" + describeFraction(majority.fraction);
      const first = outcome.items[0];
      if (first && first.majority_required !== undefined && fixedBase) text += "（" + first.majority_required + "票）";
      text += "赞成为通过。\n得票情况（按赞成票排序）：";
    }
    const yesWord = rules.options[0];
    const ranked = outcome.items.slice().sort((a, b) => (a.meets_majority === b.meets_majority ? b.counts[yesWord] - a.counts[yesWord] : a.meets_majority ? -1 : 1));
    for (const item of ranked) {
      const label = item.rank !== null && item.meets_majority ? "第" + item.rank + "名" : "未获通过";
      text += "\n" + label + "　" + item.item + "：" + countsLine(item);
    }
    if (outcome.selected.length === 0) text += "\n没有项目获得通过。";
    else text += "\n票决确定的民生实事项目（" + outcome.selected.length + "个）：" + outcome.selected.join("、") + "。";
    if (outcome.tie) {
      const follow = tieRule === "chair_decides" ? "由会议主持人依照票决办法确定" : "应就票数相等的项目再次票决，确定";
      text += "\n" + outcome.tie.items.join("、") + "得票相等（均为" + outcome.tie.votes + "票），" + follow + "剩余" + outcome.tie.seats + "个名额。";
    }
    if (outcome.shortfall > 0) {
      const follow = { accept_fewer: "按票决办法，以获得通过的项目为准", revote_remaining: "按票决办法，就剩余名额另行票决", defer: "按票决办法，剩余名额留待下次会议票决" }[shortfallRule];
      text += "\n获得通过的项目少于拟定数，尚缺" + outcome.shortfall + "个名额，" + follow + "。";
    }
  } else {
    for (const item of outcome.items) {
      text += "\n" + item.item + "：" + countsLine(item);
      text += "有效票" + item.valid + "票，满意率" + percent(item.rates["满意率"]) + "，综合满意率" + percent(item.rates["综合满意率"]) + "，";
      text += item.tier !== null ? "测评结果：" + item.tier + "。" : "无有效票，不能评定。";
      if (item.followup.length) text += "（" + item.followup.join("、") + "）";
    }
  }
  return text;
}

// ------------------------------------------------------------------------------------------------
// `piaojue tally` (input.rs)

const RawInput = T.struct({ rules: [RawRules, true], items: [T.vec(T.string), true], roll: [RawRoll, true], counts: [T.vec(T.vec(T.u64)), true] }, true, "an object with rules, items, roll and counts");

/** TallyInput::parse + decide, without the rules' hash and title (the Outcome alone). */
export function tally(bytes) {
  const value = parseCapped(bytes, MAX_TALLY_INPUT_BYTES, "tally input");
  const raw = RawInput(value, "");
  // The rules' exact bytes are then read as the first field of a struct: serde refuses the
  // sequence form there (the other elements are trailing data).
  if (Array.isArray(value)) throw rerr("rules", "trailing characters");
  let rules;
  try { rules = rulesFromRaw(raw.rules); } catch (e) { throw e instanceof RulesError ? e.within("rules") : e; }
  let warnings;
  try { warnings = checkItems(rules, raw.items.length).map((w) => "rules." + w); } catch (e) { throw e instanceof RulesError ? e.within("rules") : e; }
  const counts = makeCounts(rules, raw.items, raw.roll, raw.counts);
  return decide(rules, counts, warnings);
}
