// The booth's pure logic (SPEC-E2E §7, §12): what it checks before it shows a ballot, what it
// signs and verifies around a cast, the deputy's choices and the revealed ballot of a 核验.
// No DOM, no network, no storage: runs in Node (tests/js/booth.test.mjs), in the page and in
// the prover worker. Every refusal is a BoothError whose `message` is for the deputy (Chinese)
// and whose `detail` names the failing field for the secretariat.
import * as e from "../e2e/e2e.js";
import { sha256 } from "../vendor/noble-hashes/sha2.js";

export class BoothError extends Error {
  constructor(code, message, detail = "") {
    super(message);
    this.name = "BoothError";
    this.code = code;
    this.detail = detail;
  }
}
const refuse = (code, message, err) => {
  throw new BoothError(code, message, err instanceof Error ? err.message : String(err ?? ""));
};

const hex = e.bytesToHex;

// ------------------------------------------------------------------------------------------------
// Configuration: the session manifest hash as printed on the agenda (64 hex, grouped or not).

/** The typed mh as 64 lowercase hex, or null when it is not one. */
export function normalizeHash(typed) {
  if (typeof typed !== "string") return null;
  const h = typed.toLowerCase().replace(/[\s\-:\u3000]/g, "");
  return /^[0-9a-f]{64}$/.test(h) ? h : null;
}

/** The mh as the agenda prints it: groups of four. */
export function groupedHash(h) {
  return (h.match(/.{1,4}/g) || []).join(" ");
}

/** The appliance's base URL: http(s), no path, query or fragment kept; null if not one. */
export function normalizeBaseUrl(typed) {
  try {
    const u = new URL(String(typed).trim());
    if (u.protocol !== "https:" && u.protocol !== "http:") return null;
    return u.origin;
  } catch {
    return null;
  }
}

/** The officer's notice URL: an absolute http(s) URL, kept as typed (path included). */
export function normalizeNoticeUrl(typed) {
  try {
    const u = new URL(String(typed).trim());
    if (u.protocol !== "https:" && u.protocol !== "http:") return null;
    return u.href;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------------
// Step 1: the session manifest and the joint key.

/** §6.4: the received bytes must hash to the pinned mh, then parse strictly. */
export function checkSessionManifest(bytes, mhHex) {
  const want = normalizeHash(mhHex);
  if (!want) refuse("mh_invalid", "本终端设置的会议清单哈希无效，请联系秘书处重新设置。");
  const got = hex(sha256(bytes));
  if (got !== want) {
    refuse("manifest_mismatch", "表决设备提供的会议清单与印发议程上的哈希不符。请勿在本终端投票，立即告知监票人和大会秘书处。",
      `SHA-256 = ${got}, agenda: ${want}`);
  }
  try {
    return e.parseSessionManifest(bytes);
  } catch (err) {
    return refuse("manifest_invalid", "会议清单格式有误，本终端不能使用。请告知大会秘书处。", err);
  }
}

/** §8.5: the joint key K must be the one the scrutineers (pinned by the manifest) announced,
 *  every proof included. A substituted K is refused here. Returns { K (bytes), fingerprint }. */
export function checkCeremony(session, body) {
  if (!body || typeof body !== "object" || !body.ceremony || typeof body.joint_key !== "string") {
    refuse("ceremony_invalid", "表决设备提供的密钥仪式记录不完整，本终端不能加密选票。请告知监票人。", "ceremony/joint_key missing");
  }
  try {
    const { K, fingerprint } = e.acceptJointKey({ session, ceremony: body.ceremony, jointKey: body.joint_key, checkProofs: true });
    return { K, fingerprint };
  } catch (err) {
    return refuse("joint_key_invalid", "选票加密密钥未通过监票人签名核验，可能已被替换。请勿在本终端投票，立即告知监票人和大会秘书处。", err);
  }
}

// ------------------------------------------------------------------------------------------------
// Step 3: the vote manifest and the CO's roll call.

/** The CO-signed `roll-call` message (§7.4; crates/core e2e::transcript::roll_call_message). */
export function rollCallMessage(mh, vote, credentials, cast) {
  return e.transcript("roll-call", [["manifest", mh], ["vote", vote.voteId], ["vote_manifest", vote.hash],
    ["credentials", e.concatBytes(...credentials)], ["cast", e.u64(cast)]]);
}

/** Parses and checks a roll call as the Rust `RollCall::from_json` + `verify` do: exact keys,
 *  strict hex, credentials strictly increasing, at most max_electorate, signed by the manifest's
 *  CO key. Returns { credentials: hex[], castCount }. */
export function checkRollCall(session, vote, rc) {
  const bad = (why) => refuse("roll_call_invalid", "本次表决的点名名单未通过证件官签名核验。请勿投票，请告知秘书处和监票人。", why);
  if (!rc || typeof rc !== "object" || Array.isArray(rc)) bad("roll call missing");
  const keys = Object.keys(rc).sort().join(",");
  if (keys !== "cast_count,credentials,sig") bad(`roll call keys: ${keys}`);
  if (!Array.isArray(rc.credentials)) bad("credentials: expected an array");
  if (!Number.isSafeInteger(rc.cast_count) || rc.cast_count < 0) bad("cast_count: expected an integer");
  let creds;
  let sig;
  try {
    creds = rc.credentials.map((c, i) => e.hexToBytes(c, 32, `credentials[${i}]`));
    sig = e.hexToBytes(rc.sig, 64, "sig");
  } catch (err) {
    bad(err.message);
  }
  for (let i = 1; i < rc.credentials.length; i++) {
    if (!(rc.credentials[i - 1] < rc.credentials[i])) bad("credentials: not strictly increasing");
  }
  if (creds.length > session.maxElectorate) bad(`credentials: more than max_electorate = ${session.maxElectorate}`);
  const msg = rollCallMessage(session.hash, vote, creds, rc.cast_count);
  if (!e.verifyEd25519Strict(session.credentialOfficer, msg, sig)) bad("sig: strict Ed25519 verification under the CO key failed");
  return { credentials: rc.credentials.slice(), castCount: rc.cast_count };
}

/** The appliance's public record of an encrypted vote (`GET /api/public/e2e/votes/{id}`):
 *  the vote manifest must parse against the session and name this vote, the opening roll call
 *  must verify. Returns { vote, roll }. */
export function checkVoteView(session, view, voteId) {
  if (!view || typeof view.vote_manifest_hex !== "string") refuse("vote_invalid", "表决设备没有提供本次表决的表决清单。", "vote_manifest_hex missing");
  let vote;
  try {
    vote = e.parseVoteManifest(e.hexToBytes(view.vote_manifest_hex, undefined, "vote_manifest_hex"), session);
  } catch (err) {
    return refuse("vote_invalid", "本次表决的表决清单未通过核验（与本次会议不符或格式有误），本终端不能为它投票。请告知秘书处。", err);
  }
  if (voteId !== undefined && vote.voteId !== voteId) {
    refuse("vote_invalid", "表决设备提供的表决清单属于另一次表决。请告知秘书处。", `manifest vote_id ${vote.voteId}, asked for ${voteId}`);
  }
  if (!view.roll_call_open) refuse("roll_call_missing", "本次表决的点名名单尚未公布，请稍候。", "roll_call_open missing");
  const roll = checkRollCall(session, vote, view.roll_call_open);
  return { vote, roll };
}

/** This deputy's per-vote credential (§7.4) and whether the roll call enables it. */
export function credentialFor(cardSeed, session, vote, roll) {
  const cred = e.deriveCredential(cardSeed, session.hash, vote.voteId);
  return { seed: cred.seed, publicKey: cred.publicKey, enabled: roll.credentials.includes(hex(cred.publicKey)) };
}

export const NOT_IN_ROLL_CALL = "本次表决的点名中没有您的凭证，请联系秘书处";

// ------------------------------------------------------------------------------------------------
// Step 4: choices. Encoding order is the manifest's (§6.1); the screen shows the usual order
// (赞成 first). Nothing is pre-selected; every item needs an answer.

/** The options of one item as shown: [{ index (encoding), label }], every item alike. */
export function displayOptions(vote) {
  const o = vote.json.options;
  switch (vote.type) {
    case "motion": return [2, 1, 0].map((i) => ({ index: i, label: o[i] }));
    case "per_item": return [2, 1, 0].map((i) => ({ index: i, label: o[i] }));
    case "approve_up_to_n": return [1, 0].map((i) => ({ index: i, label: o[i] }));
    default: return o.map((label, i) => ({ index: i, label }));
  }
}

/** The option index that a bound counts (赞成 / 选), or null when the vote has no bound. */
export function yesIndex(vote) {
  if (vote.type === "per_item") return 2;
  if (vote.type === "approve_up_to_n") return 1;
  return null;
}

/** The bound N when it restricts anything (N < M), else null. */
export function yesLimit(vote) {
  const y = yesIndex(vote);
  return y !== null && vote.n < vote.m ? vote.n : null;
}

export function emptyChoices(vote) {
  return Array.from({ length: vote.m }, () => null);
}

export const countYes = (vote, choices) => choices.filter((c) => c !== null && c === yesIndex(vote)).length;

/** The message refusing the N+1-th 赞成 (or 选). */
export function limitMessage(vote) {
  const label = vote.json.options[yesIndex(vote)];
  return vote.n === 0
    ? `本次${vote.type === "per_item" ? "票决" : "选举"}不能投「${label}」。`
    : `最多只能对${vote.n}个项目投「${label}」。请先取消一个「${label}」，再选择这一项。`;
}

/** Taps option `index` on item `item`. Tapping the chosen option again clears it (same taps
 *  for every option). Returns { choices (a new array), refused: message | null }. */
export function choose(vote, choices, item, index) {
  if (!Number.isInteger(item) || item < 0 || item >= vote.m) throw new RangeError("item out of range");
  if (!Number.isInteger(index) || index < 0 || index >= vote.L) throw new RangeError("option out of range");
  const next = choices.slice();
  if (next[item] === index) {
    next[item] = null;
    return { choices: next, refused: null };
  }
  const limit = yesLimit(vote);
  if (limit !== null && index === yesIndex(vote) && countYes(vote, choices) >= limit) {
    return { choices: choices.slice(), refused: limitMessage(vote) };
  }
  next[item] = index;
  return { choices: next, refused: null };
}

/** What keeps the choices from being encrypted (null when complete and within the bound). */
export function choiceProblem(vote, choices) {
  if (!Array.isArray(choices) || choices.length !== vote.m) return "选票的项目数不符。";
  const missing = choices.findIndex((c) => c === null || c === undefined);
  if (missing >= 0) return `请对每一项作出选择（第${missing + 1}项尚未选择）。`;
  if (choices.some((c) => !Number.isInteger(c) || c < 0 || c >= vote.L)) return "选择有误。";
  const limit = yesLimit(vote);
  if (limit !== null && countYes(vote, choices) > limit) return limitMessage(vote);
  return null;
}

/** The label of a chosen option, for the summary and the audit page. */
export const choiceLabel = (vote, c) => vote.json.options[c];

// ------------------------------------------------------------------------------------------------
// Step 5: prove (in the worker). r and s are kept for a 核验 only.

/** Encrypts and proves `choices` with the per-vote credential (hedged CSPRNG unless a test
 *  `rng` is given). Returns the JSON view, the tracker and short code, and what a 核验 reveals. */
export function proveForBooth({ session, vote, K, credSeed, choices, rng }) {
  const problem = choiceProblem(vote, choices);
  if (problem) refuse("choices", problem, "choices");
  const Kp = K instanceof Uint8Array ? e.prepareJointKey(K) : K;
  const { ballot, tracker, r, s } = e.proveBallot({ session, vote, K: Kp, credSeed, choices, rng });
  return {
    ballot: e.ballotToJson(ballot),
    tracker: hex(tracker),
    shortCode: e.shortCode(tracker),
    choices: choices.slice(),
    r: r.map(e.scalarHex),
    s: s.map(e.scalarHex),
  };
}

// ------------------------------------------------------------------------------------------------
// Step 6: the receipt and the cast notice.

/** `receipt` = T("receipt", [manifest, vote, tracker, time u64]) (transcript.rs receipt_message). */
export function receiptMessage(mh, voteId, tracker, time) {
  return e.transcript("receipt", [["manifest", mh], ["vote", voteId], ["tracker", tracker], ["time", e.u64(time)]]);
}

/** The appliance's receipt for our ballot: the same vote and tracker, Ed25519 (strict) by the
 *  manifest's appliance key. Returns { tracker, shortCode, time, sig } (hex strings, time a
 *  number); throws BoothError when it is not a valid receipt for this ballot. */
export function checkReceipt(session, voteId, trackerHex, receipt) {
  const bad = (why) => refuse("receipt_invalid", "表决设备的回执无效（签名或内容不符）。请告知监票人。", why);
  if (!receipt || typeof receipt !== "object") bad("not an object");
  if (receipt.vote_id !== voteId) bad(`vote_id ${receipt.vote_id} ≠ ${voteId}`);
  if (receipt.tracker !== trackerHex) bad("tracker is not the one of the ballot sent");
  if (!Number.isSafeInteger(receipt.time) || receipt.time < 0) bad("time: not an integer");
  let tracker;
  let sig;
  try {
    tracker = e.hexToBytes(receipt.tracker, 32, "tracker");
    sig = e.hexToBytes(receipt.sig, 64, "sig");
  } catch (err) {
    bad(err.message);
  }
  if (!e.verifyEd25519Strict(session.applianceKey, receiptMessage(session.hash, voteId, tracker, receipt.time), sig)) {
    bad("sig: strict Ed25519 verification under the appliance key failed");
  }
  const shortCode = e.shortCode(tracker);
  if (receipt.short_code !== undefined && receipt.short_code !== shortCode) bad("short_code does not match the tracker");
  return { tracker: receipt.tracker, shortCode, time: receipt.time, sig: receipt.sig };
}

/** `cast-notice` = T("cast-notice", [manifest (32), vote, tracker (32), time u64, receipt (64)])
 *  (transcript.rs cast_notice_message; not in e2e.js's §3.3 registry, so sized here). */
export function castNoticeMessage(mh, voteId, tracker, time, receiptSig) {
  const sized = (b, n, f) => {
    if (!(b instanceof Uint8Array) || b.length !== n) throw new e.E2eError(`cast-notice.${f}`, `expected ${n} bytes`);
    return b;
  };
  if (typeof voteId !== "string") throw new e.E2eError("cast-notice.vote", "expected text");
  return e.transcriptRaw("cast-notice", [["manifest", sized(mh, 32, "manifest")], ["vote", voteId],
    ["tracker", sized(tracker, 32, "tracker")], ["time", e.u64(time)], ["receipt", sized(receiptSig, 64, "receipt")]]);
}

/** The notice the booth posts to the officer: {vote_id, tracker, time, receipt_sig, cred_pk,
 *  sig}, signed with the per-vote credential. `receipt` as checkReceipt returns it. */
export function makeCastNotice(session, voteId, cred, receipt) {
  const msg = castNoticeMessage(session.hash, voteId, e.hexToBytes(receipt.tracker, 32), receipt.time, e.hexToBytes(receipt.sig, 64));
  return {
    vote_id: voteId,
    tracker: receipt.tracker,
    time: receipt.time,
    receipt_sig: receipt.sig,
    cred_pk: hex(cred.publicKey),
    sig: hex(e.ed25519Sign(msg, cred.seed)),
  };
}

/** The officer's check of a notice (src/officer.rs check_notice), for tests and self-checks. */
export function verifyCastNotice(session, rollCredentials, n) {
  try {
    if (!rollCredentials.includes(n.cred_pk)) return false;
    const tracker = e.hexToBytes(n.tracker, 32);
    const rsig = e.hexToBytes(n.receipt_sig, 64);
    if (!e.verifyEd25519Strict(session.applianceKey, receiptMessage(session.hash, n.vote_id, tracker, n.time), rsig)) return false;
    return e.verifyEd25519Strict(e.hexToBytes(n.cred_pk, 32), castNoticeMessage(session.hash, n.vote_id, tracker, n.time, rsig),
      e.hexToBytes(n.sig, 64));
  } catch {
    return false;
  }
}

/** Why the appliance refused a cast, in the deputy's words. `again`: the deputy may re-vote
 *  (a fresh encryption) on this vote; false when nothing the booth can do would help. */
export function castRefusal(status, body, n = "表决") {
  const code = body?.error || `http_${status}`;
  const msg = String(body?.message || "");
  const ask = "如有疑问，请举手示意会务工作人员。";
  if (code === "ballot_rejected") {
    if (/duplicate-credential/.test(msg)) {
      return { again: false, title: "您已经投过票", text: `表决设备已收到以您的凭证投出的一张选票，每位代表在本次${n}中只能投一次，这次提交未被接受。如果不是您本人投出的，请立即告知监票人和秘书处。` };
    }
    if (/not-enabled/.test(msg)) {
      return { again: false, title: "您的选票未被接受", text: `${NOT_IN_ROLL_CALL}。` };
    }
    return { again: true, title: "您的选票未被接受", text: `表决设备认为这张加密选票无效（${msg}）。请重新投票；如再次被拒，请告知监票人。` };
  }
  if (code === "vote_closed" || code === "vote_not_open") {
    return { again: false, title: "您的选票未能提交", text: `本次${n}已经结束，这张选票没有计入结果。${ask}` };
  }
  if (code === "vote_unknown") return { again: false, title: "您的选票未能提交", text: `表决设备不认识本次${n}。${ask}` };
  if (code === "foreign_origin") {
    return { again: false, title: "您的选票未能提交", text: `表决设备拒绝接收来自本终端的提交（${msg || code}）。请告知会务工作人员检查终端设置。` };
  }
  return { again: true, title: "您的选票未被接受", text: `${msg || "表决设备拒绝了这次提交"}（${code}）。${ask}` };
}

// ------------------------------------------------------------------------------------------------
// Step 7: 核验 (§12). The spoiled record (bundle.rs SpoiledJ: no cred_pk, signature or proofs)
// and the independent device's document (src/guardian.rs audit: piaojue-audit/1).

/** {tracker, items: [[A, B]…], bits: [[A, B]…], choices, r, s}, all hex; what e2e.js's
 *  checkSpoiled and the verifiers' V13 check. */
export function spoiledRecord(proved) {
  const b = proved.ballot;
  return {
    tracker: proved.tracker,
    items: b.items.map((it) => [it.A, it.B]),
    bits: b.range ? b.range.bits.map((it) => [it.A, it.B]) : [],
    choices: proved.choices.slice(),
    r: proved.r.slice(),
    s: proved.s.slice(),
  };
}

/** The document `piaojue scrutineer audit FILE` reads: {format, vote_id, ballot (JSON view),
 *  choices, r, s, shown (the short code the booth showed)}. */
export function auditDocument(proved) {
  return {
    format: "piaojue-audit/1",
    vote_id: proved.ballot.vote_id,
    ballot: proved.ballot,
    choices: proved.choices.slice(),
    r: proved.r.slice(),
    s: proved.s.slice(),
    shown: proved.shortCode,
  };
}

/** The audit file's name: audit-<short code>.json. */
export const auditFileName = (shortCode) => `audit-${shortCode}.json`;

/** What the independent device checks, run here too so the booth never publishes a record
 *  that would not audit (a self-check, not a substitute for the other device). */
export function selfAudit(session, vote, K, proved) {
  const Kp = K instanceof Uint8Array ? e.prepareJointKey(K) : K;
  const parsed = e.ballotFromJson(proved.ballot, vote);
  const { tracker } = e.verifyBallot(parsed, { session, vote, K: Kp });
  if (hex(tracker) !== proved.tracker) throw new e.E2eError("tracker", "not the one shown");
  e.checkSpoiled(spoiledRecord(proved), { vote, K: Kp });
  return true;
}

// ------------------------------------------------------------------------------------------------
// Small helpers.

/** Receipt time (seconds since the epoch, as the appliance signs it) as local HH:MM:SS. */
export function receiptTime(time) {
  const d = new Date(time * 1000);
  const p = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Retry delay for the n-th failed attempt (0-based): 1 s doubling, capped. */
export const backoff = (n, cap = 30000) => Math.min(1000 * 2 ** Math.min(n, 20), cap);
