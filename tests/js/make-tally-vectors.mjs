// Writes tests/data/tally/vectors.json: tally inputs and the outcomes the REAL `piaojue tally`
// binary gives for them (or the field it refuses). Both engines are tested on that one file:
// the Rust engine (tests/tally_vectors.rs) and the JS port (tests/js/rules.test.mjs).
//
//   cargo build && node tests/js/make-tally-vectors.mjs [path/to/piaojue]
//
// Each vector may carry `research`: values fixed by ../shared/research/domain-rules-and-anchors.md
// §8 (path → value). The generator refuses to write a file whose golden output contradicts them.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = process.argv[2] || process.env.PIAOJUE_BIN || join(process.env.CARGO_TARGET_DIR || join(root, "target"), "debug", "piaojue");

const motion = (extra = {}) => ({ format: "piaojue-rules/1", title: "表决议案办法", kind: "motion", ...extra });
const project = (extra = {}) => ({ format: "piaojue-rules/1", title: "民生实事项目票决办法", kind: "project_selection", ...extra });
const satisfaction = (extra = {}) => ({ format: "piaojue-rules/1", title: "满意度测评办法", kind: "satisfaction", ...extra });
const names = (n, p = "候选项目") => Array.from({ length: n }, (_, i) => p + (i + 1));
const doc = (name) => JSON.parse(fs.readFileSync(join(root, "docs", "examples", name + ".json"), "utf8"));

// §8.4: N=10 of 12, seated 231 (≥116 赞成); #10 and #11 tie at 140 below 9 clear winners.
const yes12tie = [230, 220, 210, 200, 190, 180, 170, 160, 150, 140, 140, 100];
const row3 = (yes, enabled) => [yes, Math.floor((enabled - yes) / 2), enabled - yes - Math.floor((enabled - yes) / 2)];
const tie12 = (rule) => ({ rules: project({ select_n: 10, max_yes: 10, tie_rule: rule }), items: names(12), roll: { seated: 231, present: 231, enabled: 231, cast: 231 }, counts: yes12tie.map((y) => row3(y, 231)) });
// §8.5: only 8 of 12 reach 116.
const yes12short = [200, 190, 180, 170, 160, 150, 140, 116, 115, 100, 90, 80];
const short12 = (rule) => ({ rules: project({ select_n: 10, max_yes: 10, shortfall_rule: rule }), items: names(12), roll: { seated: 231, present: 231, enabled: 231, cast: 231 }, counts: yes12short.map((y) => row3(y, 231)) });

const VECTORS = [
  // The documented examples (docs/examples/, docs/rules.md).
  ...["motion", "project-7-to-5", "project-tie-at-cut", "satisfaction-zhenhai"].map((n) => ({ name: "docs example " + n, input: doc(n) })),
  // §8.1 quorum.
  { name: "§8.1 quorum: 327 seated need 218 present; 314 meet it", input: { rules: motion(), items: ["决议"], roll: { seated: 327, present: 314, enabled: 314 }, counts: [[300, 5, 6]] },
    research: { quorum_required: 218, quorum_met: true, "items[0].majority_required": 164, passed: true } },
  { name: "§8.1 quorum: 217 of 327 present is not a quorum", input: { rules: motion(), items: ["决议"], roll: { seated: 327, present: 217, enabled: 217 }, counts: [[210, 5, 2]] },
    research: { quorum_required: 218, quorum_met: false, passed: false } },
  { name: "§8.1 quorum: exactly 218 of 327 present is a quorum", input: { rules: motion(), items: ["决议"], roll: { seated: 327, present: 218, enabled: 218 }, counts: [[200, 10, 8]] },
    research: { quorum_required: 218, quorum_met: true, passed: true } },
  // §8.2 pass on 全体代表.
  { name: "§8.2 pass: 164 of 327 seated passes", input: { rules: motion(), items: ["决议"], roll: { seated: 327, present: 300, enabled: 300 }, counts: [[164, 100, 30]] },
    research: { "items[0].majority_required": 164, passed: true } },
  { name: "§8.2 pass: 163 of 327 seated fails whatever 弃权 and 未按", input: { rules: motion(), items: ["决议"], roll: { seated: 327, present: 327, enabled: 327 }, counts: [[163, 0, 0]] },
    research: { "items[0].majority_required": 164, "items[0].not_voted": 164, passed: false } },
  { name: "§8.2 pass: 151 of 300 seated passes", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 290, enabled: 290, cast: 200 }, counts: [[151, 40, 9]] },
    research: { "items[0].majority_required": 151, passed: true } },
  { name: "§8.2 pass: 150 of 300 seated fails", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 300, enabled: 300 }, counts: [[150, 0, 0]] },
    research: { "items[0].majority_required": 151, passed: false } },
  { name: "issue 11 #9: 1 赞成 of 300 seated is not passed", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 300, enabled: 300, cast: 1 }, counts: [[1, 0, 0]] },
    research: { "items[0].majority_required": 151, passed: false } },
  { name: "motion: several items, one fails", input: { rules: motion(), items: ["甲决议", "乙决议"], roll: { seated: 300, present: 280, enabled: 280, cast: 280 }, counts: [[200, 50, 30], [120, 100, 60]] },
    research: { "items[0].passed": true, "items[1].passed": false, passed: false } },
  // §8.3 constitution-style ⅔.
  { name: "§8.3 ⅔ of 2,980 seated: 1,987 passes", input: { rules: motion({ majority: { base: "seated", num: 2, den: 3, inclusive: true } }), items: ["修正案"], roll: { seated: 2980, present: 2900, enabled: 2900 }, counts: [[1987, 500, 413]] },
    research: { "items[0].majority_required": 1987, passed: true } },
  { name: "§8.3 ⅔ of 2,980 seated: 1,986 fails", input: { rules: motion({ majority: { base: "seated", num: 2, den: 3, inclusive: true } }), items: ["修正案"], roll: { seated: 2980, present: 2900, enabled: 2900 }, counts: [[1986, 500, 414]] },
    research: { "items[0].majority_required": 1987, passed: false } },
  { name: "majority of cast excluding 弃权 (strict half)", input: { rules: motion({ majority: { base: "cast_excluding_abstain", num: 1, den: 2, inclusive: false } }), items: ["决议"], roll: { seated: 50, present: 40 }, counts: [[10, 9, 20]] },
    research: { "items[0].majority_required": 10, passed: true } },
  { name: "majority of present, standing-committee quorum", input: { rules: motion({ quorum: { num: 1, den: 2, inclusive: false }, majority: { base: "present", num: 1, den: 2, inclusive: false } }), items: ["决定"], roll: { seated: 29, present: 15, enabled: 15 }, counts: [[8, 7, 0]] },
    research: { quorum_required: 15, "items[0].majority_required": 8, passed: true } },
  { name: "warnings: a satisfaction field on a motion", input: { rules: motion({ tiers: { base: "valid" }, select_n: 2 }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 4, 0]] } },
  // §8.4 票决: tie at the cut, each tie rule.
  { name: "§8.4 票决 10 of 12, seated 231: tie at the cut, revote_tied", input: tie12("revote_tied"),
    research: { "items[0].majority_required": 116, "tie.seats": 1, "tie.votes": 140, "tie.items": ["候选项目10", "候选项目11"], shortfall: 0, "items[9].rank": 10, "items[10].rank": 10 } },
  { name: "§8.4 票决 10 of 12: tie at the cut, chair_decides", input: tie12("chair_decides"), research: { "tie.seats": 1 } },
  { name: "§8.4 票决 10 of 12: tie at the cut, include_all_tied adopts 11", input: tie12("include_all_tied"), research: { tie: null, shortfall: 0 } },
  { name: "§8.4 票决: a candidate with 115 of 231 does not meet the majority", input: { rules: project({ select_n: 2 }), items: names(3), roll: { seated: 231, present: 231 }, counts: [[116, 100, 15], [115, 100, 16], [200, 20, 11]] },
    research: { "items[0].meets_majority": true, "items[1].meets_majority": false, "items[0].majority_required": 116 } },
  // §8.5 shortfall.
  { name: "§8.5 shortfall: 8 of 12 reach 116, accept_fewer", input: short12("accept_fewer"), research: { shortfall: 2 } },
  { name: "§8.5 shortfall: revote_remaining", input: short12("revote_remaining"), research: { shortfall: 2 } },
  { name: "§8.5 shortfall: defer", input: short12("defer"), research: { shortfall: 2 } },
  { name: "票决 approve_up_to_n with a single option, 等额 warning", input: { rules: project({ select_n: 2, form: "approve_up_to_n", options: ["赞成"], majority: { base: "cast", num: 1, den: 2, inclusive: false } }), items: ["甲", "乙"], roll: { seated: 20, present: 20, cast: 18 }, counts: [[15], [9]] } },
  { name: "票决 without a quorum", input: { rules: project({ select_n: 1 }), items: names(2), roll: { seated: 30, present: 10 }, counts: [[6, 3, 1], [3, 5, 2]] }, research: { quorum_met: false, selected: [] } },
  // §8.6 满意度 (镇海 rule).
  { name: "§8.6 满意度, T = 29: 17/11/1 满意, 14/1/14 基本满意, 10/4/15 不满意", input: { rules: satisfaction({ quorum: { num: 1, den: 2, inclusive: false } }), items: ["甲", "乙", "丙"], roll: { seated: 29, present: 29 }, counts: [[17, 11, 1], [14, 1, 14], [10, 4, 15]] },
    research: { "items[0].tier": "满意", "items[1].tier": "基本满意", "items[2].tier": "不满意" } },
  { name: "§8.6 boundary T = 30, S = 15, B = 0: inclusive gives 满意", input: { rules: satisfaction({ tiers: { base: "seated", boundary: "inclusive" } }), items: ["甲"], roll: { seated: 30, present: 30 }, counts: [[15, 0, 15]] },
    research: { "items[0].tier": "满意" } },
  { name: "§8.6 boundary T = 30, S = 15, B = 0: strict gives 不满意", input: { rules: satisfaction({ tiers: { base: "seated", boundary: "strict" } }), items: ["甲"], roll: { seated: 30, present: 30 }, counts: [[15, 0, 15]] },
    research: { "items[0].tier": "不满意" } },
  { name: "满意度: rates to two decimals at an exact binary tie (1/32, 5/32), followups, 不了解 and an empty item", input: {
    rules: satisfaction({ options: ["满意", "基本满意", "不满意", "不了解"], tiers: { base: "valid", boundary: "strict" }, followup: [{ metric: "不满意率", op: ">", value: 0.5, label: "整改" }, { metric: "满意率", op: "<", value: 0.6, label: "再次测评" }, { metric: "综合满意率", op: "≤", value: 0.2, label: "整改" }] }),
    items: ["甲", "乙", "丙"], roll: { seated: 40, present: 34, enabled: 34, cast: 34 }, counts: [[1, 4, 27, 2], [20, 10, 2, 1], [0, 0, 0, 3]] } },
  // §8.7 invariants: counts that could not come from a real vote are refused.
  { name: "§8.7 refused: more ballots than enabled", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 200, enabled: 190 }, counts: [[100, 50, 41]] } },
  { name: "§8.7 refused: enabled above present", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 200, enabled: 201 }, counts: [[100, 50, 40]] } },
  { name: "§8.7 refused: present above seated", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 301 }, counts: [[100, 50, 40]] } },
  { name: "§8.7 refused: a row above the cast ballots", input: { rules: motion(), items: ["决议"], roll: { seated: 300, present: 300, cast: 10 }, counts: [[5, 5, 1]] } },
  { name: "refused: more 赞成 than max_yes allows", input: { rules: project({ select_n: 1 }), items: names(2), roll: { seated: 10, present: 10, cast: 3 }, counts: [[3, 0, 0], [1, 2, 0]] } },
  { name: "refused: select_n above the candidates", input: { rules: project({ select_n: 3 }), items: names(2), roll: { seated: 10, present: 10 }, counts: [[3, 0, 0], [1, 2, 0]] } },
  { name: "refused: a quorum below one half", input: { rules: motion({ quorum: { num: 1, den: 1000000, inclusive: true } }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a zero majority numerator", input: { rules: motion({ majority: { num: 0, den: 2, inclusive: false } }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a zero denominator", input: { rules: motion({ majority: { num: 1, den: 0, inclusive: false } }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: an unknown rules field", input: { rules: motion({ inclusve: true }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a float where an integer is required", input: { rules: motion({ majority: { num: 1.5, den: 2, inclusive: false } }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a satisfaction test without 基本满意", input: { rules: satisfaction({ options: ["满意", "不满意"] }), items: ["甲"], roll: { seated: 10, present: 10 }, counts: [[6, 0]] } },
  { name: "refused: an option listed twice", input: { rules: motion({ options: ["赞成", " 赞成 "] }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0]] } },
  { name: "refused: a followup rate above 1", input: { rules: satisfaction({ followup: [{ metric: "满意率", op: ">", value: 2, label: "x" }] }), items: ["甲"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a voting period below 15 seconds", input: { rules: motion({ voting_seconds: 5 }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: another format", input: { rules: motion({ format: "piaojue-rules/2" }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
  { name: "refused: a repeated item", input: { rules: motion(), items: ["决议", "决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0], [6, 0, 0]] } },
  { name: "refused: a row of the wrong length", input: { rules: motion(), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0]] } },
  { name: "refused: 51 co-signatures required", input: { rules: motion({ cosignatures_required: 51 }), items: ["决议"], roll: { seated: 10, present: 10 }, counts: [[6, 0, 0]] } },
];

function get(obj, path) {
  let v = obj;
  for (const part of path.replace(/\[(\d+)\]/g, ".$1").split(".")) v = v?.[part];
  return v;
}

const out = [];
const raws = [];
const RAW = "@@raw outcome ";
let bad = 0;
for (const v of VECTORS) {
  const r = spawnSync(BIN, ["tally", "-"], { input: JSON.stringify(v.input) });
  const entry = { name: v.name, input: v.input };
  if (r.status === 0) {
    // Rust's own text (its floats keep their `.0`), less the two input-dependent fields.
    const raw = r.stdout.toString().replace(/^  "rules_title": .*,\n/m, "").replace(/^  "rules_sha256": .*,\n/m, "").trim();
    const report = JSON.parse(raw);
    assert.ok(!("rules_title" in report) && !("rules_sha256" in report));
    entry.outcome = RAW + raws.length;
    raws.push(raw.replace(/\n/g, "\n    "));
    if (v.research) entry.research = v.research;
    for (const [path, want] of Object.entries(v.research || {})) {
      if (JSON.stringify(get(report, path)) !== JSON.stringify(want)) {
        bad++;
        console.error(`${v.name}: ${path} is ${JSON.stringify(get(report, path))}, the research says ${JSON.stringify(want)}`);
      }
    }
  } else {
    const line = r.stderr.toString().trim();
    const m = /^error: ([^:]+): /.exec(line);
    if (!m) throw new Error(v.name + ": " + line);
    entry.error = { field: m[1], message: line.slice("error: ".length) };
    if (v.research) throw new Error(v.name + ": refused but the research expects an outcome: " + line);
  }
  out.push(entry);
}
if (bad) process.exit(1);
const file = {
  format: "piaojue-tally-vectors/1",
  about: "Tally inputs and what `piaojue tally` gives for them: `outcome` is its JSON output without rules_title and rules_sha256 (which depend on the input's bytes); `error.field` is the field it refuses. `research` holds the values fixed by the worked examples of domain-rules-and-anchors.md §8. Written by tests/js/make-tally-vectors.mjs with the real binary; read by tests/tally_vectors.rs (Rust engine) and tests/js/rules.test.mjs (src/web/assets/rules.js).",
  vectors: out,
};
const text = JSON.stringify(file, null, 1).replace(/"@@raw outcome (\d+)"/g, (_, i) => raws[Number(i)]);
JSON.parse(text);
fs.writeFileSync(join(root, "tests", "data", "tally", "vectors.json"), text + "\n");
console.log(`wrote ${out.length} vectors (${out.filter((x) => x.error).length} refusals)`);
