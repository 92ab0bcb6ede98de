// The verify page's v2 verifier (src/web/assets/e2e/bundle-verify.js) against `piaojue verify`:
// the vectors' tiny election verifies in FULL mode; every tampered copy fails exactly the checks
// the Rust verifier names (tests/data/e2e/tampered-verdicts.json, written by running the CLI on
// each case: PIAOJUE_BIN=… PIAOJUE_WRITE_VERDICTS=1 node --test tests/js/bundle-verify.test.mjs).
// When the binary is there (PIAOJUE_BIN, or target/debug/piaojue) every case is also run
// through it live. Then: FAST mode, the envelope (V14), the deputy's tracking code, and the
// appliance's result keys (`rules`, `chain.previous`) on a one-vote body with a rules document.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { verifyV2, isV2, parseTrackerInput, formFor, countsInRulesOrder, bodySha256Any, RESULT_FORMAT, CHECK_NAMES, failedAnnouncement } from "../../src/web/assets/e2e/bundle-verify.js";
import {
  ed25519Sign, ed25519PublicKey, hBytes, u64, shortCode, bytesToHex, hexToBytes, G, O, modL, TestDrbg, transcript, transcriptRaw, canonicalJson,
  parseSessionManifest, parseVoteManifest, proveSchnorr, proveDleq, proveBallot, ballotToJson, deriveCredential, prepareJointKey, listHash,
  ceremonyContext, scalarHex, concatBytes, mulSecret, encodeScalar, decodePoint,
} from "../../src/web/assets/e2e/e2e.js";
import { sealShare } from "../../src/web/assets/e2e/transport.js";
import { chachaPolyOpen, hkdf32 } from "../../src/web/assets/e2e/bundle-verify.js";
import { sha256 } from "../../src/web/assets/vendor/noble-hashes/sha2.js";
import { parseRules, makeCounts, checkItems, decide, forRunoff } from "../../src/web/assets/rules.js";
import { message, DOMAIN, sha256Hex } from "../../src/web/assets/sig.js";

const root = new URL("../../", import.meta.url).pathname;
const BIN = process.env.PIAOJUE_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "piaojue");
const haveBin = fs.existsSync(BIN);
const VERDICTS = join(root, "tests/data/e2e/tampered-verdicts.json");
const dir = fs.mkdtempSync(join(tmpdir(), "piaojue-bundle-verify-"));
const vectors = JSON.parse(fs.readFileSync(join(root, "crates/core/tests/data/e2e/vectors.json"), "utf8"));
const TINY = vectors.tiny_election;
const tiny = () => structuredClone(TINY.bundle);
const SEED = TINY.drbg_seed_utf8;

/** The §11 test key seed: H_bytes("test-key", [seed, label, u64 i])[0..32]. */
const testKey = (label, i = 0) => hBytes("test-key", [["seed", SEED], ["label", label], ["i", u64(i)]]).slice(0, 32);
const APPLIANCE = testKey("appliance");
const manifestOf = (b) => JSON.parse(Buffer.from(b.manifest_hex, "hex").toString("utf8"));

/** Flips one hex digit (position `at`) of the string at the JSON pointer `ptr`. */
function flip(v, ptr, at) {
  const keys = ptr.split("/").slice(1);
  const last = keys.pop();
  const o = keys.reduce((x, k) => x[k], v);
  const s = o[last];
  o[last] = s.slice(0, at) + (s[at] === "0" ? "1" : "0") + s.slice(at + 1);
}
const edit = (f) => () => { const v = tiny(); f(v); return JSON.stringify(v); };
const b64 = (text) => Buffer.from(text, "utf8").toString("base64");
function envelope(body, seed = APPLIANCE, { tamper = false, key } = {}) {
  const sig = ed25519Sign(message(DOMAIN.result, body), seed);
  if (tamper) sig[0] ^= 1;
  return JSON.stringify({ format: "piaojue-bundle/2", body: b64(body), signatures: [{ role: "appliance", public_key: key || bytesToHex(ed25519PublicKey(seed)), signature: bytesToHex(sig) }] });
}

// ------------------------------------------------------------------------------------------------
// A bundle whose key ceremony was restarted: attempt 1 with guardians 1–3, where guardian 2 sends
// guardian 3 a share that does not match its commitments, guardian 3 complains (S with its DLEQ)
// and the verdict finds 2 faulty; attempt 2 with guardians 1 and 3 (k = 2) completes; one motion
// with six ballots is decrypted by both. Built from the test DRBG with e2e.js's provers and
// transport.js's sealing, so it is the same bytes every run.

function restartBundle(change) {
  const seed = "bundle-verify-restart";
  const key = (label, i) => hBytes("test-key", [["seed", seed], ["label", label], ["i", u64(i)]]).slice(0, 32);
  const rng = new TestDrbg(seed);
  const [n, k] = [3, 2];
  const gseed = [1, 2, 3].map((i) => key("guardian", i));
  const hexs = (b) => bytesToHex(b);
  const smJson = { appliance_key: hexs(ed25519PublicKey(key("appliance", 0))), booth_hash: "ab".repeat(32), credential_officer: hexs(ed25519PublicKey(key("officer", 0))),
    election_id: "restart-test", guardians: { ids: gseed.map((g) => hexs(ed25519PublicKey(g))), k, n }, max_electorate: 100, protocol: "piaojue-e2e-v2", radix: 4096 };
  const sm = parseSessionManifest(new TextEncoder().encode(canonicalJson(smJson)));
  const mh = sm.hash;
  const pair = ([c, z]) => [scalarHex(c), scalarHex(z)];
  const cat = (pr) => concatBytes(encodeScalar(pr[0]), encodeScalar(pr[1]));
  /** One attempt's round 1 and round 2; `bad(i, l)` makes i's share to l wrong. */
  function rounds(attempt, parts, bad = () => false) {
    const cc = ceremonyContext({ mh, attempt, n, k, guardianIds: sm.guardianIds, participants: parts });
    const g = new Map();
    for (const i of parts) {
      const d = rng.scalar();
      const a = Array.from({ length: k }, () => rng.scalar());
      const D = mulSecret(G, d);
      const Ks = a.map((x) => mulSecret(G, x));
      const tp = proveSchnorr({ ctx: cc, label: "transport", index: i, X: D, x: d, rng });
      const cp = a.map((x, j) => proveSchnorr({ ctx: cc, label: "coeff", index: 256 * i + j, X: Ks[j], x, rng }));
      const msg = transcript("dkg-round1", [["ceremony", cc], ["index", u64(i)], ["transport_key", D.toBytes()], ["transport_pok", cat(tp)],
        ["commitments", concatBytes(...Ks.map((K) => K.toBytes()))], ["coeff_poks", concatBytes(...cp.map(cat))]]);
      g.set(i, { d, a, D, Ks, r1: { index: i, transport_key: hexs(D.toBytes()), transport_pok: pair(tp), commitments: Ks.map((K) => hexs(K.toBytes())),
        coeff_poks: cp.map(pair), sig: hexs(ed25519Sign(msg, gseed[i - 1])) }, msg });
    }
    const P = (i, x) => g.get(i).a.reduce((acc, c, j) => modL(acc + c * BigInt(x) ** BigInt(j)), 0n);
    const round2 = {}, round2Sigs = {}, blobs = new Map();
    for (const i of parts) {
      round2[i] = {};
      round2Sigs[i] = {};
      for (const l of parts.filter((x) => x !== i)) {
        const { blob } = sealShare({ cc, from: i, to: l, D: g.get(l).D.toBytes(), share: modL(P(i, l) + (bad(i, l) ? 1n : 0n)), e: rng.scalar() });
        blobs.set(i + "," + l, blob);
        round2[i][l] = hexs(blob);
        round2Sigs[i][l] = hexs(ed25519Sign(transcript("dkg-round2", [["ceremony", cc], ["from", u64(i)], ["to", u64(l)], ["blob", blob]]), gseed[i - 1]));
      }
    }
    const K = parts.reduce((acc, i) => acc.add(g.get(i).Ks[0]), O);
    const announce = transcript("key-announce", [["ceremony", cc], ["pk", K.toBytes()], ["round1", sha256(concatBytes(...parts.map((i) => g.get(i).msg)))]]);
    const sign = (i) => hexs(ed25519Sign(announce, gseed[i - 1]));
    return { cc, g, P, round2, round2Sigs, blobs, K, sign, round1: parts.map((i) => g.get(i).r1) };
  }
  // Attempt 1: 2 → 3 is bad; 3 complains; 1 had announced.
  const a1 = rounds(1, [1, 2, 3], (i, l) => i === 2 && l === 3);
  const E = a1.blobs.get("2,3").subarray(0, 32);
  const S = mulSecret(decodePoint(E), a1.g.get(3).d).toBytes();
  const cctx = hBytes("complaint-ctx", [["ceremony", a1.cc], ["from", u64(2)], ["to", u64(3)]]);
  const proof = proveDleq({ ctx: cctx, label: "complaint", index: 0, g: G, h: decodePoint(E), X: a1.g.get(3).D, Y: decodePoint(S), x: a1.g.get(3).d, rng });
  const csig = ed25519Sign(transcriptRaw("dkg-complaint", [["ceremony", a1.cc], ["from", u64(2)], ["to", u64(3)], ["S", S], ["proof", cat(proof)]]), gseed[2]);
  const reason = "complaint 2→3: share does not match the commitments: sender faulty (guardian 2)";
  const aborted = [{ attempt: 1, participants: [1, 2, 3], round1: a1.round1, round2: a1.round2, round2_sigs: a1.round2Sigs, key_sigs: { 1: a1.sign(1) },
    complaints: [{ from: 2, to: 3, S: hexs(S), proof: pair(proof), sig: hexs(csig) }],
    verdicts: [{ from: 2, to: 3, faulty: 2, reason: "share does not match the commitments: sender faulty" }], reason }];
  // Attempt 2: guardians 1 and 3.
  const parts = [1, 3];
  const a2 = rounds(2, parts);
  const ceremony = { round1: a2.round1, round2: a2.round2, round2_sigs: a2.round2Sigs, complaints: [], key_sigs: { 1: a2.sign(1), 3: a2.sign(3) },
    attempt: 2, participants: parts, aborted };
  const Kb = a2.K.toBytes();
  const z = (l) => parts.reduce((acc, i) => modL(acc + a2.P(i, l)), 0n);
  // One motion, six ballots.
  const vmJson = { items: ["关于重新开始的密钥仪式的议案"], m: 1, nonce: "0f".repeat(16), options: ["弃权", "反对", "赞成"], session: hexs(mh), type: "motion", vote_id: "m1" };
  const vote = parseVoteManifest(new TextEncoder().encode(canonicalJson(vmJson)), sm);
  const Kp = prepareJointKey(Kb);
  const choices = [2, 2, 1, 0, 2, 2];
  const ballots = choices.map((c, x) => {
    const cred = deriveCredential(key("cred", x), mh, vote.voteId);
    const { ballot, tracker } = proveBallot({ session: sm, vote, K: Kp, credSeed: cred.seed, choices: [c], rng });
    return { json: ballotToJson(ballot), tracker, cred: cred.publicKey, ballot };
  }).sort((x, y) => (hexs(x.tracker) < hexs(y.tracker) ? -1 : 1));
  const nb = ballots.length;
  const lh = listHash(mh, vote.voteId, ballots.map((b) => b.tracker));
  const creds = ballots.map((b) => b.cred).sort((x, y) => (hexs(x) < hexs(y) ? -1 : 1));
  const rollSig = ed25519Sign(transcript("roll-call", [["manifest", mh], ["vote", vote.voteId], ["vote_manifest", vote.hash], ["credentials", concatBytes(...creds)], ["cast", u64(nb)]]), key("officer", 0));
  const closeSig = ed25519Sign(transcript("close", [["manifest", mh], ["vote", vote.voteId], ["list", lh], ["n", u64(nb)]]), key("appliance", 0));
  let A = O, B = O;
  for (const b of ballots) { A = A.add(decodePoint(b.ballot.items[0].A)); B = B.add(decodePoint(b.ballot.items[0].B)); }
  const totals = concatBytes(A.toBytes(), B.toBytes());
  const partials = parts.map((l) => {
    const zl = z(l);
    const Z = mulSecret(G, zl);
    const dctx = hBytes("decrypt-ctx", [["manifest", mh], ["vote", vote.voteId], ["vote_manifest", vote.hash], ["pk", Kb], ["ceremony", a2.cc], ["list", lh],
      ["n", u64(nb)], ["guardian", u64(l)], ["Z", Z.toBytes()]]);
    const M = mulSecret(A, zl);
    const pr = proveDleq({ ctx: dctx, label: "partial", index: 0, g: G, h: A, X: Z, Y: M, x: zl, rng });
    const shares = concatBytes(M.toBytes(), cat(pr));
    const sig = ed25519Sign(transcript("decryption", [["ceremony", a2.cc], ["vote", vote.voteId], ["list", lh], ["n", u64(nb)], ["totals", totals], ["shares", shares]]), gseed[l - 1]);
    return { guardian: l, shares: [{ M: hexs(M.toBytes()), proof: pair(pr) }], sig: hexs(sig) };
  });
  const counts = [0, 1, 2].map((o) => choices.filter((c) => c === o).length);
  const bundle = {
    manifest_hex: hexs(sm.bytes), manifest_hash: hexs(mh), ceremony, joint_key: hexs(Kb),
    votes: [{ vote_id: vote.voteId, vote_manifest_hex: hexs(vote.bytes), roll_call: { credentials: creds.map(hexs), cast_count: nb, sig: hexs(rollSig) },
      ballots: ballots.map((b) => b.json), list_hash: hexs(lh), close_sig: hexs(closeSig), spoiled: [], rejected: [],
      result: { totals: [{ A: hexs(A.toBytes()), B: hexs(B.toBytes()) }], partials, quorum: parts, plaintext_totals: [counts[1] + 4096 * counts[2]], counts: [counts] } }],
  };
  if (change) change(bundle);
  return JSON.stringify(bundle);
}
const restart = (change) => () => restartBundle(change);

// Every case: a name, the bundle text, and the CLI's options (hall: --hall-present, key: --key).
const b0 = () => tiny().votes[0].ballots[0];
const CASES = [
  ["tiny election", () => JSON.stringify(tiny())],
  ["manifest hash", edit((v) => flip(v, "/manifest_hash", 0))],
  ["vote manifest byte", edit((v) => flip(v, "/votes/2/vote_manifest_hex", 3))],
  ["round-1 signature", edit((v) => flip(v, "/ceremony/round1/0/sig", 4))],
  ["round-2 signature", edit((v) => flip(v, "/ceremony/round2_sigs/2/3", 4))],
  ["attempt 2 without an aborted record", edit((v) => { v.ceremony.attempt = 2; })],
  ["transport proof scalar", edit((v) => flip(v, "/ceremony/round1/1/transport_pok/1", 2))],
  ["coefficient proof scalar", edit((v) => flip(v, "/ceremony/round1/2/coeff_poks/1/0", 2))],
  ["round-2 blob's E", edit((v) => flip(v, "/ceremony/round2/1/3", 1))],
  ["a complaint in the final attempt", edit((v) => { v.ceremony.complaints = [{ from: 1 }]; })],
  ["key announcement signature", edit((v) => flip(v, "/ceremony/key_sigs/2", 6))],
  ["joint key", edit((v) => { v.joint_key = v.ceremony.round1[0].commitments[0]; })],
  ["an aborted record that does not replay", edit((v) => { v.ceremony.attempt = 2; v.ceremony.aborted = [{ attempt: 1, participants: [1, 2, 3], round1: [], round2: {}, round2_sigs: {}, key_sigs: {}, complaints: [], verdicts: [], reason: "x" }]; })],
  ["an aborted record with an unknown field", edit((v) => { v.ceremony.attempt = 2; v.ceremony.aborted = [{ attempt: 1, oops: true }]; })],
  ["one ciphertext", edit((v) => flip(v, "/votes/1/ballots/2/items/1/B", 5))],
  ["one proof scalar", edit((v) => flip(v, "/votes/0/ballots/0/items/0/proof/1/1", 3))],
  ["a ballot signature", edit((v) => flip(v, "/votes/3/ballots/4/sig", 9))],
  ["a range link", edit((v) => flip(v, "/votes/2/ballots/1/range/link/0", 2))],
  ["a range bit ciphertext", edit((v) => flip(v, "/votes/1/ballots/0/range/bits/0/A", 7))],
  ["a ballot listed twice", edit((v) => { v.votes[0].ballots.splice(1, 0, structuredClone(v.votes[0].ballots[0])); })],
  ["the list order", edit((v) => { const l = v.votes[1].ballots; [l[0], l[1]] = [l[1], l[0]]; })],
  ["the list hash", edit((v) => flip(v, "/votes/1/list_hash", 0))],
  ["the close signature", edit((v) => flip(v, "/votes/3/close_sig", 7))],
  ["a published total", edit((v) => { v.votes[0].result.totals[0].B = v.votes[0].result.totals[0].A; })],
  ["the quorum", edit((v) => { v.votes[0].result.quorum = [1, 2]; })],
  ["a quorum of one", edit((v) => { v.votes[0].result.quorum = [1]; })],
  ["a partial decryption", edit((v) => { v.votes[1].result.partials[1].shares[2].M = v.votes[1].result.partials[0].shares[2].M; })],
  ["a partial's proof", edit((v) => flip(v, "/votes/2/result/partials/0/shares/0/proof/1", 1))],
  ["a partial's signature", edit((v) => flip(v, "/votes/3/result/partials/1/sig", 1))],
  ["a plaintext total", edit((v) => { v.votes[0].result.plaintext_totals[0] += 1; })],
  ["a count", edit((v) => { v.votes[1].result.counts[0][0] += 1; })],
  ["counts moved between options", edit((v) => { const c = v.votes[0].result.counts[0]; c[0] += 1; c[2] -= 1; })],
  ["a spoiled record's r", edit((v) => flip(v, "/votes/0/spoiled/0/r/0", 2))],
  ["a spoiled record's choice", edit((v) => { v.votes[3].spoiled[0].choices[0] = 0; })],
  ["a spoiled record's bit", edit((v) => flip(v, "/votes/1/spoiled/0/bits/0/1", 2))],
  ["a cast ballot's tracker as spoiled", edit((v) => { v.votes[0].spoiled[0].tracker = TINY.trackers["v1-motion"][0]; })],
  ["a roll-call entry", edit((v) => flip(v, "/votes/0/roll_call/credentials/2", 5))],
  ["the roll-call signature", edit((v) => flip(v, "/votes/0/roll_call/sig", 3))],
  ["an unsorted roll call", edit((v) => { const c = v.votes[2].roll_call.credentials; [c[0], c[1]] = [c[1], c[0]]; })],
  ["the cast count", edit((v) => { v.votes[0].roll_call.cast_count = 4; })],
  ["fewer present in the hall than cast", () => JSON.stringify(tiny()), { hall: 4 }],
  ["as many present in the hall as cast", () => JSON.stringify(tiny()), { hall: 5 }],
  ["a foreign appliance key pinned", () => JSON.stringify(tiny()), { key: "07".repeat(32) }],
  ["the manifest's appliance key pinned", () => JSON.stringify(tiny()), { key: manifestOf(TINY.bundle).appliance_key }],
  ...["invalid", "not-enabled", "whatever"].map((reason) => ["a valid ballot refused as " + reason, edit((v) => { v.votes[0].rejected = [{ reason, ballot: b0() }]; })]),
  ["substantiated refusals", edit((v) => {
    const bad = structuredClone(b0());
    flip(bad, "/items/0/proof/0/0", 2);
    v.votes[0].rejected = [{ reason: "invalid", ballot: bad }, { reason: "invalid", ballot: { nonsense: true } }, { reason: "duplicate-credential", ballot: b0() }, { reason: "late", ballot: {} }];
  })],
  ["an envelope signed by the appliance key", () => envelope(JSON.stringify(tiny()))],
  ["an envelope whose signature is flipped", () => envelope(JSON.stringify(tiny()), APPLIANCE, { tamper: true })],
  ["an envelope signed by another key", () => envelope(JSON.stringify(tiny()), testKey("appliance", 1))],
  ["an envelope of another format", () => JSON.stringify({ format: "piaojue-bundle/3", body: b64(JSON.stringify(tiny())), signatures: [] })],
  ["an envelope with bad base64", () => JSON.stringify({ format: "piaojue-bundle/2", body: "!!", signatures: [] })],
  ["an extra top-level key", edit((v) => { v.comment = "hello"; })],
  // The restarted ceremony: its aborted attempt replays and its verdict is recomputed.
  ["a restarted ceremony", restart()],
  ["a restart: the verdict blames the complainer", restart((b) => { b.ceremony.aborted[0].verdicts[0].faulty = 3; })],
  ["a restart: the verdict's reason", restart((b) => { b.ceremony.aborted[0].verdicts[0].reason = "share is valid: complainer faulty"; })],
  ["a restart: no verdict recorded", restart((b) => { b.ceremony.aborted[0].verdicts = []; })],
  ["a restart: the complaint removed", restart((b) => { b.ceremony.aborted[0].complaints = []; b.ceremony.aborted[0].verdicts = []; })],
  ["a restart: the complaint's S", restart((b) => flip(b, "/ceremony/aborted/0/complaints/0/S", 3))],
  ["a restart: the complaint's signature", restart((b) => flip(b, "/ceremony/aborted/0/complaints/0/sig", 3))],
  ["a restart: the faulty guardian kept", restart((b) => { b.ceremony.aborted[0].reason = "x"; b.ceremony.participants = [1, 2]; })],
  ["a restart: no reason", restart((b) => { b.ceremony.aborted[0].reason = " "; })],
  ["a restart: an aborted round-1 signature", restart((b) => flip(b, "/ceremony/aborted/0/round1/1/sig", 5))],
  ["a restart: an aborted blob", restart((b) => flip(b, "/ceremony/aborted/0/round2/1/2", 70))],
  ["a restart: the aborted record's attempt", restart((b) => { b.ceremony.aborted[0].attempt = 2; })],
  ["a restart: the aborted announcement", restart((b) => flip(b, "/ceremony/aborted/0/key_sigs/1", 9))],
  ["a restart: a verdict written 2.0", () => restartBundle().replace('"faulty":2,', '"faulty":2.0,')],
  // Hostile JSON: each a parse failure, as in crates/core/tests/e2e_bundle.rs.
  ["truncated", () => JSON.stringify(tiny()).slice(0, 1000)],
  ["attempt as a string", edit((v) => { v.ceremony.attempt = "1"; })],
  ["attempt negative", edit((v) => { v.ceremony.attempt = -1; })],
  ["attempt a fraction", edit((v) => { v.ceremony.attempt = 1.5; })],
  ["attempt written 1.0", () => JSON.stringify(tiny()).replace('"attempt":1,', '"attempt":1.0,')],
  ["cast count above u64", () => JSON.stringify(tiny()).replace('"cast_count":5', '"cast_count":18446744073709551616')],
  ["a count of 1e400", () => JSON.stringify(tiny()).replace('"counts":[[1,1,3]]', '"counts":[[1e400,1,3]]')],
  ["upper-case joint key", edit((v) => { v.joint_key = v.joint_key.toUpperCase(); })],
  ["upper-case ciphertext", edit((v) => { v.votes[1].ballots[0].items[0].A = v.votes[1].ballots[0].items[0].A.toUpperCase(); })],
  ["a short list hash", edit((v) => { v.votes[0].list_hash = "00"; })],
  ["an unknown ballot field", edit((v) => { v.votes[0].ballots[0].extra = 1; })],
  ["votes as a map", edit((v) => { v.votes = {}; })],
  ["a round-2 key 01", edit((v) => { v.ceremony.round2["01"] = {}; })],
  ["a one-element proof pair", edit((v) => { v.ceremony.round1[0].transport_pok = ["00"]; })],
  ["no manifest hash", edit((v) => { delete v.manifest_hash; })],
  ["a duplicate joint_key", () => JSON.stringify(tiny()).replace('"joint_key":', '"joint_key":"00","joint_key":')],
  ["a duplicate unknown top-level key", () => JSON.stringify(tiny()).replace('"joint_key":', '"x":1,"x":2,"joint_key":')],
  ["an extra key nested 126 deep", () => JSON.stringify(tiny()).replace(/}$/, ',"deep":' + "[".repeat(126) + "]".repeat(126) + "}")],
  ["an extra key nested 127 deep", () => JSON.stringify(tiny()).replace(/}$/, ',"deep":' + "[".repeat(127) + "]".repeat(127) + "}")],
  ["a vote nested too deep", edit((v) => { let x = []; for (let i = 0; i < 124; i++) x = [x]; v.votes[0].rejected = [{ reason: "late", ballot: x }]; })],
  ["null", () => "null"],
  ["an empty object", () => "{}"],
  ["not UTF-8", () => Buffer.from([0xff, 0xfe])],
  ["an envelope with nothing in it", () => '{"format":"piaojue-bundle/2"}'],
];

/** The CLI's verdict: the failing check names, in report order. */
function rustFailed(text, opts = {}) {
  const file = join(dir, "case.json");
  fs.writeFileSync(file, text);
  const args = ["verify", file, "--json"];
  if (opts.hall !== undefined) args.push("--hall-present", String(opts.hall));
  if (opts.key) args.push("--key", opts.key);
  const r = spawnSync(BIN, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  // Not a v2 bundle (bundle::is_v2): the CLI hands it to the plain verifier, which wants a key.
  if (r.status === 2 && /pin the appliance key/.test(r.stderr)) return null;
  assert.ok(r.status === 0 || r.status === 1, "piaojue verify: " + r.stderr);
  return JSON.parse(r.stdout).checks.filter((c) => !c.ok).map((c) => c.name);
}
/** The live CLI's detail of check `name`. */
function rustDetail(text, name) {
  const file = join(dir, "case.json");
  fs.writeFileSync(file, text);
  const r = spawnSync(BIN, ["verify", file, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.ok(r.status === 0 || r.status === 1, "piaojue verify: " + r.stderr);
  return JSON.parse(r.stdout).checks.find((c) => c.name === name).detail;
}
const jsFailed = (r) => r.checks.filter((c) => c.ok !== true).map((c) => c.name);
const optsOf = (o = {}) => ({ full: true, hallPresent: o.hall, applianceKey: o.key });

if (haveBin && process.env.PIAOJUE_WRITE_VERDICTS) {
  const out = {
    "//": "Failing checks per tampered copy of the vectors' tiny_election.bundle, as `piaojue verify FILE --json` reports them; written by tests/js/bundle-verify.test.mjs (PIAOJUE_WRITE_VERDICTS=1). v2: false marks input that bundle::is_v2 does not take for a v2 bundle (the CLI hands it to the plain verifier); verify_document itself would fail it as `parse`.",
    cases: {},
  };
  for (const [name, make, opts] of CASES) {
    const failed = rustFailed(make(), opts);
    out.cases[name] = failed === null ? { options: opts || {}, v2: false } : { options: opts || {}, failed };
  }
  fs.writeFileSync(VERDICTS, JSON.stringify(out, null, 1) + "\n");
}
const recorded = JSON.parse(fs.readFileSync(VERDICTS, "utf8")).cases;

test("the tiny election verifies in FULL mode: V1–V16, every one ok", async () => {
  const r = await verifyV2(JSON.stringify(tiny()), { full: true });
  assert.deepEqual(r.checks.map((c) => c.name), CHECK_NAMES);
  assert.ok(r.checks.every((c) => c.ok === true), JSON.stringify(r.checks.filter((c) => c.ok !== true)));
  assert.equal(r.verified, true);
  assert.equal(r.complete, true);
  assert.match(r.checks[13].detail, /n\/a/);
  assert.match(r.checks[3].detail, new RegExp(TINY.key_fingerprint));
  assert.equal(r.fingerprint, TINY.key_fingerprint);
});

test("every tampered copy fails exactly the checks the Rust verifier names", async () => {
  const names = new Set(CASES.map((c) => c[0]));
  for (const name of Object.keys(recorded)) assert.ok(names.has(name), "a recorded case without a test: " + name);
  for (const [name, make, opts] of CASES) {
    assert.ok(recorded[name], "no recorded Rust verdict for " + name);
    const text = make();
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : new Uint8Array(text);
    const r = await verifyV2(bytes, optsOf(opts));
    const got = jsFailed(r);
    if (recorded[name].v2 === false) {
      assert.equal(isV2(bytes), false, name + " is not a v2 bundle");
      assert.deepEqual(got, ["parse", ...CHECK_NAMES], name);
      if (haveBin) assert.equal(rustFailed(text, opts), null, name + " (live CLI)");
      continue;
    }
    assert.ok(isV2(bytes), name + " is a v2 bundle");
    assert.deepEqual(got, recorded[name].failed, name + ": " + JSON.stringify(r.checks.filter((c) => c.ok !== true)));
    if (haveBin) assert.deepEqual(rustFailed(text, opts), got, name + " (live CLI)");
  }
});

test("the cases the brief names fail under the Rust verifier's names", () => {
  const has = (name, check) => assert.ok(recorded[name].failed.includes(check), name + " fails " + check + ": " + recorded[name].failed);
  has("one ciphertext", "V5");
  has("one proof scalar", "V5");
  has("a partial decryption", "V10");
  has("the quorum", "V9");
  has("a roll-call entry", "V14");
  has("the list order", "V7");
  has("a count", "V12");
  assert.deepEqual(recorded["tiny election"].failed, []);
  assert.deepEqual(recorded["substantiated refusals"].failed, []);
  assert.deepEqual(recorded["an envelope signed by the appliance key"].failed, []);
  assert.deepEqual(recorded["an envelope whose signature is flipped"].failed, ["V14"]);
  assert.deepEqual(recorded["fewer present in the hall than cast"].failed, ["V15"]);
  assert.equal(recorded["truncated"].v2, false);
  assert.equal(recorded["attempt a fraction"].failed[0], "parse");
});

test("the share transport's opening (HKDF-SHA256, ChaCha20-Poly1305) opens what transport.js seals", () => {
  const cc = hBytes("test-key", [["seed", "cc"], ["label", "x"], ["i", u64(0)]]);
  for (let t = 1; t < 20; t++) {
    const d = modL(BigInt(t) * 0x1234567890abcdefn + 7n), e = modL(BigInt(t) * 0xfedcba987654321n + 3n);
    const D = mulSecret(G, d).toBytes();
    const { blob, info, key } = sealShare({ cc, from: t, to: t + 1, D, share: BigInt(t * 1000), e });
    assert.deepEqual(hkdf32(cc, mulSecret(decodePoint(blob.subarray(0, 32)), d).toBytes(), info), key);
    assert.deepEqual(chachaPolyOpen(key, new Uint8Array(12), info, blob.subarray(32)), encodeScalar(BigInt(t * 1000)));
    const bad = blob.slice(32);
    bad[t] ^= 1;
    assert.throws(() => chachaPolyOpen(key, new Uint8Array(12), info, bad));
  }
});

test("a restarted key ceremony verifies: the aborted attempt replays, the complaint is re-judged", async () => {
  const r = await verifyV2(restartBundle(), { full: true });
  assert.deepEqual(r.failed, [], JSON.stringify(r.checks.filter((c) => c.ok !== true)));
  assert.match(r.checks[1].detail, /attempt 2, participants \[1, 3\]/);
  assert.deepEqual(r.votes[0].counts, [["1", "1", "4"]]);
});

test("FAST mode: everything but the per-ballot proofs, which are reported as not checked yet", async () => {
  const progress = [];
  const r = await verifyV2(JSON.stringify(tiny()), { full: false, onProgress: (d, t, phase) => progress.push([d, t, phase]) });
  assert.equal(r.verified, false);
  assert.equal(r.complete, false);
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.pending, ["V5"]);
  assert.equal(r.checks[4].ok, null);
  assert.match(r.checks[4].detail, /not checked yet \(on request\)/);
  assert.ok(progress.length > 0);
  // A tampered count or partial is caught without the ballot proofs; a proof scalar is not.
  for (const [name, fails] of [["a count", "V12"], ["a partial decryption", "V10"], ["the list order", "V7"], ["a published total", "V8"]]) {
    const make = CASES.find((c) => c[0] === name)[1];
    const f = await verifyV2(make(), { full: false });
    assert.ok(f.failed.includes(fails), name + ": " + f.failed);
  }
  // A ballot's signature is not part of its tracker: only the per-ballot checks can see it.
  const sig = await verifyV2(CASES.find((c) => c[0] === "a ballot signature")[1](), { full: false });
  assert.deepEqual(sig.failed, []);
  assert.deepEqual(sig.pending, ["V5"]);
  // Refused ballots are re-verified only on request; an unknown reason fails at once.
  const refused = await verifyV2(CASES.find((c) => c[0] === "substantiated refusals")[1](), { full: false });
  assert.deepEqual(refused.pending, ["V5", "V16"]);
  const unknown = await verifyV2(CASES.find((c) => c[0] === "a valid ballot refused as whatever")[1](), { full: false });
  assert.deepEqual(unknown.failed, ["V16"]);
});

test("FULL mode reports progress over every ballot", async () => {
  const seen = [];
  await verifyV2(JSON.stringify(tiny()), { full: true, onProgress: (d, t, phase) => { if (phase === "ballots") seen.push([d, t]); } });
  assert.deepEqual(seen[seen.length - 1], [20, 20]);
  assert.ok(seen.every(([d], i) => i === 0 || d >= seen[i - 1][0]));
});

test("v2 detection as bundle::is_v2", () => {
  assert.ok(isV2(JSON.stringify(tiny())));
  assert.ok(isV2(envelope(JSON.stringify(tiny()))));
  assert.ok(!isV2(JSON.stringify({ format: "piaojue-bundle/1", body: "", signatures: [] })));
  assert.ok(!isV2("[]"));
  assert.ok(!isV2(new Uint8Array([0xff])));
});

test("the deputy's tracking code: short code or full tracker, found with its place in the list", async () => {
  const full = TINY.trackers["v2-per-item"][3];
  const short = shortCode(hexToBytes(full));
  assert.equal(short, TINY.tracker_short["v2-per-item"]?.[3] ?? short);
  for (const typed of [short, short.toLowerCase().replace(/-/g, " "), full, full.toUpperCase()]) {
    const r = await verifyV2(JSON.stringify(tiny()), { full: false, tracker: typed });
    const c = r.checks.find((x) => x.name === "tracker");
    assert.equal(c.ok, true, typed + ": " + c.detail);
    const [hit] = r.tracker.hits;
    assert.deepEqual({ ...hit, around: undefined }, { vote_id: "v2-per-item", position: 4, n: 5, tracker: full, short, around: undefined });
    assert.deepEqual(hit.around.map((x) => x.position), [1, 2, 3, 4, 5]);
    assert.deepEqual(hit.around.map((x) => x.tracker), TINY.trackers["v2-per-item"]);
  }
  const other = "0".repeat(64);
  const r = await verifyV2(JSON.stringify(tiny()), { full: false, tracker: other });
  assert.equal(r.checks.find((x) => x.name === "tracker").ok, false);
  assert.ok(r.failed.includes("tracker"));
  assert.ok(parseTrackerInput("ABCD-EFGH").error);
  assert.ok(parseTrackerInput("U000-0000-0000-0000").error);
  assert.equal(parseTrackerInput("oooo-iiii-llll-0000").prefix.length, 10);
});

// ------------------------------------------------------------------------------------------------
// The appliance's result keys on a one-vote body (the tiny election's motion) under the shipped
// motion rules.

const MOTION_RULES = fs.readFileSync(join(root, "firmware-config/rules/motion.json"), "utf8");

/** The tiny election's motion alone, with the keys the appliance adds; `change` edits them. */
function resultBody(change) {
  const b = tiny();
  b.votes = [b.votes[0]];
  const rules = parseRules(new TextEncoder().encode(MOTION_RULES));
  const vm = JSON.parse(Buffer.from(b.votes[0].vote_manifest_hex, "hex").toString("utf8"));
  const form = formFor(rules, vm.items.length);
  const counts = countsInRulesOrder(form, rules.options.length, b.votes[0].result.counts).map((row) => row.map(Number));
  const roll = { seated: 7, present: 6, enabled: 5, cast: 5 };
  const outcome = decide(rules, makeCounts(rules, vm.items, roll, counts), checkItems(rules, vm.items.length));
  Object.assign(b, {
    result_format: RESULT_FORMAT, session: "第三次会议", appliance_key: manifestOf(b).appliance_key,
    vote_record: { vote_id: vm.vote_id, title: "关于……的决议草案", kind: "motion", mode: "encrypted", items: vm.items,
      opened_at: "2026-03-05T09:00:00+08:00", closed_at: "2026-03-05T09:01:00+08:00", roll },
    rules_sha256: sha256Hex(new TextEncoder().encode(MOTION_RULES)), rules_document: MOTION_RULES,
    counts, outcome: JSON.parse(JSON.stringify(outcome)), announcement: outcome.announcement,
    chain: { previous_bundle_sha256: null, audit_head: { seq: 42, hash: "ab".repeat(32) } }, demo: false,
  });
  if (change) change(b);
  return JSON.stringify(b);
}

test("form_for and counts_in_rules_order as rules/encrypted.rs", () => {
  const read = (name) => parseRules(fs.readFileSync(join(root, "firmware-config/rules", name + ".json")));
  const m = formFor(read("motion"), 1);
  assert.equal(m.type, "motion");
  assert.deepEqual(countsInRulesOrder(m, 3, [[1n, 2n, 5n]]), [[5n, 2n, 1n]]);
  const p = formFor(read("project-selection"), 7);
  assert.deepEqual([p.type, p.maxYes], ["per_item", 5n]);
  assert.deepEqual(countsInRulesOrder(p, 3, [[0n, 3n, 9n]]), [[9n, 3n, 0n]]);
  assert.equal(formFor(read("project-selection"), 3).maxYes, 3n);
  const s = formFor(read("satisfaction"), 5);
  assert.equal(s.type, "satisfaction");
  assert.equal(s.options.length, 3);
  assert.deepEqual(countsInRulesOrder(s, 3, [[4n, 2n, 1n]]), [[4n, 2n, 1n]]);
  assert.throws(() => formFor(read("motion"), 2), /一项议案/);
  const five = read("satisfaction");
  five.options.push("较满意", "很不满意");
  assert.throws(() => formFor(five, 3), /3或4个等次.*5/);
  // relabelled_yes_and_no_are_refused_for_the_encrypted_form, as the Rust test.
  for (const [name, items] of [["motion", 1], ["project-selection", 7]]) {
    const swapped = read(name);
    [swapped.options[0], swapped.options[1]] = [swapped.options[1], swapped.options[0]];
    assert.throws(() => formFor(swapped, items), /exactly 赞成/);
  }
  assert.throws(() => formFor(read("project-selection"), 65), /最多64项.*65/);
  assert.equal(formFor(read("project-selection"), 64).type, "per_item");
});

test("the rules check: the rules engine re-decides the published result from the decoded counts", async () => {
  const good = await verifyV2(resultBody(), { full: true });
  assert.deepEqual(good.failed, []);
  assert.equal(good.verified, true);
  assert.deepEqual(good.checks.map((c) => c.name), [...CHECK_NAMES, "rules"]);
  assert.equal(good.title, "关于……的决议草案");
  assert.match(good.announcement, /赞成3票/);
  // The CLI, when it is there and reads the result keys, names the same checks.
  const cliReadsKeys = haveBin && rustFailed(resultBody((b) => { b.result_format = "x"; })).includes("rules");
  if (cliReadsKeys) assert.deepEqual(rustFailed(resultBody()), []);
  const fails = async (why, change, check = "rules") => {
    const r = await verifyV2(resultBody(change), { full: !!cliReadsKeys });
    assert.ok(r.failed.includes(check), why + ": " + JSON.stringify(r.checks.filter((c) => c.ok === false)));
    if (cliReadsKeys) assert.deepEqual(rustFailed(resultBody(change)), r.failed, why + " (live CLI)");
    return r.checks.find((c) => c.name === check).detail;
  };
  assert.match(await fails("a count", (b) => { b.counts[0][0] += 1; }), /^counts/);
  assert.match(await fails("the outcome", (b) => { b.outcome.items[0].passed = !b.outcome.items[0].passed; }), /^outcome/);
  assert.match(await fails("the announcement", (b) => { b.announcement = b.announcement.replace("赞成3票", "赞成4票"); }), /^announcement/);
  assert.match(await fails("the rules document", (b) => { b.rules_document = b.rules_document.replace("过半数", "三分之二"); }), /^rules_sha256/);
  assert.match(await fails("the format", (b) => { b.result_format = "piaojue-result/9"; }), /^result_format/);
  assert.match(await fails("the key", (b) => { b.appliance_key = "00".repeat(32); }), /^appliance_key/);
  assert.match(await fails("the mode", (b) => { b.vote_record.mode = "plain"; }), /^vote_record.mode/);
  assert.match(await fails("the kind", (b) => { b.vote_record.kind = "satisfaction"; }), /^vote_record.kind/);
  assert.match(await fails("the items", (b) => { b.vote_record.items = ["另一项"]; }), /^vote manifest: items/);
  assert.match(await fails("the roll's enabled", (b) => { b.vote_record.roll.enabled = 6; }), /^vote_record.roll.enabled/);
  assert.match(await fails("the roll's cast", (b) => { b.vote_record.roll.cast = 4; }), /^vote_record.roll.cast/);
  assert.match(await fails("a float count", (b) => { b.counts = [[3.5, 1, 1]]; }), /do not parse/);
  assert.match(await fails("two votes", (b) => { b.votes.push(tiny().votes[1]); }), /exactly one vote/);
  // The decoded counts are the protocol's: a changed published count fails V12 and `rules`.
  const both = await verifyV2(resultBody((b) => { b.votes[0].result.counts[0][2] -= 1; b.votes[0].result.counts[0][0] += 1; }), { full: false });
  assert.ok(both.failed.includes("V12") && both.failed.includes("rules"), both.failed);
});

/** resultBody() declared failed: no result, `failed`, no counts, no outcome, the declaration. */
const FAILED_REASON = "法定人数的监票人未能到场，无法完成解密";
function failedBody(change) {
  return resultBody((b) => {
    b.votes[0].result = null;
    b.failed = { reason: FAILED_REASON, declared_at: "2026-03-05T10:00:00+08:00" };
    b.counts = [];
    b.outcome = null;
    b.announcement = failedAnnouncement(b.vote_record.title, FAILED_REASON);
    if (change) change(b);
  });
}

test("a declared-failed bundle verifies without a result, and only when declared", async () => {
  assert.equal(failedAnnouncement("关于……的决议草案", "x"),
    "关于……的决议草案：因技术原因未能完成解密计票，秘书处宣告本次表决失败（原因：x）。本次表决不产生结果，所投选票不予计数。");
  const cliReadsKeys = haveBin && rustFailed(resultBody((b) => { b.result_format = "x"; })).includes("rules");
  const good = await verifyV2(failedBody(), { full: true });
  assert.deepEqual(good.failed, [], JSON.stringify(good.checks.filter((c) => c.ok !== true)));
  assert.equal(good.verified, true);
  assert.equal(good.declared_failed, true);
  assert.deepEqual(good.checks.map((c) => c.name), [...CHECK_NAMES, "rules"]);
  const detail = (r, name) => r.checks.find((c) => c.name === name).detail;
  assert.match(detail(good, "rules"), /declared failed/);
  assert.ok(detail(good, "rules").includes(FAILED_REASON));
  assert.match(detail(good, "rules"), /no counts/);
  for (const n of ["V8", "V9", "V10", "V11"]) assert.match(detail(good, n), /not applicable/, n);
  assert.match(detail(good, "V12"), /^n_cast < T, n_cast <= enabled; counts not applicable/);
  assert.equal(good.announcement, failedAnnouncement("关于……的决议草案", FAILED_REASON));
  assert.deepEqual(good.result.failed, { reason: FAILED_REASON, declared_at: "2026-03-05T10:00:00+08:00" });
  assert.deepEqual(good.result.counts, []);
  assert.equal(good.votes[0].counts, null);
  if (cliReadsKeys) assert.deepEqual(rustFailed(failedBody()), [], "the failed body (live CLI)");
  // FAST mode: the same, the ballot proofs pending; the deputy's tracking code is still found.
  const own = TINY.trackers["v1-motion"][2];
  const fast = await verifyV2(envelope(failedBody()), { full: false, tracker: shortCode(hexToBytes(own)) });
  assert.deepEqual(fast.failed, []);
  assert.deepEqual(fast.pending, ["V5"]);
  assert.equal(fast.tracker.hits[0].tracker, own);
  assert.equal(fast.tracker.hits[0].position, 3);
  const fails = async (why, text, check) => {
    const r = await verifyV2(text, { full: true });
    assert.ok(r.failed.includes(check), why + " fails " + check + ": " + JSON.stringify(r.checks.filter((c) => c.ok === false)));
    assert.equal(r.verified, false, why);
    if (cliReadsKeys) assert.deepEqual(rustFailed(text), r.failed, why + " (live CLI)");
    return r;
  };
  // A result withheld without the declaration; the declaration over a vote that has its result.
  const undeclared = await fails("no result without `failed`", failedBody((b) => { delete b.failed; }), "V9");
  assert.match(detail(undeclared, "V9"), /^v1-motion: no result, and the bundle does not declare the vote failed$/);
  const kept = await fails("`failed` with the result kept", failedBody((b) => { b.votes[0].result = tiny().votes[0].result; }), "V9");
  assert.match(detail(kept, "V9"), /declares the vote failed but the vote carries a result/);
  assert.match(detail(kept, "rules"), /^failed: /);
  // The declaration's own keys, checked by `rules` only.
  const rulesOnly = async (why, change, re) => {
    const r = await fails(why, failedBody(change), "rules");
    assert.deepEqual(r.failed, ["rules"], why);
    if (re) assert.match(detail(r, "rules"), re, why);
  };
  await rulesOnly("the announcement changed", (b) => { b.announcement = b.announcement.replace("失败", "通过"); }, /^announcement/);
  await rulesOnly("the announcement of a result", (b) => { b.announcement = JSON.parse(resultBody()).announcement; }, /^announcement/);
  await rulesOnly("counts non-empty", (b) => { b.counts = [[3, 1, 1]]; }, /^counts/);
  await rulesOnly("an outcome", (b) => { b.outcome = JSON.parse(resultBody()).outcome; }, /^outcome/);
  await rulesOnly("the reason empty", (b) => { b.failed.reason = ""; b.announcement = failedAnnouncement(b.vote_record.title, ""); }, /^failed.reason/);
  await rulesOnly("the reason blank", (b) => { b.failed.reason = " \u3000"; b.announcement = failedAnnouncement(b.vote_record.title, b.failed.reason); }, /^failed.reason/);
  await rulesOnly("a reason of 501 characters", (b) => { b.failed.reason = "因".repeat(500) + "𠀀"; b.announcement = failedAnnouncement(b.vote_record.title, b.failed.reason); }, /^failed.reason/);
  await rulesOnly("a reason of another title", (b) => { b.announcement = failedAnnouncement("另一个表决", FAILED_REASON); }, /^announcement/);
  await rulesOnly("`failed` with an unknown key", (b) => { b.failed.by = "秘书长"; }, /do not parse/);
  await rulesOnly("`failed` without declared_at", (b) => { delete b.failed.declared_at; }, /do not parse/);
  await rulesOnly("`failed` as a string", (b) => { b.failed = FAILED_REASON; }, /do not parse/);
  await rulesOnly("a numeric reason", (b) => { b.failed.reason = 7; }, /do not parse/);
  // a_failure_declared_without_result_keys_is_refused: `failed` is one of the result keys.
  const bareFailed = await fails("`failed` without the result keys", failedBody((b) => { delete b.result_format; }), "rules");
  assert.match(detail(bareFailed, "rules"), /declared failed only with the appliance's result keys/);
  // 500 characters are allowed (Unicode scalar values, not UTF-16 units).
  const long = "𠀀".repeat(500);
  const ok500 = await verifyV2(failedBody((b) => { b.failed.reason = long; b.announcement = failedAnnouncement(b.vote_record.title, long); }), { full: false });
  assert.deepEqual(ok500.failed, []);
  // An absent `result` stays a layout error.
  const absent = await verifyV2(failedBody((b) => { delete b.votes[0].result; }), { full: false });
  assert.deepEqual(absent.failed, ["parse", ...CHECK_NAMES]);
  assert.match(absent.checks[0].detail, /missing field `result`/);
  // The opening roll call standing in for a lost closing one (cast_count 0, the officer's
  // signature): V15 does not require n_cast = cast_count of a vote declared failed, and does
  // of any other.
  const opening = (b) => {
    const sm = parseSessionManifest(hexToBytes(b.manifest_hex));
    const vm = parseVoteManifest(hexToBytes(b.votes[0].vote_manifest_hex), sm);
    const rc = b.votes[0].roll_call;
    rc.cast_count = 0;
    rc.sig = bytesToHex(ed25519Sign(transcript("roll-call", [["manifest", sm.hash], ["vote", vm.voteId], ["vote_manifest", vm.hash],
      ["credentials", concatBytes(...rc.credentials.map((c) => hexToBytes(c)))], ["cast", u64(0)]]), testKey("officer")));
  };
  const stands = await verifyV2(failedBody(opening), { full: false });
  assert.deepEqual(stands.failed, [], JSON.stringify(stands.checks.filter((c) => c.ok === false)));
  assert.match(detail(stands, "V15"), /not required: the vote was declared failed/);
  if (cliReadsKeys) assert.deepEqual(rustFailed(failedBody(opening)), [], "the opening roll call (live CLI)");
  const counted = await verifyV2(resultBody(opening), { full: false });
  assert.deepEqual(counted.failed, ["V15"]);
  if (cliReadsKeys) assert.deepEqual(rustFailed(resultBody(opening)), ["V15"], "a counted vote's opening roll call (live CLI)");
  // A failed vote's ballots are still every ballot's: a tampered one fails as it would.
  await fails("a ballot's ciphertext", failedBody((b) => flip(b, "/votes/0/ballots/1/items/0/B", 5)), "V5");
});

// ------------------------------------------------------------------------------------------------
// The result keys' `procedure` (procedure.rs; ResultKeys::check): the effective rules (a
// run-off's), a manual count refused (it has a plain bundle), then the shape, all as `rules`.

const PS_RULES = fs.readFileSync(join(root, "firmware-config/rules/project-selection.json"), "utf8");

/** The tiny election's per-item 票决 (4 projects, max_yes 2 in its manifest) alone, as a
 *  run-off for `seats` seats under the shipped 票决 rules (select_n 5, max_yes 5) with `extra`
 *  rules fields: max_yes min(5, seats) must be the manifest's 2. */
function runoffKeys({ seats = 2, extra, decideUnder } = {}, change) {
  const b = tiny();
  b.votes = [b.votes[1]];
  const doc = extra ? PS_RULES.replace('"kind": "project_selection",', '"kind": "project_selection", ' + extra + ",") : PS_RULES;
  const document = parseRules(new TextEncoder().encode(doc));
  const vm = JSON.parse(Buffer.from(b.votes[0].vote_manifest_hex, "hex").toString("utf8"));
  const runoffRules = forRunoff(document, seats) || document;
  const rules = decideUnder === "document" ? document : runoffRules;
  const form = formFor(runoffRules, vm.items.length);
  const counts = countsInRulesOrder(form, rules.options.length, b.votes[0].result.counts).map((row) => row.map(Number));
  const roll = { seated: 7, present: 6, enabled: b.votes[0].roll_call.credentials.length, cast: b.votes[0].ballots.length };
  let warnings;
  try { warnings = checkItems(rules, vm.items.length); } catch { warnings = []; } // as the verifier: select_n 5 of 4 is no warning
  const outcome = decide(rules, makeCounts(rules, vm.items, roll, counts), warnings);
  Object.assign(b, {
    result_format: RESULT_FORMAT, session: "第三次会议", appliance_key: manifestOf(b).appliance_key,
    vote_record: { vote_id: vm.vote_id, title: "民生实事项目重新票决", kind: "project_selection", mode: "encrypted", items: vm.items,
      opened_at: "2026-03-05T09:00:00+08:00", closed_at: "2026-03-05T09:01:00+08:00", roll },
    rules_sha256: sha256Hex(new TextEncoder().encode(doc)), rules_document: doc,
    counts, outcome: JSON.parse(JSON.stringify(outcome)), announcement: outcome.announcement,
    chain: { previous_bundle_sha256: "cd".repeat(32), audit_head: { seq: 43, hash: "ab".repeat(32) } }, demo: false,
    procedure: { runoff_of: { vote: "v1", bundle_sha256: "cd".repeat(32), reason: "shortfall", candidates: [0, 2, 3, 6], seats } },
  });
  if (change) change(b);
  return JSON.stringify(b);
}

test("the result keys' procedure: a re-vote or a run-off passes, a manual count and a bad shape fail `rules`", async () => {
  const cliReadsKeys = haveBin && rustFailed(resultBody((b) => { b.result_format = "x"; })).includes("rules");
  const detail = (r) => r.checks.find((c) => c.name === "rules").detail;
  const run = async (why, text, failed) => {
    const r = await verifyV2(text, { full: !!cliReadsKeys });
    assert.deepEqual(r.failed, failed, why + ": " + JSON.stringify(r.checks.filter((c) => c.ok === false)));
    if (cliReadsKeys) assert.deepEqual(rustFailed(text), r.failed, why + " (live CLI)");
    return r;
  };
  const REVOTE = { revote_of: { vote: "v1", state: "failed", reason: "解密未能完成，宣告失败" } };
  const revote = await run("a re-vote of a failed vote", resultBody((b) => { b.procedure = REVOTE; }), []);
  assert.deepEqual(revote.result.procedure.revote_of, REVOTE.revote_of);
  assert.equal(revote.result.procedure.manual, null);
  assert.equal((await run("no procedure", resultBody(), [])).result.procedure, null);
  await run("procedure: null", resultBody((b) => { b.procedure = null; }), []);
  const rules = async (why, change, re) => {
    const r = await run(why, resultBody(change), ["rules"]);
    assert.match(detail(r), re, why);
    // A procedure's refusal in Rust's own words (the `rules` check's detail; elsewhere, e.g. a
    // serde error with the field's path, the JS wording is its own: only verdicts are compared).
    if (cliReadsKeys && /^procedure/.test(detail(r))) assert.equal(rustDetail(resultBody(change), "rules"), detail(r), why + " (live CLI detail)");
  };
  // check_shape refuses an empty procedure in both formats, as the v1 verifier does.
  await rules("an empty procedure", (b) => { b.procedure = {}; }, /^procedure: present but empty$/);
  await rules("a procedure with every part null", (b) => { b.procedure = { revote_of: null, runoff_of: null, source: null, manual: null }; },
    /^procedure: present but empty$/);
  // A vote linked to itself: checked before the re-vote's state, reason and id.
  const self = (b) => b.vote_record.vote_id;
  await rules("a re-vote of itself", (b) => { b.procedure = { revote_of: { ...REVOTE.revote_of, vote: self(b) } }; },
    /^procedure.revote_of.vote: a vote cannot repeat itself$/);
  await rules("a re-vote of itself, of a closed vote, without a reason", (b) => { b.procedure = { revote_of: { vote: self(b), state: "closed", reason: "" } }; },
    /^procedure.revote_of.vote: a vote cannot repeat itself$/);
  await rules("a manual count re-voting itself: the manual count is named", (b) => { b.procedure = { manual: { method: "paper", counted_by: ["计票人"], note: "改用纸质票" }, revote_of: { ...REVOTE.revote_of, vote: self(b) } }; },
    /^procedure.manual/);
  await rules("an unknown field", (b) => { b.procedure = { ...REVOTE, chair: "主持人" }; }, /do not parse/);
  await rules("an unknown field in revote_of", (b) => { b.procedure = { revote_of: { ...REVOTE.revote_of, by: "秘书处" } }; }, /do not parse/);
  await rules("a manual count", (b) => { b.procedure = { manual: { method: "paper", counted_by: ["计票人"], note: "改用纸质票" } }; },
    /^procedure.manual: a manual count has a plain bundle$/);
  await rules("a manual count, and a bad re-vote state: the manual count is named", (b) => { b.procedure = { manual: { method: "paper", counted_by: ["计票人"], note: "改用纸质票" }, revote_of: { ...REVOTE.revote_of, state: "closed" } }; },
    /^procedure.manual/);
  await rules("a re-vote of a closed vote", (b) => { b.procedure = { revote_of: { ...REVOTE.revote_of, state: "closed" } }; }, /^procedure.revote_of.state/);
  await rules("a run-off of a motion", (b) => { b.procedure = { runoff_of: { vote: "v1", bundle_sha256: "ab".repeat(32), reason: "tie", candidates: [0], seats: 1 } }; },
    /^procedure.runoff_of.seats: 1 seats is not a run-off of this rules document$/);
  await rules("a source on a motion", (b) => { b.procedure = { source: { bundle_sha256: "ab".repeat(32), appliance_key: "cd".repeat(32) } }; }, /^procedure.source: only a 满意度测评/);
  // A run-off of the per-item 票决: decided under its seats; its form is the run-off rules'.
  const ok = await run("a run-off for two seats", runoffKeys(), []);
  assert.match(ok.announcement, /拟确定2个，以全体代表的过半数（4票）赞成为通过/);
  const most = await run("a run-off under runoff_majority: false", runoffKeys({ extra: '"runoff_majority": false' }), []);
  assert.match(most.announcement, /^应到代表7名，实到6名。候选项目4个，拟确定2个，以得票多的确定。\n得票情况（按赞成票排序）：\n第1名/);
  for (const [why, opts, change, re] of [
    ["a run-off decided under the document's five places", { decideUnder: "document" }, undefined, /^outcome/],
    ["a run-off for one seat: max_yes 1 is not the manifest's 2", { seats: 1, decideUnder: "document" }, undefined, /^vote manifest: max_yes/],
    ["a run-off of 0 seats", { seats: 0 }, undefined, /^procedure.runoff_of.seats: 0 seats for 4 candidates$/],
    ["a run-off of more seats than select_n and than candidates", { seats: 6 }, undefined, /^procedure.runoff_of.seats: 6 seats for 4 candidates$/],
    ["a run-off of five seats (select_n 5) among four candidates", { seats: 5 }, undefined, /^procedure.runoff_of.seats: 5 seats for 4 candidates$/],
    ["a run-off of more seats than candidates, its candidates out of order: the order is named", { seats: 5 }, (b) => { b.procedure.runoff_of.candidates = [0, 3, 2, 6]; },
      /^procedure.runoff_of.candidates: distinct/],
    // Its own parent: checked after the parent's id is read, before its hash (the vote
    // manifest's id, `v2-per-item`, is not a vote id; the record's id is checked after).
    ["a run-off of itself", {}, (b) => { b.vote_record.vote_id = "v1"; b.procedure.runoff_of.vote = "v1"; b.procedure.runoff_of.bundle_sha256 = "CD".repeat(32); },
      /^procedure.runoff_of.vote: a vote cannot be its own parent$/],
    ["a run-off of a vote that is not a vote id, the record's own", {}, (b) => { b.procedure.runoff_of.vote = b.vote_record.vote_id; }, /^procedure.runoff_of.vote: not a vote id$/],
    ["a run-off whose record names another vote", {}, (b) => { b.vote_record.vote_id = "v7"; }, /^vote_record.vote_id: not the vote manifest's$/],
    ["a run-off's candidates not its items", {}, (b) => { b.procedure.runoff_of.candidates = [0, 2, 3]; }, /^procedure.runoff_of.candidates: 3 candidates for 4 items/],
    ["a run-off's candidates out of order", {}, (b) => { b.procedure.runoff_of.candidates = [0, 3, 2, 6]; }, /^procedure.runoff_of.candidates: distinct/],
    ["a run-off's reason unknown", {}, (b) => { b.procedure.runoff_of.reason = "draw"; }, /do not parse/],
  ]) {
    const r = await run(why, runoffKeys(opts, change), ["rules"]);
    assert.match(detail(r), re, why);
    if (cliReadsKeys && /^procedure/.test(detail(r))) assert.equal(rustDetail(runoffKeys(opts, change), "rules"), detail(r), why + " (live CLI detail)");
  }
});

test("chain.previous: the previous bundle's body hash, v1 or v2", async () => {
  const prevBody = resultBody();
  const prev = envelope(prevBody);
  const want = sha256Hex(new TextEncoder().encode(prevBody));
  assert.equal(bodySha256Any(prev), want);
  const v1 = fs.readFileSync(join(root, "tests/data/bundles/motion.json"));
  const v1Hash = bodySha256Any(v1);
  assert.match(v1Hash, /^[0-9a-f]{64}$/);
  const follows = await verifyV2(resultBody((b) => { b.chain.previous_bundle_sha256 = want; }), { full: false, previous: prev });
  assert.equal(follows.checks.find((c) => c.name === "chain.previous").ok, true);
  const afterV1 = await verifyV2(resultBody((b) => { b.chain.previous_bundle_sha256 = v1Hash; }), { full: false, previous: v1 });
  assert.equal(afterV1.checks.find((c) => c.name === "chain.previous").ok, true);
  const other = await verifyV2(resultBody((b) => { b.chain.previous_bundle_sha256 = "00".repeat(32); }), { full: false, previous: prev });
  assert.equal(other.checks.find((c) => c.name === "chain.previous").ok, false);
  const none = await verifyV2(resultBody(), { full: false, previous: prev });
  assert.match(none.checks.find((c) => c.name === "chain.previous").detail, /names no previous bundle/);
  const unreadable = await verifyV2(resultBody((b) => { b.chain.previous_bundle_sha256 = want; }), { full: false, previous: "junk" });
  assert.match(unreadable.checks.find((c) => c.name === "chain.previous").detail, /cannot be read/);
  const bare = await verifyV2(JSON.stringify(tiny()), { full: false, previous: prev });
  assert.match(bare.checks.find((c) => c.name === "chain.previous").detail, /no result keys/);
});

test("the page's pinned key or fingerprint (V14)", async () => {
  const key = manifestOf(TINY.bundle).appliance_key;
  const fp = sha256Hex(hexToBytes(key));
  for (const pinned of [key, fp, fp.toUpperCase().match(/.{4}/g).join(" ")]) {
    const r = await verifyV2(JSON.stringify(tiny()), { full: false, pinned });
    assert.deepEqual(r.failed, [], pinned);
  }
  const r = await verifyV2(JSON.stringify(tiny()), { full: false, pinned: "ab".repeat(32) });
  assert.deepEqual(r.failed, ["V14"]);
});

test("verify-worker.js: progress and the report; a FULL run on the bundle it keeps; a v1 bundle handed back", async () => {
  const posted = [];
  globalThis.self = { postMessage: (m) => posted.push(m), navigator: { hardwareConcurrency: 2 } };
  await import("../../src/web/assets/e2e/verify-worker.js");
  const reports = () => posted.filter((m) => m.type === "report");
  await self.onmessage({ data: { type: "verify", id: 1, bytes: new TextEncoder().encode(envelope(JSON.stringify(tiny()))), options: { full: false, tracker: TINY.tracker_short["v3-approve"][0] } } });
  let [r] = reports();
  assert.equal(r.id, 1);
  assert.deepEqual(r.report.failed, []);
  assert.deepEqual(r.report.pending, ["V5"]);
  assert.equal(r.report.tracker.hits[0].vote_id, "v3-approve");
  assert.ok(posted.some((m) => m.type === "progress" && m.id === 1));
  // FULL on the same bundle, without sending it again.
  await self.onmessage({ data: { type: "verify", id: 2, options: { full: true } } });
  r = reports()[1];
  assert.equal(r.id, 2);
  assert.equal(r.report.verified, true, JSON.stringify(r.report.checks.filter((c) => c.ok !== true)));
  assert.ok(posted.some((m) => m.type === "progress" && m.id === 2 && m.phase === "ballots" && m.done === 20 && m.total === 20));
  // A plain bundle is not the worker's: the page checks it as v1.
  await self.onmessage({ data: { type: "verify", id: 3, bytes: fs.readFileSync(join(root, "tests/data/bundles/motion.json")), options: {} } });
  assert.deepEqual(reports()[2], { type: "report", id: 3, report: { not_v2: true } });
  // A hostile v2 body: the parse failure, as verify_document reports it.
  await self.onmessage({ data: { type: "verify", id: 4, bytes: new TextEncoder().encode('{"manifest_hex":5}'), options: {} } });
  assert.deepEqual(reports()[3].report.failed, ["parse", ...CHECK_NAMES]);
  // A helper's task.
  await self.onmessage({ data: { type: "task", seq: 9, kind: "aggregate", payload: { m: 1, ballots: [{ bi: 0, cts: [new Uint8Array(64)] }] } } });
  const t = posted.find((m) => m.seq === 9);
  assert.equal(t.type, "task-done");
  assert.equal(t.result.ok, false);
  assert.match(t.result.errors[0], /identity/);
});

test("the verify page's whole import graph is embedded (src/web/mod.rs), workers and dynamic imports included", () => {
  const mod = fs.readFileSync(join(root, "src/web/mod.rs"), "utf8");
  const embedded = new Set([...mod.matchAll(/include_bytes!\("assets\/([^"]+)"\)/g)].map((m) => m[1]));
  const assets = new URL("../../src/web/assets/", import.meta.url);
  const seen = new Set();
  const visit = (rel) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    assert.ok(embedded.has(rel), rel + " is imported by the verify page but not embedded");
    const src = fs.readFileSync(new URL(rel, assets), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    const specs = [
      ...[...src.matchAll(/^\s*(?:import|export)\s+[\w*{}\s,$]*?\s*from\s*["']([^"']+)["']/gm)].map((m) => m[1]),
      ...[...src.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]),
      ...[...src.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]),
    ];
    for (const spec of specs) {
      assert.ok(spec.startsWith("./") || spec.startsWith("../"), rel + ": " + spec);
      visit(new URL(spec, new URL(rel, assets)).href.slice(assets.href.length));
    }
  };
  visit("verify.js");
  for (const f of ["e2e/verify-worker.js", "e2e/bundle-verify.js", "checks.js", "rules.js", "e2e/e2e.js", "vendor/noble-curves/ed25519.js"]) assert.ok(seen.has(f), f);
  // The page asks for nothing outside its origin.
  for (const f of ["verify.js", "e2e/verify-worker.js", "e2e/bundle-verify.js"]) assert.doesNotMatch(fs.readFileSync(new URL(f, assets), "utf8"), /https?:\/\//);
  const html = fs.readFileSync(new URL("verify.html", assets), "utf8");
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script (CSP script-src 'self')");
});
