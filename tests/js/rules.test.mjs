// The JS rules engine (src/web/assets/rules.js) on the golden tally vectors that the Rust
// engine also passes (tests/data/tally/vectors.json; tests/tally_vectors.rs): the same outcome,
// announcement included, for every input, and the same refused field for every bad one.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { tally, parseRules, parseJson, F64, fixed2, RulesError, reached, minimum, TWO_THIRDS_INCLUSIVE, MORE_THAN_HALF } from "../../src/web/assets/rules.js";

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
