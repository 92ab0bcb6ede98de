// The verify page's verifier (src/web/assets/checks.js) against `piaojue verify`: the golden
// bundles pass; forged bundles, re-signed with a test key so only the check under test can
// fail, fail exactly the checks the CLI fails, by the same names. When the debug binary is
// there (cargo build; or PIAOJUE_BIN), every case is also run through it and the two lists of
// (name, verdict) must be identical.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { verifyBundle, procedureShape, describeProcedure } from "../../src/web/assets/checks.js";
import { parseRules, forRunoff, makeCounts, checkItems, decide } from "../../src/web/assets/rules.js";
import { procedureLines } from "../../src/web/assets/verify.js";
import { message, DOMAIN } from "../../src/web/assets/sig.js";
import { publicKeyHex, signHex, torsionSignatureHex } from "./forge.mjs";

const root = new URL("../../", import.meta.url).pathname;
const BIN = process.env.PIAOJUE_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "piaojue");
const haveBin = fs.existsSync(BIN);
const dir = fs.mkdtempSync(join(tmpdir(), "piaojue-checks-"));
const read = (name) => fs.readFileSync(join(root, "tests/data/bundles", name));
const GOLDEN_KEY = fs.readFileSync(join(root, "tests/data/bundles/appliance-key.txt"), "utf8").trim();

const SEED = "5a".repeat(32);
const KEY = publicKeyHex(SEED);
const SCRUTINEER = "c3".repeat(32);
const SCRUTINEER2 = "d4".repeat(32);

const bodyText = (bundle) => Buffer.from(JSON.parse(bundle).body, "base64").toString("utf8");
const b64 = (text) => Buffer.from(text, "utf8").toString("base64");

/** An envelope around `body` (text), signed by the test key, plus co-signatures by `cosigners`. */
function envelope(body, { cosigners = [], sign = signHex, extra = [], key = KEY } = {}) {
  const msg = message(DOMAIN.result, body);
  const signatures = [{ role: "appliance", public_key: key, signature: sign(msg, SEED) }];
  for (const [name, seed, how] of cosigners) signatures.push({ role: "scrutineer", name, public_key: publicKeyHex(seed), signature: (how || signHex)(msg, seed) });
  return JSON.stringify({ format: "piaojue-bundle/1", body: b64(body), signatures: signatures.concat(extra) }, null, 2);
}

/** A golden body with the test key as its appliance key; `edit` changes the parsed body. */
function body(name, edit) {
  const text = bodyText(read(name)).replace(GOLDEN_KEY, KEY);
  if (!edit) return text;
  const b = JSON.parse(text);
  edit(b);
  return JSON.stringify(b);
}

/** The 1-of-300 bundle of issue 11 #9: honest, or flipped to 通过 (outcome and announcement). */
function oneOf300(flip) {
  return body("motion.json", (b) => {
    b.roll = { seated: 300, present: 300, enabled: 300, cast: 1 };
    b.ballots = [[0]];
    b.receipts = b.receipts.slice(0, 1);
    b.counts = [[1, 0, 0]];
    b.outcome.roll = b.roll;
    b.outcome.quorum_required = 200;
    Object.assign(b.outcome.items[0], { counts: { 赞成: 1, 反对: 0, 弃权: 0 }, not_voted: 299, majority_required: 151, passed: false });
    b.outcome.passed = false;
    b.announcement = b.outcome.announcement = "应到代表300名，实到300名。赞成1票，反对0票，弃权0票，未按表决器299名。未通过。";
    if (flip) {
      b.outcome.items[0].passed = b.outcome.passed = true;
      b.announcement = b.outcome.announcement = b.announcement.replace("未通过。", "通过。");
    }
  });
}

/** The named motion with the test scrutineers signed into it (the pinned-keys format). */
const pinnedScrutineers = [{ id: "s1", name: "总监票人", public_key: publicKeyHex(SCRUTINEER) }, { id: "s2", name: "监票人", public_key: publicKeyHex(SCRUTINEER2) }];
const namedBody = (edit) => body("named-motion.json", (b) => { b.scrutineers = structuredClone(pinnedScrutineers); if (edit) edit(b); });
/** Named choices given delegations (甲/乙 alternately) and the counts per delegation they make,
 *  in the UTF-8 byte order of the names; `edit` changes the counts, `after` the body. */
const withDelegations = (edit, after) => (b) => {
  const names = ["第一代表团", "第二代表团"];
  b.named.forEach((n, i) => { n.delegation = names[i % 2]; });
  const groups = names.filter((d) => b.named.some((n) => n.delegation === d)).map((d) => {
    const mine = b.named.filter((n) => n.delegation === d);
    const counts = b.items.map((_, i) => [0, 0, 0].map((_, j) => mine.filter((n) => n.choices[i] === j).length));
    return { delegation: d, deputies: mine.length, counts };
  }).sort((x, y) => Buffer.compare(Buffer.from(x.delegation), Buffer.from(y.delegation)));
  if (edit) edit(groups);
  b.by_delegation = groups;
  if (after) after(b);
};
const named = (edit, opts = {}) => envelope(namedBody(edit), { cosigners: [["总监票人", SCRUTINEER]], ...opts });
/** A golden bundle of the format before pinned keys fails its co-signature requirement. */
const goldenFails = (name) => {
  const b = JSON.parse(bodyText(read(name)));
  if (b.scrutineers !== undefined || b.cosignatures_required === 0) return [];
  const cosigned = JSON.parse(read(name)).signatures.map((x, i) => [x.role, i]).filter(([r]) => r === "scrutineer").map(([, i]) => "signature.scrutineer[" + i + "]");
  return [...cosigned, "cosignatures.required"];
};
const FRESH = "e5".repeat(32);
const motion = (edit, opts) => envelope(body("motion.json", edit), opts);

// ------------------------------------------------------------------------------------------------
// Procedures (procedure.rs, docs/procedures.md): bodies the appliance would write, outcome and
// announcement made by the JS engine; the CLI then re-decides them on its own.

const sha256 = (text) => createHash("sha256").update(text).digest("hex");

/** The outcome and announcement `rules` give for the body's items, roll and counts. */
function redecide(b, rules) {
  const counts = makeCounts(rules, b.items, b.roll, b.counts);
  let warnings;
  try { warnings = checkItems(rules, b.items.length); } catch { warnings = []; }
  const outcome = decide(rules, counts, warnings);
  b.outcome = JSON.parse(JSON.stringify(outcome));
  b.announcement = outcome.announcement;
}

/** A rules document with `extra` (JSON text of fields) added after its `"kind"` line, and its hash. */
function withRules(b, extra) {
  b.rules_document = b.rules_document.replace(/("kind": ?"[a-z_]+",)/, "$1 " + extra + ",");
  b.rules_sha256 = sha256(b.rules_document);
}

// The golden 票决 ties 背街小巷改造提升 and 公共停车泊位新增 (items 4 and 5, 22 each) for the 5th
// place under revote_tied: its run-off is between those two, for one seat.
const PARENT = body("project-selection.json");
const RUNOFF_ITEMS = [4, 5].map((i) => JSON.parse(PARENT).items[i]);
/** 38 ballots of the run-off: `yes` for the first candidate, `no` for it (赞成 the second), the rest 弃权. */
const runoffBallots = (yes, no) => [...Array(yes).fill([0, 1]), ...Array(no).fill([1, 0]), ...Array(38 - yes - no).fill([2, 2])];

/** A run-off body (v2 of the session, naming its parent v1): the tied candidates, one seat,
 *  decided under Rules::for_runoff. `opts.rules` adds to the rules document (e.g. runoff_majority);
 *  `opts.decideUnder` picks the rules the outcome is made under; `edit` changes it after. */
function runoffBody({ yes = 25, no = 10, rules: extra, decideUnder, seats = 1 } = {}, edit) {
  return body("project-selection.json", (b) => {
    Object.assign(b, { vote_id: "v2", title: b.title + "（重新票决）", items: RUNOFF_ITEMS.slice(), previous_bundle_sha256: sha256(PARENT) });
    if (extra) withRules(b, extra);
    b.procedure = { runoff_of: { vote: "v1", bundle_sha256: sha256(PARENT), reason: "tie", candidates: [4, 5], seats } };
    b.ballots = runoffBallots(yes, no).map((x) => x.slice()).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    b.counts = [0, 1].map((i) => [0, 1, 2].map((c) => b.ballots.filter((x) => x[i] === c).length));
    const document = parseRules(new TextEncoder().encode(b.rules_document));
    redecide(b, decideUnder === "document" ? document : forRunoff(document, seats));
    if (edit) edit(b);
  });
}
const runoff = (opts, edit) => envelope(runoffBody(opts, edit));

/** A motion counted by hand (举手表决): no ballots, receipts or cast; the counters' counts;
 *  at least one co-signature by a scrutineer signed into the vote. */
const MANUAL = { method: "show_of_hands", counted_by: ["计票人 王某", "监票人 李某"], note: "表决器故障，改用举手方式表决" };
function manualBody(edit, name = "motion.json") {
  return body(name, (b) => {
    b.scrutineers = structuredClone(pinnedScrutineers);
    b.procedure = { manual: structuredClone(MANUAL) };
    b.ballots = [];
    b.receipts = [];
    delete b.roll.cast;
    delete b.named;
    b.counts = [[31, 5, 2]];
    const rules = parseRules(new TextEncoder().encode(b.rules_document));
    b.cosignatures_required = Math.max(rules.cosignatures_required, 1);
    redecide(b, rules);
    if (edit) edit(b);
  });
}
const manual = (edit, opts = {}) => envelope(manualBody(edit, opts.name), { cosigners: [["总监票人", SCRUTINEER]], ...opts });

/** A golden body's text with `procedure` added at its end (the floats of a 测评 kept as written). */
const withProcedure = (name, procedure) => body(name).replace(/\}$/, ',"procedure":' + JSON.stringify(procedure) + "}");
const REVOTE = { revote_of: { vote: "v1", state: "cancelled", reason: "表决器故障，表决取消" } };

/** [case, bundle text, the failing check names expected (in order), options]. */
const CASES = [
  ["golden motion (appliance key as published)", read("motion.json").toString(), [], { key: GOLDEN_KEY }],
  ["golden named motion", read("named-motion.json").toString(), goldenFails("named-motion.json"), { key: GOLDEN_KEY }],
  ["golden project selection, with a deputy's receipt", read("project-selection.json").toString(), [], { key: GOLDEN_KEY, receipt: fs.readFileSync(join(root, "tests/data/bundles/receipt.txt"), "utf8").trim() }],
  ["golden satisfaction, chained", read("satisfaction.json").toString(), [], { key: GOLDEN_KEY }],
  ["golden motion follows satisfaction", read("motion.json").toString(), [], { key: GOLDEN_KEY, previous: "satisfaction.json" }],
  ["golden motion does not follow motion", read("motion.json").toString(), ["chain.previous"], { key: GOLDEN_KEY, previous: "motion.json" }],
  ["a receipt that is not listed", read("motion.json").toString(), ["receipt"], { key: GOLDEN_KEY, receipt: "0000-0000-0000-0000" }],
  ["pinned key is another", read("motion.json").toString(), ["key.pinned"], { key: KEY }],
  ["re-signed motion", motion(), []],
  ["re-signed satisfaction (floats kept as Rust wrote them)", envelope(body("satisfaction.json")), []],
  ["re-signed project selection", envelope(body("project-selection.json")), []],
  ["re-signed named motion, co-signed", named(), []],
  // A named vote's counts per 代表团 (bundle.rs by_delegation): recomputed from the named choices.
  ["named motion with counts per delegation", named(withDelegations()), []],
  ["named motion, a count moved between delegations", named(withDelegations((g) => { g[0].counts[0][0] += 1; g[g.length - 1].counts[0][0] -= 1; })), ["named.delegations"]],
  ["named motion, delegations out of order", named(withDelegations((g) => g.reverse())), ["named.delegations"]],
  ["named motion, a choice without its delegation", named(withDelegations(undefined, (b) => { delete b.named[0].delegation; })), ["named.delegations"]],
  ["secret motion publishing counts per delegation", motion((b) => { b.by_delegation = []; }), ["named.delegations"]],
  ["1 赞成 of 300 seated, honest", envelope(oneOf300(false)), []],
  ["1 赞成 of 300 seated flipped to 通过 and re-signed", envelope(oneOf300(true)), ["outcome.rerun", "announcement"]],
  ["outcome flipped, announcement honest", motion((b) => { b.outcome.passed = false; b.outcome.items[0].passed = false; }), ["outcome.rerun"]],
  ["announcement alone changed", motion((b) => { b.announcement = b.announcement.replace("通过。", "未通过。"); }), ["announcement"]],
  ["a rate written as an integer", envelope(body("satisfaction.json", (b) => { b.outcome.items[0].rates["满意率"] = 0; })), ["outcome.rerun"]],
  ["an extra outcome field", motion((b) => { b.outcome.extra = 1; }), ["outcome.rerun"]],
  ["kind differs from the rules", motion((b) => { b.kind = "satisfaction"; }), ["rules.kind"]],
  ["secret differs from the rules", motion((b) => { b.secret = false; }), ["rules.kind", "named"]],
  ["cosignatures_required differs from the rules", motion((b) => { b.cosignatures_required = 1; }), ["cosignatures.required", "rules.kind"]],
  ["named vote without co-signature", envelope(namedBody()), ["cosignatures.required"]],
  ["issue 11 #1: a co-signature by a fresh key named 总监票人", named(undefined, { cosigners: [["总监票人", FRESH]] }), ["signature.scrutineer[1]", "cosignatures.required"]],
  ["a bundle naming no scrutineers, validly co-signed", envelope(body("named-motion.json"), { cosigners: [["总监票人", SCRUTINEER]] }), ["signature.scrutineer[1]", "cosignatures.required"]],
  ["the agenda's scrutineer keys, as printed", named(), [], { scrutineers: pinnedScrutineers.map((x) => x.public_key) }],
  ["the agenda names another scrutineer", named(), ["scrutineers.pinned"], { scrutineers: [publicKeyHex(SCRUTINEER), publicKeyHex(FRESH)] }],
  ["the agenda's keys but the bundle names none", motion(), ["scrutineers.pinned"], { scrutineers: [publicKeyHex(SCRUTINEER)] }],
  ["a scrutineer key signed in twice", named((b) => { b.scrutineers[1].public_key = b.scrutineers[0].public_key; }), ["scrutineers"]],
  ["a scrutineer key of small order", named((b) => { b.scrutineers[1].public_key = "01" + "00".repeat(31); }), ["scrutineers"]],
  ["named choices differ from the ballots", named((b) => { b.named[0].choices = [b.named[0].choices[0] === 0 ? 1 : 0]; }), ["named"]],
  ["named vote publishes no names", named((b) => { delete b.named; }), ["named"]],
  ["secret vote publishes names", motion((b) => { b.named = [{ deputy: "d0001", name: "某", choices: b.ballots[0] }]; }), ["named"]],
  ["appliance R with 8-torsion", motion(undefined, { sign: torsionSignatureHex }), ["signature.appliance"]],
  ["scrutineer R with 8-torsion", named(undefined, { cosigners: [["总监票人", SCRUTINEER, torsionSignatureHex]] }), ["signature.scrutineer[1]", "cosignatures.required"]],
  ["the same scrutineer twice", named(undefined, { cosigners: [["甲", SCRUTINEER], ["乙", SCRUTINEER]] }), ["signature.scrutineer[2]"]],
  ["two scrutineers", named(undefined, { cosigners: [["甲", SCRUTINEER], ["乙", SCRUTINEER2]] }), []],
  ["an unknown role", motion(undefined, { extra: [{ role: "chair", public_key: KEY, signature: "00".repeat(64) }] }), ["signature[1]"]],
  ["two appliance signatures", motion(undefined, { extra: [{ role: "appliance", public_key: KEY, signature: "00".repeat(64) }] }), ["signature.appliance"]],
  ["body names another appliance key", envelope(body("motion.json", (b) => { b.appliance_key = GOLDEN_KEY; })), ["signature.appliance"]],
  ["counts tampered", motion((b) => { b.counts[0][0] += 1; }), ["counts.recount"]],
  ["ballots unsorted", motion((b) => { b.ballots.reverse(); }), ["ballots.order"]],
  ["a ballot out of range", motion((b) => { b.ballots[b.ballots.length - 1] = [7]; }), ["ballots.wellformed", "counts.recount", "outcome.rerun", "announcement"]],
  ["a receipt malformed", motion((b) => { b.receipts[0] = "UUUU-0000-0000-0000"; }), ["receipts"]],
  ["receipts lower case are still codes", motion((b) => { b.receipts = b.receipts.map((r) => r.toLowerCase()).sort(); }), []],
  ["roll: cast differs from the ballots", motion((b) => { b.roll.cast += 1; }), ["roll", "outcome.rerun"]],
  ["roll: present above seated", motion((b) => { b.roll.present = b.roll.seated + 1; b.outcome.roll.present = b.roll.present; }), ["roll", "outcome.rerun"]],
  ["rules document tampered", motion((b) => { b.rules_document = b.rules_document.replace("过半数", "三分之二"); }), ["rules.hash"]],
  ["rules document unreadable, hash matching", motion((b) => { b.rules_document = '{"kind":"motion","x":1}'; b.rules_sha256 = createHash("sha256").update(b.rules_document).digest("hex"); }), ["rules.parse"]],
  ["rules document with a quorum below half, hash matching", motion((b) => { b.rules_document = '{"kind":"motion","quorum":{"num":1,"den":3,"inclusive":true}}'; b.rules_sha256 = createHash("sha256").update(b.rules_document).digest("hex"); }), ["rules.parse"]],
  ["a body field unknown", motion((b) => { b.extra = 1; }), ["body"]],
  ["a body field missing", motion((b) => { delete b.audit_head; }), ["body"]],
  ["a body count as a float", motion((b) => { b.cosignatures_required = 0.5; }), ["body"]],
  ["an envelope field unknown", JSON.stringify({ ...JSON.parse(motion()), extra: 1 }), ["envelope"]],
  ["base64 with non-zero trailing bits", JSON.stringify({ ...JSON.parse(motion()), body: "QR==" }), ["envelope"]],
  ["base64 of a non-result", JSON.stringify({ ...JSON.parse(motion()), body: "QQ==" }), ["body", "signature.appliance"]],
  ["another envelope format", JSON.stringify({ ...JSON.parse(motion()), format: "piaojue-bundle/9" }), ["envelope"]],
  ["not JSON", "not a bundle", ["envelope"]],
  // serde's other spellings of the same values: a struct as a sequence, a unit variant as a map.
  ["the roll written as a sequence", envelope(body("motion.json").replace(/"roll":\{"seated":(\d+),"present":(\d+),"enabled":(\d+),"cast":(\d+)\}/, '"roll":[$1,$2,$3,$4]')), []],
  ["the kind written as {\"motion\": null}", envelope(body("motion.json").replace('"kind":"motion"', '"kind":{"motion":null}')), []],
  ["a signature entry as a sequence", (() => { const e = JSON.parse(motion()); const s = e.signatures[0]; e.signatures[0] = [s.role, null, s.public_key, s.signature]; return JSON.stringify(e); })(), []],
  ["a signature entry as a short sequence", (() => { const e = JSON.parse(motion()); e.signatures[0] = ["appliance"]; return JSON.stringify(e); })(), ["envelope"]],
  ["a duplicate body field", envelope(body("motion.json").replace('"secret":true', '"secret":true,"secret":true')), ["body"]],
  // Rules document fields read as Rust reads them.
  ["a motion's rules with runoff_majority (unused: a warning)", motion((b) => { withRules(b, '"runoff_majority": false'); redecide(b, parseRules(new TextEncoder().encode(b.rules_document))); }), []],
  ["a motion's rules with manual_checkin_cosign", motion((b) => { withRules(b, '"manual_checkin_cosign": true'); }), []],
  ["runoff_majority not a boolean", motion((b) => { withRules(b, '"runoff_majority": 1'); }), ["rules.parse"]],
  // Procedures: a re-vote, a run-off, a 测评 from a 票决 bundle, a manual count.
  ["a re-vote of a cancelled vote", envelope(withProcedure("motion.json", REVOTE)), []],
  ["a re-vote of a failed vote, written as a sequence", envelope(withProcedure("motion.json", { revote_of: ["v12", "failed", "解密未能完成"] })), []],
  ["procedure: null is no procedure", envelope(withProcedure("motion.json", null)), []],
  ["an empty procedure", envelope(withProcedure("motion.json", {})), ["procedure"]],
  ["a procedure with every part null", envelope(withProcedure("motion.json", { revote_of: null, runoff_of: null, source: null, manual: null })), ["procedure"]],
  ["a procedure with an unknown field", envelope(withProcedure("motion.json", { ...REVOTE, chair: "主持人" })), ["body"]],
  ["revote_of with an unknown field", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, by: "秘书处" } })), ["body"]],
  ["a re-vote of a closed vote", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, state: "closed" } })), ["procedure"]],
  ["a re-vote's reason blank", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, reason: " \u3000" } })), ["procedure"]],
  ["a re-vote's reason with a control character", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, reason: "原因\u0085" } })), ["procedure"]],
  ["a re-vote's reason of 500 characters", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, reason: "𠀀".repeat(500) } })), []],
  ["a re-vote's reason of 501 characters", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, reason: "因".repeat(501) } })), ["procedure"]],
  ["a re-vote of no vote id", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, vote: "v01" } })), ["procedure"]],
  // A vote linked to itself (the golden motion is v3): refused before anything else of the link.
  ["a re-vote of itself", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, vote: "v3" } })), ["procedure"]],
  ["a re-vote of itself, of a closed vote, without a reason", envelope(withProcedure("motion.json", { revote_of: { vote: "v3", state: "closed", reason: "" } })), ["procedure"]],
  ["a re-vote of another vote v30", envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, vote: "v30" } })), []],
  ["a run-off of itself", runoff({}, (b) => { b.procedure.runoff_of.vote = "v2"; }), ["procedure"]],
  ["a run-off of itself, its parent hash in upper case", runoff({}, (b) => { b.procedure.runoff_of.vote = "v2"; b.procedure.runoff_of.bundle_sha256 = b.procedure.runoff_of.bundle_sha256.toUpperCase(); }), ["procedure"]],
  ["a re-vote of itself that is also a run-off of it", runoff({}, (b) => { b.procedure.revote_of = { ...REVOTE.revote_of, vote: "v2" }; b.procedure.runoff_of.vote = "v2"; }), ["procedure"]],
  ["a run-off among the tied candidates, re-decided under its one seat", runoff(), []],
  ["a run-off where no candidate meets the majority", runoff({ yes: 20, no: 15 }), []],
  ["a run-off under runoff_majority: false (以得票多的确定)", runoff({ yes: 20, no: 15, rules: '"runoff_majority": false' }), []],
  ["a run-off under runoff_majority: false, tied again", runoff({ yes: 17, no: 17, rules: '"runoff_majority": false' }), []],
  ["a run-off under runoff_majority: false with no 赞成 at all", runoff({ yes: 0, no: 0, rules: '"runoff_majority": false' }), []],
  ["a run-off under runoff_majority: false, 1 赞成 of 38", runoff({ yes: 1, no: 0, rules: '"runoff_majority": false' }), []],
  ["a run-off decided under the document's five places", runoff({ decideUnder: "document" }), ["outcome.rerun", "announcement"]],
  ["a run-off under runoff_majority: false decided with the majority", runoff({ yes: 20, no: 15, rules: '"runoff_majority": false', decideUnder: "document" }), ["outcome.rerun", "announcement"]],
  ["a run-off ballot with two 赞成 for one seat", runoff({}, (b) => { b.ballots[b.ballots.length - 1] = [0, 0]; b.ballots.sort((x, y) => x[0] - y[0] || x[1] - y[1]); }), ["ballots.wellformed", "counts.recount", "outcome.rerun", "announcement"]],
  ["a run-off of 0 seats", runoff({}, (b) => { b.procedure.runoff_of.seats = 0; }), ["procedure"]],
  ["a run-off of more seats than the document's select_n", runoff({}, (b) => { b.procedure.runoff_of.seats = 6; }), ["procedure"]],
  ["a run-off of two seats among two candidates", runoff({ seats: 2 }), []],
  ["a run-off of three seats among two candidates", runoff({ seats: 3 }), ["procedure"]],
  ["a run-off of five seats (the document's select_n) among two candidates", runoff({ seats: 5 }), ["procedure"]],
  ["a run-off of three seats among two candidates out of order", runoff({ seats: 3 }, (b) => { b.procedure.runoff_of.candidates = [5, 4]; }), ["procedure"]],
  ["a manual run-off of three seats among two candidates", envelope(runoffBody({ seats: 3 }, (b) => {
    b.scrutineers = structuredClone(pinnedScrutineers);
    b.procedure.manual = { ...structuredClone(MANUAL), method: "paper" };
    b.ballots = []; b.receipts = []; delete b.roll.cast;
    b.cosignatures_required = 1;
  }), { cosigners: [["总监票人", SCRUTINEER]] }), ["procedure"]],
  ["a run-off whose candidates are not its items", runoff({}, (b) => { b.procedure.runoff_of.candidates = [3, 4, 5]; }), ["procedure"]],
  ["a run-off's candidates out of order", runoff({}, (b) => { b.procedure.runoff_of.candidates = [5, 4]; }), ["procedure"]],
  ["a run-off's candidates repeated", runoff({}, (b) => { b.procedure.runoff_of.candidates = [4, 4]; }), ["procedure"]],
  ["a run-off's parent hash in upper case", runoff({}, (b) => { b.procedure.runoff_of.bundle_sha256 = b.procedure.runoff_of.bundle_sha256.toUpperCase(); }), ["procedure"]],
  ["a run-off's parent not a vote id", runoff({}, (b) => { b.procedure.runoff_of.vote = "V1"; }), ["procedure"]],
  ["a run-off's reason unknown", runoff({}, (b) => { b.procedure.runoff_of.reason = "draw"; }), ["body"]],
  ["a run-off's seats negative", runoff({}, (b) => { b.procedure.runoff_of.seats = -1; }), ["body"]],
  ["a run-off of a motion", envelope(withProcedure("motion.json", { runoff_of: { vote: "v1", bundle_sha256: "ab".repeat(32), reason: "tie", candidates: [0], seats: 1 } })), ["procedure"]],
  ["a 测评 of the projects of a 票决 bundle", envelope(withProcedure("satisfaction.json", { source: { bundle_sha256: sha256(PARENT), appliance_key: KEY } })), []],
  ["a source on a motion", envelope(withProcedure("motion.json", { source: { bundle_sha256: sha256(PARENT), appliance_key: KEY } })), ["procedure"]],
  ["a source key not hex", envelope(withProcedure("satisfaction.json", { source: { bundle_sha256: sha256(PARENT), appliance_key: "key" } })), ["procedure"]],
  ["a manual count (举手表决), co-signed", manual(), []],
  ["a manual count on paper of a named motion, no names", manual((b) => { b.procedure.manual.method = "paper"; }, { name: "named-motion.json" }), []],
  ["a manual count with names", manual((b) => { b.named = [{ deputy: "d0001", name: "某", choices: [0] }]; }), ["named"]],
  ["a manual count without a co-signature", manual(undefined, { cosigners: [] }), ["cosignatures.required"]],
  ["a manual count saying no co-signature is required", manual((b) => { b.cosignatures_required = 0; }), ["rules.kind"]],
  ["a manual count with ballots", manual((b) => { b.ballots = [[0]]; }), ["roll"]],
  ["a manual count with receipts", manual((b) => { b.receipts = ["082F-6TYX-DHRB-TTDP"]; }), ["roll"]],
  ["a manual count with a cast", manual((b) => { b.roll.cast = 38; b.outcome.roll.cast = 38; }), ["roll"]],
  ["a manual count above the deputies present", manual((b) => { b.counts = [[41, 0, 0]]; }), ["outcome.rerun"]],
  ["a manual count's outcome flipped", manual((b) => { b.outcome.passed = b.outcome.items[0].passed = false; }), ["outcome.rerun"]],
  ["a manual count with no counter", manual((b) => { b.procedure.manual.counted_by = []; }), ["procedure"]],
  ["a manual count with 21 counters", manual((b) => { b.procedure.manual.counted_by = Array.from({ length: 21 }, (_, i) => "计票人" + i); }), ["procedure"]],
  ["a manual count's note empty", manual((b) => { b.procedure.manual.note = ""; }), ["procedure"]],
  ["a manual count by an unknown method", manual((b) => { b.procedure.manual.method = "voice"; }), ["body"]],
  ["a manual count with an unknown field", manual((b) => { b.procedure.manual.place = "主会场"; }), ["body"]],
  ["a run-off counted on paper", envelope(runoffBody({}, (b) => {
    b.scrutineers = structuredClone(pinnedScrutineers);
    b.procedure.manual = { ...structuredClone(MANUAL), method: "paper" };
    b.ballots = []; b.receipts = []; delete b.roll.cast;
    b.counts = [[30, 6, 2], [6, 30, 2]];
    b.cosignatures_required = 1;
    redecide(b, forRunoff(parseRules(new TextEncoder().encode(b.rules_document)), 1));
  }), { cosigners: [["总监票人", SCRUTINEER]] }), []],
];

function cli(file, opts) {
  const args = ["verify", file, "--key", opts.key || KEY, "--json"];
  if (opts.receipt) args.push("--receipt", opts.receipt);
  if (opts.previous) args.push("--previous", join(root, "tests/data/bundles", opts.previous));
  if (opts.scrutineers) {
    const keys = join(dir, "agenda-" + Math.random().toString(16).slice(2) + ".txt");
    fs.writeFileSync(keys, "# 议程上印的监票人公钥\n" + opts.scrutineers.join("\n") + "\n");
    args.push("--scrutineers", keys);
  }
  const r = spawnSync(BIN, args);
  assert.ok(r.status === 0 || r.status === 1, file + ": " + r.stderr);
  return JSON.parse(r.stdout.toString());
}

test("the page's checks give the CLI's verdicts, check for check, on good and forged bundles", { timeout: 120000 }, () => {
  let compared = 0;
  CASES.forEach(([name, text, failing, opts = {}], i) => {
    const expect = { key: opts.key || KEY, receipt: opts.receipt || null, previous: opts.previous ? read(opts.previous) : null, scrutineers: opts.scrutineers || null };
    const got = verifyBundle(new TextEncoder().encode(text), expect);
    const failed = got.checks.filter((c) => !c.ok).map((c) => c.name);
    assert.deepEqual(failed, failing, name + ": " + JSON.stringify(got.checks.filter((c) => !c.ok)));
    assert.equal(got.verified, failing.length === 0, name);
    if (haveBin) {
      const file = join(dir, i + ".json");
      fs.writeFileSync(file, text);
      const want = cli(file, opts);
      assert.deepEqual(got.checks.map((c) => [c.name, c.ok]), want.checks.map((c) => [c.name, c.ok]), name + " (page vs CLI)");
      // The procedure check in Rust's words, passed or failed.
      const detailOf = (r) => (r.checks.find((c) => c.name === "procedure") || {}).detail;
      assert.equal(detailOf(got), detailOf(want), name + " (the procedure check's detail, page vs CLI)");
      assert.equal(got.verified, want.verified, name);
      compared++;
    }
  });
  if (haveBin) assert.equal(compared, CASES.length);
  else console.log("# no piaojue binary at " + BIN + ": the CLI comparison was skipped");
});

test("the procedure check's detail and refusals are the Rust verifier's words", () => {
  const detail = (text, name) => verifyBundle(new TextEncoder().encode(text), { key: KEY }).checks.find((c) => c.name === name).detail;
  assert.equal(detail(runoff(), "procedure"), "run-off of v1 (对得票相等的项目重新票决), 1 seats");
  assert.equal(detail(manual(), "procedure"), "举手表决结果 counted by 计票人 王某、监票人 李某");
  assert.equal(detail(manual(), "roll"), "manual count: no ballots or receipts; present 40 ≤ seated 40");
  assert.equal(detail(manual(), "counts.recount"), "manual count: the counts as the counters reported them, co-signed by the scrutineers");
  assert.equal(detail(envelope(withProcedure("motion.json", REVOTE)), "procedure"), "re-vote of v1 (cancelled: 表决器故障，表决取消)");
  assert.equal(detail(envelope(withProcedure("motion.json", {})), "procedure"), "procedure: present but empty");
  assert.equal(detail(envelope(withProcedure("motion.json", { revote_of: null, runoff_of: null, source: null, manual: null })), "procedure"), "procedure: present but empty");
  assert.equal(detail(runoff({}, (b) => { b.procedure.runoff_of.seats = 0; }), "procedure"), "procedure.runoff_of.seats: 0 seats for 2 candidates");
  assert.equal(detail(runoff({ seats: 3 }), "procedure"), "procedure.runoff_of.seats: 3 seats for 2 candidates");
  assert.equal(detail(runoff({}, (b) => { b.procedure.runoff_of.seats = 6; }), "procedure"), "procedure.runoff_of.seats: 6 seats for 2 candidates");
  assert.equal(detail(runoff({}, (b) => { b.procedure.runoff_of.vote = "v2"; }), "procedure"), "procedure.runoff_of.vote: a vote cannot be its own parent");
  assert.equal(detail(runoff({}, (b) => { b.procedure.runoff_of.vote = "v2"; b.procedure.runoff_of.bundle_sha256 = "AB".repeat(32); }), "procedure"), "procedure.runoff_of.vote: a vote cannot be its own parent");
  assert.equal(detail(envelope(withProcedure("motion.json", { revote_of: { ...REVOTE.revote_of, vote: "v3" } })), "procedure"), "procedure.revote_of.vote: a vote cannot repeat itself");
  assert.equal(detail(envelope(withProcedure("motion.json", { revote_of: { vote: "v3", state: "closed", reason: "" } })), "procedure"), "procedure.revote_of.vote: a vote cannot repeat itself");
  assert.equal(detail(runoff({}, (b) => { b.procedure.runoff_of.candidates = [3, 4, 5]; }), "procedure"), "procedure.runoff_of.candidates: 3 candidates for 2 items");
  assert.equal(detail(manual((b) => { b.procedure.manual.counted_by = []; }), "procedure"), "procedure.manual.counted_by: 1 to 20 names");
  assert.equal(detail(manual((b) => { b.named = []; }), "named"), "a manual count publishes no named choices");
  const source = { source: { bundle_sha256: "ab".repeat(32), appliance_key: KEY } };
  assert.equal(describeProcedure(source), "测评 of the projects of bundle abababababababab");
  // The shape alone, under a 票决 document: the run-off's seats against its select_n.
  const ps = parseRules(new TextEncoder().encode(JSON.parse(PARENT).rules_document));
  const ro = (seats, candidates = [0, 1]) => ({ runoff_of: { vote: "v1", bundle_sha256: "ab".repeat(32), reason: "shortfall", candidates, seats } });
  const six = [0, 1, 2, 3, 4, 5];
  assert.equal(procedureShape(ro(2), ps, "v2", 2), null);
  assert.equal(procedureShape(ro(5, six), ps, "v2", 6), null);
  assert.equal(procedureShape(ro(3), ps, "v2", 2), "procedure.runoff_of.seats: 3 seats for 2 candidates");
  assert.equal(procedureShape(ro(0), ps, "v2", 2), "procedure.runoff_of.seats: 0 seats for 2 candidates");
  // Seats within the candidates but beyond the document's select_n (5): not a run-off of it.
  assert.equal(procedureShape(ro(6, six), ps, "v2", 6), "procedure.runoff_of.seats: 6 seats is not a run-off of this rules document");
  assert.equal(procedureShape(ro(1), ps, "v1", 2), "procedure.runoff_of.vote: a vote cannot be its own parent");
  assert.equal(procedureShape({ revote_of: { vote: "v2", state: "failed", reason: "x" } }, ps, "v2", 2), "procedure.revote_of.vote: a vote cannot repeat itself");
  assert.equal(procedureShape({ revote_of: { vote: "v2", state: "failed", reason: "x" } }, ps, "v3", 2), null);
  assert.equal(procedureShape({}, ps, "v2", 2), "procedure: present but empty");
  assert.match(procedureShape(source, ps, "v2", 2), /only a 满意度测评/);
  assert.match(procedureShape({ revote_of: { vote: "v" + "1".repeat(20), state: "failed", reason: "x" } }, ps, "v2", 2), /not a vote id/);
  assert.equal(procedureShape({ revote_of: { vote: "v" + "9".repeat(19), state: "failed", reason: "x" } }, ps, "v2", 2), null);
});

test("the verify page reads the procedure out in Chinese", () => {
  const got = verifyBundle(new TextEncoder().encode(runoff()), { key: KEY });
  assert.deepEqual(procedureLines(got.body.procedure), ["对得票相等的项目重新票决：v1 的 2 个候选项目，1 个名额（原票决结果正文 SHA-256 " + sha256(PARENT).slice(0, 16) + "…）"]);
  assert.deepEqual(procedureLines(verifyBundle(new TextEncoder().encode(manual()), { key: KEY }).body.procedure),
    ["举手表决结果，计票人：计票人 王某、监票人 李某；说明：表决器故障，改用举手方式表决"]);
  assert.deepEqual(procedureLines({ revote_of: { vote: "v2", state: "cancelled", reason: "表决器故障" }, runoff_of: null, source: { bundle_sha256: "ab".repeat(32), appliance_key: "cd".repeat(32) }, manual: { method: "paper", counted_by: ["甲"], note: "改用纸质票" } }), [
    "重新表决：v2（已取消：表决器故障）",
    "满意度测评，项目来自票决结果 abababababababab…（签名设备公钥 cdcdcdcdcdcdcdcd…）",
    "纸质票计票结果，计票人：甲；说明：改用纸质票",
  ]);
  assert.deepEqual(procedureLines({ revote_of: { vote: "v5", state: "failed", reason: "解密未能完成" } }), ["重新表决：v5（已宣告失败：解密未能完成）"]);
  assert.deepEqual(procedureLines(null), []);
  assert.equal(verifyBundle(new TextEncoder().encode(motion()), { key: KEY }).body.procedure, null);
});

test("without a pinned key the page fails key.pinned, as the core verifier does", () => {
  const got = verifyBundle(read("motion.json"), {});
  assert.deepEqual(got.checks.filter((c) => !c.ok).map((c) => c.name), ["key.pinned"]);
});
