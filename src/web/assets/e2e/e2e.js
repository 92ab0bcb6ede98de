// piaojue-e2e-v2, the tablet's cryptography (SPEC-E2E.md). Byte-exact against e2e/vectors.json.
// Pure ES module over the vendored noble libraries: runs in Node 20, in a page and in a Worker.
// Scalars are BigInt in [0, ℓ); points are ristretto255.Point; wire bytes are Uint8Array.
// Every decoder refuses non-canonical input with an E2eError whose `field` names the culprit.
import { ristretto255, ed25519 } from "../vendor/noble-curves/ed25519.js";
import { sha256, sha512 } from "../vendor/noble-hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes as nobleHexToBytes } from "../vendor/noble-hashes/utils.js";

export const PROTO = "piaojue-e2e-v2";
export const Point = ristretto255.Point;
export const G = Point.BASE;
export const O = Point.ZERO;
/** ℓ, the ristretto255 group order. */
export const ELL = Point.Fn.ORDER;

export class E2eError extends Error {
  constructor(field, reason) {
    super(`${field}: ${reason}`);
    this.name = "E2eError";
    this.field = field;
  }
}
export const fail = (field, reason) => {
  throw new E2eError(field, reason);
};

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
export { bytesToHex, concatBytes };

// ------------------------------------------------------------------------------------------------
// §2.4 encodings

/** Strict hex (S7): lowercase [0-9a-f], even length, exactly `len` bytes when given. */
export function hexToBytes(hex, len, field = "hex") {
  if (typeof hex !== "string") fail(field, "expected a hex string");
  if (hex.length % 2 !== 0) fail(field, "odd-length hex");
  if (!/^[0-9a-f]*$/.test(hex)) fail(field, "hex must be lowercase [0-9a-f]");
  if (len !== undefined && hex.length !== 2 * len) fail(field, `expected ${len} bytes, got ${hex.length / 2}`);
  return nobleHexToBytes(hex);
}

export function u64(x, field = "u64") {
  const v = BigInt(x);
  if (v < 0n || v >= 1n << 64n) fail(field, "out of u64 range");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

function u32(n) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

export function bytesToNumberLE(b) {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** x mod ℓ in [0, ℓ). */
export function modL(x) {
  const r = x % ELL;
  return r < 0n ? r + ELL : r;
}

// §2.3 scalars: 32 bytes little-endian, strictly < ℓ; received scalars are never reduced.
export function encodeScalar(x) {
  if (typeof x !== "bigint" || x < 0n || x >= ELL) fail("scalar", "not in [0, ℓ)");
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}
export function decodeScalar(bytes, field = "scalar") {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(field, "a scalar is exactly 32 bytes");
  const x = bytesToNumberLE(bytes);
  if (x >= ELL) fail(field, "non-canonical scalar (≥ ℓ)");
  return x;
}
export const scalarHex = (x) => bytesToHex(encodeScalar(x));
export const decodeScalarHex = (hex, field = "scalar") => decodeScalar(hexToBytes(hex, 32, field), field);
/** Wide reduction of 64 bytes (hash outputs, random scalars). */
export function scalarFromWide(bytes64) {
  if (bytes64.length !== 64) fail("wide scalar", "expected 64 bytes");
  return modL(bytesToNumberLE(bytes64));
}

// §2.2 points: canonical ristretto255, with the explicit bit-255 check (libsodium finding).
export function decodePoint(bytes, field = "point") {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(field, "a point is exactly 32 bytes");
  if (bytes[31] & 0x80) fail(field, "bit 255 set");
  try {
    return Point.fromBytes(bytes);
  } catch {
    return fail(field, "not a canonical ristretto255 encoding");
  }
}
/** Where §2.2 forbids the identity: K, K_ij, D_i, E, and every ciphertext A. */
export function decodePointNotO(bytes, field = "point") {
  const P = decodePoint(bytes, field);
  if (P.is0()) fail(field, "identity not allowed here");
  return P;
}
export const decodePointHex = (hex, field = "point") => decodePoint(hexToBytes(hex, 32, field), field);
export const encodePoint = (P) => P.toBytes();

/** s·P for a secret s (constant-time `multiply`); O for s = 0, which noble refuses. */
export function mulSecret(P, s) {
  s = modL(s);
  return s === 0n ? O : P.multiply(s);
}
/** (s + 1)·P for a secret s, the same constant-time `multiply` whatever s (0 included):
 *  callers take P away once, so s = 0 costs what any s costs. Only s = ℓ − 1, which a secret
 *  drawn at random never is, falls back to −P. */
function mulEvery(P, s) {
  const t = modL(modL(s) + 1n);
  return t === 0n ? P.negate() : P.multiply(t);
}
/** s·P on public data only (vartime). */
export function mulPublic(P, s) {
  return P.multiplyUnsafe(modL(s));
}

// ------------------------------------------------------------------------------------------------
// §3 transcript. The registry (§3.3) fixes each domain's labels, their order and their lengths:
// a number is an exact byte length, "N*" a multiple of N, "text" UTF-8 of any length.
export const DOMAINS = {
  cds: [["ctx", 64], ["label", "text"], ["index", 8], ["pk", 32], ["A", 32], ["B", 32], ["values", "32*"], ["commit", "64*"]],
  dleq: [["ctx", 64], ["label", "text"], ["index", 8], ["g", 32], ["h", 32], ["X", 32], ["Y", 32], ["a", 32], ["b", 32]],
  schnorr: [["ctx", 64], ["label", "text"], ["index", 8], ["X", 32], ["a", 32]],
  nonce: [["secret", 32], ["ctx", 64], ["counter", 8], ["fresh", 32]],
  // Not in §3.3 (no verifier sees it): the hedging ctx before the ciphertexts exist (§4).
  "nonce-ctx": [["manifest", 32], ["vote", "text"], ["vote_manifest", 32], ["cred", 32]],
  "ballot-ctx": [["manifest", 32], ["vote", "text"], ["vote_manifest", 32], ["type", "text"], ["m", 8], ["options", 8],
    ["max_yes", 8], ["radix", 8], ["pk", 32], ["cred", 32], ["ciphertexts", "64*"]],
  ballot: [["vote", "text"], ["cred", 32], ["ciphertexts", "64*"], ["proofs", "64*"]],
  tracker: [["manifest", 32], ["ballot", "text"]],
  "ballot-sig": [["tracker", 32]],
  "cred-derive": [["seed", 32], ["manifest", 32], ["vote", "text"]],
  receipt: [["manifest", 32], ["vote", "text"], ["tracker", 32], ["time", 8]],
  "ballot-list": [["manifest", 32], ["vote", "text"], ["n", 8], ["trackers", "32*"]],
  close: [["manifest", 32], ["vote", "text"], ["list", 32], ["n", 8]],
  "roll-call": [["manifest", 32], ["vote", "text"], ["vote_manifest", 32], ["credentials", "32*"], ["cast", 8]],
  ceremony: [["manifest", 32], ["attempt", 8], ["n", 8], ["k", 8], ["guardians", "32*"], ["participants", "8*"]],
  "dkg-round1": [["ceremony", 64], ["index", 8], ["transport_key", 32], ["transport_pok", 64], ["commitments", "32*"],
    ["coeff_poks", "64*"]],
  "dkg-share": [["from", 8], ["to", 8], ["E", 32], ["D", 32]],
  "dkg-round2": [["ceremony", 64], ["from", 8], ["to", 8], ["blob", 80]],
  "complaint-ctx": [["ceremony", 64], ["from", 8], ["to", 8]],
  "key-announce": [["ceremony", 64], ["pk", 32], ["round1", 32]],
  "decrypt-ctx": [["manifest", 32], ["vote", "text"], ["vote_manifest", 32], ["pk", 32], ["ceremony", 64], ["list", 32],
    ["n", 8], ["guardian", 8], ["Z", 32]],
  decryption: [["ceremony", 64], ["vote", "text"], ["list", 32], ["n", 8], ["totals", "64*"], ["shares", "96*"]],
  "test-drbg": [["seed", "text"], ["counter", 8]],
  "test-key": [["seed", "text"], ["label", "text"], ["i", 8]],
};

const asBytes = (v) => (typeof v === "string" ? utf8.encode(v) : v);
const lp = (b) => concatBytes(u32(b.length), b);

/** T(domain, fields) without the registry check: only for the `hash_to_scalar` vectors. */
export function transcriptRaw(domain, fields) {
  const parts = [lp(utf8.encode(PROTO)), lp(utf8.encode(domain))];
  for (const [label, value] of fields) parts.push(lp(utf8.encode(label)), lp(asBytes(value)));
  return concatBytes(...parts);
}

/** T(domain, [[label, value], …]) checked against §3.3: a missing, extra, reordered or
 *  wrongly sized field is an error, so no challenge can silently omit part of its statement. */
export function transcript(domain, fields) {
  const spec = DOMAINS[domain];
  if (!spec) fail(`transcript ${domain}`, "unknown domain");
  if (!Array.isArray(fields) || fields.length !== spec.length) {
    fail(`transcript ${domain}`, `expected fields ${spec.map((s) => s[0]).join(", ")}`);
  }
  spec.forEach(([label, kind], i) => {
    const [l, v] = fields[i];
    if (l !== label) fail(`transcript ${domain}`, `field ${i} must be ${label}, got ${l}`);
    if (typeof v === "string" && kind === "text") return;
    if (!(v instanceof Uint8Array)) fail(`transcript ${domain}.${label}`, "expected bytes");
    if (typeof kind === "number" && v.length !== kind) fail(`transcript ${domain}.${label}`, `expected ${kind} bytes`);
    if (typeof kind === "string" && kind.endsWith("*") && v.length % Number(kind.slice(0, -1)) !== 0) {
      fail(`transcript ${domain}.${label}`, `length not a multiple of ${kind.slice(0, -1)}`);
    }
  });
  return transcriptRaw(domain, fields);
}
export const hBytes = (domain, fields) => sha512(transcript(domain, fields));
export const hScalar = (domain, fields) => scalarFromWide(hBytes(domain, fields));

// ------------------------------------------------------------------------------------------------
// Randomness. Every prover takes an `rng` with `scalar()`; the order of calls is normative.

/** §11 test DRBG: the i-th scalar is H_scalar("test-drbg", [seed, u64 i]). Tests only. */
export class TestDrbg {
  constructor(seed, counter = 0) {
    this.seed = asBytes(seed);
    this.counter = counter;
  }
  scalar() {
    return hScalar("test-drbg", [["seed", this.seed], ["counter", u64(this.counter++)]]);
  }
}

/** §4 hedged tablet randomness: x = H_scalar("nonce", [hedge key, ctx, counter, 32 CSPRNG bytes]).
 *  The hedge key is the per-vote credential seed; one counter per ballot, never reset, so a ctx
 *  switch (nonce-ctx → ballot ctx) can never repeat an input. */
export class HedgedRng {
  constructor(hedgeKey, ctx) {
    if (!(hedgeKey instanceof Uint8Array) || hedgeKey.length !== 32) fail("hedge key", "expected 32 bytes");
    this.key = hedgeKey;
    this.ctx = ctx;
    this.counter = 0;
  }
  setContext(ctx) {
    this.ctx = ctx;
  }
  scalar() {
    const fresh = crypto.getRandomValues(new Uint8Array(32));
    return hScalar("nonce", [["secret", this.key], ["ctx", this.ctx], ["counter", u64(this.counter++)], ["fresh", fresh]]);
  }
}

// ------------------------------------------------------------------------------------------------
// §4 exponential ElGamal

/** Enc(m; r) = (r·G, m·G + r·K). m·G is computed as (m+1)·G − G so a secret m = 0 takes no
 *  different path. Returns points. */
export function encrypt(K, m, r) {
  if (r === 0n) fail("r", "zero randomness (plaintext ballot)");
  return { A: mulSecret(G, r), B: mulSecret(G, BigInt(m) + 1n).subtract(G).add(mulSecret(K, r)) };
}

/** Joint key for proving: decoded, ≠ O, K.precompute(8, false) once per key (§15). */
const preparedKeys = new Map();
export function prepareJointKey(bytes) {
  const hex = bytesToHex(bytes);
  let K = preparedKeys.get(hex);
  if (!K) {
    K = decodePointNotO(bytes, "joint key K");
    K.precompute(8, false);
    preparedKeys.set(hex, K);
  }
  return K;
}

// ------------------------------------------------------------------------------------------------
// §5 proofs, compact form (c, z). Statements carry points; the transcript re-encodes them.

const enc = (P) => P.toBytes();

function cdsChallenge(ctx, label, index, K, A, B, values, commits) {
  return hScalar("cds", [["ctx", ctx], ["label", label], ["index", u64(index)], ["pk", enc(K)], ["A", enc(A)], ["B", enc(B)],
    ["values", concatBytes(...values.map((v) => encodeScalar(modL(v))))], ["commit", concatBytes(...commits.map(enc))]]);
}

/** §5.1 CDS prover over V = values, witness (j, r). Draws: for i < t, w if i = j else c_i then z_i.
 *  Commitments use fixed bases only (the spec's identity a_i = (z_i − c_i r)·G, …). */
export function proveCds({ ctx, label, index, K, A, B, values, j, r, rng }) {
  const t = values.length;
  if (!(j >= 0 && j < t)) fail("cds", "true index out of range");
  const m = values[j];
  const c = new Array(t);
  const z = new Array(t);
  const commits = [];
  let w;
  for (let i = 0; i < t; i++) {
    // The draws follow the normative order (w on the real branch, c_i then z_i elsewhere);
    // the arithmetic is then the same on every branch, so its work does not point at j:
    // the real branch is the simulated formula with c = 0 and z = w.
    const real = i === j;
    const wi = real ? rng.scalar() : 0n;
    const ci = real ? 0n : rng.scalar();
    const zi = real ? wi : rng.scalar();
    if (real) w = wi;
    else { c[i] = ci; z[i] = zi; }
    const u = modL(zi - ci * r);
    const d = ci * (BigInt(values[i]) - BigInt(m));
    commits.push(mulEvery(G, u).subtract(G), mulEvery(K, u).subtract(K).add(mulEvery(G, d).subtract(G)));
  }
  const ch = cdsChallenge(ctx, label, index, K, A, B, values.map(BigInt), commits);
  let others = 0n;
  for (let i = 0; i < t; i++) if (i !== j) others += c[i];
  c[j] = modL(ch - others);
  z[j] = modL(w + c[j] * r);
  return c.map((ci, i) => [ci, z[i]]);
}

/** §5.1 CDS verifier; proof = [[c_i, z_i]] already decoded canonically. Returns a boolean. */
export function verifyCds({ ctx, label, index, K, A, B, values, proof }) {
  if (proof.length !== values.length) return false;
  const commits = [];
  let sum = 0n;
  proof.forEach(([c, z], i) => {
    commits.push(mulPublic(G, z).subtract(mulPublic(A, c)),
      mulPublic(K, z).subtract(mulPublic(B, c)).add(mulPublic(G, c * BigInt(values[i]))));
    sum += c;
  });
  return modL(sum) === cdsChallenge(ctx, label, index, K, A, B, values.map(BigInt), commits);
}

function dleqChallenge(ctx, label, index, g, h, X, Y, a, b) {
  return hScalar("dleq", [["ctx", ctx], ["label", label], ["index", u64(index)], ["g", enc(g)], ["h", enc(h)],
    ["X", enc(X)], ["Y", enc(Y)], ["a", enc(a)], ["b", enc(b)]]);
}
/** §5.2 DLEQ prover: X = x·g, Y = x·h. One draw (w). */
export function proveDleq({ ctx, label, index, g, h, X, Y, x, rng }) {
  const w = rng.scalar();
  const c = dleqChallenge(ctx, label, index, g, h, X, Y, mulSecret(g, w), mulSecret(h, w));
  return [c, modL(w + c * x)];
}
export function verifyDleq({ ctx, label, index, g, h, X, Y, proof: [c, z] }) {
  const a = mulPublic(g, z).subtract(mulPublic(X, c));
  const b = mulPublic(h, z).subtract(mulPublic(Y, c));
  return c === dleqChallenge(ctx, label, index, g, h, X, Y, a, b);
}

function schnorrChallenge(ctx, label, index, X, a) {
  return hScalar("schnorr", [["ctx", ctx], ["label", label], ["index", u64(index)], ["X", enc(X)], ["a", enc(a)]]);
}
/** §5.3 Schnorr proof of knowledge of x with X = x·G. One draw (w). */
export function proveSchnorr({ ctx, label, index, X, x, rng }) {
  const w = rng.scalar();
  const c = schnorrChallenge(ctx, label, index, X, mulSecret(G, w));
  return [c, modL(w + c * x)];
}
export function verifySchnorr({ ctx, label, index, X, proof: [c, z] }) {
  if (X.is0()) return false;
  return c === schnorrChallenge(ctx, label, index, X, mulPublic(G, z).subtract(mulPublic(X, c)));
}

// ------------------------------------------------------------------------------------------------
// §6.4 manifests: canonical JSON (sorted keys, no whitespace, integers only), re-serialised and
// compared with the received bytes; duplicate keys therefore fail too (the re-serialisation has
// one of them only). The hash is of the received bytes.

const byCodePoint = (a, b) => {
  const x = Array.from(a, (ch) => ch.codePointAt(0));
  const y = Array.from(b, (ch) => ch.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
/** Python json.dumps(x, sort_keys=True, ensure_ascii=False, separators=(",", ":")), integers ≥ 0. */
export function canonicalJson(v) {
  if (v === null || typeof v === "boolean") return JSON.stringify(v);
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) fail("canonical JSON", "only non-negative integers");
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
}

export function parseCanonicalJson(bytes, what = "manifest") {
  let text;
  try {
    text = utf8Strict.decode(bytes);
  } catch {
    return fail(what, "not UTF-8");
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(what, "not JSON");
  }
  let again;
  try {
    again = utf8.encode(canonicalJson(value));
  } catch {
    return fail(what, "not canonical JSON");
  }
  if (!equalBytes(again, bytes)) fail(what, "not canonical JSON (key order, whitespace, duplicates or number form)");
  return value;
}

function exactKeys(obj, required, optional, what) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) fail(what, "expected an object");
  for (const k of Object.keys(obj)) if (!required.includes(k) && !optional.includes(k)) fail(`${what}.${k}`, "unknown key");
  for (const k of required) if (!(k in obj)) fail(`${what}.${k}`, "missing");
}
const isInt = (v) => Number.isSafeInteger(v);

/** §6.4 session manifest: returns { bytes, hash (mh), json, radix, guardianIds, … }. */
export function parseSessionManifest(bytes) {
  const json = parseCanonicalJson(bytes, "session manifest");
  const f = (k) => `session manifest.${k}`;
  exactKeys(json, ["protocol", "election_id", "radix", "max_electorate", "guardians", "credential_officer", "appliance_key",
    "booth_hash"], [], "session manifest");
  if (json.protocol !== PROTO) fail(f("protocol"), `must be ${PROTO}`);
  if (typeof json.election_id !== "string" || !/^[\x20-\x7e]{1,64}$/.test(json.election_id)) fail(f("election_id"), "1–64 ASCII characters");
  const T = json.radix;
  if (!isInt(T) || T < 2 || T > 1 << 15 || (T & (T - 1)) !== 0) fail(f("radix"), "a power of two in [2, 2^15]");
  if (!isInt(json.max_electorate) || json.max_electorate < 1 || json.max_electorate >= T) fail(f("max_electorate"), "1 ≤ max_electorate < radix");
  const g = json.guardians;
  exactKeys(g, ["n", "k", "ids"], [], f("guardians"));
  if (!isInt(g.n) || !isInt(g.k) || g.k < 1 || g.k > g.n || g.n > 255) fail(f("guardians"), "1 ≤ k ≤ n ≤ 255");
  if (!Array.isArray(g.ids) || g.ids.length !== g.n) fail(f("guardians.ids"), "exactly n ids");
  const ids = g.ids.map((h, i) => strictEd25519PublicKey(hexToBytes(h, 32, f(`guardians.ids[${i}]`)), f(`guardians.ids[${i}]`)));
  if (new Set(g.ids).size !== g.n) fail(f("guardians.ids"), "ids must be distinct");
  const co = strictEd25519PublicKey(hexToBytes(json.credential_officer, 32, f("credential_officer")), f("credential_officer"));
  const ak = strictEd25519PublicKey(hexToBytes(json.appliance_key, 32, f("appliance_key")), f("appliance_key"));
  const boothHash = hexToBytes(json.booth_hash, 32, f("booth_hash"));
  return { bytes, hash: sha256(bytes), json, radix: T, maxElectorate: json.max_electorate, n: g.n, k: g.k,
    guardianIds: ids, credentialOfficer: co, applianceKey: ak, boothHash };
}

export const OPTION_LABELS = {
  motion: ["弃权", "反对", "赞成"],
  per_item: ["弃权", "不赞成", "赞成"],
  approve_up_to_n: ["不选", "选"],
};

/** §6.1 plaintext values in encoding order (BigInt): 0, 1, T, T², … (approve: 0, 1). */
export function optionValues(type, L, T) {
  const t = BigInt(T);
  if (type === "approve_up_to_n") return [0n, 1n];
  return [0n, 1n, t, t * t].slice(0, L);
}

const bitlen = (n) => (n === 0 ? 0 : Math.floor(Math.log2(n)) + 1);
/** §6.3 range-proof parameters, or null when the proof is omitted (N ≥ M, or no bound). */
export function rangeParams(type, M, N, T) {
  if ((type !== "per_item" && type !== "approve_up_to_n") || N >= M) return null;
  const by = Math.max(1, bitlen(N));
  const t = BigInt(T);
  if (type === "approve_up_to_n") {
    return { by, bx: 0, weights: Array.from({ length: by }, (_, j) => 1n << BigInt(j)), c0: BigInt(N) };
  }
  const bx = bitlen(M);
  return { by, bx, weights: [...Array.from({ length: by }, (_, j) => t << BigInt(j)), ...Array.from({ length: bx }, (_, j) => -(1n << BigInt(j)))],
    c0: t * BigInt(N) };
}

/** §6.4 vote manifest, checked against its session. */
export function parseVoteManifest(bytes, session) {
  const json = parseCanonicalJson(bytes, "vote manifest");
  const f = (k) => `vote manifest.${k}`;
  const bounded = json.type === "per_item" || json.type === "approve_up_to_n";
  exactKeys(json, ["vote_id", "type", "m", "items", "options", "session", "nonce", ...(bounded ? ["max_yes"] : [])], [], "vote manifest");
  if (typeof json.vote_id !== "string" || !/^[a-z0-9-]{1,64}$/.test(json.vote_id)) fail(f("vote_id"), "must match [a-z0-9-]{1,64}");
  if (!["motion", "per_item", "approve_up_to_n", "satisfaction"].includes(json.type)) fail(f("type"), "unknown type");
  const T = session.radix;
  const M = json.m;
  if (!isInt(M) || M < 1 || M >= T) fail(f("m"), "1 ≤ m < radix");
  // A motion is one question (§6.1, §7.1): the Rust verifier refuses m ≠ 1, so must the booth.
  if (json.type === "motion" && M !== 1) fail(f("m"), "motion has exactly one item");
  if (!Array.isArray(json.items) || json.items.length !== M || !json.items.every((s) => typeof s === "string" && s.length > 0)) {
    fail(f("items"), "exactly m non-empty strings");
  }
  const opts = json.options;
  if (!Array.isArray(opts) || !opts.every((s) => typeof s === "string")) fail(f("options"), "expected strings");
  if (json.type === "satisfaction") {
    if (opts.length < 3 || opts.length > 4 || opts.some((s) => s.length === 0) || new Set(opts).size !== opts.length) {
      fail(f("options"), "3 or 4 distinct non-empty labels");
    }
  } else if (canonicalJson(opts) !== canonicalJson(OPTION_LABELS[json.type])) {
    fail(f("options"), `must be exactly ${OPTION_LABELS[json.type].join(",")}`);
  }
  let N = M;
  if (bounded) {
    N = json.max_yes;
    if (!isInt(N) || N < 0 || N > M) fail(f("max_yes"), "0 ≤ max_yes ≤ m");
  }
  if (json.session !== bytesToHex(session.hash)) fail(f("session"), "does not match the session manifest hash");
  hexToBytes(json.nonce, 16, f("nonce"));
  const L = opts.length;
  return { bytes, hash: sha256(bytes), json, voteId: json.vote_id, type: json.type, m: M, n: N, L, radix: T,
    values: optionValues(json.type, L, T), range: rangeParams(json.type, M, N, T) };
}

// ------------------------------------------------------------------------------------------------
// §7.4 credentials and the one strict Ed25519 rule

/** Per-vote credential: seed = H_bytes("cred-derive", [card seed, mh, vote_id])[0..32]. */
export function deriveCredential(cardSeed, mh, voteId) {
  const seed = hBytes("cred-derive", [["seed", cardSeed], ["manifest", mh], ["vote", voteId]]).slice(0, 32);
  return { seed, publicKey: ed25519.getPublicKey(seed) };
}
export const ed25519PublicKey = (seed) => ed25519.getPublicKey(seed);
export const ed25519Sign = (msg, seed) => ed25519.sign(msg, seed);

const EdPoint = ed25519.Point;
function strictEdPoint(bytes, field) {
  let P;
  try {
    P = EdPoint.fromBytes(bytes, false);
  } catch {
    return fail(field, "not a canonical Ed25519 point");
  }
  if (!equalBytes(P.toBytes(), bytes)) fail(field, "not a canonical Ed25519 point");
  if (P.isSmallOrder()) fail(field, "small-order point");
  if (!P.isTorsionFree()) fail(field, "point not in the prime-order subgroup");
  return P;
}
/** §7.4 rule 2 for a public key on its own (manifest keys): throws, else returns the bytes. */
export function strictEd25519PublicKey(bytes, field = "Ed25519 key") {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) fail(field, "expected 32 bytes");
  strictEdPoint(bytes, field);
  return bytes;
}
/** §7.4: |A| = 32, |sig| = 64; A, R canonical, not small order, torsion-free; S < ℓ;
 *  cofactorless [S]B = R + [k]A. Returns a boolean and never throws on malformed input. */
export function verifyEd25519Strict(publicKey, msg, sig) {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
    const A = strictEdPoint(publicKey, "A");
    const Rb = sig.subarray(0, 32);
    const R = strictEdPoint(Rb, "R");
    const S = bytesToNumberLE(sig.subarray(32));
    if (S >= ELL) return false;
    const k = modL(bytesToNumberLE(sha512(concatBytes(Rb, publicKey, msg))));
    return EdPoint.BASE.multiplyUnsafe(S).equals(R.add(A.multiplyUnsafe(k)));
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------
// §7 ballots. In memory: { voteId, type, credPk, items: [{A, B, proof}], range: null |
// { bits: [{A, B, proof}], link: [c, z] }, sig } with A/B canonical bytes, proof scalars BigInt.

/** §7.2 ballot ctx over the ciphertexts (items then range bits), as bytes. */
export function ballotContext({ mh, vote, K, credPk, ciphertexts }) {
  return hBytes("ballot-ctx", [["manifest", mh], ["vote", vote.voteId], ["vote_manifest", vote.hash], ["type", vote.type],
    ["m", u64(vote.m)], ["options", u64(vote.L)], ["max_yes", u64(vote.n)], ["radix", u64(vote.radix)], ["pk", enc(K)],
    ["cred", credPk], ["ciphertexts", ciphertexts]]);
}

const ciphertextBytes = (b) => concatBytes(...[...b.items, ...(b.range ? b.range.bits : [])].flatMap((c) => [c.A, c.B]));
const proofBytes = (b) => concatBytes(
  ...b.items.flatMap((it) => it.proof.flatMap(([c, z]) => [encodeScalar(c), encodeScalar(z)])),
  ...(b.range ? b.range.bits.flatMap((bit) => bit.proof.flatMap(([c, z]) => [encodeScalar(c), encodeScalar(z)])) : []),
  ...(b.range ? [encodeScalar(b.range.link[0]), encodeScalar(b.range.link[1])] : []));

/** §7.3 canonical ballot bytes T("ballot", …), tracker and the signed message. */
export function ballotBytes(b) {
  return transcript("ballot", [["vote", b.voteId], ["cred", b.credPk], ["ciphertexts", ciphertextBytes(b)], ["proofs", proofBytes(b)]]);
}
export function trackerOf(mh, b) {
  return sha256(transcript("tracker", [["manifest", mh], ["ballot", ballotBytes(b)]]));
}
export const ballotSigMessage = (tracker) => transcript("ballot-sig", [["tracker", tracker]]);

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Crockford base32 of the first 10 bytes (80 bits, big-endian), grouped 4-4-4-4. */
export function shortCode(digest) {
  let x = 0n;
  for (let i = 0; i < 10; i++) x = (x << 8n) | BigInt(digest[i]);
  let s = "";
  for (let i = 15; i >= 0; i--) s += CROCKFORD[Number((x >> BigInt(5 * i)) & 31n)];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12)}`;
}

/** The plaintext values and range bits for `choices` (option indices); refuses anything an
 *  honest booth must not produce (§7.5). */
export function encodeChoices(vote, choices) {
  if (!Array.isArray(choices) || choices.length !== vote.m) fail("choices", `expected ${vote.m} choices`);
  choices.forEach((ch, i) => {
    if (!Number.isInteger(ch) || ch < 0 || ch >= vote.L) fail(`choices[${i}]`, "out of range");
  });
  const values = choices.map((ch) => vote.values[ch]);
  let bits = [];
  const yes = choices.filter((ch) => ch === (vote.type === "approve_up_to_n" ? 1 : 2)).length;
  if ((vote.type === "per_item" || vote.type === "approve_up_to_n") && yes > vote.n) fail("choices", `more than ${vote.n} chosen`);
  if (vote.range) {
    const { by, bx } = vote.range;
    const toBits = (v, n) => Array.from({ length: n }, (_, j) => (v >> j) & 1);
    bits = vote.type === "approve_up_to_n" ? toBits(vote.n - yes, by)
      : [...toBits(vote.n - yes, by), ...toBits(choices.filter((ch) => ch === 1).length, bx)];
  }
  return { values, bits };
}

/** §7.5 the prover. `K` from prepareJointKey; `credSeed` the per-vote credential seed; `rng`
 *  a TestDrbg (vectors) or omitted (hedged CSPRNG, §4). Returns { ballot, tracker, ctx }. */
export function proveBallot({ session, vote, K, credSeed, choices, rng }) {
  const mh = session.hash;
  const credPk = ed25519.getPublicKey(credSeed);
  const { values, bits } = encodeChoices(vote, choices);
  const hedged = !rng;
  if (hedged) {
    rng = new HedgedRng(credSeed, hBytes("nonce-ctx", [["manifest", mh], ["vote", vote.voteId], ["vote_manifest", vote.hash], ["cred", credPk]]));
  }
  // Step 2: r_i for every item, then s_j for every range bit.
  const r = values.map(() => rng.scalar());
  const s = bits.map(() => rng.scalar());
  // Step 3: ciphertexts, then ctx.
  const itemCts = values.map((m, i) => encrypt(K, m, r[i]));
  const bitCts = bits.map((bit, j) => encrypt(K, BigInt(bit), s[j]));
  const ctsBytes = [...itemCts, ...bitCts].map(({ A, B }) => ({ A: enc(A), B: enc(B) }));
  const ctx = ballotContext({ mh, vote, K, credPk, ciphertexts: concatBytes(...ctsBytes.flatMap((c) => [c.A, c.B])) });
  if (hedged) rng.setContext(ctx);
  // Step 4: item CDS, bit CDS, link DLEQ, in this order.
  const items = itemCts.map(({ A, B }, i) => ({ ...ctsBytes[i], proof: proveCds({ ctx, label: "item", index: i, K, A, B,
    values: vote.values, j: choices[i], r: r[i], rng }) }));
  let range = null;
  if (vote.range) {
    const bitsOut = bitCts.map(({ A, B }, j) => ({ ...ctsBytes[vote.m + j], proof: proveCds({ ctx, label: "range-bit", index: j,
      K, A, B, values: [0n, 1n], j: bits[j], r: s[j], rng }) }));
    let rho = r.reduce((acc, x) => acc + x, 0n);
    vote.range.weights.forEach((w, j) => { rho += w * s[j]; });
    rho = modL(rho);
    // X = ρ·G and Y = ρ·K equal the verifier's sums exactly when the relation holds.
    const link = proveDleq({ ctx, label: "range-link", index: 0, g: G, h: K, X: mulSecret(G, rho), Y: mulSecret(K, rho), x: rho, rng });
    range = { bits: bitsOut, link };
  }
  const ballot = { voteId: vote.voteId, type: vote.type, credPk, items, range, sig: null };
  // Step 5: tracker, signature.
  const tracker = trackerOf(mh, ballot);
  ballot.sig = ed25519.sign(ballotSigMessage(tracker), credSeed);
  return { ballot, tracker, ctx, r, s };
}

// §7.1 binary record and JSON view.

export function ballotLength(vote) {
  const nbits = vote.range ? vote.range.weights.length : 0;
  return 32 + 64 * (vote.m + nbits) + 64 * (vote.m * vote.values.length + 2 * nbits + (vote.range ? 1 : 0)) + 64;
}

export function ballotToBinary(b) {
  const cz = ([c, z]) => [encodeScalar(c), encodeScalar(z)];
  return concatBytes(b.credPk, ciphertextBytes(b), ...b.items.flatMap((it) => it.proof.flatMap(cz)),
    ...(b.range ? b.range.bits.flatMap((bit) => bit.proof.flatMap(cz)) : []), ...(b.range ? cz(b.range.link) : []), b.sig);
}

/** Parses a binary record against its vote manifest; every point and scalar is decoded here. */
export function ballotFromBinary(bytes, vote) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== ballotLength(vote)) fail("ballot", `expected ${ballotLength(vote)} bytes`);
  let off = 0;
  const take = (n) => bytes.subarray(off, (off += n));
  const credPk = take(32).slice();
  const nbits = vote.range ? vote.range.weights.length : 0;
  const cts = Array.from({ length: vote.m + nbits }, (_, i) => {
    const field = i < vote.m ? `items[${i}]` : `range.bits[${i - vote.m}]`;
    const A = take(32).slice();
    const B = take(32).slice();
    decodePointNotO(A, `${field}.A`);
    decodePoint(B, `${field}.B`);
    return { A, B };
  });
  const readProof = (t, field) => Array.from({ length: t }, (_, i) => [decodeScalar(take(32), `${field}[${i}].c`), decodeScalar(take(32), `${field}[${i}].z`)]);
  const items = cts.slice(0, vote.m).map((ct, i) => ({ ...ct, proof: readProof(vote.values.length, `items[${i}].proof`) }));
  let range = null;
  if (vote.range) {
    const bits = cts.slice(vote.m).map((ct, j) => ({ ...ct, proof: readProof(2, `range.bits[${j}].proof`) }));
    range = { bits, link: readProof(1, "range.link")[0] };
  }
  const sig = take(64).slice();
  return { voteId: vote.voteId, type: vote.type, credPk, items, range, sig };
}

export function ballotToJson(b) {
  const ct = (c) => ({ A: bytesToHex(c.A), B: bytesToHex(c.B), proof: c.proof.map(([x, y]) => [scalarHex(x), scalarHex(y)]) });
  return { vote_id: b.voteId, type: b.type, cred_pk: bytesToHex(b.credPk), items: b.items.map(ct),
    range: b.range ? { bits: b.range.bits.map(ct), link: b.range.link.map(scalarHex) } : null, sig: bytesToHex(b.sig) };
}

/** Strict JSON view → ballot: exact keys, strict hex, canonical points and scalars, exact counts. */
export function ballotFromJson(obj, vote) {
  exactKeys(obj, ["vote_id", "type", "cred_pk", "items", "range", "sig"], [], "ballot");
  if (obj.vote_id !== vote.voteId) fail("ballot.vote_id", "does not match the vote manifest");
  if (obj.type !== vote.type) fail("ballot.type", "does not match the vote manifest");
  const proofOf = (p, t, field) => {
    if (!Array.isArray(p) || p.length !== t) fail(field, `expected ${t} (c, z) pairs`);
    return p.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) fail(`${field}[${i}]`, "expected [c, z]");
      return [decodeScalarHex(pair[0], `${field}[${i}].c`), decodeScalarHex(pair[1], `${field}[${i}].z`)];
    });
  };
  const ctOf = (c, t, field) => {
    exactKeys(c, ["A", "B", "proof"], [], field);
    const A = hexToBytes(c.A, 32, `${field}.A`);
    const B = hexToBytes(c.B, 32, `${field}.B`);
    decodePointNotO(A, `${field}.A`);
    decodePoint(B, `${field}.B`);
    return { A, B, proof: proofOf(c.proof, t, `${field}.proof`) };
  };
  if (!Array.isArray(obj.items) || obj.items.length !== vote.m) fail("ballot.items", `expected ${vote.m} items`);
  const items = obj.items.map((c, i) => ctOf(c, vote.values.length, `ballot.items[${i}]`));
  let range = null;
  if (vote.range) {
    if (obj.range === null) fail("ballot.range", "required by the vote manifest");
    exactKeys(obj.range, ["bits", "link"], [], "ballot.range");
    const nbits = vote.range.weights.length;
    if (!Array.isArray(obj.range.bits) || obj.range.bits.length !== nbits) fail("ballot.range.bits", `expected ${nbits} bits`);
    range = { bits: obj.range.bits.map((c, j) => ctOf(c, 2, `ballot.range.bits[${j}]`)), link: proofOf([obj.range.link], 1, "ballot.range.link")[0] };
  } else if (obj.range !== null) {
    fail("ballot.range", "must be null for this vote");
  }
  return { voteId: vote.voteId, type: vote.type, credPk: hexToBytes(obj.cred_pk, 32, "ballot.cred_pk"), items, range,
    sig: hexToBytes(obj.sig, 64, "ballot.sig") };
}

/** §7.6 checks 1–6 of one ballot (binary record or parsed ballot). Box-level uniqueness and the
 *  roll call (check 7) need the whole vote and are the caller's. Throws E2eError naming the
 *  failing part; returns { tracker, ballot }. */
export function verifyBallot(input, { session, vote, K }) {
  const b = input instanceof Uint8Array ? ballotFromBinary(input, vote) : input;
  if (b.voteId !== vote.voteId || b.type !== vote.type) fail("ballot", "vote_id/type do not match the vote manifest");
  const nbits = vote.range ? vote.range.weights.length : 0;
  if (b.items.length !== vote.m || (vote.range ? !b.range || b.range.bits.length !== nbits : b.range !== null)) {
    fail("ballot", "shape does not match the vote manifest");
  }
  const pts = (c, field) => ({ A: decodePointNotO(c.A, `${field}.A`), B: decodePoint(c.B, `${field}.B`) });
  const itemPts = b.items.map((c, i) => pts(c, `items[${i}]`));
  const bitPts = b.range ? b.range.bits.map((c, j) => pts(c, `range.bits[${j}]`)) : [];
  const tracker = trackerOf(session.hash, b);
  if (!verifyEd25519Strict(b.credPk, ballotSigMessage(tracker), b.sig)) fail("sig", "strict Ed25519 verification failed");
  const ctx = ballotContext({ mh: session.hash, vote, K, credPk: b.credPk, ciphertexts: ciphertextBytes(b) });
  b.items.forEach((c, i) => {
    if (!verifyCds({ ctx, label: "item", index: i, K, ...itemPts[i], values: vote.values, proof: c.proof })) fail(`items[${i}].proof`, "CDS does not verify");
  });
  if (b.range) {
    b.range.bits.forEach((c, j) => {
      if (!verifyCds({ ctx, label: "range-bit", index: j, K, ...bitPts[j], values: [0n, 1n], proof: c.proof })) fail(`range.bits[${j}].proof`, "CDS does not verify");
    });
    let X = O;
    let Y = O;
    for (const { A, B } of itemPts) {
      X = X.add(A);
      Y = Y.add(B);
    }
    vote.range.weights.forEach((w, j) => {
      X = X.add(mulPublic(bitPts[j].A, w));
      Y = Y.add(mulPublic(bitPts[j].B, w));
    });
    Y = Y.subtract(mulPublic(G, vote.range.c0));
    if (!verifyDleq({ ctx, label: "range-link", index: 0, g: G, h: K, X, Y, proof: b.range.link })) fail("range.link", "DLEQ does not verify");
  }
  return { tracker, ballot: b };
}

/** §12 / V13 audit of a spoiled record {items: [[A, B]], bits, choices, r, s} (hex): exact
 *  lengths, choices in range, r and s canonical and non-zero, everything re-encrypts. */
export function checkSpoiled(rec, { vote, K }) {
  exactKeys(rec, ["tracker", "items", "bits", "choices", "r", "s"], [], "spoiled");
  hexToBytes(rec.tracker, 32, "spoiled.tracker");
  if (!Array.isArray(rec.choices)) fail("spoiled.choices", "expected a list");
  const { values, bits } = encodeChoices(vote, rec.choices);
  const nbits = vote.range ? vote.range.weights.length : 0;
  const list = (v, n, what) => {
    if (!Array.isArray(v) || v.length !== n) fail(`spoiled.${what}`, `expected exactly ${n}`);
    return v;
  };
  const rs = list(rec.r, vote.m, "r").map((h, i) => decodeScalarHex(h, `spoiled.r[${i}]`));
  const ss = list(rec.s, nbits, "s").map((h, j) => decodeScalarHex(h, `spoiled.s[${j}]`));
  const check = (ct, m, x, field) => {
    if (x === 0n) fail(field, "zero randomness");
    if (!Array.isArray(ct) || ct.length !== 2) fail(field, "expected [A, B]");
    const { A, B } = encrypt(K, m, x);
    if (bytesToHex(A.toBytes()) !== ct[0] || bytesToHex(B.toBytes()) !== ct[1]) fail(field, "does not re-encrypt");
  };
  list(rec.items, vote.m, "items").forEach((ct, i) => check(ct, values[i], rs[i], `spoiled.items[${i}]`));
  list(rec.bits, nbits, "bits").forEach((ct, j) => check(ct, BigInt(bits[j]), ss[j], `spoiled.bits[${j}]`));
  return true;
}

// ------------------------------------------------------------------------------------------------
// Vote- and ceremony-level values the tablet checks (§7.3, §8.1, §8.5).

/** §7.3 list hash over trackers that must be strictly increasing. */
export function listHash(mh, voteId, trackers) {
  const less = (x, y) => {
    for (let i = 0; i < 32; i++) if (x[i] !== y[i]) return x[i] < y[i];
    return false;
  };
  trackers.forEach((tr, i) => {
    if (!(tr instanceof Uint8Array) || tr.length !== 32) fail(`trackers[${i}]`, "expected 32 bytes");
    if (i > 0 && !less(trackers[i - 1], tr)) fail(`trackers[${i}]`, "not strictly increasing");
  });
  return sha256(transcript("ballot-list", [["manifest", mh], ["vote", voteId], ["n", u64(trackers.length)], ["trackers", concatBytes(...trackers)]]));
}

/** §8.1 cc. */
export function ceremonyContext({ mh, attempt, n, k, guardianIds, participants }) {
  return hBytes("ceremony", [["manifest", mh], ["attempt", u64(attempt)], ["n", u64(n)], ["k", u64(k)],
    ["guardians", concatBytes(...guardianIds)], ["participants", concatBytes(...participants.map((p) => u64(p)))]]);
}

/** The signed round-1 message (§8.2 step 3) from its JSON form. */
export function round1Message(cc, r1) {
  const pok = (p, field) => concatBytes(encodeScalar(decodeScalarHex(p[0], `${field}.c`)), encodeScalar(decodeScalarHex(p[1], `${field}.z`)));
  return transcript("dkg-round1", [["ceremony", cc], ["index", u64(r1.index)],
    ["transport_key", hexToBytes(r1.transport_key, 32, "round1.transport_key")], ["transport_pok", pok(r1.transport_pok, "round1.transport_pok")],
    ["commitments", concatBytes(...r1.commitments.map((h, j) => hexToBytes(h, 32, `round1.commitments[${j}]`)))],
    ["coeff_poks", concatBytes(...r1.coeff_poks.map((p, j) => pok(p, `round1.coeff_poks[${j}]`)))]]);
}

/** §8.5 the tablet accepts K only if every participant signed the key announcement under the
 *  pinned identity keys, |participants| ≥ k and K = Σ K_{i,0} ≠ O. The Schnorr proofs are
 *  optional on the tablet (`checkProofs`). Returns { K bytes, cc, fingerprint }. */
export function acceptJointKey({ session, ceremony, jointKey, checkProofs = false }) {
  const { attempt, participants, round1, key_sigs: keySigs } = ceremony;
  if (!Number.isSafeInteger(attempt) || attempt < 1) fail("ceremony.attempt", "an integer ≥ 1");
  if (!Array.isArray(participants) || participants.length < session.k) fail("ceremony.participants", "fewer than k");
  participants.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > session.n || (i > 0 && p <= participants[i - 1])) fail("ceremony.participants", "not sorted distinct indices in 1..n");
  });
  const cc = ceremonyContext({ mh: session.hash, attempt, n: session.n, k: session.k, guardianIds: session.guardianIds, participants });
  if (!Array.isArray(round1) || round1.length !== participants.length) fail("ceremony.round1", "one message per participant");
  let K = O;
  const msgs = round1.map((r1, idx) => {
    const i = participants[idx];
    if (r1.index !== i) fail(`ceremony.round1[${idx}].index`, "not in participant order");
    if (!Array.isArray(r1.commitments) || r1.commitments.length !== session.k) fail(`round1[${i}].commitments`, "exactly k");
    const Ks = r1.commitments.map((h, j) => decodePointNotO(hexToBytes(h, 32, `round1[${i}].commitments[${j}]`), `round1[${i}].commitments[${j}]`));
    const D = decodePointNotO(hexToBytes(r1.transport_key, 32, `round1[${i}].transport_key`), `round1[${i}].transport_key`);
    const msg = round1Message(cc, r1);
    if (!verifyEd25519Strict(session.guardianIds[i - 1], msg, hexToBytes(r1.sig, 64, `round1[${i}].sig`))) fail(`round1[${i}].sig`, "strict Ed25519 verification failed");
    if (checkProofs) {
      const pr = (p, f) => [decodeScalarHex(p[0], `${f}.c`), decodeScalarHex(p[1], `${f}.z`)];
      if (!verifySchnorr({ ctx: cc, label: "transport", index: i, X: D, proof: pr(r1.transport_pok, `round1[${i}].transport_pok`) })) fail(`round1[${i}].transport_pok`, "Schnorr does not verify");
      Ks.forEach((Kij, j) => {
        if (!verifySchnorr({ ctx: cc, label: "coeff", index: 256 * i + j, X: Kij, proof: pr(r1.coeff_poks[j], `round1[${i}].coeff_poks[${j}]`) })) fail(`round1[${i}].coeff_poks[${j}]`, "Schnorr does not verify");
      });
    }
    K = K.add(Ks[0]);
    return msg;
  });
  if (K.is0()) fail("joint key", "K = O");
  const Kb = K.toBytes();
  if (!equalBytes(Kb, hexToBytes(jointKey, 32, "joint_key"))) fail("joint_key", "≠ Σ K_{i,0}");
  const announce = transcript("key-announce", [["ceremony", cc], ["pk", Kb], ["round1", sha256(concatBytes(...msgs))]]);
  for (const i of participants) {
    const sig = keySigs?.[String(i)];
    if (typeof sig !== "string") fail(`key_sigs.${i}`, "missing");
    if (!verifyEd25519Strict(session.guardianIds[i - 1], announce, hexToBytes(sig, 64, `key_sigs.${i}`))) fail(`key_sigs.${i}`, "strict Ed25519 verification failed");
  }
  return { K: Kb, cc, fingerprint: shortCode(sha256(announce)) };
}
