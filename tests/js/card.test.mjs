// The booth's card-seed reader (src/web/assets/e2e/card.js) against the seeds the officer's
// program prints (tests/data/e2e/card-seeds.json, pinned on the Rust side too).
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { parseSeed, printedSeed, seedProblem } from "../../src/web/assets/e2e/card.js";

const cases = JSON.parse(fs.readFileSync(new URL("../data/e2e/card-seeds.json", import.meta.url), "utf8")).cases;
const hex = (b) => Buffer.from(b).toString("hex");

test("card seeds print and read back as the officer's program does", () => {
  for (const c of cases) {
    const seed = Buffer.from(c.seed, "hex");
    assert.equal(printedSeed(seed), c.printed);
    assert.equal(hex(parseSeed(c.printed)), c.seed);
    assert.equal(hex(parseSeed(c.printed.toLowerCase().replaceAll("-", " "))), c.seed);
    assert.equal(seedProblem(c.printed), null);
  }
});

test("a typo is caught by its group's check symbol", () => {
  const printed = cases[0].printed;
  const chars = [...printed];
  chars[7] = chars[7] === "A" ? "B" : "A";
  const typo = chars.join("");
  assert.equal(parseSeed(typo), null);
  assert.match(seedProblem(typo), /第2组/);
  assert.match(seedProblem("ABCD"), /13组/);
  assert.match(seedProblem("ABCU"), /「U」/);
});
