// node --test tests/js/ : the booth's pure logic (src/web/assets/booth/logic.js) against the
// tiny election of the e2e vectors: the manifest pin, the joint key, the roll call, choices and
// the N+1-th 赞成, the receipt and the cast notice, the spoiled record and the audit document.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import * as e from "../../src/web/assets/e2e/e2e.js";
import * as L from "../../src/web/assets/booth/logic.js";

const VECTORS = new URL("../../crates/core/tests/data/e2e/vectors.json", import.meta.url);
const V = JSON.parse(fs.readFileSync(VECTORS, "utf8"));
const T = V.tiny_election;
const B = T.bundle;
const utf8 = new TextEncoder();
const hex = e.bytesToHex;
const seed = utf8.encode(T.drbg_seed_utf8);
const testKey = (label, i) => e.hBytes("test-key", [["seed", seed], ["label", label], ["i", e.u64(i)]]).slice(0, 32);
const card = (voter) => testKey("cred", voter);
const applianceSeed = testKey("appliance", 0);
const officerSeed = testKey("officer", 0);

const manifestBytes = e.hexToBytes(B.manifest_hex);
const mh = B.manifest_hash;
const session = L.checkSessionManifest(manifestBytes, mh);
const { K } = L.checkCeremony(session, { ceremony: B.ceremony, joint_key: B.joint_key });
const voteBundle = (id) => B.votes.find((v) => v.vote_id === id);
const view = (id) => ({ vote_id: id, vote_manifest_hex: voteBundle(id).vote_manifest_hex, roll_call_open: voteBundle(id).roll_call });
const refusedWith = (code) => (err) => err instanceof L.BoothError && err.code === code && typeof err.message === "string";

test("the session manifest is pinned by mh (plain or grouped) and parsed strictly", async () => {
  assert.equal(hex(session.hash), mh);
  assert.equal(L.normalizeHash(L.groupedHash(mh).toUpperCase()), mh);
  assert.equal(L.normalizeHash(mh.slice(0, 62)), null);
  assert.equal(hex(L.checkSessionManifest(manifestBytes, L.groupedHash(mh)).hash), mh);
  assert.throws(() => L.checkSessionManifest(manifestBytes, "0".repeat(64)), refusedWith("manifest_mismatch"));
  assert.throws(() => L.checkSessionManifest(manifestBytes, "not a hash"), refusedWith("mh_invalid"));
  // Bytes that are not canonical are refused even when they are what the agenda pinned.
  const spaced = utf8.encode(new TextDecoder().decode(manifestBytes).replace('{"appliance_key"', '{ "appliance_key"'));
  const { sha256 } = await import("../../src/web/assets/vendor/noble-hashes/sha2.js");
  assert.throws(() => L.checkSessionManifest(spaced, hex(sha256(spaced))), refusedWith("manifest_invalid"));
});

test("the joint key is accepted only as the scrutineers announced it", () => {
  const acc = L.checkCeremony(session, { ceremony: B.ceremony, joint_key: B.joint_key });
  assert.equal(hex(acc.K), B.joint_key);
  assert.equal(acc.fingerprint, T.key_fingerprint);
  // A substituted joint key (one guardian's own commitment) is caught.
  assert.throws(() => L.checkCeremony(session, { ceremony: B.ceremony, joint_key: B.ceremony.round1[0].commitments[0] }), refusedWith("joint_key_invalid"));
  // A forged announcement signature.
  const forged = structuredClone(B.ceremony);
  forged.key_sigs["2"] = forged.key_sigs["1"];
  assert.throws(() => L.checkCeremony(session, { ceremony: forged, joint_key: B.joint_key }), refusedWith("joint_key_invalid"));
  // A bent coefficient proof (checkProofs is on).
  const bent = structuredClone(B.ceremony);
  const [c, z] = bent.round1[1].coeff_poks[1];
  bent.round1[1].coeff_poks[1] = [z, c];
  assert.throws(() => L.checkCeremony(session, { ceremony: bent, joint_key: B.joint_key }), refusedWith("joint_key_invalid"));
  assert.throws(() => L.checkCeremony(session, {}), refusedWith("ceremony_invalid"));
});

test("the vote manifest and the CO-signed roll call; this deputy's credential in it", () => {
  for (const vb of B.votes) {
    const { vote, roll } = L.checkVoteView(session, view(vb.vote_id), vb.vote_id);
    assert.equal(vote.voteId, vb.vote_id);
    assert.equal(roll.credentials.length, vb.roll_call.credentials.length);
    for (let voter = 0; voter < 5; voter++) assert.ok(L.credentialFor(card(voter), session, vote, roll).enabled, `${vb.vote_id} voter ${voter}`);
    assert.equal(L.credentialFor(card(99), session, vote, roll).enabled, false);
    // The JS message is the one the CO signed (the Rust roll_call_message).
    const msg = L.rollCallMessage(session.hash, vote, vb.roll_call.credentials.map((h) => e.hexToBytes(h, 32)), vb.roll_call.cast_count);
    assert.ok(e.verifyEd25519Strict(session.credentialOfficer, msg, e.hexToBytes(vb.roll_call.sig, 64)));
  }
  const id = "v2-per-item";
  const vb = voteBundle(id);
  const { vote } = L.checkVoteView(session, view(id), id);
  const bad = (rc) => assert.throws(() => L.checkRollCall(session, vote, rc), refusedWith("roll_call_invalid"));
  bad({ ...vb.roll_call, cast_count: vb.roll_call.cast_count + 1 });
  bad({ ...vb.roll_call, credentials: vb.roll_call.credentials.slice(1) });
  bad({ ...vb.roll_call, credentials: [...vb.roll_call.credentials].reverse() });
  bad({ ...vb.roll_call, sig: vb.roll_call.sig.toUpperCase() });
  bad({ ...vb.roll_call, extra: 1 });
  bad(null);
  // Signed by someone else than the manifest's CO (the appliance, say).
  const creds = vb.roll_call.credentials;
  const byAppliance = hex(e.ed25519Sign(L.rollCallMessage(session.hash, vote, creds.map((h) => e.hexToBytes(h, 32)), 0), applianceSeed));
  bad({ credentials: creds, cast_count: 0, sig: byAppliance });
  // An opening roll call the CO signed with cast 0, adding a credential: valid.
  const added = [...creds, hex(L.credentialFor(card(7), session, vote, { credentials: [] }).publicKey)].sort();
  const sig = hex(e.ed25519Sign(L.rollCallMessage(session.hash, vote, added.map((h) => e.hexToBytes(h, 32)), 0), officerSeed));
  const roll = L.checkRollCall(session, vote, { credentials: added, cast_count: 0, sig });
  assert.ok(L.credentialFor(card(7), session, vote, roll).enabled);
  // A manifest of another vote, or of another session, is refused.
  assert.throws(() => L.checkVoteView(session, view("v1-motion"), id), refusedWith("vote_invalid"));
  const foreign = new TextDecoder().decode(vote.bytes).replace(/"session":"[0-9a-f]+"/, `"session":"${"0".repeat(64)}"`);
  assert.throws(() => L.checkVoteView(session, { ...view(id), vote_manifest_hex: hex(utf8.encode(foreign)) }, id), refusedWith("vote_invalid"));
  assert.throws(() => L.checkVoteView(session, { ...view(id), roll_call_open: null }, id), refusedWith("roll_call_missing"));
  assert.match(L.NOT_IN_ROLL_CALL, /本次表决的点名中没有您的凭证，请联系秘书处/);
});

test("choices: nothing pre-selected, every item answered, the N+1-th 赞成 refused", () => {
  const per = L.checkVoteView(session, view("v2-per-item"), "v2-per-item").vote; // M = 4, N = 2
  assert.deepEqual(L.displayOptions(per).map((o) => o.label), ["赞成", "不赞成", "弃权"]);
  let ch = L.emptyChoices(per);
  assert.deepEqual(ch, [null, null, null, null]);
  assert.match(L.choiceProblem(per, ch), /第1项/);
  ({ choices: ch } = L.choose(per, ch, 0, 2));
  ({ choices: ch } = L.choose(per, ch, 1, 2));
  const third = L.choose(per, ch, 2, 2);
  assert.match(third.refused, /最多只能对2个项目投「赞成」/);
  assert.deepEqual(third.choices, ch);
  ({ choices: ch } = L.choose(per, ch, 2, 1));
  ({ choices: ch } = L.choose(per, ch, 3, 0));
  assert.equal(L.choiceProblem(per, ch), null);
  // Tapping the chosen option again clears it; then 赞成 is free again.
  ({ choices: ch } = L.choose(per, ch, 0, 2));
  assert.equal(ch[0], null);
  assert.equal(L.choose(per, ch, 3, 2).refused, null);
  assert.match(L.choiceProblem(per, [2, 2, 2, 0]), /最多只能对2个项目/);

  const appr = L.checkVoteView(session, view("v3-approve"), "v3-approve").vote;
  assert.deepEqual(L.displayOptions(appr).map((o) => o.label), ["选", "不选"]);
  let a = L.emptyChoices(appr);
  for (const i of [0, 1]) ({ choices: a } = L.choose(appr, a, i, 1));
  assert.match(L.choose(appr, a, 2, 1).refused, /最多只能对2个项目投「选」/);
  assert.match(L.choiceProblem(appr, a), /第3项/);

  const motion = L.checkVoteView(session, view("v1-motion"), "v1-motion").vote;
  assert.deepEqual(L.displayOptions(motion).map((o) => o.label), ["赞成", "反对", "弃权"]);
  assert.equal(L.yesLimit(motion), null);
  const sat = L.checkVoteView(session, view("v4-satisfaction"), "v4-satisfaction").vote;
  assert.deepEqual(L.displayOptions(sat).map((o) => o.label), sat.json.options);
  assert.equal(L.choose(sat, L.emptyChoices(sat), 1, 3).refused, null);
  assert.throws(() => L.choose(sat, L.emptyChoices(sat), 0, 4), RangeError);
});

test("the booth's prover reproduces the vectors' spoiled ballots byte for byte; the audit document", () => {
  for (const vb of B.votes) {
    const id = vb.vote_id;
    const { vote } = L.checkVoteView(session, view(id), id);
    // The spoiled record of the vectors is voter 0's ballot with the audit stream (§11).
    const cred = e.deriveCredential(card(0), session.hash, id);
    const sp = vb.spoiled[0];
    const proved = L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: sp.choices,
      rng: new e.TestDrbg(utf8.encode(`${T.drbg_seed_utf8}/audit/${id}`)) });
    assert.equal(proved.tracker, sp.tracker, `${id}: tracker`);
    assert.deepEqual(L.spoiledRecord(proved), sp, `${id}: spoiled record as the bundle has it`);
    assert.ok(e.checkSpoiled(L.spoiledRecord(proved), { vote, K: e.prepareJointKey(K) }));
    assert.ok(L.selfAudit(session, vote, K, proved));
    assert.equal(proved.shortCode, e.shortCode(e.hexToBytes(sp.tracker)));
    assert.match(proved.shortCode, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const doc = L.auditDocument(proved);
    assert.deepEqual(Object.keys(doc), ["format", "vote_id", "ballot", "choices", "r", "s", "shown"]);
    assert.equal(doc.format, "piaojue-audit/1");
    assert.equal(doc.vote_id, id);
    assert.equal(doc.shown, proved.shortCode);
    assert.deepEqual(Object.keys(doc.ballot), ["vote_id", "type", "cred_pk", "items", "range", "sig"]);
    // The document's ballot is the wire ballot: it parses and verifies as the appliance would.
    const { tracker } = e.verifyBallot(e.ballotFromJson(doc.ballot, vote), { session, vote, K: e.prepareJointKey(K) });
    assert.equal(hex(tracker), sp.tracker);
    assert.equal(L.auditFileName(proved.shortCode), `audit-${proved.shortCode}.json`);
    // A lying booth (other choices revealed) fails the same check.
    const lie = { ...proved, choices: proved.choices.map((c) => (c + 1) % vote.L) };
    assert.throws(() => L.selfAudit(session, vote, K, lie));
  }
  // Hedged randomness (the real booth): two encryptions of the same choices differ.
  const id = "v1-motion";
  const { vote } = L.checkVoteView(session, view(id), id);
  const cred = e.deriveCredential(card(1), session.hash, id);
  const p1 = L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: [2] });
  const p2 = L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: [2] });
  assert.notEqual(p1.tracker, p2.tracker);
  assert.ok(L.selfAudit(session, vote, K, p1));
  assert.throws(() => L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: [null] }), refusedWith("choices"));
  const per = L.checkVoteView(session, view("v2-per-item"), "v2-per-item").vote;
  assert.throws(() => L.proveForBooth({ session, vote: per, K, credSeed: cred.seed, choices: [2, 2, 2, 0] }), refusedWith("choices"));
});

test("the receipt: our tracker, the appliance key, the receipt transcript", () => {
  const id = "v2-per-item";
  const { vote, roll } = L.checkVoteView(session, view(id), id);
  const cred = L.credentialFor(card(2), session, vote, roll);
  const proved = L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: [2, 1, 0, 1] });
  const time = 1767000000;
  const tr = e.hexToBytes(proved.tracker, 32);
  const msg = L.receiptMessage(session.hash, id, tr, time);
  // T("receipt", [manifest, vote, tracker, time u64]) laid out by hand (§3.1).
  const lp = (b) => [...[3, 2, 1, 0].map((i) => (b.length >>> (8 * i)) & 255), ...b];
  const u64be = (x) => [...Array(8)].map((_, i) => Number((BigInt(x) >> BigInt(8 * (7 - i))) & 255n));
  const want = [...lp(utf8.encode("piaojue-e2e-v2")), ...lp(utf8.encode("receipt")), ...lp(utf8.encode("manifest")), ...lp(session.hash),
    ...lp(utf8.encode("vote")), ...lp(utf8.encode(id)), ...lp(utf8.encode("tracker")), ...lp(tr), ...lp(utf8.encode("time")), ...lp(u64be(time))];
  assert.deepEqual([...msg], want);
  const sig = hex(e.ed25519Sign(msg, applianceSeed));
  const receipt = { vote_id: id, tracker: proved.tracker, short_code: proved.shortCode, time, sig };
  const ok = L.checkReceipt(session, id, proved.tracker, receipt);
  assert.deepEqual(ok, { tracker: proved.tracker, shortCode: proved.shortCode, time, sig });
  const bad = (r, what) => assert.throws(() => L.checkReceipt(session, id, proved.tracker, r), refusedWith("receipt_invalid"), what);
  bad({ ...receipt, time: time + 1 }, "another time");
  bad({ ...receipt, vote_id: "v1-motion" }, "another vote");
  bad({ ...receipt, tracker: voteBundle(id).spoiled[0].tracker }, "another tracker");
  bad({ ...receipt, short_code: "AAAA-AAAA-AAAA-AAAA" }, "a short code not of the tracker");
  bad({ ...receipt, sig: hex(e.ed25519Sign(msg, officerSeed)) }, "signed by the CO, not the appliance");
  bad({ ...receipt, sig: sig.slice(0, 126) }, "short signature");
  bad({ ...receipt, time: -1 }, "negative time");
  bad({ ...receipt, time: "1767000000" }, "time as a string");
  bad(null, "no receipt");
  // A signature that is not strict (S + ℓ) is refused.
  const S = e.bytesToNumberLE(e.hexToBytes(sig.slice(64), 32)) + e.ELL;
  if (S < 1n << 256n) {
    const Sb = new Uint8Array(32);
    let x = S;
    for (let i = 0; i < 32; i++, x >>= 8n) Sb[i] = Number(x & 255n);
    bad({ ...receipt, sig: sig.slice(0, 64) + hex(Sb) }, "non-canonical S");
  }
});

test("the cast notice: signed by the per-vote credential over cast-notice, as the officer checks it", () => {
  const id = "v3-approve";
  const { vote, roll } = L.checkVoteView(session, view(id), id);
  const cred = L.credentialFor(card(3), session, vote, roll);
  assert.ok(cred.enabled);
  const proved = L.proveForBooth({ session, vote, K, credSeed: cred.seed, choices: [1, 0, 0, 1] });
  const time = 1767000123;
  const tr = e.hexToBytes(proved.tracker, 32);
  const rsig = hex(e.ed25519Sign(L.receiptMessage(session.hash, id, tr, time), applianceSeed));
  const receipt = L.checkReceipt(session, id, proved.tracker, { vote_id: id, tracker: proved.tracker, short_code: proved.shortCode, time, sig: rsig });
  const notice = L.makeCastNotice(session, id, cred, receipt);
  assert.deepEqual(Object.keys(notice), ["vote_id", "tracker", "time", "receipt_sig", "cred_pk", "sig"]);
  assert.equal(notice.cred_pk, hex(cred.publicKey));
  assert.equal(notice.receipt_sig, rsig);
  assert.ok(L.verifyCastNotice(session, roll.credentials, notice));
  // The message, field by field (transcript.rs cast_notice_message).
  const msg = L.castNoticeMessage(session.hash, id, tr, time, e.hexToBytes(rsig, 64));
  assert.deepEqual(msg, e.transcriptRaw("cast-notice", [["manifest", session.hash], ["vote", id], ["tracker", tr], ["time", e.u64(time)], ["receipt", e.hexToBytes(rsig, 64)]]));
  assert.ok(e.verifyEd25519Strict(cred.publicKey, msg, e.hexToBytes(notice.sig, 64)));
  // What the officer refuses.
  assert.equal(L.verifyCastNotice(session, roll.credentials, { ...notice, time: time + 1 }), false);
  assert.equal(L.verifyCastNotice(session, roll.credentials, { ...notice, tracker: voteBundle(id).spoiled[0].tracker }), false);
  assert.equal(L.verifyCastNotice(session, [], notice), false);
  const other = L.credentialFor(card(4), session, vote, roll);
  assert.equal(L.verifyCastNotice(session, roll.credentials, { ...notice, cred_pk: hex(other.publicKey) }), false);
  assert.throws(() => L.castNoticeMessage(session.hash, id, tr.subarray(1), time, e.hexToBytes(rsig, 64)), e.E2eError);
});

test("a refused cast says why", () => {
  const dup = L.castRefusal(400, { error: "ballot_rejected", message: "duplicate-credential" });
  assert.equal(dup.again, false);
  assert.match(dup.text, /只能投一次/);
  assert.match(L.castRefusal(400, { error: "ballot_rejected", message: "not-enabled: …" }).text, /本次表决的点名中没有您的凭证，请联系秘书处/);
  const inv = L.castRefusal(400, { error: "ballot_rejected", message: "invalid: items[0].proof: CDS does not verify" });
  assert.equal(inv.again, true);
  assert.match(inv.text, /items\[0\]\.proof/);
  assert.match(L.castRefusal(409, { error: "vote_closed", message: "…" }, "票决").text, /本次票决已经结束/);
  assert.match(L.castRefusal(418, null).text, /http_418/);
});

test("configuration input", () => {
  assert.equal(L.normalizeBaseUrl("https://10.0.0.1:8443/booth?x#y"), "https://10.0.0.1:8443");
  assert.equal(L.normalizeBaseUrl("ftp://x"), null);
  assert.equal(L.normalizeBaseUrl("10.0.0.1"), null);
  assert.equal(L.normalizeNoticeUrl(" https://10.0.0.2:8444/notice "), "https://10.0.0.2:8444/notice");
  assert.equal(L.normalizeNoticeUrl("javascript:alert(1)"), null);
  assert.equal(L.backoff(0), 1000);
  assert.equal(L.backoff(3), 8000);
  assert.equal(L.backoff(50), 30000);
  assert.match(L.receiptTime(1767000000), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});
