// node --test tests/js/ : the piaojue-e2e-v2 vector walk (walk.mjs) under node:test.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { E2eError } from "../../src/web/assets/e2e/e2e.js";
import { walk } from "./walk.mjs";

// The Rust crate's copy is the one the repository tests against (identical to shared/e2e).
const VECTORS = new URL("../../crates/core/tests/data/e2e/vectors.json", import.meta.url);

test("piaojue-e2e-v2 vectors", async (t) => {
  const vectors = JSON.parse(fs.readFileSync(VECTORS, "utf8"));
  assert.equal(vectors.protocol, "piaojue-e2e-v2");
  let checks = 0;
  await walk(vectors, {
    section: (name, fn) => t.test(name, fn),
    ok: (cond, msg) => {
      checks++;
      assert.ok(cond, msg);
    },
    equal: (x, y, msg) => {
      checks++;
      assert.equal(x, y, msg);
    },
    throws: (fn, msg) => {
      checks++;
      assert.throws(fn, (err) => err instanceof E2eError && typeof err.field === "string", msg);
    },
  });
  t.diagnostic(`${checks} vector checks`);
});
