// The JS rules engine (src/web/assets/rules.js) on the golden tally vectors that the Rust
// engine also passes (tests/data/tally/vectors.json; tests/tally_vectors.rs): the same outcome,
// announcement included, for every input, and the same refused field for every bad one.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import {
  tally, parseRules, parseJson, F64, fixed2, RulesError, reached, minimum, TWO_THIRDS_INCLUSIVE, MORE_THAN_HALF, ANY_VOTE, describeFraction,
  forRunoff, makeCounts, checkItems, decide,
} from "../../src/web/assets/rules.js";

const file = JSON.parse(fs.readFileSync(new URL("../data/tally/vectors.json", import.meta.url), "utf8"));

function get(obj, path) {
  let v = obj;
  for (const part of path.replace(/\[(\d+)\]/g, ".$1").split(".")) v = v?.[part];
  return v;
}

test("the shared golden vectors: every outcome and every refusal as the Rust engine gives it", () => {
  assert.ok(file.vectors.length >= 40);
  let outcomes = 0, refusals = 0;
  for (const v of file.vectors) {
    const bytes = new TextEncoder().encode(JSON.stringify(v.input));
    if (v.error) {
      assert.throws(() => tally(bytes), (e) => e instanceof RulesError && e.field === v.error.field, v.name + ": refuses " + v.error.field);
      refusals++;
      continue;
    }
    const got = tally(bytes);
    assert.deepEqual(got, v.outcome, v.name);
    assert.equal(got.announcement, v.outcome.announcement, v.name + ": announcement");
    for (const [path, want] of Object.entries(v.research || {})) assert.deepEqual(get(got, path), want, v.name + ": " + path + " (research §8)");
    outcomes++;
  }
  assert.ok(outcomes >= 25 && refusals >= 15, outcomes + " outcomes, " + refusals + " refusals");
});

test("every worked example of the research §8 is among the vectors", () => {
  for (const tag of ["§8.1", "§8.2", "§8.3", "§8.4", "§8.5", "§8.6", "§8.7"]) assert.ok(file.vectors.some((v) => v.name.startsWith(tag)), tag);
});

test("integer fractions: the research's minimums", () => {
  assert.equal(minimum(TWO_THIRDS_INCLUSIVE, 327), 218);
  assert.equal(minimum(MORE_THAN_HALF, 327), 164);
  assert.equal(minimum(MORE_THAN_HALF, 300), 151);
  assert.equal(minimum(TWO_THIRDS_INCLUSIVE, 2980), 1987);
  assert.ok(reached(TWO_THIRDS_INCLUSIVE, 200, 300) && !reached(TWO_THIRDS_INCLUSIVE, 199, 300));
  assert.ok(!reached(MORE_THAN_HALF, 0, 0), "zero yes never meets a majority");
});

test("percentages round like Rust's {:.2} (ties to even), not like toFixed", () => {
  assert.equal(fixed2(3.125), "3.12");
  assert.equal(fixed2(15.625), "15.62");
  assert.equal(fixed2(9.375), "9.38");
  assert.equal(fixed2(96.875), "96.88");
  assert.equal(fixed2(58.620689655172406), "58.62");
  assert.equal(fixed2(100), "100.00");
});

test("the strict JSON reader behaves like serde_json where a verdict depends on it", () => {
  const ok = (text) => parseRules(new TextEncoder().encode(text));
  const bad = (text, field) => assert.throws(() => ok(text), (e) => e instanceof RulesError && (field === undefined || e.field === field), text);
  assert.equal(ok('{"kind":"motion"}').kind, "motion");
  bad('{"kind":"motion","kind":"motion"}');
  bad('{"kind":"motion"} x');
  bad('{"kind":"motion","quorum":{"num":2.0,"den":3,"inclusive":true}}', "quorum.num");
  bad('{"kind":"motion","quorum":{"num":2,"den":3,"inclusive":true,"x":1}}', "quorum.x");
  bad('{"kind":"motion","title":"\\ud800"}');
  bad('{"kind":"motion","cosignatures_required":-1}', "cosignatures_required");
  bad('{"kind":"motion","cosignatures_required":4294967296}', "cosignatures_required");
  bad('{"kind":"vote"}', "kind");
  bad("", "input");
  bad("   ", "input");
  assert.equal(ok('{"kind":"motion","title":null,"secret":null}').secret, true, "null is None, as serde reads Option");
  assert.equal(ok('{"kind":"motion","title":" \\ufeff题 "}').title, "\ufeff题", "Rust's trim keeps U+FEFF");
  assert.ok(parseJson("1.0") instanceof F64);
  assert.equal(parseJson("18446744073709551615"), 18446744073709551615n);
  assert.ok(parseJson("18446744073709551616") instanceof F64, "beyond u64 serde_json reads a float");
  assert.throws(() => parseJson("01"));
  assert.throws(() => parseJson('"\u0001"'));
  assert.throws(() => parseJson("[".repeat(200) + "]".repeat(200)), /recursion/);
});

test("parseJson's nesting limit is serde_json's: 127 nested containers parse, 128 are refused", () => {
  // serde_json starts remaining_depth at 128 and refuses the container that brings it to 0
  // (json_nesting_limit_matches_serde: the 128th level was accepted here before).
  const nest = (n, o, c) => o.repeat(n) + c.repeat(n);
  assert.doesNotThrow(() => parseJson(nest(127, "[", "]")));
  assert.throws(() => parseJson(nest(128, "[", "]")), /recursion limit exceeded/);
  assert.doesNotThrow(() => parseJson('{"a":'.repeat(127) + "1" + "}".repeat(127)));
  assert.throws(() => parseJson('{"a":'.repeat(128) + "1" + "}".repeat(128)), /recursion limit exceeded/);
});

// ------------------------------------------------------------------------------------------------
// Run-offs (document.rs Rules::for_runoff, fraction.rs ANY_VOTE, announce.rs). The outcomes and
// announcements below are also re-decided by `piaojue verify` in tests/js/checks.test.mjs
// (run-off bundles), which is where they are compared with the Rust engine.

const doc = (extra) => parseRules(new TextEncoder().encode(JSON.stringify({ kind: "project_selection", select_n: 3, max_yes: 2, ...extra })));

test("ANY_VOTE: reached by any vote, never by none; its minimum is 1; read as 得票多者", () => {
  assert.ok(reached(ANY_VOTE, 1, 300) && reached(ANY_VOTE, 1, 0) && reached(ANY_VOTE, 300, 300));
  assert.ok(!reached(ANY_VOTE, 0, 0) && !reached(ANY_VOTE, 0, 300));
  for (const base of [0, 1, 37, 327]) assert.equal(minimum(ANY_VOTE, base), 1, String(base));
  assert.equal(describeFraction(ANY_VOTE), "得票多者");
  assert.equal(describeFraction(MORE_THAN_HALF), "过半数");
  assert.equal(describeFraction(TWO_THIRDS_INCLUSIVE), "三分之二以上");
});

test("runoff_majority: read for a 票决 (default true), refused unless a boolean, unused elsewhere", () => {
  assert.equal(doc().params.runoff_majority, true);
  assert.equal(doc({ runoff_majority: false }).params.runoff_majority, false);
  assert.equal(doc({ runoff_majority: null }).params.runoff_majority, true, "null is None");
  assert.deepEqual(doc({ runoff_majority: true }).warnings, []);
  assert.throws(() => doc({ runoff_majority: 1 }), (e) => e instanceof RulesError && e.field === "runoff_majority");
  assert.throws(() => doc({ runoff_majority: "false" }), (e) => e instanceof RulesError && e.field === "runoff_majority");
  const motion = parseRules(new TextEncoder().encode('{"kind":"motion","shortfall_rule":"defer","runoff_majority":false}'));
  assert.deepEqual(motion.warnings, ["shortfall_rule: has no effect on a 表决", "runoff_majority: has no effect on a 表决"]);
  const test = parseRules(new TextEncoder().encode('{"kind":"satisfaction","runoff_majority":true}'));
  assert.deepEqual(test.warnings, ["runoff_majority: has no effect on a 满意度测评"]);
  // manual_checkin_cosign (trust holes #2) is a field of the document too.
  assert.equal(parseRules(new TextEncoder().encode('{"kind":"motion","manual_checkin_cosign":true}')).manual_checkin_cosign, true);
  assert.equal(parseRules(new TextEncoder().encode('{"kind":"motion"}')).manual_checkin_cosign, false);
});

test("forRunoff: the seats as select_n, max_yes capped by them, the majority kept or any vote", () => {
  const d = doc({ majority: { base: "present", num: 2, den: 3, inclusive: true }, tie_rule: "revote_tied" });
  for (const seats of [0, 4]) assert.equal(forRunoff(d, seats), null, seats + " seats");
  assert.equal(forRunoff(parseRules(new TextEncoder().encode('{"kind":"motion"}')), 1), null);
  assert.equal(forRunoff(parseRules(new TextEncoder().encode('{"kind":"satisfaction"}')), 1), null);
  const one = forRunoff(d, 1);
  assert.deepEqual([one.params.select_n, one.params.max_yes], [1, 1]);
  assert.deepEqual(one.params.majority, d.params.majority);
  const three = forRunoff(d, 3);
  assert.deepEqual([three.params.select_n, three.params.max_yes], [3, 2], "max_yes = min(max_yes, seats)");
  assert.deepEqual([three.kind, three.options, three.quorum, three.params.tie_rule, three.params.form], [d.kind, d.options, d.quorum, "revote_tied", "per_item"]);
  assert.deepEqual([d.params.select_n, d.params.max_yes], [3, 2], "the document is left as it was");
  const most = forRunoff(doc({ runoff_majority: false }), 2);
  assert.deepEqual(most.params.majority, { base: "cast", fraction: ANY_VOTE });
});

test("a run-off under runoff_majority: false is decided by most 赞成 and announced 以得票多的确定", () => {
  const rules = forRunoff(doc({ runoff_majority: false, tie_rule: "revote_tied" }), 1);
  const roll = { seated: 40, present: 38 };
  const decideRows = (counts) => decide(rules, makeCounts(rules, ["甲项目", "乙项目"], roll, counts), checkItems(rules, 2));
  const o = decideRows([[9, 20, 9], [7, 22, 9]]);
  assert.deepEqual(o.selected, ["甲项目"], "9 赞成 of 38 takes the seat: no majority needed");
  assert.deepEqual(o.items.map((i) => [i.majority_required, i.meets_majority, i.rank]), [[1, true, 1], [1, true, 2]]);
  assert.equal(o.announcement, "应到代表40名，实到38名。候选项目2个，拟确定1个，以得票多的确定。\n得票情况（按赞成票排序）："
    + "\n第1名　甲项目：赞成9票，不赞成20票，弃权9票，未按表决器0名。"
    + "\n第2名　乙项目：赞成7票，不赞成22票，弃权9票，未按表决器0名。"
    + "\n票决确定的民生实事项目（1个）：甲项目。");
  // Tied again at the cut: the tie is announced as any 票决's.
  const tied = decideRows([[8, 21, 9], [8, 21, 9]]);
  assert.deepEqual([tied.selected, tied.tie], [[], { items: ["甲项目", "乙项目"], seats: 1, votes: 8 }]);
  assert.match(tied.announcement, /甲项目、乙项目得票相等（均为8票），应就票数相等的项目再次票决，确定剩余1个名额。$/);
  // No 赞成 at all is no seat, even here.
  const none = decideRows([[0, 29, 9], [0, 29, 9]]);
  assert.deepEqual([none.selected, none.shortfall], [[], 1]);
  assert.match(none.announcement, /以得票多的确定。[\s\S]*未获通过　甲项目[\s\S]*没有项目获得通过。\n获得通过的项目少于拟定数，尚缺1个名额/);
  // Under the default (runoff_majority true) the document's majority still applies, in its words.
  const kept = forRunoff(doc(), 1);
  const k = decide(kept, makeCounts(kept, ["甲项目", "乙项目"], roll, [[9, 20, 9], [7, 22, 9]]), checkItems(kept, 2));
  assert.deepEqual(k.selected, []);
  assert.match(k.announcement, /^应到代表40名，实到38名。候选项目2个，拟确定1个，以全体代表的过半数（21票）赞成为通过。/);
});
