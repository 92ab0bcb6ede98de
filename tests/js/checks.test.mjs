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
import { verifyBundle } from "../../src/web/assets/checks.js";
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
      assert.equal(got.verified, want.verified, name);
      compared++;
    }
  });
  if (haveBin) assert.equal(compared, CASES.length);
  else console.log("# no piaojue binary at " + BIN + ": the CLI comparison was skipped");
});

test("without a pinned key the page fails key.pinned, as the core verifier does", () => {
  const got = verifyBundle(read("motion.json"), {});
  assert.deepEqual(got.checks.filter((c) => !c.ok).map((c) => c.name), ["key.pinned"]);
});
