// The verifier of `piaojue verify` (crates/core/src/bundle.rs `verify()`), ported check for
// check: the same names, in the same order, with the same verdicts, so the verify page and
// the CLI cannot disagree about a bundle. Pure ES module (no DOM): runs in the page and in
// Node (tests/js/checks.test.mjs). Each check is { name, ok, detail }.
import { sha256Hex, verifyDetailed, publicKey, unhex, bytesToHex, DOMAIN, SIG_ERROR } from "./sig.js";
import { parseJson, decodeUtf8, T, F64, RulesError, RawRoll, parseRules, checkItems, makeCounts, decide, RATE_KEYS, KIND_ZH, rustTrim, charCount, hasControl, forRunoff } from "./rules.js";

export const ENVELOPE_FORMAT = "piaojue-bundle/1";
export const BODY_FORMAT = "piaojue-result/1";
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

const utf8 = new TextEncoder();

/** base64 STANDARD as the Rust `base64` crate decodes it: padded, canonical trailing bits. */
export function b64decode(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error("Invalid input length or symbol");
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  if (pad && text.length > 0) {
    const last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".indexOf(text[text.length - pad - 1]);
    if (last & (pad === 2 ? 0x0f : 0x03)) throw new Error("Invalid last symbol");
  }
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const o = (r) => [T.option(r), false];
const d = (r) => [T.option(r), false, true]; // #[serde(default)]: may be left off a sequence
const SignatureEntry = T.struct({ role: [T.string, true], name: d(T.string), public_key: [T.string, true], signature: [T.string, true] });
const Envelope = T.struct({ format: [T.string, true], body: [T.string, true], signatures: [T.vec(SignatureEntry), true] });
const NamedChoice = T.struct({ deputy: [T.string, true], name: [T.string, true], choices: [T.vec(T.u8), true], delegation: d(T.string) });
const DelegationCounts = T.struct({ delegation: [T.string, true], deputies: [T.u64, true], counts: [T.vec(T.vec(T.u64)), true] });
const PinnedScrutineer = T.struct({ id: [T.string, true], name: [T.string, true], public_key: [T.string, true] });
const AuditHead = T.struct({ seq: [T.u64, true], hash: [T.string, true] });
const InterventionCosignature = T.struct({ scrutineer: [T.string, true], public_key: [T.string, true], signature: [T.string, true] });
const Intervention = T.struct({
  kind: [T.oneOf({ manual_checkin: "manual_checkin", reissue: "reissue" }, "an intervention kind"), true],
  deputy: [T.string, true], seq: [T.u32, true], time: [T.string, true], reason: [T.string, true], actor: [T.string, true],
  cosignature: d(InterventionCosignature),
});
// procedure.rs: how the vote came about (docs/procedures.md); every struct deny_unknown_fields.
const RevoteOf = T.struct({ vote: [T.string, true], state: [T.string, true], reason: [T.string, true] }, true, "struct RevoteOf");
const RunoffOf = T.struct({
  vote: [T.string, true], bundle_sha256: [T.string, true], reason: [T.oneOf({ tie: "tie", shortfall: "shortfall" }, "a run-off reason"), true],
  candidates: [T.vec(T.u32), true], seats: [T.u32, true],
}, true, "struct RunoffOf");
const Source = T.struct({ bundle_sha256: [T.string, true], appliance_key: [T.string, true] }, true, "struct Source");
const Manual = T.struct({ method: [T.oneOf({ show_of_hands: "show_of_hands", paper: "paper" }, "a manual count method"), true],
  counted_by: [T.vec(T.string), true], note: [T.string, true] }, true, "struct Manual");
/** procedure::Procedure (all parts optional, omitted when None), as serde reads it. */
export const Procedure = T.struct({ revote_of: d(RevoteOf), runoff_of: d(RunoffOf), source: d(Source), manual: d(Manual) }, true, "struct Procedure");

const ResultBody = T.struct({
  format: [T.string, true], session: [T.string, true], appliance_key: [T.string, true], vote_id: [T.string, true], title: [T.string, true],
  kind: [T.oneOf({ motion: "motion", project_selection: "project_selection", satisfaction: "satisfaction" }, "a vote kind"), true],
  items: [T.vec(T.string), true], secret: [T.bool, true], rules_sha256: [T.string, true], rules_document: [T.string, true],
  ballot_sha256: [T.string, true], opened_at: [T.string, true], closed_at: [T.string, true], roll: [RawRoll, true],
  receipts: [T.vec(T.string), true], ballots: [T.vec(T.vec(T.u8)), true], named: d(T.vec(NamedChoice)), by_delegation: d(T.vec(DelegationCounts)),
  counts: [T.vec(T.vec(T.u64)), true], outcome: [T.any, true], announcement: [T.string, true], audit_head: [AuditHead, true],
  previous_bundle_sha256: o(T.string), cosignatures_required: [T.u32, true], scrutineers: d(T.vec(PinnedScrutineer)),
  interventions: d(T.vec(Intervention)), demo: d(T.bool), procedure: d(Procedure),
});

// ------------------------------------------------------------------------------------------------
// The procedure (procedure.rs): what can be checked without the linked bundles.

export const RUNOFF_REASON_ZH = { tie: "对得票相等的项目重新票决", shortfall: "就剩余名额另行票决" };
export const MANUAL_METHOD_ZH = { show_of_hands: "举手表决结果", paper: "纸质票计票结果" };
export const MAX_COUNTERS = 20;
export const MAX_PROCEDURE_TEXT_CHARS = 500;
export const MANUAL_MIN_COSIGNATURES = 1;

const procedureText = (field, s) =>
  rustTrim(s) === "" || charCount(s) > MAX_PROCEDURE_TEXT_CHARS || hasControl(s) ? field + ": 1 to " + MAX_PROCEDURE_TEXT_CHARS + " characters, no control characters" : null;
const isHex64 = (s) => /^[0-9a-f]{64}$/.test(s);
/** ids::VoteId::parse: `v` and a number without leading zeros (at most 19 digits). */
const isVoteId = (s) => /^v[1-9][0-9]{0,18}$/.test(s);
const notARunoff = (seats) => "procedure.runoff_of.seats: " + seats + " seats is not a run-off of this rules document";

/** Procedure::is_empty. */
export const procedureIsEmpty = (p) => !p.revote_of && !p.runoff_of && !p.source && !p.manual;

/** Procedure::check_shape against the rules document, the vote's own id and its item count:
 *  null or why not. An empty procedure is refused here, in both formats. */
export function procedureShape(p, rules, voteId, items) {
  if (procedureIsEmpty(p)) return "procedure: present but empty";
  const r = p.revote_of;
  if (r) {
    if (r.vote === voteId) return "procedure.revote_of.vote: a vote cannot repeat itself";
    if (r.state !== "cancelled" && r.state !== "failed") return "procedure.revote_of.state: `cancelled` or `failed`";
    const e = procedureText("procedure.revote_of.reason", r.reason);
    if (e) return e;
    if (!isVoteId(r.vote)) return "procedure.revote_of.vote: not a vote id";
  }
  const ro = p.runoff_of;
  if (ro) {
    if (!isVoteId(ro.vote)) return "procedure.runoff_of.vote: not a vote id";
    if (ro.vote === voteId) return "procedure.runoff_of.vote: a vote cannot be its own parent";
    if (!isHex64(ro.bundle_sha256)) return "procedure.runoff_of.bundle_sha256: 64 lowercase hex digits";
    if (ro.candidates.length !== items) return "procedure.runoff_of.candidates: " + ro.candidates.length + " candidates for " + items + " items";
    if (ro.candidates.some((c, i) => i + 1 < ro.candidates.length && c >= ro.candidates[i + 1])) return "procedure.runoff_of.candidates: distinct, in the parent's order";
    if (ro.seats === 0 || ro.seats > items) return "procedure.runoff_of.seats: " + ro.seats + " seats for " + items + " candidates";
    if (forRunoff(rules, ro.seats) === null) return notARunoff(ro.seats);
  }
  const s = p.source;
  if (s) {
    if (!isHex64(s.bundle_sha256) || !isHex64(s.appliance_key)) return "procedure.source: bundle_sha256 and appliance_key are 64 lowercase hex digits";
    if (rules.kind !== "satisfaction") return "procedure.source: only a 满意度测评 is built from a bundle";
  }
  const m = p.manual;
  if (m) {
    if (m.counted_by.length === 0 || m.counted_by.length > MAX_COUNTERS) return "procedure.manual.counted_by: 1 to " + MAX_COUNTERS + " names";
    for (let i = 0; i < m.counted_by.length; i++) {
      const e = procedureText("procedure.manual.counted_by[" + i + "]", m.counted_by[i]);
      if (e) return e;
    }
    const e = procedureText("procedure.manual.note", m.note);
    if (e) return e;
  }
  return null;
}

/** Procedure::rules_for / procedure::effective_rules: the rules the vote is decided under
 *  (a run-off's, Rules::for_runoff), as { rules } or { error }. `p` may be null. */
export function procedureRules(p, rules) {
  if (!p || !p.runoff_of) return { rules };
  const r = forRunoff(rules, p.runoff_of.seats);
  return r === null ? { error: notARunoff(p.runoff_of.seats) } : { rules: r };
}

/** Procedure::cosignatures_required: a manual count is never announced without a co-signature. */
export const procedureCosignatures = (p, rules) =>
  p && p.manual ? Math.max(rules.cosignatures_required, MANUAL_MIN_COSIGNATURES) : rules.cosignatures_required;

/** bundle.rs describe_procedure: the `procedure` check's detail. */
export function describeProcedure(p) {
  const parts = [];
  if (p.revote_of) parts.push("re-vote of " + p.revote_of.vote + " (" + p.revote_of.state + ": " + p.revote_of.reason + ")");
  if (p.runoff_of) parts.push("run-off of " + p.runoff_of.vote + " (" + RUNOFF_REASON_ZH[p.runoff_of.reason] + "), " + p.runoff_of.seats + " seats");
  if (p.source) parts.push("测评 of the projects of bundle " + p.source.bundle_sha256.slice(0, 16));
  if (p.manual) parts.push(MANUAL_METHOD_ZH[p.manual.method] + " counted by " + p.manual.counted_by.join("、"));
  return parts.join("; ");
}

/** bundle::parse: the envelope and the body's bytes, or why not (throws a string). */
export function parseBundle(bytes) {
  const b = typeof bytes === "string" ? utf8.encode(bytes) : bytes;
  if (b.length > MAX_BUNDLE_BYTES) throw "the bundle is " + b.length + " bytes; at most " + (MAX_BUNDLE_BYTES >> 20) + " MiB is read";
  let env;
  try {
    env = Envelope(parseJson(decodeUtf8(b)), "");
  } catch (e) {
    throw "not a bundle envelope: " + e.message;
  }
  if (env.format !== ENVELOPE_FORMAT) throw "format `" + env.format + "` is not `" + ENVELOPE_FORMAT + "`";
  try {
    return { envelope: env, body: b64decode(env.body) };
  } catch (e) {
    throw "body is not standard padded base64: " + e.message;
  }
}

/** bundle::body_sha256. */
export function bodySha256(bytes) {
  try { return sha256Hex(parseBundle(bytes).body); } catch { return null; }
}

function cmpBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
const cmpStr = (a, b) => cmpBytes(utf8.encode(a), utf8.encode(b));

const BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** crypto::normalize_code. */
export function normalizeCode(typed) {
  let out = "";
  for (const ch of typed) {
    const c = /^[a-z]$/.test(ch) ? ch.toUpperCase() : ch;
    if (c === "-" || c === " " || c === "\u3000") continue;
    if (c === "O") out += "0";
    else if (c === "I" || c === "L") out += "1";
    else if (c.length === 1 && c.charCodeAt(0) < 128 && BASE32.includes(c)) out += c;
    else return null;
  }
  return out;
}

/** ballot::check_choices: null, or why the ballot is not one the rules allow. */
function checkChoices(rules, items, choices) {
  if (choices.length !== items.length) return "选票有" + choices.length + "项，应为" + items.length + "项";
  const approve = rules.kind === "project_selection" && rules.params.form === "approve_up_to_n";
  const allowed = approve ? 2 : rules.options.length;
  for (let i = 0; i < choices.length; i++) if (choices[i] >= allowed) return "第" + (i + 1) + "项「" + items[i] + "」的选择无效";
  if (rules.kind === "project_selection") {
    const yes = choices.filter((c) => c === 0).length;
    if (yes > rules.params.max_yes) return "最多只能对" + rules.params.max_yes + "个项目投" + rules.options[0] + "票，选票中有" + yes + "个";
  }
  return null;
}

/** ballot::count. */
function count(options, items, ballots) {
  const counts = Array.from({ length: items }, () => new Array(options).fill(0));
  for (const b of ballots) for (let i = 0; i < Math.min(items, b.length); i++) if (b[i] < options) counts[i][b[i]]++;
  return counts;
}

function firstDifference(recount, published) {
  if (recount.length !== published.length) return "counts: " + published.length + " items published, " + recount.length + " expected";
  for (let i = 0; i < recount.length; i++) {
    const [a, b] = [recount[i], published[i]];
    if (a.length !== b.length) return "counts[" + i + "]: " + b.length + " options published, " + a.length + " expected";
    for (let j = 0; j < a.length; j++) if (BigInt(a[j]) !== BigInt(b[j])) return "counts[" + i + "][" + j + "]: the bundle says " + b[j] + ", the rules give " + a[j];
  }
  return null;
}

const show = (v) => (v instanceof F64 ? String(v.v) : v instanceof Map ? "{…}" : Array.isArray(v) ? "[…]" : typeof v === "string" ? JSON.stringify(v) : String(v));

/** bundle::value_difference between the rules' outcome (plain JS, rates are f64) and the
 *  published one (parsed strictly: integers and floats are different numbers, as in serde_json). */
export function valueDifference(want, got, path, key = "", parent = "") {
  if (want !== null && typeof want === "object" && !Array.isArray(want)) {
    if (!(got instanceof Map)) return path + ": the bundle says " + show(got) + ", the rules give an object";
    for (const k of Object.keys(want)) {
      if (!got.has(k)) return path + "." + k + ": missing";
      const d = valueDifference(want[k], got.get(k), path + "." + k, k, key);
      if (d) return d;
    }
    const extra = [...got.keys()].find((k) => !(k in want));
    return extra === undefined ? null : path + "." + extra + ": not produced by the rules";
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return path + ": the bundle says " + show(got) + ", the rules give an array";
    if (want.length !== got.length) return path + ": " + got.length + " entries published, the rules give " + want.length;
    for (let i = 0; i < want.length; i++) {
      const d = valueDifference(want[i], got[i], path + "[" + i + "]", key, parent);
      if (d) return d;
    }
    return null;
  }
  let same;
  if (typeof want === "number") {
    // Inside `rates` every number is an f64; everywhere else an unsigned integer.
    same = parent === "rates" && RATE_KEYS.has(key) ? got instanceof F64 && got.v === want : (typeof got === "number" || typeof got === "bigint") && BigInt(got) === BigInt(want);
  } else same = want === got;
  return same ? null : path + ": the bundle says " + show(got) + ", the rules give " + (typeof want === "string" ? JSON.stringify(want) : String(want));
}

/**
 * bundle::verify. `expect`: { key: hex string the observer pinned (or null), previous: the
 * previous bundle's bytes (or null), receipt: a receipt code (or null) }.
 * `expect.scrutineers`: the agenda's scrutineer keys (hex), as `--scrutineers FILE`.
 * Returns { verified, vote_id, title, bundle_sha256, announcement, body, checks }.
 */
export function verifyBundle(bytes, expect = {}) {
  const checks = [];
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  const check = (name, err, okDetail) => (err === null ? pass(name, okDetail) : fail(name, err));
  const report = { verified: false, vote_id: null, title: null, bundle_sha256: null, announcement: null, body: null, checks };
  let envelope, bodyBytes;
  try {
    ({ envelope, body: bodyBytes } = parseBundle(bytes));
  } catch (e) {
    fail("envelope", String(e));
    return report;
  }
  pass("envelope", ENVELOPE_FORMAT + ", " + envelope.signatures.length + " signatures");
  report.bundle_sha256 = sha256Hex(bodyBytes);
  let body;
  try {
    body = ResultBody(parseJson(decodeUtf8(bodyBytes)), "");
  } catch (e) {
    fail("body", "the signed body is not a result: " + (e.message || e));
    checkSignatures(checks, envelope, bodyBytes, null, expect);
    return report;
  }
  if (body.format === BODY_FORMAT) pass("body", BODY_FORMAT + ", vote " + body.vote_id);
  else fail("body", "format `" + body.format + "` is not `" + BODY_FORMAT + "`");
  report.vote_id = body.vote_id;
  report.title = body.title;
  report.announcement = body.announcement;
  report.body = body;
  checkSignatures(checks, envelope, bodyBytes, body, expect);
  checkContent(checks, body, check);
  if (expect.previous) {
    const got = bodySha256(expect.previous);
    const want = body.previous_bundle_sha256;
    if (got === null) fail("chain.previous", "the previous bundle cannot be read");
    else if (want !== null && got === want) pass("chain.previous", "follows " + got);
    else fail("chain.previous", "the previous bundle's body hashes to " + got + ", but this bundle names " + (want ?? "no previous bundle"));
  }
  if (expect.receipt) {
    const code = rustTrim(expect.receipt).replace(/[a-z]/g, (c) => c.toUpperCase());
    if (body.receipts.includes(code)) pass("receipt", code + " is listed");
    else fail("receipt", code + " is not among the " + body.receipts.length + " receipts");
  }
  report.verified = checks.every((c) => c.ok);
  return report;
}

function checkSignatures(checks, envelope, body, parsed, expect) {
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  const appliance = envelope.signatures.filter((s) => s.role === "appliance");
  const verifyOne = (s) => verifyDetailed(DOMAIN.result, body, s.signature, s.public_key);
  if (appliance.length === 1) {
    const one = appliance[0];
    const r = verifyOne(one);
    if (r.key) {
      pass("signature.appliance", "valid, key " + one.public_key);
      const pinned = expect.key ? publicKey(expect.key.trim()) : null;
      const fp = expect.fingerprint ? expect.fingerprint.replace(/\s+/g, "").toLowerCase() : null;
      if (fp && sha256Hex(r.key) === fp) pass("key.pinned", "the appliance key's fingerprint is the one pinned (" + fp.match(/.{4}/g).join(" ") + ")");
      else if (fp && !expect.key) fail("key.pinned", "signed by a key whose fingerprint is " + sha256Hex(r.key).match(/.{4}/g).join(" ") + ", not the pinned " + fp.match(/.{4}/g).join(" "));
      else if (!expect.key) fail("key.pinned", "no appliance key was pinned (--key or --fingerprint)");
      else if (pinned.error) fail("key.pinned", "the pinned key: " + pinned.error);
      else if (bytesToHex(pinned.key) === bytesToHex(r.key)) pass("key.pinned", "the appliance key is the one pinned");
      else fail("key.pinned", "signed by " + one.public_key + " but the pinned key is " + bytesToHex(pinned.key));
      checks[checks.length - 1].signer = one.public_key;
    } else fail("signature.appliance", r.error);
    if (parsed && parsed.appliance_key !== one.public_key) fail("signature.appliance", "the body names key " + parsed.appliance_key + " but the signature is by " + one.public_key);
  } else if (appliance.length === 0) fail("signature.appliance", "no appliance signature");
  else fail("signature.appliance", appliance.length + " appliance signatures; exactly one is allowed");
  // The keys the appliance signed into the vote; a co-signature by any other fails.
  const lower = (x) => x.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const pinned = parsed && parsed.scrutineers !== null ? parsed.scrutineers.map((x) => lower(x.public_key)) : null;
  const valid = [];
  envelope.signatures.forEach((s, i) => {
    const name = "signature.scrutineer[" + i + "]";
    if (s.role === "appliance") return;
    if (s.role !== "scrutineer") return fail("signature[" + i + "]", "unknown role `" + s.role + "`");
    const who = s.name ?? "unnamed";
    const inSet = pinned !== null && pinned.includes(lower(s.public_key));
    const r = verifyOne(s);
    if (r.error) return fail(name, who + ": " + r.error);
    if (parsed && !inSet) {
      return fail(name, pinned !== null ? who + ": key " + s.public_key + " is not one of the scrutineers the appliance signed into this vote"
        : who + ": the body names no scrutineers (a bundle from before keys were pinned), so this co-signature is bound to no key the appliance signed");
    }
    const hex = bytesToHex(r.key);
    if (valid.includes(hex)) return fail(name, who + ": the same key signed twice");
    valid.push(hex);
    pass(name, who + ": valid, key " + s.public_key);
  });
  if (parsed) {
    const have = valid.length, need = parsed.cosignatures_required;
    if (parsed.scrutineers === null && need > 0) fail("cosignatures.required", "the rules require " + need + " co-signatures, but this bundle names no scrutineers (it predates pinned scrutineer keys), so no co-signature can count");
    else if (have >= need) pass("cosignatures.required", have + " valid co-signatures by the scrutineers signed into the vote, " + need + " required");
    else fail("cosignatures.required", have + " valid co-signatures by the scrutineers signed into the vote, but the rules require " + need);
    checkScrutineers(checks, parsed, expect);
    checkInterventions(checks, parsed);
  }
}

/** bundle::intervention_message: the exact bytes a scrutineer co-signs (serde_json, keys in
 *  this order, no spaces). */
function interventionMessage(applianceKey, kind, deputy, reason, seq) {
  return JSON.stringify({ format: "piaojue-intervention/1", appliance_key: applianceKey, kind, deputy, reason, seq });
}

/** The interventions: each co-signature by one of the vote's scrutineers and valid; a demo
 *  session said plainly (check_interventions in bundle.rs). */
function checkInterventions(checks, body) {
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  if (body.demo === true) pass("session.demo", "演示会议：a demonstration session's bundle, not a real vote");
  const list = body.interventions;
  if (list === null || list === undefined) return;
  const pinned = (body.scrutineers || []).map((p) => p.public_key.toLowerCase());
  let cosigned = 0;
  for (let n = 0; n < list.length; n++) {
    const i = list[n];
    const cs = i.cosignature;
    if (!cs) continue;
    const kindZh = i.kind === "manual_checkin" ? "补签到" : "补发登记码";
    let error = null;
    if (!pinned.includes(cs.public_key.toLowerCase())) error = "not by one of the vote's scrutineers";
    else {
      const r = verifyDetailed(DOMAIN.intervention, utf8.encode(interventionMessage(body.appliance_key, i.kind, i.deputy, i.reason, i.seq)), cs.signature, cs.public_key);
      if (r.error) error = r.error === SIG_ERROR.badSignature ? "the co-signature does not verify" : r.error;
    }
    if (error) return fail("interventions", "interventions[" + n + "] (" + i.deputy + " " + kindZh + "): " + error);
    cosigned++;
  }
  const checkins = list.filter((i) => i.kind === "manual_checkin").length;
  pass("interventions", checkins + " manual check-ins and " + (list.length - checkins) + " reissues of deputies in this vote, " + cosigned + " co-signed by its scrutineers");
}

/** The agenda's scrutineer keys as the CLI's --scrutineers file reads them: one hex key per
 *  line, blank lines and `#` comments skipped, each a strict key. Returns { keys } or { error }. */
export function parseScrutineerKeys(text) {
  const keys = [];
  const lines = text.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  for (let n = 0; n < lines.length; n++) {
    const line = rustTrim(lines[n].replace(/\r$/, ""));
    if (line === "" || line.startsWith("#")) continue;
    const k = publicKey(line);
    if (k.error) return { error: "line " + (n + 1) + ": " + k.error };
    keys.push(bytesToHex(k.key));
  }
  return keys.length ? { keys } : { error: "no keys in it" };
}

const grouped = (text, size) => text.match(new RegExp(".{1," + size + "}", "g")).join(" ");

/** The scrutineers signed into the vote: strict, distinct keys; and, when the observer pinned
 *  the agenda's keys (`expect.scrutineers`: hex keys), exactly those. */
function checkScrutineers(checks, body, expect) {
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  const list = body.scrutineers;
  if (list === null) {
    if (expect.scrutineers) fail("scrutineers.pinned", "the body names no scrutineers to compare with the agenda's");
    return;
  }
  const keys = [];
  for (let i = 0; i < list.length; i++) {
    const k = publicKey(list[i].public_key);
    if (k.error) return fail("scrutineers", "scrutineers[" + i + "] (" + list[i].name + "): " + k.error);
    const hex = bytesToHex(k.key);
    if (keys.includes(hex)) return fail("scrutineers", "scrutineers[" + i + "]: the key appears twice");
    keys.push(hex);
  }
  pass("scrutineers", list.length === 0 ? "no scrutineers were enrolled when the vote opened"
    : list.length + " scrutineers signed into the vote: " + list.map((x, i) => x.name + " (指纹 " + grouped(sha256Hex(unhex(keys[i], 32)), 4) + ")").join("、"));
  if (expect.scrutineers) {
    const want = [...new Set(expect.scrutineers.map(lower))].sort();
    const got = keys.slice().sort();
    if (want.length === got.length && want.every((k, i) => k === got[i])) pass("scrutineers.pinned", "the " + want.length + " keys printed on the agenda");
    else fail("scrutineers.pinned", "the scrutineers differ from the agenda's: " + want.filter((k) => !got.includes(k)).length + " of its keys are missing, " + got.filter((k) => !want.includes(k)).length + " keys are not on it");
  }
}
const lower = (x) => x.replace(/[A-Z]/g, (c) => c.toLowerCase());

function checkContent(checks, body, check) {
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  const hash = sha256Hex(utf8.encode(body.rules_document));
  check("rules.hash", hash === body.rules_sha256 ? null : "the rules document hashes to " + hash + ", not the adopted " + body.rules_sha256, "the rules document hashes to " + hash);
  let document;
  try {
    document = parseRules(utf8.encode(body.rules_document));
    pass("rules.parse", document.title + " (" + KIND_ZH[document.kind] + ")");
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    fail("rules.parse", "rules_document: " + e.message);
    return;
  }
  // The procedure: its shape against the document, the vote's id and its items, then the rules
  // it is decided under (a run-off's seats), in one step as bundle.rs does; a failure stops
  // the content checks. A manual count takes the counters' counts and needs a co-signature.
  const procedure = body.procedure;
  let rules = document;
  if (procedure !== null) {
    const shape = procedureShape(procedure, document, body.vote_id, body.items.length);
    const effective = shape === null ? procedureRules(procedure, document) : { error: shape };
    if (effective.error) {
      fail("procedure", effective.error);
      return;
    }
    pass("procedure", describeProcedure(procedure));
    rules = effective.rules;
  }
  const manual = !!(procedure && procedure.manual);
  check("rules.kind", rules.kind === body.kind && rules.secret === body.secret && procedureCosignatures(procedure, rules) === body.cosignatures_required ? null
    : "the body's kind, secret or cosignatures_required differ from the rules", "kind, secrecy and co-signatures agree with the rules");
  const bad = [];
  body.ballots.forEach((b, i) => { const e = checkChoices(rules, body.items, b); if (e) bad.push("ballots[" + i + "]: " + e); });
  check("ballots.wellformed", bad.length ? bad.length + " bad ballots; first: " + bad[0] : null, body.ballots.length + " ballots, each valid under the rules");
  const unsortedBallot = body.ballots.findIndex((b, i) => i + 1 < body.ballots.length && cmpBytes(b, body.ballots[i + 1]) > 0);
  check("ballots.order", unsortedBallot < 0 ? null : "ballots[" + unsortedBallot + "] comes before a smaller ballot", "sorted: the order reveals nothing");
  const receipts = body.receipts;
  const malformed = receipts.findIndex((r) => utf8.encode(r).length !== 19 || (normalizeCode(r) ?? "").length !== 16);
  const unsorted = receipts.findIndex((r, i) => i + 1 < receipts.length && cmpStr(r, receipts[i + 1]) >= 0);
  check("receipts", malformed >= 0 ? "receipts[" + malformed + "] `" + receipts[malformed] + "` is not a receipt code"
    : unsorted >= 0 ? "receipts[" + unsorted + "] and receipts[" + (unsorted + 1) + "] are out of order or repeated" : null,
  receipts.length + " receipt codes, sorted and distinct");
  const roll = body.roll;
  const n = BigInt(body.ballots.length);
  const enabled = BigInt(roll.enabled ?? roll.present);
  const [present, seated] = [BigInt(roll.present), BigInt(roll.seated)];
  if (manual) {
    // A manual count has no ballots, and its counts are bounded by 实到.
    check("roll", n === 0n && receipts.length === 0 && roll.cast === null && enabled <= present && present <= seated ? null
      : "a manual count has no ballots, receipts or cast, and present ≤ seated",
    "manual count: no ballots or receipts; present " + present + " ≤ seated " + seated);
  } else {
    const cast = roll.cast === null ? (1n << 64n) - 1n : BigInt(roll.cast);
    check("roll", cast === n && n === BigInt(receipts.length) && cast <= enabled && enabled <= present && present <= seated ? null
      : "cast " + (roll.cast ?? "missing") + " / ballots " + n + " / receipts " + receipts.length + " / enabled " + enabled + " / present " + present + " / seated " + seated + " do not satisfy cast = ballots = receipts ≤ enabled ≤ present ≤ seated",
    "cast " + cast + " = ballots " + n + " = receipts " + receipts.length + " ≤ enabled " + enabled + " ≤ present " + present + " ≤ seated " + seated);
  }
  // Recount; a manual count's counts are the counters' (co-signed by the scrutineers).
  let recount;
  if (manual) {
    pass("counts.recount", "manual count: the counts as the counters reported them, co-signed by the scrutineers");
    recount = body.counts;
  } else {
    recount = count(rules.options.length, body.items.length, body.ballots);
    check("counts.recount", firstDifference(recount, body.counts), "the ballots give exactly the published counts");
  }
  let counts;
  try {
    counts = makeCounts(rules, body.items, roll, recount);
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    fail("outcome.rerun", "the rules refuse the recount: " + e.message);
  }
  if (counts) {
    let warnings;
    try { warnings = checkItems(rules, body.items.length); } catch { warnings = []; }
    const outcome = decide(rules, counts, warnings);
    check("outcome.rerun", valueDifference(outcome, body.outcome, "outcome"), "the rules give the published outcome");
    check("announcement", outcome.announcement === body.announcement ? null : "the announcement differs from the one the rules produce", "the announcement is the one the rules produce");
  }
  if ((body.by_delegation ?? null) !== null && (body.secret || body.named === null)) {
    fail("named.delegations", "counts per delegation belong to a named vote's named choices");
  }
  if (manual) {
    if (body.named !== null) fail("named", "a manual count publishes no named choices");
  } else if (body.secret) {
    if (body.named !== null) fail("named", "a secret vote must not publish named choices");
  } else if (body.named === null) fail("named", "a named vote must publish each deputy's choices");
  else {
    const fromNames = body.named.map((x) => x.choices).sort(cmpBytes);
    const ids = new Set(body.named.map((x) => x.deputy));
    const same = fromNames.length === body.ballots.length && fromNames.every((b, i) => cmpBytes(b, body.ballots[i]) === 0);
    if ((body.by_delegation ?? null) !== null) {
      const d = byDelegation(body.named, rules.options.length, body.items.length);
      check("named.delegations",
        d === null ? "a named choice has no delegation, but counts per delegation are published"
          : sameDelegations(d, body.by_delegation) ? null : "the counts per delegation are not the named choices' counts",
        (d ? d.length : 0) + " delegations, each counted from its deputies' named choices");
    }
    check("named", !same ? "the named choices are not the same ballots as the anonymous list" : ids.size !== body.named.length ? "a deputy is named twice" : null,
      body.named.length + " deputies named, matching the ballots");
  }
}

/** bundle::by_delegation: counts per 代表团 from the named choices, delegations in the byte
 *  order of their UTF-8 names (Rust's BTreeMap); null when a choice has no delegation. */
export function byDelegation(named, options, items) {
  const groups = new Map();
  for (const n of named) {
    if (n.delegation === null || n.delegation === undefined) return null;
    let g = groups.get(n.delegation);
    if (!g) {
      g = { delegation: n.delegation, deputies: 0, counts: Array.from({ length: items }, () => new Array(options).fill(0)) };
      groups.set(n.delegation, g);
    }
    g.deputies += 1;
    n.choices.forEach((c, i) => { if (i < items && c < options) g.counts[i][c] += 1; });
  }
  const bytes = (x) => utf8.encode(x);
  const cmp = (a, b) => {
    const x = bytes(a), y = bytes(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  return [...groups.values()].sort((a, b) => cmp(a.delegation, b.delegation));
}

function sameDelegations(a, b) {
  return a.length === b.length && a.every((g, i) => g.delegation === b[i].delegation && Number(g.deputies) === Number(b[i].deputies)
    && g.counts.length === b[i].counts.length && g.counts.every((row, j) => row.length === b[i].counts[j].length && row.every((n, k) => n === Number(b[i].counts[j][k]))));
}

export { unhex };
