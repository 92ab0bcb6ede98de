// The verifier of encrypted (v2, `piaojue-e2e-v2`) result bundles in the browser: a port of
// crates/core/src/e2e/bundle.rs (`verify_document`, checks V1–V16 of SPEC-E2E §10.2, the
// `parse` failure) and of the appliance's result keys (`rules`, `chain.previous`;
// crates/core/src/rules/encrypted.rs), with the same names and the same verdicts as
// `piaojue verify`, so the verify page and the CLI cannot disagree about a bundle.
//
// Two modes. FULL (`full: true`, the CLI's) runs everything, every ballot's proofs included.
// FAST (`full: false`, a deputy's phone) runs everything except the per-ballot proofs (V5) and
// the re-verification of refused ballots (V16), which it reports as not checked yet (ok: null):
// the manifests and the ceremony, the roll call, the list hash, the totals recomputed from every
// ballot's ciphertexts, every partial decryption's proof and signature, the combination, the
// decoding and the counts. A report is `verified` only when every check ran and held.
//
// A vote the secretariat declared failed (its decryption could not complete) is published with
// `result: null` and a top-level `failed` {reason, declared_at}: V8 then only aggregates, V9–V11
// and V12's counts do not apply, V15 does not require n_cast = cast_count, and `rules` checks the
// declaration (no counts, no outcome, the announcement failedAnnouncement makes) instead of
// re-deciding counts. A result without the declaration, or the declaration with a result, fails
// V9. The report's `declared_failed` says which kind of bundle it is.
//
// Pure ES module (no DOM): runs in a page, in a Worker (verify-worker.js) and in Node
// (tests/js/bundle-verify.test.mjs). Heavy per-ballot work goes through `opts.pool` when given
// (the worker's helpers), else runs inline.
import {
  G, O, ELL, Point, bytesToHex, concatBytes, equalBytes, hexToBytes, u64 as u64be, modL, decodeScalar, decodePoint,
  decodePointNotO, mulPublic, transcriptRaw, parseSessionManifest, parseVoteManifest, verifyEd25519Strict, verifySchnorr,
  verifyDleq, verifyBallot, checkSpoiled, shortCode, prepareJointKey,
} from "./e2e.js";
import { sha256, sha512 } from "../vendor/noble-hashes/sha2.js";
import { hkdf } from "../vendor/noble-hashes/hkdf.js";
import { chacha20poly1305 } from "../vendor/noble-ciphers/chacha.js";
import { F64, T, RulesError, parseRules, makeCounts, checkItems, decide, rustTrim, charCount } from "../rules.js";
import { valueDifference, b64decode, normalizeCode, Procedure, procedureShape, procedureRules } from "../checks.js";

export const ENVELOPE_FORMAT = "piaojue-bundle/2";
export const ENVELOPE_FORMAT_V1 = "piaojue-bundle/1";
export const RESULT_FORMAT = "piaojue-result/2";
/** crate::bundle::MAX_BUNDLE_BYTES. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
export const CHECK_NAMES = ["V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12", "V13", "V14", "V15", "V16"];
/** What a check not run in FAST mode says. */
export const NOT_YET = "not checked yet (on request)";

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const MAX_ATTEMPTS = 16n;
const BLOB_LEN = 80;
const hex = bytesToHex;
const sha256Hex = (b) => hex(sha256(b));
const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

// ------------------------------------------------------------------------------------------------
// Strict JSON, fast: the semantics of rules.js `parseJson` (serde_json's: integers exact, BigInt
// above 2^53, fractions and exponents are F64, control characters, lone surrogates and trailing
// data refused, at most 127 nested arrays and objects, as serde_json's limit of 128; objects are Maps keeping the last of duplicate keys, which are listed
// in `dups` for the struct readers to refuse), with a fast path for strings without escapes:
// a 50 MB bundle of hex strings parses in about the time of JSON.parse.

export class JsonError extends Error {}

export function parseJsonFast(text, maxDepth = 128) {
  let i = 0;
  const n = text.length;
  const NUM = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const SPECIAL = /[\\\u0000-\u001f]/;
  const failAt = (msg) => { throw new JsonError(msg + " at offset " + i); };
  const ws = () => { while (i < n) { const c = text.charCodeAt(i); if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++; else break; } };
  function value(depth) {
    ws();
    if (i >= n) failAt("EOF while parsing a value");
    const c = text.charCodeAt(i);
    if (c === 0x7b) {
      if (depth + 1 >= maxDepth) failAt("recursion limit exceeded");
      i++;
      const m = new Map();
      ws();
      if (text.charCodeAt(i) === 0x7d) { i++; return m; }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 0x22) failAt("key must be a string");
        const k = string();
        ws();
        if (text.charCodeAt(i) !== 0x3a) failAt("expected `:`");
        i++;
        const v = value(depth + 1);
        if (m.has(k)) (m.dups || (m.dups = [])).push(k);
        m.set(k, v);
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) { i++; continue; }
        if (d === 0x7d) { i++; return m; }
        failAt("expected `,` or `}`");
      }
    }
    if (c === 0x5b) {
      if (depth + 1 >= maxDepth) failAt("recursion limit exceeded");
      i++;
      const a = [];
      ws();
      if (text.charCodeAt(i) === 0x5d) { i++; return a; }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        const d = text.charCodeAt(i);
        if (d === 0x2c) { i++; continue; }
        if (d === 0x5d) { i++; return a; }
        failAt("expected `,` or `]`");
      }
    }
    if (c === 0x22) return string();
    if (text.startsWith("true", i)) { i += 4; return true; }
    if (text.startsWith("false", i)) { i += 5; return false; }
    if (text.startsWith("null", i)) { i += 4; return null; }
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (!m) failAt("expected value");
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const b = BigInt(m[0]);
      if (b >= I64_MIN && b <= U64_MAX) return Number.isSafeInteger(Number(b)) ? Number(b) : b;
    }
    const f = Number(m[0]);
    if (!Number.isFinite(f)) failAt("number out of range");
    return new F64(f);
  }
  function string() {
    i++;
    const j = text.indexOf('"', i);
    if (j < 0) { i = n; failAt("EOF while parsing a string"); }
    const seg = text.slice(i, j);
    if (!SPECIAL.test(seg)) { i = j + 1; return seg; }
    let out = "";
    for (;;) {
      if (i >= n) failAt("EOF while parsing a string");
      const ch = text.charCodeAt(i);
      if (ch === 0x22) { i++; return out; }
      if (ch < 0x20) failAt("control character in a string");
      if (ch === 0x5c) {
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
      const k = text.indexOf('"', i);
      const stop = k < 0 ? n : k;
      let s = i;
      while (s < stop) { const x = text.charCodeAt(s); if (x === 0x5c || x < 0x20) break; s++; }
      out += text.slice(i, s);
      i = s;
    }
  }
  const v = value(0);
  ws();
  if (i < n) failAt("trailing characters");
  return v;
}

// ------------------------------------------------------------------------------------------------
// Typed readers over the parsed tree, in serde's terms (what `#[derive(Deserialize)]` accepts):
// a struct from a map (unknown fields refused when strict, duplicates of its fields refused) or
// from a sequence (its fields in order); [String; 2] from a sequence of exactly two; u64 from an
// integer. `lenient` reads a serde_json::Value (duplicates already merged, last wins).

class ParseError extends Error {}
const perr = (path, msg) => new ParseError((path || "input") + ": " + msg);
const join = (path, key) => (path ? path + "." + key : key);
const describe = (v) => v === null ? "null" : v instanceof F64 ? "floating point `" + v.v + "`" : Array.isArray(v) ? "a sequence"
  : v instanceof Map ? "a map" : typeof v === "bigint" || typeof v === "number" ? "integer `" + v + "`" : typeof v === "boolean" ? "boolean `" + v + "`" : "a string";
let lenient = false;

const R = {
  str: (v, p) => { if (typeof v !== "string") throw perr(p, "invalid type: " + describe(v) + ", expected a string"); return v; },
  bool: (v, p) => { if (typeof v !== "boolean") throw perr(p, "invalid type: " + describe(v) + ", expected a boolean"); return v; },
  u64: (v, p) => {
    if (typeof v !== "number" && typeof v !== "bigint") throw perr(p, "invalid type: " + describe(v) + ", expected u64");
    const b = BigInt(v);
    if (b < 0n || b > U64_MAX) throw perr(p, "invalid value: integer `" + v + "`, expected u64");
    return b;
  },
  vec: (inner) => (v, p) => {
    if (!Array.isArray(v)) throw perr(p, "invalid type: " + describe(v) + ", expected a sequence");
    return v.map((x, k) => inner(x, (p || "") + "[" + k + "]"));
  },
  opt: (inner) => (v, p) => (v === null || v === undefined ? null : inner(v, p)),
  pair: (v, p) => {
    if (!Array.isArray(v)) throw perr(p, "invalid type: " + describe(v) + ", expected an array of length 2");
    if (v.length !== 2) throw perr(p, "invalid length " + v.length + ", expected an array of length 2");
    return [R.str(v[0], p + "[0]"), R.str(v[1], p + "[1]")];
  },
  /** BTreeMap<String, V>: [[key, value]] in document order (the last of duplicates). */
  map: (inner) => (v, p) => {
    if (!(v instanceof Map)) throw perr(p, "invalid type: " + describe(v) + ", expected a map");
    return [...v].map(([k, x]) => [k, inner(x, join(p, k))]);
  },
  any: (v) => v,
  /** fields: name → [reader, required, hasDefault], in declaration order. */
  struct: (fields, strict = true) => (v, p) => {
    const names = Object.keys(fields);
    const out = {};
    if (Array.isArray(v)) {
      const expect = "struct with " + names.length + " elements";
      if (v.length > names.length) throw perr(p, "invalid length " + v.length + ", expected " + expect);
      names.forEach((k, i) => {
        const [reader, , hasDefault] = fields[k];
        if (i < v.length) out[k] = reader(v[i], (p || "") + "[" + i + "]");
        else if (hasDefault) out[k] = null;
        else throw perr(p, "invalid length " + v.length + ", expected " + expect);
      });
      return out;
    }
    if (!(v instanceof Map)) throw perr(p, "invalid type: " + describe(v) + ", expected a map");
    if (!lenient && v.dups) for (const k of v.dups) if (k in fields) throw perr(p, "duplicate field `" + k + "`");
    for (const [k, x] of v) {
      if (!(k in fields)) {
        if (strict) throw perr(join(p, k), "unknown field `" + k + "`");
        continue;
      }
      out[k] = fields[k][0](x, join(p, k));
    }
    for (const [k, [, required]] of Object.entries(fields)) {
      if (!v.has(k)) {
        if (required) throw perr(p, "missing field `" + k + "`");
        out[k] = null;
      }
    }
    return out;
  },
};
const req = (r) => [r, true];
const S = R.struct;

const ItemJ = S({ A: req(R.str), B: req(R.str), proof: req(R.vec(R.pair)) });
const RangeJ = S({ bits: req(R.vec(ItemJ)), link: req(R.pair) });
const BallotJ = S({ vote_id: req(R.str), type: req(R.str), cred_pk: req(R.str), items: req(R.vec(ItemJ)), range: [R.opt(RangeJ), false], sig: req(R.str) });
const SpoiledJ = S({ tracker: req(R.str), items: req(R.vec(R.pair)), bits: req(R.vec(R.pair)), choices: req(R.vec(R.u64)), r: req(R.vec(R.str)), s: req(R.vec(R.str)) });
const RejectedJ = S({ reason: req(R.str), ballot: req(R.any) });
const TotalJ = S({ A: req(R.str), B: req(R.str) });
const ShareJ = S({ M: req(R.str), proof: req(R.pair) });
const PartialJ = S({ guardian: req(R.u64), shares: req(R.vec(ShareJ)), sig: req(R.str) });
const ResultJ = S({ totals: req(R.vec(TotalJ)), partials: req(R.vec(PartialJ)), quorum: req(R.vec(R.u64)), plaintext_totals: req(R.vec(R.u64)), counts: req(R.vec(R.vec(R.u64))) });
const RollCallJ = S({ credentials: req(R.vec(R.str)), cast_count: req(R.u64), sig: req(R.str) });
const VoteJ = S({ vote_id: req(R.str), vote_manifest_hex: req(R.str), roll_call: req(RollCallJ), ballots: req(R.vec(BallotJ)), list_hash: req(R.str),
  close_sig: req(R.str), spoiled: req(R.vec(SpoiledJ)), rejected: req(R.vec(RejectedJ)),
  // Present; `null` only for a vote the secretariat declared failed (bundle.rs `nullable`).
  result: req(R.opt(ResultJ)) });
const Round1J = S({ index: req(R.u64), transport_key: req(R.str), transport_pok: req(R.pair), commitments: req(R.vec(R.str)), coeff_poks: req(R.vec(R.pair)), sig: req(R.str) });
const CeremonyJ = S({ round1: req(R.vec(Round1J)), round2: req(R.map(R.map(R.str))), round2_sigs: req(R.map(R.map(R.str))), complaints: req(R.vec(R.any)),
  key_sigs: req(R.map(R.str)), attempt: req(R.u64), participants: req(R.vec(R.u64)), aborted: req(R.vec(R.any)) });
// `failed`: the appliance's declaration that the vote failed (a result key; any non-null value
// declares it here, its form is the `rules` check's).
const BundleJ = S({ manifest_hex: req(R.str), manifest_hash: req(R.str), ceremony: req(CeremonyJ), joint_key: req(R.str), votes: req(R.vec(VoteJ)),
  failed: [R.opt(R.any), false, true] }, false);
const SignatureEntry = S({ role: req(R.str), name: [R.opt(R.str), false, true], public_key: req(R.str), signature: req(R.str) });
const Envelope = S({ format: req(R.str), body: req(R.str), signatures: req(R.vec(SignatureEntry)) });

// The appliance's result keys (rules/encrypted.rs `ResultKeys`), read from the body as a Value.
const Kind = T.oneOf({ motion: "motion", project_selection: "project_selection", satisfaction: "satisfaction" }, "a vote kind");
const RollJ = S({ seated: req(R.u64), present: req(R.u64), enabled: [R.opt(R.u64), false, true], cast: [R.opt(R.u64), false, true] });
const VoteRecordJ = S({ vote_id: req(R.str), title: req(R.str), kind: req((v, p) => Kind(v, p)), mode: req(R.str), items: req(R.vec(R.str)),
  opened_at: req(R.str), closed_at: req(R.str), roll: req(RollJ) });
const AuditHeadJ = S({ seq: req(R.u64), hash: req(R.str) });
const ChainJ = S({ previous_bundle_sha256: [R.opt(R.str), false], audit_head: req(AuditHeadJ) });
/** encrypted.rs `Failed` (deny_unknown_fields): why and when the vote was declared failed. */
const FailedJ = S({ reason: req(R.str), declared_at: req(R.str) });
const ResultKeysJ = S({ result_format: req(R.str), session: req(R.str), appliance_key: req(R.str), vote_record: req(VoteRecordJ), rules_sha256: req(R.str),
  rules_document: req(R.str), counts: req(R.vec(R.vec(R.u64))), outcome: req(R.any), announcement: req(R.str), chain: req(ChainJ),
  demo: [R.bool, false, true], failed: [R.opt(FailedJ), false, true],
  // Re-vote, run-off or 测评 source (procedure.rs, deny_unknown_fields; checks.js reads it).
  procedure: [R.opt((v, p) => Procedure(v, p)), false, true] }, false);

/** encrypted.rs MAX_FAILED_REASON_CHARS: the most characters (Unicode scalar values) of a reason. */
export const MAX_FAILED_REASON_CHARS = 500;
/** encrypted.rs failed_announcement: the announcement of a vote declared failed. */
export function failedAnnouncement(title, reason) {
  return title + "：因技术原因未能完成解密计票，秘书处宣告本次表决失败（原因：" + reason + "）。本次表决不产生结果，所投选票不予计数。";
}

function readLenient(reader, v, p) {
  lenient = true;
  try { return reader(v, p); } finally { lenient = false; }
}

// Strict hex of the exact length (e2e/hex.rs), as parse errors.
const hx = (s, n, f) => hexToBytes(s, n, f);
const cz64 = ([c, z], f) => concatBytes(hx(c, 32, f + ".c"), hx(z, 32, f + ".z"));
const ct64 = (a, b, f) => concatBytes(hx(a, 32, f + ".A"), hx(b, 32, f + ".B"));
/** index_key: a guardian index written as an object key, canonical decimal. */
function indexKey(s, f) {
  if (/^(0|[1-9][0-9]*)$/.test(s) && BigInt(s) <= U64_MAX) return BigInt(s);
  throw perr(f, "key `" + s + "` is not a canonical index");
}

function rawItem(it, f) {
  return { ct: ct64(it.A, it.B, f), proof: it.proof.map((pr, k) => cz64(pr, f + ".proof[" + k + "]")) };
}
/** RawBallot: strict hex decoded, no point or scalar decoded yet. */
function rawBallot(b, f) {
  return {
    vote_id: b.vote_id, type: b.type, cred_pk: hx(b.cred_pk, 32, f + ".cred_pk"),
    items: b.items.map((it, i) => rawItem(it, f + ".items[" + i + "]")),
    range: b.range === null ? null : { bits: b.range.bits.map((it, k) => rawItem(it, f + ".range.bits[" + k + "]")), link: cz64(b.range.link, f + ".range.link") },
    sig: hx(b.sig, 64, f + ".sig"),
  };
}

/** Bundle::parse on a parsed tree: the layout of the vectors' tiny_election.bundle. */
function toBundle(tree) {
  const j = BundleJ(tree, "");
  const c = j.ceremony;
  const nested = (m, f, leaf) => {
    const out = new Map();
    for (const [from, inner] of m) {
      const i = indexKey(from, f);
      const row = new Map();
      for (const [to, x] of inner) row.set(indexKey(to, f + "." + from), leaf(x, f + "." + from + "." + to));
      out.set(i, row);
    }
    return out;
  };
  const round2 = nested(c.round2, "ceremony.round2", (x, f) => hx(x, undefined, f));
  const round2Sigs = nested(c.round2_sigs, "ceremony.round2_sigs", (x, f) => hx(x, 64, f));
  const keySigs = new Map(c.key_sigs.map(([i, s]) => [indexKey(i, "ceremony.key_sigs." + i), hx(s, 64, "ceremony.key_sigs." + i)]));
  const round1 = c.round1.map((r, n) => {
    const f = "ceremony.round1[" + n + "]";
    return { index: r.index, transport_key: hx(r.transport_key, 32, f + ".transport_key"), transport_pok: cz64(r.transport_pok, f + ".transport_pok"),
      commitments: r.commitments.map((k, x) => hx(k, 32, f + ".commitments[" + x + "]")),
      coeff_poks: r.coeff_poks.map((p, x) => cz64(p, f + ".coeff_poks[" + x + "]")), sig: hx(r.sig, 64, f + ".sig") };
  });
  const votes = j.votes.map((v, vi) => {
    const f = "votes[" + vi + "]";
    const res = v.result;
    return {
      vote_id: v.vote_id,
      vote_manifest: hx(v.vote_manifest_hex, undefined, f + ".vote_manifest_hex"),
      credentials: v.roll_call.credentials.map((x, i) => hx(x, 32, f + ".roll_call.credentials[" + i + "]")),
      cast_count: v.roll_call.cast_count,
      roll_call_sig: hx(v.roll_call.sig, 64, f + ".roll_call.sig"),
      ballots: v.ballots.map((b, i) => rawBallot(b, f + ".ballots[" + i + "]")),
      list_hash: hx(v.list_hash, 32, f + ".list_hash"),
      close_sig: hx(v.close_sig, 64, f + ".close_sig"),
      spoiled: v.spoiled.map((s, i) => {
        const g = f + ".spoiled[" + i + "]";
        return { tracker: hx(s.tracker, 32, g + ".tracker"), items: s.items.map(([a, b], k) => ct64(a, b, g + ".items[" + k + "]")),
          bits: s.bits.map(([a, b], k) => ct64(a, b, g + ".bits[" + k + "]")), choices: s.choices,
          r: s.r.map((x, k) => hx(x, 32, g + ".r[" + k + "]")), s: s.s.map((x, k) => hx(x, 32, g + ".s[" + k + "]")) };
      }),
      rejected: v.rejected,
      result: res === null ? null : {
        totals: res.totals.map((t, i) => ct64(t.A, t.B, f + ".result.totals[" + i + "]")),
        partials: res.partials.map((p, i) => {
          const g = f + ".result.partials[" + i + "]";
          return { guardian: p.guardian, shares: p.shares.map((s, k) => [hx(s.M, 32, g + ".shares[" + k + "].M"), cz64(s.proof, g + ".shares[" + k + "].proof")]),
            sig: hx(p.sig, 64, g + ".sig") };
        }),
        quorum: res.quorum, plaintext_totals: res.plaintext_totals, counts: res.counts,
      },
    };
  });
  return {
    manifest: hx(j.manifest_hex, undefined, "manifest_hex"), manifest_hash: hx(j.manifest_hash, 32, "manifest_hash"),
    ceremony: { round1, round2, round2_sigs: round2Sigs, complaints: c.complaints.length, key_sigs: keySigs, attempt: c.attempt,
      participants: c.participants, aborted: c.aborted },
    joint_key: hx(j.joint_key, 32, "joint_key"), votes,
    // Whether the body declares the vote failed (a non-null top-level `failed`).
    declared_failed: j.failed !== null,
  };
}

const decodeText = (bytes) => utf8Strict.decode(bytes);
const message = (e) => (e && e.message) || String(e);

/** is_v2: a JSON object with `manifest_hex`, or an envelope whose format is piaojue-bundle/2. */
export function isV2(bytes) {
  try {
    const v = parseJsonFast(typeof bytes === "string" ? bytes : decodeText(bytes));
    return v instanceof Map && (v.has("manifest_hex") || v.get("format") === ENVELOPE_FORMAT);
  } catch {
    return false;
  }
}

/** The body's SHA-256 (hex) of a v1 or v2 envelope, or null: crate::bundle::body_sha256. */
export function bodySha256Any(bytes) {
  try {
    const b = typeof bytes === "string" ? utf8.encode(bytes) : bytes;
    if (b.length > MAX_BUNDLE_BYTES) return null;
    const env = Envelope(parseJsonFast(decodeText(b)), "");
    if (env.format !== ENVELOPE_FORMAT && env.format !== ENVELOPE_FORMAT_V1) return null;
    return sha256Hex(b64decode(env.body));
  } catch {
    return null;
  }
}

/** Envelope, body and the parsed bundle, or { error } (verify_document's early failures).
 *  `parsed`: the bytes' JSON tree when the caller already has it (parseJsonFast). */
export function parseDocument(input, parsed) {
  const bytes = typeof input === "string" ? utf8.encode(input) : input;
  if (bytes.length > MAX_BUNDLE_BYTES) return { error: "the bundle is " + bytes.length + " bytes; at most " + (MAX_BUNDLE_BYTES >> 20) + " MiB is read" };
  let tree = parsed, treeError;
  if (tree === undefined) {
    try { tree = parseJsonFast(decodeText(bytes)); } catch (e) { treeError = e instanceof JsonError ? "bundle: " + e.message : "bundle: not UTF-8"; }
  }
  let body = bytes, env = null;
  if (tree instanceof Map && tree.has("format")) {
    let e;
    try { e = Envelope(tree, ""); } catch (x) { return { error: "not a bundle envelope: " + message(x) }; }
    if (e.format !== ENVELOPE_FORMAT) return { error: "format `" + e.format + "` is not `" + ENVELOPE_FORMAT + "`" };
    try { body = b64decode(e.body); } catch (x) { return { error: "body is not standard padded base64: " + message(x) }; }
    env = { body, sigs: e.signatures };
    tree = undefined;
    try { tree = parseJsonFast(decodeText(body)); } catch (x) { treeError = x instanceof JsonError ? "bundle: " + x.message : "bundle: not UTF-8"; }
  }
  if (tree === undefined) return { error: treeError };
  let bundle;
  try { bundle = toBundle(tree); } catch (x) { return { error: message(x) }; }
  return { body, env, tree, bundle };
}

// ------------------------------------------------------------------------------------------------
// Transcript messages (e2e/transcript.rs), built without the registry's length checks so that a
// malformed input makes a check fail rather than throw.

const Tm = (domain, fields) => transcriptRaw(domain, fields);
const Hb = (domain, fields) => sha512(transcriptRaw(domain, fields));
const catBytes = (list) => concatBytes(...list);
const ceremonyCtx = (mh, attempt, k, ids, parts) => Hb("ceremony", [["manifest", mh], ["attempt", u64be(attempt)], ["n", u64be(ids.length)],
  ["k", u64be(k)], ["guardians", catBytes(ids)], ["participants", catBytes(parts.map((p) => u64be(p)))]]);
const round1Msg = (cc, r) => Tm("dkg-round1", [["ceremony", cc], ["index", u64be(r.index)], ["transport_key", r.transport_key],
  ["transport_pok", r.transport_pok], ["commitments", catBytes(r.commitments)], ["coeff_poks", catBytes(r.coeff_poks)]]);
const round2Msg = (cc, from, to, blob) => Tm("dkg-round2", [["ceremony", cc], ["from", u64be(from)], ["to", u64be(to)], ["blob", blob]]);
const complaintMsg = (cc, from, to, S, proof) => Tm("dkg-complaint", [["ceremony", cc], ["from", u64be(from)], ["to", u64be(to)], ["S", S], ["proof", proof]]);
const complaintCtx = (cc, from, to) => Hb("complaint-ctx", [["ceremony", cc], ["from", u64be(from)], ["to", u64be(to)]]);
const keyAnnounceMsg = (cc, pk, round1) => Tm("key-announce", [["ceremony", cc], ["pk", pk], ["round1", round1]]);
const listHashOf = (mh, vote, trackers) => sha256(Tm("ballot-list", [["manifest", mh], ["vote", vote], ["n", u64be(trackers.length)], ["trackers", catBytes(trackers)]]));
const closeMsg = (mh, vote, lh, n) => Tm("close", [["manifest", mh], ["vote", vote], ["list", lh], ["n", u64be(n)]]);
const rollCallMsg = (mh, vote, vmh, creds, cast) => Tm("roll-call", [["manifest", mh], ["vote", vote], ["vote_manifest", vmh], ["credentials", catBytes(creds)], ["cast", u64be(cast)]]);
const decryptCtx = (f) => Hb("decrypt-ctx", [["manifest", f.mh], ["vote", f.vote], ["vote_manifest", f.vmh], ["pk", f.pk], ["ceremony", f.cc], ["list", f.lh],
  ["n", u64be(f.n)], ["guardian", u64be(f.guardian)], ["Z", f.z]]);
const decryptionMsg = (cc, vote, lh, n, totals, shares) => Tm("decryption", [["ceremony", cc], ["vote", vote], ["list", lh], ["n", u64be(n)], ["totals", totals], ["shares", shares]]);
/** `piaojue/v1/result` ‖ 0 ‖ body (crypto::Domain::Result). */
const resultMsg = (body) => concatBytes(utf8.encode("piaojue/v1/result"), new Uint8Array(1), body);

const rawCiphertexts = (b) => catBytes([...b.items, ...(b.range ? b.range.bits : [])].map((it) => it.ct));
const rawProofs = (b) => catBytes([...[...b.items, ...(b.range ? b.range.bits : [])].flatMap((it) => it.proof), ...(b.range ? [b.range.link] : [])]);
/** RawBallot::tracker: from the received bytes, under the vote's id. */
export function rawTracker(mh, voteId, b) {
  const ballot = Tm("ballot", [["vote", voteId], ["cred", b.cred_pk], ["ciphertexts", rawCiphertexts(b)], ["proofs", rawProofs(b)]]);
  return sha256(Tm("tracker", [["manifest", mh], ["ballot", ballot]]));
}

const sigErr = (pk, msg, sig) => (verifyEd25519Strict(pk, msg, sig) ? null : "signature rejected (strict Ed25519)");
const lessBytes = (a, b) => { for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i]; return a.length < b.length; };
const strictlyIncreasing = (list, cmp) => list.every((x, i) => i === 0 || cmp(list[i - 1], x));
const bigLess = (a, b) => a < b;
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const showList = (a) => "[" + a.join(", ") + "]";
const guardianId = (sm, i) => (i >= 1n && i <= BigInt(sm.guardianIds.length) ? sm.guardianIds[Number(i) - 1] : null);

/** Cz::decode: c and z canonical (< ℓ). */
function cz(bytes, f) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 64) throw perr(f, "expected 64 bytes");
  return [decodeScalar(bytes.subarray(0, 32), f + ".c"), decodeScalar(bytes.subarray(32), f + ".z")];
}
const mulG = (s) => (modL(s) === 0n ? O : G.multiplyUnsafe(modL(s)));
const mulP = (P, s) => (modL(s) === 0n || P.is0() ? O : mulPublic(P, s));

/** tally::verification_key: Z_ℓ = Σ_i Σ_j ℓ^j·K_{i,j}. */
function verificationKey(l, commitments) {
  let Z = O;
  for (const ks of commitments) {
    let pow = 1n;
    for (const K of ks) { Z = Z.add(mulP(K, pow)); pow = modL(pow * l); }
  }
  return Z;
}

function invL(a) {
  let [r0, r1, s0, s1] = [ELL, modL(a), 0n, 1n];
  while (r1 !== 0n) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [s0, s1] = [s1, s0 - q * s1]; }
  return modL(s0);
}
/** tally::lagrange_weights at 0; null when the quorum is not strictly increasing from 1. */
function lagrange(q) {
  if (q.length === 0 || q[0] === 0n || !strictlyIncreasing(q, bigLess)) return null;
  return q.map((l) => {
    let w = 1n;
    for (const m of q) if (m !== l) w = modL(w * m * invL(modL(m - l)));
    return w;
  });
}

// ------------------------------------------------------------------------------------------------
// The ceremony's aborted attempts (ceremony.rs `check_aborted`): replayed on a board that judges
// complaints the way a verifier's does (Board::replaying), verdicts recomputed, restarts checked.

const boardErr = (check, reason, sender = null) => ({ check, reason: (sender !== null ? "guardian " + sender + ": " : "") + reason });

class Board {
  constructor(sm) {
    this.sm = sm;
    this.attempts = [this.attempt(1n, sm.guardianIds.map((_, i) => BigInt(i + 1)), "")];
  }
  attempt(n, participants, reason) {
    return { attempt: n, participants, reason, cc: ceremonyCtx(this.sm.hash, n, this.sm.k, this.sm.guardianIds, participants),
      round1: new Map(), round2: new Map(), complaints: [], announced: new Map() };
  }
  current() { return this.attempts[this.attempts.length - 1]; }
  static missingRound1(a) { return a.participants.filter((p) => !a.round1.has(p)); }
  static commitments(a) {
    const out = [];
    for (const p of a.participants) { const r = a.round1.get(p); if (!r) return null; out.push(r.ks); }
    return out;
  }
  static jointKey(a) {
    const cs = Board.commitments(a);
    if (!cs) return null;
    let K = O;
    for (const ks of cs) { if (!ks.length) return null; K = K.add(ks[0]); }
    return K.is0() ? null : K;
  }
  static announcement(a) {
    const K = Board.jointKey(a);
    if (!K) return null;
    const msgs = [];
    for (const p of a.participants) { const r = a.round1.get(p); if (!r) return null; msgs.push(round1Msg(a.cc, r.msg)); }
    return keyAnnounceMsg(a.cc, K.toBytes(), sha256(catBytes(msgs)));
  }
  static faulty(a) { return new Set(a.complaints.map((c) => c.verdict.faulty)); }
  static complete(a) { return a.complaints.length === 0 && a.participants.every((p) => a.announced.has(p)); }
  holds(attempt, m) {
    const a = this.attempts.find((x) => x.attempt === attempt);
    if (!a) return false;
    const eqR1 = (x, y) => x.index === y.index && equalBytes(x.transport_key, y.transport_key) && equalBytes(x.transport_pok, y.transport_pok)
      && x.commitments.length === y.commitments.length && x.commitments.every((k, i) => equalBytes(k, y.commitments[i]))
      && x.coeff_poks.length === y.coeff_poks.length && x.coeff_poks.every((k, i) => equalBytes(k, y.coeff_poks[i])) && equalBytes(x.sig, y.sig);
    const eqC = (x, y) => x.from === y.from && x.to === y.to && equalBytes(x.S, y.S) && equalBytes(x.proof, y.proof) && equalBytes(x.sig, y.sig);
    switch (m.kind) {
      case "round1": { const o = a.round1.get(m.r.index); return !!o && eqR1(o.msg, m.r); }
      case "round2": { const o = a.round2.get(m.r.from + "," + m.r.to); return !!o && equalBytes(o.blob, m.r.blob) && equalBytes(o.sig, m.r.sig); }
      case "complaint": return a.complaints.some((c) => eqC(c.c, m.c));
      case "announce": { const o = a.announced.get(m.guardian); return !!o && equalBytes(o, m.sig); }
      case "restart": return a.attempt > 1n && sameList(a.participants, m.participants) && a.reason === m.reason;
    }
    return false;
  }
  /** Board::accept: null (stored, or a harmless retry) or { check, reason }. */
  accept(attempt, m) {
    if (this.holds(attempt, m)) return null;
    if (m.kind === "restart") return this.acceptRestart(attempt, m);
    const sender = m.kind === "round1" ? m.r.index : m.kind === "round2" ? m.r.from : m.kind === "complaint" ? m.c.to : m.guardian;
    const a = this.current();
    if (attempt !== a.attempt) return boardErr(2, "attempt " + attempt + ": the ceremony is at attempt " + a.attempt, sender);
    const id = guardianId(this.sm, sender);
    if (!id) return boardErr(2, "no guardian " + sender + " in the session manifest", sender);
    if (!a.participants.includes(sender)) return boardErr(2, "guardian " + sender + " is not a participant of attempt " + a.attempt, sender);
    if (a.complaints.length) return boardErr(2, "attempt " + a.attempt + " has a complaint; it is over, a restart follows", sender);
    if (Board.complete(a)) return boardErr(2, "attempt " + a.attempt + " is complete", sender);
    switch (m.kind) {
      case "round1": return this.acceptRound1(a, id, m.r);
      case "round2": return this.acceptRound2(a, id, m.r);
      case "complaint": return this.acceptComplaint(a, id, m.c);
      default: return this.acceptAnnounce(a, id, m.guardian, m.sig);
    }
  }
  acceptRound1(a, id, r) {
    const s = r.index;
    if (a.round1.has(s)) return boardErr(2, "already posted a different round-1 message", s);
    const f = "round1[" + s + "]";
    if (!verifyEd25519Strict(id, round1Msg(a.cc, r), r.sig)) return boardErr(2, f + ".sig: signature rejected", s);
    const k = this.sm.k;
    if (BigInt(r.commitments.length) !== BigInt(k) || BigInt(r.coeff_poks.length) !== BigInt(k)) {
      return boardErr(3, f + ": " + r.commitments.length + " commitments and " + r.coeff_poks.length + " proofs, k = " + k, s);
    }
    try {
      const D = decodePointNotO(r.transport_key, f + ".transport_key");
      if (!verifySchnorr({ ctx: a.cc, label: "transport", index: s, X: D, proof: cz(r.transport_pok, f + ".transport_pok") })) throw perr(f + ".transport_pok", "proof does not verify");
      const ks = r.commitments.map((kj, j) => {
        const K = decodePointNotO(kj, f + ".commitments[" + j + "]");
        const p = cz(r.coeff_poks[j], f + ".coeff_poks[" + j + "]");
        const li = s * 256n + BigInt(j);
        if (li > U64_MAX) throw perr(f, "index too large");
        if (!verifySchnorr({ ctx: a.cc, label: "coeff", index: li, X: K, proof: p })) throw perr(f + ".coeff_poks[" + j + "]", "proof does not verify");
        return K;
      });
      a.round1.set(s, { msg: r, D, ks });
      return null;
    } catch (e) {
      return boardErr(3, message(e), s);
    }
  }
  acceptRound2(a, id, r) {
    const s = r.from;
    if (!a.participants.includes(r.to) || r.to === r.from) return boardErr(2, "round2.to: " + r.to + " is not another participant", s);
    if (a.round2.has(r.from + "," + r.to)) return boardErr(2, "already posted a different share for guardian " + r.to, s);
    const missing = Board.missingRound1(a);
    if (missing.length) return boardErr(2, "round 1 is not complete (waiting for " + showList(missing) + ")", s);
    if (!verifyEd25519Strict(id, round2Msg(a.cc, r.from, r.to, r.blob), r.sig)) return boardErr(2, "round2.sig: signature rejected", s);
    if (r.blob.length !== BLOB_LEN) return boardErr(3, "round2.blob: " + r.blob.length + " bytes, not 80", s);
    try { decodePointNotO(r.blob.subarray(0, 32), "round2.blob.E"); } catch (e) { return boardErr(3, message(e), s); }
    a.round2.set(r.from + "," + r.to, r);
    return null;
  }
  acceptComplaint(a, id, c) {
    const s = c.to;
    if (!a.participants.includes(c.from) || c.from === c.to) return boardErr(2, "complaint.from: " + c.from + " is not another participant", s);
    if (a.complaints.some((x) => x.c.from === c.from && x.c.to === c.to)) return boardErr(2, "already complained about guardian " + c.from, s);
    const sender = a.round1.get(c.from), recipient = a.round1.get(c.to);
    if (!sender || !recipient) return boardErr(2, "round-1 messages of both guardians are needed first", s);
    if (!verifyEd25519Strict(id, complaintMsg(a.cc, c.from, c.to, c.S, c.proof), c.sig)) return boardErr(2, "complaint.sig: signature rejected", s);
    const blob = a.round2.get(c.from + "," + c.to);
    a.complaints.push({ c, verdict: judge(a.cc, c, blob ? blob.blob : null, recipient.D, sender.ks) });
    return null;
  }
  acceptAnnounce(a, id, g, sig) {
    if (a.announced.has(g)) return boardErr(2, "already announced with a different signature", g);
    const missing = a.participants.filter((i) => i !== g && !a.round2.has(i + "," + g));
    if (missing.length) return boardErr(2, "shares to guardian " + g + " missing from " + showList(missing), g);
    const msg = Board.announcement(a);
    if (!msg) return boardErr(2, "round 1 is not complete", g);
    if (!verifyEd25519Strict(id, msg, sig)) return boardErr(4, "key_announce.sig: signature rejected", g);
    a.announced.set(g, sig);
    return null;
  }
  acceptRestart(attempt, r) {
    const a = this.current();
    if (attempt !== a.attempt + 1n) {
      if (attempt === a.attempt && sameList(a.participants, r.participants) && a.reason === r.reason) return null;
      return boardErr(2, "restart.attempt must be " + (a.attempt + 1n));
    }
    if (Board.complete(a)) return boardErr(2, "attempt " + a.attempt + " is complete; no restart");
    if (attempt > MAX_ATTEMPTS) return boardErr(2, "restart: at most " + MAX_ATTEMPTS + " attempts");
    const p = r.participants;
    if (!strictlyIncreasing(p, bigLess)) return boardErr(2, "restart.participants: not strictly increasing");
    const faulty = Board.faulty(a);
    const bad = p.find((x) => !a.participants.includes(x) || faulty.has(x));
    if (bad !== undefined) return boardErr(2, "restart.participants: guardian " + bad + " is not a participant of attempt " + a.attempt + " or was found faulty");
    if (BigInt(p.length) < BigInt(this.sm.k)) return boardErr(2, "restart.participants: " + p.length + " guardians, fewer than k = " + this.sm.k);
    if (a.complaints.length && faulty.size === 0) return boardErr(3, "complaints without a verdict");
    if (rustTrim(r.reason) === "" || charCount(r.reason) > 2000) return boardErr(2, "restart.reason: say why (1–2000 characters)");
    this.attempts.push(this.attempt(attempt, p, r.reason));
    return null;
  }
}

/** ceremony::judge (§8.4 with step 0): the guardian found faulty and why. */
function judge(cc, c, blob, D, commitments) {
  const verdict = (faulty, reason) => ({ from: c.from, to: c.to, faulty, reason });
  if (!blob || blob.length !== BLOB_LEN) return verdict(c.from, "blob absent or not 80 bytes: sender faulty");
  const Eb = blob.subarray(0, 32);
  let E;
  try { E = decodePointNotO(Eb, "E"); } catch { return verdict(c.from, "blob's E invalid: sender faulty"); }
  let okDleq = false;
  try {
    okDleq = verifyDleq({ ctx: complaintCtx(cc, c.from, c.to), label: "complaint", index: 0, g: G, h: E, X: D, Y: decodePoint(c.S, "S"), proof: cz(c.proof, "proof") });
  } catch { okDleq = false; }
  if (!okDleq) return verdict(c.to, "DLEQ of S fails: complainer faulty");
  let share;
  try {
    const info = shareInfo(c.from, c.to, Eb, D.toBytes());
    share = decodeScalar(chachaPolyOpen(hkdf32(cc, c.S, info), new Uint8Array(12), info, blob.subarray(32)), "share");
  } catch {
    return verdict(c.from, "blob does not decrypt: sender faulty");
  }
  if (!verificationKey(c.to, [commitments]).equals(mulG(share))) return verdict(c.from, "share does not match the commitments: sender faulty");
  return verdict(c.to, "share is valid: complainer faulty");
}

// The share transport's opening (§8.3: HKDF-SHA256, ChaCha20-Poly1305 with a zero nonce), for
// a complaint's step 2 only: the vendored, unmodified @noble/hashes HKDF and @noble/ciphers
// ChaCha20-Poly1305 (served with the verify page; tests/js/bundle-verify.test.mjs opens blobs
// that transport.js sealed).

/** HKDF-SHA256(salt, IKM, info) with L = 32. */
export function hkdf32(salt, ikm, info) {
  return hkdf(sha256, ikm, salt, info, 32);
}

/** ChaCha20-Poly1305 (RFC 8439) opening; throws when the tag does not verify. */
export function chachaPolyOpen(key, nonce, aad, sealed) {
  return chacha20poly1305(key, nonce, aad).decrypt(sealed);
}

const shareInfo = (from, to, E, D) => Tm("dkg-share", [["from", u64be(from)], ["to", u64be(to)], ["E", E], ["D", D]]);

// serde_json::Value accessors.
const asU64 = (v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? BigInt(v) : typeof v === "bigint" && v >= 0n && v <= U64_MAX ? v : null);
const asArray = (v) => (Array.isArray(v) ? v : null);
const asObject = (v) => (v instanceof Map ? v : null);
const asStr = (v) => (typeof v === "string" ? v : null);
const vget = (o, k) => (o instanceof Map ? o.get(k) : undefined);

function objectKeys(v, f, keys) {
  const o = asObject(v);
  if (!o) throw perr(f, "expected an object");
  for (const k of o.keys()) if (!keys.includes(k)) throw perr(f, "unknown field `" + k + "`");
  for (const k of keys) if (!o.has(k)) throw perr(f, "missing field `" + k + "`");
  return o;
}
const uintV = (v, f) => { const x = asU64(v); if (x === null) throw perr(f, "expected a non-negative integer"); return x; };
const arrV = (v, n, f) => { const s = asStr(v); if (s === null) throw perr(f, "expected a hex string"); return hx(s, n, f); };
function czPairV(v, f) {
  const a = asArray(v);
  if (!a || a.length !== 2) throw perr(f, "expected [c, z]");
  return concatBytes(arrV(a[0], 32, f + "[0]"), arrV(a[1], 32, f + "[1]"));
}
function round1FromJson(v, f) {
  const o = objectKeys(v, f, ["index", "transport_key", "transport_pok", "commitments", "coeff_poks", "sig"]);
  const list = (k) => { const a = asArray(o.get(k)); if (!a) throw perr(f + "." + k, "expected an array"); return a; };
  return {
    index: uintV(o.get("index"), f + ".index"), transport_key: arrV(o.get("transport_key"), 32, f + ".transport_key"),
    transport_pok: czPairV(o.get("transport_pok"), f + ".transport_pok"),
    commitments: list("commitments").map((k, j) => arrV(k, 32, f + ".commitments[" + j + "]")),
    coeff_poks: list("coeff_poks").map((p, j) => czPairV(p, f + ".coeff_poks[" + j + "]")), sig: arrV(o.get("sig"), 64, f + ".sig"),
  };
}
function complaintFromJson(v, f) {
  const o = objectKeys(v, f, ["from", "to", "S", "proof", "sig"]);
  return { from: uintV(o.get("from"), f + ".from"), to: uintV(o.get("to"), f + ".to"), S: arrV(o.get("S"), 32, f + ".S"),
    proof: czPairV(o.get("proof"), f + ".proof"), sig: arrV(o.get("sig"), 64, f + ".sig") };
}
const indexKeyV = (k) => (/^(0|[1-9][0-9]*)$/.test(k) && BigInt(k) <= U64_MAX ? BigInt(k) : null);

function replayAttempt(board, rec, f, out) {
  const o = objectKeys(rec, f, ["attempt", "participants", "round1", "round2", "round2_sigs", "key_sigs", "complaints", "verdicts", "reason"]);
  const a = board.current().attempt;
  if (asU64(o.get("attempt")) !== a) throw new Error("attempt must be " + a);
  const list = asArray(o.get("participants"));
  const parts = list && list.map(asU64);
  if (!parts || parts.some((x) => x === null)) throw new Error("participants: not a list of indices");
  if (!sameList(parts, board.current().participants)) throw new Error("participants " + showList(parts) + ", the board's attempt " + a + " has " + showList(board.current().participants));
  const post = (m) => { const e = board.accept(a, m); if (e) out.push([e.check, f + ": " + e.reason]); };
  (asArray(o.get("round1")) || []).forEach((r, n) => {
    let parsed;
    try { parsed = round1FromJson(r, f + ".round1[" + n + "]"); } catch (e) { out.push([2, message(e)]); return; }
    post({ kind: "round1", r: parsed });
  });
  const blobs = asObject(o.get("round2")) || new Map();
  const sigs = asObject(o.get("round2_sigs")) || new Map();
  for (const [i, m] of blobs) {
    for (const [l, b] of asObject(m) || new Map()) {
      let r;
      try {
        const from = indexKeyV(i), to = indexKeyV(l);
        if (from === null) throw perr("round2", "key `" + i + "`");
        if (to === null) throw perr("round2", "key `" + l + "`");
        const blob = hx(asStr(b) ?? "", BLOB_LEN, f + ".round2." + i + "." + l);
        const sig = hx(asStr(vget(vget(sigs, i), l)) ?? "", 64, f + ".round2_sigs." + i + "." + l);
        r = { from, to, blob, sig };
      } catch (e) { out.push([2, message(e)]); continue; }
      post({ kind: "round2", r });
    }
  }
  for (const [g, s] of asObject(o.get("key_sigs")) || new Map()) {
    const guardian = indexKeyV(g);
    let sig = null, sigError = null;
    try { sig = hx(asStr(s) ?? "", 64, f + ".key_sigs." + g); } catch (e) { sigError = message(e); }
    if (sigError) out.push([4, sigError]);
    else if (guardian === null) out.push([4, f + ".key_sigs: key `" + g + "`"]);
    else post({ kind: "announce", guardian, sig });
  }
  (asArray(o.get("complaints")) || []).forEach((c, n) => {
    let parsed;
    try { parsed = complaintFromJson(c, f + ".complaints[" + n + "]"); } catch (e) { out.push([3, message(e)]); return; }
    post({ kind: "complaint", c: parsed });
  });
  const recomputed = board.current().complaints.map((c) => c.verdict);
  const recorded = asArray(o.get("verdicts")) || [];
  const same = recorded.length === recomputed.length && recorded.every((v, k) => {
    const w = recomputed[k];
    return v instanceof Map && v.size === 4 && ["from", "to", "faulty"].every((x) => asU64(v.get(x)) === w[x]) && v.get("reason") === w.reason;
  });
  if (!same) {
    const show = (v) => (v.map((x) => (x instanceof Map ? JSON.stringify(Object.fromEntries([...x].map(([k, y]) => [k, typeof y === "bigint" ? String(y) : y instanceof F64 ? y.v : y])))
      : JSON.stringify({ from: String(x.from), to: String(x.to), faulty: String(x.faulty), reason: x.reason }))).join(", "));
    out.push([3, f + ".verdicts: recorded [" + show(recorded) + "], recomputed [" + show(recomputed) + "]"]);
  }
}

/** ceremony::check_aborted: [[check, message]]. */
function checkAborted(sm, aborted, finalAttempt, finalParticipants) {
  const out = [];
  const board = new Board(sm);
  for (let t = 0; t < aborted.length; t++) {
    const f = "ceremony.aborted[" + t + "]";
    const cur = board.current().attempt;
    try { replayAttempt(board, aborted[t], f, out); } catch (e) { out.push([2, f + ": " + message(e)]); return out; }
    let nextParts;
    if (t + 1 < aborted.length) {
      const a = asArray(vget(aborted[t + 1], "participants"));
      nextParts = a && a.map(asU64);
      if (nextParts && nextParts.some((x) => x === null)) nextParts = null;
    } else nextParts = finalParticipants.slice();
    const reason = asStr(vget(aborted[t], "reason")) ?? "";
    if (!nextParts) { out.push([2, "ceremony.aborted[" + (t + 1) + "].participants missing"]); return out; }
    const e = board.accept(cur + 1n, { kind: "restart", participants: nextParts, reason });
    if (e) { out.push([e.check, f + ": the next attempt is not a valid restart: " + e.reason]); return out; }
  }
  if (board.current().attempt !== finalAttempt) {
    out.push([2, "final attempt " + finalAttempt + ", but " + aborted.length + " aborted attempt(s) lead to attempt " + board.current().attempt]);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Failures and notes per check (bundle.rs `Acc`).

class Acc {
  constructor() {
    this.errs = CHECK_NAMES.map(() => []);
    this.notes = CHECK_NAMES.map(() => []);
    this.pending = CHECK_NAMES.map(() => null);
  }
  fail(v, msg) { if (this.errs[v - 1]) this.errs[v - 1].push(msg); }
  note(v, msg) { if (this.notes[v - 1]) this.notes[v - 1].push(msg); }
  ok(v) { return !this.errs[v - 1] || this.errs[v - 1].length === 0; }
  checks() {
    const SHOWN = 6;
    return CHECK_NAMES.map((name, i) => {
      const errs = this.errs[i];
      if (errs.length) {
        let d = errs.slice(0, SHOWN).join("; ");
        if (errs.length > SHOWN) d += "; and " + (errs.length - SHOWN) + " more";
        return { name, ok: false, detail: d };
      }
      if (this.pending[i]) return { name, ok: null, detail: this.pending[i] };
      return { name, ok: true, detail: this.notes[i].join("; ") };
    });
  }
}

function checkCeremony(b, sm, acc) {
  const c = b.ceremony;
  const mh = sm.hash;
  const n = BigInt(sm.n), k = BigInt(sm.k);
  if (c.attempt !== BigInt(c.aborted.length) + 1n) acc.fail(2, "attempt " + c.attempt + " but " + c.aborted.length + " aborted attempt(s) recorded");
  for (const [check, msg] of checkAborted(sm, c.aborted, c.attempt, c.participants)) acc.fail(check, msg);
  const parts = c.participants;
  if (!strictlyIncreasing(parts, bigLess)) acc.fail(2, "participants not strictly increasing");
  if (parts.some((p) => p === 0n || p > n)) acc.fail(2, "participants outside 1.." + n);
  if (BigInt(parts.length) < k) acc.fail(2, parts.length + " participants, fewer than k = " + k);
  const cc = ceremonyCtx(mh, c.attempt, k, sm.guardianIds, parts);
  const idx = c.round1.map((r) => r.index);
  if (!sameList(idx, parts)) acc.fail(2, "round1 senders " + showList(idx) + " are not exactly the participants " + showList(parts));
  const round1Cat = [];
  const commitments = [];
  let allOk = sameList(idx, parts);
  for (const r of c.round1) {
    const msg = round1Msg(cc, r);
    const id = guardianId(sm, r.index);
    if (!id) acc.fail(2, "round1 index " + r.index + " has no guardian id");
    else { const e = sigErr(id, msg, r.sig); if (e) acc.fail(2, "round1[" + r.index + "].sig: " + e); }
    round1Cat.push(msg);
    const i = r.index;
    const f = "round1[" + i + "]";
    try {
      const tk = decodePointNotO(r.transport_key, f + ".transport_key");
      const p = cz(r.transport_pok, f + ".transport_pok");
      if (!verifySchnorr({ ctx: cc, label: "transport", index: i, X: tk, proof: p })) acc.fail(3, f + ".transport_pok: proof does not verify");
    } catch (e) { acc.fail(3, message(e)); }
    if (BigInt(r.commitments.length) !== k || BigInt(r.coeff_poks.length) !== k) {
      acc.fail(3, f + ": " + r.commitments.length + " commitments and " + r.coeff_poks.length + " proofs, k = " + k);
      allOk = false;
    }
    const ks = [];
    for (let j = 0; j < Math.min(r.commitments.length, r.coeff_poks.length); j++) {
      let K;
      try { K = decodePointNotO(r.commitments[j], f + ".commitments[" + j + "]"); } catch (e) { acc.fail(3, message(e)); allOk = false; continue; }
      const li = i * 256n + BigInt(j);
      try {
        const p = cz(r.coeff_poks[j], f + ".coeff_poks[" + j + "]");
        if (li > U64_MAX) acc.fail(3, f + ": index too large");
        else if (!verifySchnorr({ ctx: cc, label: "coeff", index: li, X: K, proof: p })) acc.fail(3, f + ".coeff_poks[" + j + "]: proof does not verify");
      } catch (e) { acc.fail(3, message(e)); }
      ks.push(K);
    }
    commitments.push(ks);
  }
  const want = parts.flatMap((i) => parts.filter((l) => l !== i).map((l) => i + "," + l));
  const pairsOf = (m) => [...m.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    .flatMap((i) => [...m.get(i).keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).map((l) => i + "," + l));
  if (!sameList(pairsOf(c.round2), want)) acc.fail(2, "round2 does not hold exactly the pairs i != l among participants");
  if (!sameList(pairsOf(c.round2_sigs), want)) acc.fail(2, "round2_sigs does not hold exactly the pairs i != l among participants");
  for (const i of [...c.round2.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
    const row = c.round2.get(i);
    for (const l of [...row.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
      const blob = row.get(l);
      const f = "round2." + i + "." + l;
      const sig = c.round2_sigs.get(i)?.get(l);
      if (!sig) acc.fail(2, f + ": no signature");
      else {
        const id = guardianId(sm, i);
        if (!id) acc.fail(2, f + ": sender has no guardian id");
        else { const e = sigErr(id, round2Msg(cc, i, l, blob), sig); if (e) acc.fail(2, f + " signature: " + e); }
      }
      if (blob.length !== BLOB_LEN) acc.fail(3, f + ": blob is " + blob.length + " bytes, not 80");
      else { try { decodePointNotO(blob.subarray(0, 32), f + ".E"); } catch (e) { acc.fail(3, message(e)); } }
    }
  }
  if (c.complaints > 0) acc.fail(3, "the final attempt has " + c.complaints + " complaint(s)");
  const cs = allOk ? commitments : null;
  if (!cs) acc.fail(4, "not checked: round-1 commitments invalid (V2/V3)");
  else {
    let K = O, ok = true;
    for (let x = 0; x < cs.length; x++) {
      if (!cs[x].length) { acc.fail(4, "round1[" + x + "].commitments: empty"); ok = false; break; }
      K = K.add(cs[x][0]);
    }
    if (ok && K.is0()) acc.fail(4, "joint_key: the identity is not allowed here");
    else if (ok && !equalBytes(K.toBytes(), b.joint_key)) acc.fail(4, "joint_key is not the sum of the K_{i,0}");
  }
  try { decodePointNotO(b.joint_key, "joint_key"); } catch (e) { acc.fail(4, message(e)); }
  const announce = keyAnnounceMsg(cc, b.joint_key, sha256(catBytes(round1Cat)));
  const signers = [...c.key_sigs.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  if (!sameList(signers, parts)) acc.fail(4, "key_sigs from " + showList(signers) + ", not exactly the participants " + showList(parts));
  for (const i of signers) {
    const id = guardianId(sm, i);
    if (!id) acc.fail(4, "key_sigs." + i + ": no such guardian");
    else { const e = sigErr(id, announce, c.key_sigs.get(i)); if (e) acc.fail(4, "key_sigs." + i + ": " + e); }
  }
  const fingerprint = shortCode(sha256(announce));
  if (acc.ok(2)) acc.note(2, "attempt " + c.attempt + ", participants " + showList(parts) + " of n = " + n + ", k = " + k + "; " + c.round1.length + " round-1 and " + want.length + " round-2 signatures valid");
  if (acc.ok(3)) acc.note(3, BigInt(c.round1.length) * (k + 1n) + " Schnorr proofs valid; " + want.length + " blobs well-formed; no complaints");
  if (acc.ok(4)) acc.note(4, "K = sum of K_i0; " + c.key_sigs.size + " key announcements valid; fingerprint " + fingerprint);
  return { cc, commitments: cs, participants: parts, fingerprint };
}

// ------------------------------------------------------------------------------------------------
// Per-ballot work: run inline, or by the worker's helpers (`opts.pool.map(kind, payloads)`).

/** RawBallot::decode (§7.6 1–2: shape against the vote manifest, scalars canonical; points are
 *  decoded by verifyBallot) and then §7.6 1–6 (e2e.js verifyBallot). Null, or why not valid. */
export function verifyRawBallot(raw, vote, session, K) {
  try {
    if (raw.vote_id !== vote.voteId) throw perr("ballot.vote_id", "does not match the vote");
    if (raw.type !== vote.type) throw perr("ballot.type", "does not match the vote manifest");
    if (raw.items.length !== vote.m) throw perr("ballot.items", "expected " + vote.m + " items, got " + raw.items.length);
    raw.items.forEach((it, i) => { if (it.proof.length !== vote.L) throw perr("ballot.items[" + i + "].proof", "expected " + vote.L + " branches, got " + it.proof.length); });
    const nb = vote.range ? vote.range.weights.length : 0;
    if (raw.range === null && nb > 0) throw perr("ballot.range", "required range proof missing");
    if (raw.range !== null && nb === 0) throw perr("ballot.range", "range proof not allowed here");
    if (raw.range !== null) {
      if (raw.range.bits.length !== nb) throw perr("ballot.range.bits", "expected " + nb + " bits, got " + raw.range.bits.length);
      raw.range.bits.forEach((b, k) => { if (b.proof.length !== 2) throw perr("ballot.range.bits[" + k + "].proof", "expected 2 branches"); });
    }
    const item = (it, f) => ({ A: it.ct.subarray(0, 32), B: it.ct.subarray(32), proof: it.proof.map((p, k) => cz(p, f + ".proof[" + k + "]")) });
    const ballot = {
      voteId: vote.voteId, type: vote.type, credPk: raw.cred_pk, items: raw.items.map((it, i) => item(it, "items[" + i + "]")),
      range: raw.range === null ? null : { bits: raw.range.bits.map((b, k) => item(b, "range.bits[" + k + "]")), link: cz(raw.range.link, "range.link") },
      sig: raw.sig,
    };
    verifyBallot(ballot, { session, vote, K });
    return null;
  } catch (e) {
    return message(e);
  }
}

const voteCache = new Map();
function cachedVote(bytes, session) {
  const key = hex(sha256(bytes)) + hex(session.hash);
  let v = voteCache.get(key);
  if (!v) { v = parseVoteManifest(bytes, session); voteCache.set(key, v); }
  return v;
}

/** The tasks a helper runs; each payload and result is structured-cloneable. */
export const TASKS = {
  /** §7.6 1–6 for a chunk of ballots of one vote: [null | why]. */
  verify({ mh, radix, voteManifest, K, ballots }) {
    const session = { hash: mh, radix };
    const vote = cachedVote(voteManifest, session);
    const Kp = prepareJointKey(K);
    return ballots.map((b) => verifyRawBallot(b, vote, session, Kp));
  },
  /** V8's aggregation of a chunk: per-item sums (A‖B) and the failures, as bundle.rs words them. */
  aggregate({ m, ballots }) {
    const errors = [];
    let ok = true;
    const acc = Array.from({ length: m }, () => [O, O]);
    for (const { bi, cts } of ballots) {
      if (cts.length !== m) { errors.push("ballots[" + bi + "]: wrong item count, cannot aggregate"); ok = false; continue; }
      cts.forEach((ct, i) => {
        const f = "ballots[" + bi + "].items[" + i + "]";
        try {
          const A = decodePointNotO(ct.subarray(0, 32), f + ".A");
          const B = decodePoint(ct.subarray(32), f + ".B");
          acc[i][0] = acc[i][0].add(A);
          acc[i][1] = acc[i][1].add(B);
        } catch (e) { errors.push("cannot aggregate: " + message(e)); ok = false; }
      });
    }
    return { ok, errors, sums: ok ? acc.map(([A, B]) => concatBytes(A.toBytes(), B.toBytes())) : null };
  },
};

const inlinePool = {
  size: 1,
  async map(kind, payloads, onEach) {
    const out = [];
    for (let i = 0; i < payloads.length; i++) {
      out.push(TASKS[kind](payloads[i]));
      if (onEach) onEach(i, out[i]);
      // Let a caller's timers and messages run between chunks.
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 0));
    }
    return out;
  },
};

function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ------------------------------------------------------------------------------------------------
// V5–V16 of one vote (bundle.rs `check_vote`).

async function checkVote(ctx, v, vm, acc, ballotResults) {
  const { sm, cer, key, jointKey, pool, full, declaredFailed } = ctx;
  const vid = v.vote_id;
  const mh = sm.hash;
  const m = vm.m;
  const nCast = BigInt(v.ballots.length);
  const p = (s) => vid + ": " + s;
  // V5.
  if (!key) acc.fail(5, p("not checked: joint_key invalid (V4)"));
  if (ballotResults) ballotResults.forEach((r, bi) => { if (r !== null) acc.fail(5, p("ballots[" + bi + "]: " + r)); });
  // V6.
  const enabled = new Set(v.credentials.map(hex));
  const creds = new Set();
  const aSeen = new Set();
  v.ballots.forEach((bal, bi) => {
    const c = hex(bal.cred_pk);
    if (creds.has(c)) acc.fail(6, p("ballots[" + bi + "]: credential used twice"));
    creds.add(c);
    if (!enabled.has(c)) acc.fail(6, p("ballots[" + bi + "]: credential not in the roll call"));
    for (const it of [...bal.items, ...(bal.range ? bal.range.bits : [])]) {
      const a = hex(it.ct.subarray(0, 32));
      if (aSeen.has(a)) acc.fail(6, p("ballots[" + bi + "]: ciphertext A repeated"));
      aSeen.add(a);
    }
  });
  // V7.
  const trackers = v.ballots.map((bal) => rawTracker(mh, vid, bal));
  if (!strictlyIncreasing(trackers, lessBytes)) acc.fail(7, p("ballots not strictly sorted by tracker"));
  const lh = listHashOf(mh, vid, trackers);
  if (!equalBytes(lh, v.list_hash)) acc.fail(7, p("list_hash does not match the recomputed list hash"));
  { const e = sigErr(sm.applianceKey, closeMsg(mh, vid, lh, nCast), v.close_sig); if (e) acc.fail(7, p("close_sig: " + e)); }
  // V8: the aggregation, on the pool.
  const payloads = chunks(v.ballots.map((bal, bi) => ({ bi, cts: bal.items.map((it) => it.ct) })), 100).map((ballots) => ({ m, ballots }));
  let doneB = 0;
  const parts = await pool.map("aggregate", payloads, (i) => { doneB += payloads[i].ballots.length; ctx.progress(doneB, v.ballots.length, "aggregate:" + vid); });
  let own = parts.every((x) => x.ok) ? Array.from({ length: m }, () => [O, O]) : null;
  for (const x of parts) for (const e of x.errors) acc.fail(8, p(e));
  if (own) {
    for (const x of parts) {
      x.sums.forEach((s, i) => { own[i][0] = own[i][0].add(decodePoint(s.subarray(0, 32))); own[i][1] = own[i][1].add(decodePoint(s.subarray(32))); });
    }
  }
  const ownBytes = own ? own.map(([A, B]) => concatBytes(A.toBytes(), B.toBytes())) : null;
  const res = v.result;
  if (ownBytes && res && !(ownBytes.length === res.totals.length && ownBytes.every((t, i) => equalBytes(t, res.totals[i])))) {
    acc.fail(8, p("result.totals differ from the aggregation of the ballots"));
  }
  // A vote declared failed (docs/e2e.md) has no result, and only such a vote: the decryption's
  // checks V9–V12 do not apply to it, the rest does.
  if (!res && !declaredFailed) acc.fail(9, p("no result, and the bundle does not declare the vote failed"));
  if (res && declaredFailed) acc.fail(9, p("the bundle declares the vote failed but the vote carries a result"));
  // V12 (first part): n_cast < T, n_cast ≤ |enabled|.
  const T = BigInt(vm.radix);
  if (nCast >= T) acc.fail(12, p("n_cast = " + nCast + " is not below T"));
  if (nCast > BigInt(v.credentials.length)) acc.fail(12, p("more ballots than enabled credentials"));
  if (res) {
    // V9.
    const q = res.quorum;
    const quorumOk = BigInt(q.length) === BigInt(sm.k) && strictlyIncreasing(q, bigLess) && q.every((x) => cer.participants.includes(x));
    if (!quorumOk) acc.fail(9, p("quorum " + showList(q) + " is not k = " + sm.k + " distinct sorted participants"));
    const pg = res.partials.map((x) => x.guardian);
    if (!sameList(pg, q)) acc.fail(9, p("partials from " + showList(pg) + ", not exactly the quorum " + showList(q)));
    // V10.
    const sharesOk = [];
    if (!own) acc.fail(10, p("not checked: no aggregation (V8)"));
    else if (!cer.commitments) acc.fail(10, p("not checked: commitments invalid (V3)"));
    else {
      const totCat = catBytes(ownBytes);
      res.partials.forEach((part, pi) => {
        const l = part.guardian;
        const f = "partials[" + pi + "] (guardian " + l + ")";
        const id = guardianId(sm, l);
        if (!id) { acc.fail(10, p(f + ": no such guardian")); sharesOk.push(null); return; }
        const Z = verificationKey(l, cer.commitments);
        const dctx = decryptCtx({ mh, vote: vid, vmh: vm.hash, pk: jointKey, cc: cer.cc, lh, n: nCast, guardian: l, z: Z.toBytes() });
        let shares;
        try {
          shares = part.shares.map(([M, pr], i) => ({ M: decodePoint(M, f + ".shares[" + i + "].M"), proof: cz(pr, f + ".shares[" + i + "].proof") }));
        } catch (e) { acc.fail(10, p(message(e))); sharesOk.push(null); return; }
        let good = true;
        if (shares.length !== own.length) { acc.fail(10, p(f + ".shares: one share per item required")); good = false; }
        else {
          for (let i = 0; i < shares.length; i++) {
            if (!verifyDleq({ ctx: dctx, label: "partial", index: i, g: G, h: own[i][0], X: Z, Y: shares[i].M, proof: shares[i].proof })) {
              acc.fail(10, p(f + ".shares[" + i + "].proof: proof does not verify"));
              good = false;
              break;
            }
          }
        }
        const shCat = catBytes(part.shares.map(([M, pr]) => concatBytes(M, pr)));
        const e = sigErr(id, decryptionMsg(cer.cc, vid, lh, nCast, totCat, shCat), part.sig);
        if (e) { acc.fail(10, p(f + ".sig: " + e)); good = false; }
        sharesOk.push(good ? shares : null);
      });
    }
    // V11.
    const pt = res.plaintext_totals;
    if (pt.length !== m) acc.fail(11, p(pt.length + " plaintext totals for " + m + " items"));
    const allShares = sameList(pg, q) && sharesOk.length === q.length && sharesOk.every((x) => x !== null) ? sharesOk : null;
    const maxValue = vm.values[vm.values.length - 1];
    if (!own) acc.fail(11, p("not checked: no aggregation (V8)"));
    else if (!allShares) acc.fail(11, p("not checked: partial decryptions invalid (V9/V10)"));
    else {
      const w = lagrange(q);
      if (!w) acc.fail(11, p("quorum: must be non-empty, strictly increasing, indices >= 1"));
      else if (allShares.some((sh) => sh.length !== own.length)) acc.fail(11, p("partials: need exactly one share per item for each quorum member"));
      else {
        for (let i = 0; i < Math.min(own.length, pt.length); i++) {
          let V = own[i][1];
          allShares.forEach((sh, x) => { V = V.subtract(mulP(sh[i].M, w[x])); });
          const val = pt[i];
          const vmaxRaw = nCast * maxValue;
          const vmax = vmaxRaw > U64_MAX ? U64_MAX : vmaxRaw;
          if (!(val <= vmax && mulG(val).equals(V))) acc.fail(11, p("plaintext_totals[" + i + "] = " + val + " does not decrypt"));
        }
      }
    }
    // V12.
    if (res.counts.length !== m) acc.fail(12, p(res.counts.length + " count rows for " + m + " items"));
    for (let i = 0; i < Math.min(pt.length, res.counts.length); i++) {
      const r = decodeCounts(vm, nCast, pt[i], "counts[" + i + "]");
      if (r.error) acc.fail(12, p(r.error));
      else if (!sameList(r.counts, res.counts[i])) acc.fail(12, p("counts[" + i + "] = " + showList(res.counts[i]) + ", decoding gives " + showList(r.counts)));
    }
  }
  // V13.
  if (!key) { if (v.spoiled.length) acc.fail(13, p("not checked: joint_key invalid (V4)")); }
  else {
    const castT = new Set(trackers.map(hex));
    v.spoiled.forEach((sp, si) => { const e = checkSpoiledRecord(sp, vm, key, aSeen, castT); if (e) acc.fail(13, p("spoiled[" + si + "]: " + e)); });
  }
  // V14 (roll call).
  { const e = sigErr(sm.credentialOfficer, rollCallMsg(mh, vid, vm.hash, v.credentials, v.cast_count), v.roll_call_sig); if (e) acc.fail(14, p("roll_call.sig: " + e)); }
  if (!strictlyIncreasing(v.credentials, lessBytes)) acc.fail(14, p("roll-call credentials not sorted and unique"));
  if (BigInt(v.credentials.length) > BigInt(sm.maxElectorate)) acc.fail(14, p("roll call longer than max_electorate"));
  // V15 (not for a vote declared failed: a closing roll call that disagrees with the list, or
  // none at all, can be why it failed; its opening one then stands in it).
  if (nCast !== v.cast_count && !declaredFailed) acc.fail(15, p("n_cast = " + nCast + " but the roll call's cast_count = " + v.cast_count));
  // V16: the rejected ballots; verifying them is per-ballot work, deferred in FAST mode.
  let deferred = 0;
  v.rejected.forEach((rj, ri) => {
    const f = "rejected[" + ri + "] (" + rj.reason + ")";
    if (!key) { acc.fail(16, p(f + ": not checked: joint_key invalid (V4)")); return; }
    const known = ["invalid", "duplicate-credential", "not-enabled"].includes(rj.reason);
    if (rj.reason === "late") { acc.note(16, p("a `late` rejection is procedural (hall close time)")); return; }
    if (!known) { acc.fail(16, p("unknown reason `" + rj.reason + "`")); return; }
    if (!full) { deferred++; return; }
    let raw = null, why = null;
    try { raw = rawBallot(readLenient(BallotJ, rj.ballot, "ballot"), "ballot"); } catch (e) { why = message(e); }
    if (raw) why = verifyRawBallot(raw, vm, { hash: mh, radix: vm.radix }, key);
    const valid = why === null;
    if (rj.reason === "invalid") { if (valid) acc.fail(16, p(f + ": the ballot is valid")); return; }
    if (!valid) { acc.fail(16, p(f + ": the ballot is not valid: " + why)); return; }
    const c = hex(raw.cred_pk);
    if (rj.reason === "duplicate-credential" && !creds.has(c)) acc.fail(16, p(f + ": credential not among the accepted ballots"));
    if (rj.reason === "not-enabled" && enabled.has(c)) acc.fail(16, p(f + ": credential is in the roll call"));
  });
  return { trackers, lh, deferred, counts: res ? res.counts : null };
}

/** tally::decode_counts: { counts } or { error }. */
function decodeCounts(vm, nCast, v, field) {
  const t = BigInt(vm.radix);
  if (nCast >= t) return { error: field + ": n_cast = " + nCast + " is not below T = " + t };
  const bound = t ** BigInt(vm.L - 1);
  if (bound > U64_MAX) return { error: field + ": T^(L-1) overflows" };
  if (v >= bound) return { error: field + ": v >= T^(L-1)" };
  const digits = [];
  let rest = v;
  for (let j = 1; j < vm.L; j++) { digits.push(rest % t); rest /= t; }
  const sum = digits.reduce((a, b) => a + b, 0n);
  if (sum > nCast) return { error: field + ": digits sum above n_cast" };
  return { counts: [nCast - sum, ...digits] };
}

/** check_spoiled (V13): re-encryption (e2e.js checkSpoiled, the §12 M6 check), then none of its
 *  ciphertexts or its tracker cast. */
function checkSpoiledRecord(sp, vm, K, castA, castT) {
  try {
    checkSpoiled({
      tracker: hex(sp.tracker), items: sp.items.map((c) => [hex(c.subarray(0, 32)), hex(c.subarray(32))]),
      bits: sp.bits.map((c) => [hex(c.subarray(0, 32)), hex(c.subarray(32))]),
      choices: sp.choices.map((c) => (c <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(c) : c)), r: sp.r.map(hex), s: sp.s.map(hex),
    }, { vote: vm, K });
  } catch (e) {
    return message(e);
  }
  for (const ct of [...sp.items, ...sp.bits]) if (castA.has(hex(ct.subarray(0, 32)))) return "a ciphertext of the audited ballot was cast";
  if (castT.has(hex(sp.tracker))) return "the audited ballot's tracker was cast";
  return null;
}

// ------------------------------------------------------------------------------------------------
// The appliance's result keys (rules/encrypted.rs): form_for, counts_in_rules_order, the check.

const ABSTAIN = "弃权";
const no = (msg) => "该表决办法不能用加密表决：" + msg;

/** form_for: how a vote with `items` items under `rules` (rules.js parseRules) is encrypted:
 *  { type, maxYes (BigInt | null), options (labels | null), toRules: [rules option index | null] };
 *  throws a string saying why not. */
export const MAX_ENCRYPTED_ITEMS = 64;
/** fixed_words: the document's yes and no, by position, are the words the booth shows. */
const fixedWords = (o, withAbstain) =>
  o[0] === "赞成" && (o[1] === "反对" || o[1] === "不赞成") && (!withAbstain || (o.length === 3 && o[2] === ABSTAIN));

export function formFor(rules, items) {
  const n = rules.options.length;
  if (items > MAX_ENCRYPTED_ITEMS) throw no("加密投票每次最多" + MAX_ENCRYPTED_ITEMS + "项，本表决有" + items + "项，请分为几次表决或使用普通投票（an encrypted vote takes at most " + MAX_ENCRYPTED_ITEMS + " items, this one has " + items + ": each ballot and the bundle grow with the items）");
  const abstainLast = fixedWords(rules.options, true);
  const params = rules.params || {};
  if (rules.kind === "motion") {
    if (items !== 1) throw no("加密的表决每次只表决一项议案，请为" + items + "项议案分别建立表决（an encrypted motion has exactly one item, SPEC-E2E §6.4）");
    if (n !== 3 || !abstainLast) throw no("加密表决的选项固定为赞成、反对、弃权（SPEC-E2E §6.4 fixes a motion's options; the document must offer exactly 赞成, 反对 or 不赞成, 弃权 in that order）");
    return { type: "motion", maxYes: null, options: null, toRules: [2, 1, 0] };
  }
  if (rules.kind === "project_selection" && params.form === "per_item") {
    if (n !== 3 || !abstainLast) throw no("逐项票决的选项固定为赞成、不赞成、弃权（SPEC-E2E §6.4 fixes per_item's options; the document must offer exactly 赞成, 不赞成 or 反对, 弃权 in that order）");
    return { type: "per_item", maxYes: BigInt(Math.min(params.max_yes, items)), options: null, toRules: [2, 1, 0] };
  }
  if (rules.kind === "project_selection" && params.form === "approve_up_to_n") {
    if (!(rules.options[0] === "赞成" && (n < 2 || fixedWords(rules.options, false)))) throw no("限额票决的加密选票只有选与不选，办法的第一个选项须为赞成、第二个为不赞成或反对（SPEC-E2E §6.4: approve_up_to_n's 选 counts as the document's 赞成 and 不选 as its 不赞成 or 反对）");
    return { type: "approve_up_to_n", maxYes: BigInt(Math.min(params.max_yes, items)), options: null, toRules: [n >= 2 ? 1 : null, 0] };
  }
  if (rules.kind === "satisfaction") {
    if (n < 3 || n > 4) throw no("满意度测评的加密选票只能有3或4个等次，本办法有" + n + "个（SPEC-E2E §6.4: satisfaction takes 3 or 4 options, this document has " + n + "）");
    return { type: "satisfaction", maxYes: null, options: rules.options.slice(), toRules: rules.options.map((_, i) => i) };
  }
  throw no("unknown 票决 form");
}

/** counts_in_rules_order: decoded counts (per item, encoding order) in the document's order. */
export function countsInRulesOrder(form, options, counts) {
  return counts.map((item) => {
    const out = Array.from({ length: options }, () => 0n);
    item.forEach((c, e) => { const r = form.toRules[e]; if (r !== null && r !== undefined && r < options) out[r] += BigInt(c); });
    return out;
  });
}

/** E2eForm::check_manifest. */
function checkManifest(form, vm, items) {
  if (vm.type !== form.type) return "type: the manifest says " + vm.type + ", the rules document makes it " + form.type;
  if (!sameList(vm.json.items, items)) return "items: the manifest's items are not the vote's, in its order";
  const vmMax = vm.json.max_yes === undefined ? null : BigInt(vm.json.max_yes);
  if (vmMax !== form.maxYes) return "max_yes: the manifest says " + (vmMax ?? "None") + ", the rules document " + (form.maxYes ?? "None");
  if (form.options && !sameList(vm.json.options, form.options)) return "options: the manifest's labels are not the rules document's";
  return null;
}

/** ResultKeys::check plus what result_keys() does around it: { detail } or { error }. */
function checkResultKeys(keys, b) {
  if (b.votes.length !== 1) return { error: "an announced vote's bundle holds exactly one vote" };
  const vote = b.votes[0];
  let sm, vm;
  try { sm = parseSessionManifest(b.manifest); vm = parseVoteManifest(vote.vote_manifest, sm); } catch (e) { return { error: message(e) }; }
  if (keys.result_format !== RESULT_FORMAT) return { error: "result_format: not " + RESULT_FORMAT };
  if (keys.appliance_key !== hex(sm.applianceKey)) return { error: "appliance_key: not the session manifest's appliance key" };
  if (sha256Hex(utf8.encode(keys.rules_document)) !== keys.rules_sha256) return { error: "rules_sha256: not the SHA-256 of rules_document" };
  let document;
  try { document = parseRules(utf8.encode(keys.rules_document)); } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    return { error: "rules_document: " + e.message };
  }
  // The procedure, in ResultKeys::check's order: a manual count refused (it has a plain
  // bundle), then the shape (an empty procedure, a vote linked to itself, a run-off of more
  // seats than candidates are refused), then the effective rules (a run-off's).
  const r = keys.vote_record;
  if (keys.procedure) {
    if (keys.procedure.manual) return { error: "procedure.manual: a manual count has a plain bundle" };
    const shape = procedureShape(keys.procedure, document, r.vote_id, r.items.length);
    if (shape) return { error: shape };
  }
  const effective = procedureRules(keys.procedure, document);
  if (effective.error) return { error: effective.error };
  const rules = effective.rules;
  if (r.kind !== rules.kind) return { error: "vote_record.kind: not the rules document's kind" };
  if (r.mode !== "encrypted") return { error: "vote_record.mode: an encrypted vote's bundle says `encrypted`" };
  if (r.vote_id !== vm.voteId) return { error: "vote_record.vote_id: not the vote manifest's" };
  let form;
  try { form = formFor(rules, r.items.length); } catch (e) { return { error: "vote manifest: " + message(e) }; }
  const bad = checkManifest(form, vm, r.items);
  if (bad) return { error: "vote manifest: " + bad };
  const enabled = BigInt(vote.credentials.length), nCast = BigInt(vote.ballots.length);
  if (r.roll.enabled !== enabled) return { error: "vote_record.roll.enabled: the roll call enables " + enabled };
  if (r.roll.cast !== nCast) return { error: "vote_record.roll.cast: n_cast is " + nCast };
  const f = keys.failed;
  if (f && !vote.result) {
    // A vote declared failed: no counts to re-decide; the declaration itself is checked.
    if (rustTrim(f.reason) === "" || charCount(f.reason) > MAX_FAILED_REASON_CHARS) return { error: "failed.reason: 1 to " + MAX_FAILED_REASON_CHARS + " characters" };
    if (keys.counts.length !== 0) return { error: "counts: a vote declared failed has none" };
    if (keys.outcome !== null) return { error: "outcome: a vote declared failed has none" };
    if (keys.announcement !== failedAnnouncement(r.title, f.reason)) return { error: "announcement: not the declaration of a failed vote with its reason" };
    return { detail: "the vote was declared failed before its decryption (" + f.reason + "): no counts, no outcome", rules, failed: f };
  }
  if (f) return { error: "failed: the vote is declared failed but carries a result" };
  if (!vote.result) return { error: "the vote has no result and is not declared failed" };
  const counts = countsInRulesOrder(form, rules.options.length, vote.result.counts);
  let made;
  try { made = makeCounts(rules, r.items, r.roll, counts); } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    return { error: "decoded counts: " + e.message };
  }
  if (!(counts.length === keys.counts.length && counts.every((row, i) => sameList(row, keys.counts[i])))) {
    return { error: "counts: not the decoded counts in the document's option order" };
  }
  let warnings;
  try { warnings = checkItems(rules, r.items.length); } catch { warnings = []; }
  const outcome = decide(rules, made, warnings);
  const diff = valueDifference(outcome, keys.outcome, "outcome");
  if (diff) return { error: "outcome: the rules engine decides otherwise from these counts (" + diff + ")" };
  if (outcome.announcement !== keys.announcement) return { error: "announcement: not the text the rules engine makes" };
  return { detail: "the rules document (" + keys.rules_sha256.slice(0, 16) + ") re-decided from the decoded counts gives the published outcome", rules, outcome };
}

// ------------------------------------------------------------------------------------------------
// The deputy's tracking code.

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** The tracking code as typed: the short code (16 Crockford symbols, the first 10 bytes of the
 *  tracker; grouping, case, O/I/L as crypto::normalize_code reads them) or the 64-hex tracker.
 *  Returns { prefix: bytes } or { error }. */
export function parseTrackerInput(text) {
  const t = String(text || "").trim();
  const h = t.replace(/\s+/g, "").toLowerCase();
  if (/^[0-9a-f]{64}$/.test(h)) return { prefix: hexToBytes(h, 32) };
  const code = normalizeCode(t);
  if (code === null || code.length !== 16) return { error: "跟踪码应为16个字符（如 Q3MB-7D2K-…，4组各4个），或64位十六进制的完整跟踪码" };
  let x = 0n;
  for (const ch of code) x = (x << 5n) | BigInt(CROCKFORD.indexOf(ch));
  const out = new Uint8Array(10);
  for (let i = 9; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return { prefix: out };
}

// ------------------------------------------------------------------------------------------------
// verify_document.

function failedReport(detail) {
  const checks = [{ name: "parse", ok: false, detail }];
  for (const name of CHECK_NAMES) checks.push({ name, ok: false, detail: "not checked: the bundle does not parse" });
  return { verified: false, complete: true, full: true, failed: checks.map((c) => c.name), pending: [], checks, vote_id: null, title: null,
    bundle_sha256: null, announcement: null, declared_failed: false, votes: [], tracker: null, result: null, timing: {} };
}

const hexOf = (x) => {
  if (x === null || x === undefined || x === "") return null;
  if (x instanceof Uint8Array) return x.length === 32 ? x : null;
  const s = String(x).replace(/\s+/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(s) ? hexToBytes(s, 32) : null;
};

/**
 * Verifies a v2 bundle (bare or in its `piaojue-bundle/2` envelope): bytes (Uint8Array or text).
 * opts: applianceKey / fingerprint (hex or bytes; V14, as --key / --fingerprint), pinned (hex:
 * the key or its fingerprint, whichever it is; V14), hallPresent (V15), tracker (the deputy's
 * tracking code: check `tracker`), previous (the previous bundle's bytes: `chain.previous`),
 * full (default true), onProgress(done, total, phase), pool (the worker's helpers).
 * Returns { verified, complete, failed, pending, checks: [{name, ok, detail}], … }.
 */
export async function verifyV2(input, opts = {}) {
  const t0 = now();
  const report = await verifyParsed(parseDocument(input), opts);
  report.timing.total_ms = Math.round(now() - t0);
  return report;
}

/** verifyV2 on what parseDocument returned (the worker keeps it for a FULL run after FAST). */
export async function verifyParsed(doc, opts = {}) {
  if (doc.error) return failedReport(doc.error);
  const t0 = now();
  const full = opts.full !== false;
  const pool = opts.pool || inlinePool;
  const progress = opts.onProgress || (() => {});
  const b = doc.bundle;
  const acc = new Acc();
  const out = { votes: [], tracker: null, result: null, mh: hex(b.manifest_hash), fingerprint: null, appliance_key: null, timing: {} };
  let sm = null;
  try { sm = parseSessionManifest(b.manifest); } catch (e) {
    acc.fail(1, "session manifest: " + message(e));
    for (let v = 2; v <= CHECK_NAMES.length; v++) acc.fail(v, "not checked: the session manifest is invalid (V1)");
  }
  let nBallots = 0, nSpoiled = 0, nRejected = 0, deferred = 0;
  const perVote = [];
  if (sm) {
    out.appliance_key = hex(sm.applianceKey);
    if (!equalBytes(sm.hash, b.manifest_hash)) acc.fail(1, "manifest_hash is not the SHA-256 of manifest_hex");
    const ids = new Set();
    const vms = b.votes.map((v, vi) => {
      if (ids.has(v.vote_id)) acc.fail(1, "vote_id " + v.vote_id + " repeated");
      ids.add(v.vote_id);
      try {
        const vm = parseVoteManifest(v.vote_manifest, sm);
        if (vm.voteId === v.vote_id) return vm;
        acc.fail(1, "votes[" + vi + "]: vote_id " + v.vote_id + " but its manifest says " + vm.voteId);
      } catch (e) { acc.fail(1, "votes[" + vi + "] (" + v.vote_id + "): " + message(e)); }
      return null;
    });
    if (acc.ok(1)) acc.note(1, "session " + sm.json.election_id + " (T = " + sm.radix + ", n = " + sm.n + ", k = " + sm.k + ") and " + b.votes.length + " vote manifests valid");
    const cer = checkCeremony(b, sm, acc);
    out.fingerprint = cer.fingerprint;
    let key = null;
    try { key = decodePointNotO(b.joint_key, "joint_key"); key = prepareJointKey(b.joint_key); } catch { key = null; }
    out.timing.ceremony_ms = Math.round(now() - t0);
    // V5: every ballot's §7.6 1–6, on the pool (FULL mode only).
    const results = b.votes.map(() => null);
    const total = b.votes.reduce((n, v, vi) => n + (vms[vi] ? v.ballots.length : 0), 0);
    if (full && key && total > 0) {
      const t5 = now();
      let done = 0;
      for (let vi = 0; vi < b.votes.length; vi++) {
        const vm = vms[vi];
        if (!vm) continue;
        const v = b.votes[vi];
        const size = Math.max(1, Math.min(25, Math.ceil(v.ballots.length / (4 * (pool.size || 1)))));
        const payloads = chunks(v.ballots, size).map((ballots) => ({ mh: sm.hash, radix: sm.radix, voteManifest: vm.bytes, K: b.joint_key, ballots }));
        const res = await pool.map("verify", payloads, (i) => { done += payloads[i].ballots.length; progress(done, total, "ballots"); });
        results[vi] = res.flat();
      }
      out.timing.ballots_ms = Math.round(now() - t5);
    }
    const ctx = { sm, cer, key, jointKey: b.joint_key, pool, full, progress, declaredFailed: b.declared_failed };
    for (let vi = 0; vi < b.votes.length; vi++) {
      const v = b.votes[vi];
      const vm = vms[vi];
      if (!vm) {
        for (let c = 5; c <= 16; c++) acc.fail(c, v.vote_id + ": not checked: vote manifest invalid (V1)");
        perVote.push(null);
        continue;
      }
      nBallots += v.ballots.length;
      nSpoiled += v.spoiled.length;
      nRejected += v.rejected.length;
      const r = await checkVote(ctx, v, vm, acc, results[vi]);
      deferred += r.deferred;
      perVote.push(r);
      out.votes.push({ vote_id: v.vote_id, type: vm.type, items: vm.json.items, options: vm.json.options, max_yes: vm.json.max_yes ?? null,
        n_cast: v.ballots.length, enabled: v.credentials.length, cast_count: String(v.cast_count), list_hash: hex(r.lh),
        counts: v.result ? v.result.counts.map((row) => row.map(String)) : null });
    }
    if (!full) {
      if (acc.ok(5)) acc.pending[4] = NOT_YET + ": the proofs and signatures of " + nBallots + " ballots";
      if (deferred && acc.ok(16)) acc.pending[15] = NOT_YET + ": " + deferred + " refused ballot(s) to re-verify";
    }
    // V14: the caller's key or fingerprint, the envelope signature.
    const fp = hexOf(opts.fingerprint), ak = hexOf(opts.applianceKey), pinned = hexOf(opts.pinned);
    const keyFp = sha256(sm.applianceKey);
    if (fp && !equalBytes(fp, keyFp)) acc.fail(14, "the fingerprint given (" + hex(fp) + ") is not that of the manifest's appliance_key (" + hex(keyFp) + ")");
    if (ak && !equalBytes(ak, sm.applianceKey)) acc.fail(14, "the appliance key given (" + hex(ak) + ") is not the manifest's appliance_key (" + hex(sm.applianceKey) + ")");
    if (opts.pinned && !pinned) acc.fail(14, "the key or fingerprint given is not 64 hex digits");
    if (pinned && !equalBytes(pinned, keyFp) && !equalBytes(pinned, sm.applianceKey)) {
      acc.fail(14, "the key or fingerprint given (" + hex(pinned) + ") is neither the manifest's appliance_key (" + hex(sm.applianceKey) + ") nor its fingerprint (" + hex(keyFp) + ")");
    }
    let envNote;
    if (!doc.env) envNote = "bundle signature: n/a (bare bundle, no envelope)";
    else {
      const msg = resultMsg(doc.env.body);
      let good = 0;
      doc.env.sigs.forEach((s, i) => {
        if (s.role !== "appliance") return;
        let pk, sig;
        try { pk = hx(s.public_key, 32, "public_key"); sig = hx(s.signature, 64, "signature"); } catch (e) { acc.fail(14, "envelope signature " + i + ": " + message(e)); return; }
        if (!equalBytes(pk, sm.applianceKey)) { acc.fail(14, "envelope signature " + i + ": not the manifest's appliance key"); return; }
        const e = sigErr(pk, msg, sig);
        if (e) acc.fail(14, "envelope signature " + i + ": " + e);
        else good++;
      });
      if (good === 0) acc.fail(14, "the envelope has no valid appliance signature");
      envNote = "bundle signature valid (" + good + " appliance signature(s) over piaojue/v1/result ‖ body)";
    }
    // V15 procedural.
    let hallNote = "hall comparison: n/a (no --hall-present)";
    const hall = opts.hallPresent === undefined || opts.hallPresent === null || opts.hallPresent === "" ? null : BigInt(opts.hallPresent);
    if (hall !== null) {
      hallNote = "cast_count <= " + hall + " present in the hall";
      for (const v of b.votes) if (v.cast_count > hall) acc.fail(15, v.vote_id + ": cast_count " + v.cast_count + " exceeds the " + hall + " deputies present");
    }
    const nv = b.votes.length;
    acc.note(5, nBallots + " ballots in " + nv + " votes valid");
    acc.note(6, "credentials unique and enabled, every ciphertext A unique");
    acc.note(7, nv + " ballot lists sorted, list hashes and close signatures valid");
    if (b.declared_failed) {
      const na = "not applicable: the vote was declared failed before its decryption (no totals, no result)";
      for (let n = 8; n <= 11; n++) acc.note(n, na);
      acc.note(12, "n_cast < T, n_cast <= enabled; counts " + na);
    } else {
      acc.note(8, "totals equal the aggregation of the ballots");
      acc.note(9, "quorum of k participants, partials from exactly the quorum");
      acc.note(10, "every partial decryption's DLEQ and statement signature valid");
      acc.note(11, "every plaintext total decrypts the combined totals");
      acc.note(12, "n_cast < T, n_cast <= enabled, counts decode");
    }
    acc.note(13, nSpoiled + " spoiled record(s) re-encrypt, none cast");
    acc.note(14, "roll calls signed, sorted, within max_electorate; " + envNote);
    acc.note(15, b.declared_failed ? "n_cast = cast_count not required: the vote was declared failed; " + hallNote
      : "n_cast = cast_count for " + nv + " votes; " + hallNote + "; cast-notice check: procedural, not in the bundle");
    acc.note(16, nRejected + " rejected ballot(s) substantiated");
  }
  const checks = acc.checks();
  const pass = (name, detail) => checks.push({ name, ok: true, detail });
  const fail = (name, detail) => checks.push({ name, ok: false, detail });
  // The appliance's result keys: `rules`, `chain.previous` (bundle.rs result_keys).
  const tree = doc.tree;
  let keys = null;
  if (!(tree instanceof Map) || !tree.has("result_format")) {
    // A declared failure is one of the appliance's result keys: never on its own.
    if (b.declared_failed) fail("rules", "failed: a vote is declared failed only with the appliance's result keys (result_format " + RESULT_FORMAT + ")");
    if (opts.previous) fail("chain.previous", "this bundle has no result keys, so names no previous bundle");
  } else {
    try { keys = readLenient(ResultKeysJ, tree, ""); } catch (e) { fail("rules", "the result keys do not parse: " + message(e)); }
    if (keys) {
      const r = checkResultKeys(keys, b);
      if (r.error) fail("rules", r.error);
      else pass("rules", r.detail);
      out.result = { title: keys.vote_record.title, kind: keys.vote_record.kind, items: keys.vote_record.items, opened_at: keys.vote_record.opened_at,
        closed_at: keys.vote_record.closed_at, demo: keys.demo === true, rules_title: r.rules ? r.rules.title : null,
        options: r.rules ? r.rules.options : null, counts: keys.counts.map((row) => row.map(String)),
        failed: keys.failed ? { reason: keys.failed.reason, declared_at: keys.failed.declared_at } : null,
        procedure: keys.procedure ?? null };
      if (opts.previous) {
        const got = bodySha256Any(opts.previous);
        const want = keys.chain.previous_bundle_sha256;
        if (got === null) fail("chain.previous", "the previous bundle cannot be read");
        else if (want !== null && got === want) pass("chain.previous", "follows " + got);
        else fail("chain.previous", "the previous bundle's body hashes to " + got + ", but this bundle names " + (want ?? "no previous bundle"));
      }
    }
  }
  // The deputy's own tracking code: listed, where.
  if (opts.tracker !== undefined && opts.tracker !== null && String(opts.tracker).trim() !== "") {
    const t = parseTrackerInput(opts.tracker);
    if (t.error) fail("tracker", t.error);
    else {
      const hits = [];
      b.votes.forEach((v, vi) => {
        const r = perVote[vi];
        if (!r) return;
        r.trackers.forEach((tr, i) => {
          if (!equalBytes(tr.subarray(0, t.prefix.length), t.prefix)) return;
          const around = [];
          for (let j = Math.max(0, i - 3); j < Math.min(r.trackers.length, i + 4); j++) around.push({ position: j + 1, tracker: hex(r.trackers[j]), short: shortCode(r.trackers[j]) });
          hits.push({ vote_id: v.vote_id, position: i + 1, n: r.trackers.length, tracker: hex(tr), short: shortCode(tr), around });
        });
      });
      out.tracker = { input: String(opts.tracker).trim(), hits };
      if (hits.length) pass("tracker", hits.map((x) => x.short + " is ballot " + x.position + " of " + x.n + " in " + x.vote_id + " (tracker " + x.tracker + ")").join("; "));
      else fail("tracker", (t.prefix.length === 32 ? hex(t.prefix) : shortCode(concatBytes(t.prefix, new Uint8Array(22)))) + " is not among the " + perVote.reduce((n, r) => n + (r ? r.trackers.length : 0), 0) + " listed ballots");
    }
  }
  const failed = checks.filter((c) => c.ok === false).map((c) => c.name);
  const pending = checks.filter((c) => c.ok === null).map((c) => c.name);
  out.timing.checks_ms = Math.round(now() - t0);
  return {
    verified: failed.length === 0 && pending.length === 0, complete: pending.length === 0, full, failed, pending, checks,
    vote_id: b.votes.length ? b.votes[0].vote_id : null, title: keys ? keys.vote_record.title : null,
    bundle_sha256: sha256Hex(doc.body), announcement: keys ? keys.announcement : null, declared_failed: b.declared_failed, ...out,
  };
}
